"""`ReportSink`: the one object the engine hands its records to (reports/ + SQL).

    sink = ReportSink(settings.paths.reports_dir, db_url=settings.database.url,
                      clock=LiveClock(), runtime_mode="dry-run")
    sink.record_order({"event": "submit", "market_id": "SIM-1", "action": "yes", ...})
    sink.record_trade({...}); sink.record_fill({...}); sink.record_risk({...})
    sink.record_exit({...}); sink.snapshot_positions({...}); sink.write_realized_summary({...})
    sink.update_status({"risk_audit": {...}})   # merged into pipeline_status.json
    sink.io_errors  # {"orders": 0, "trades": 0, "status": 0, "positions": 0, "risk_audit": 0}
    sink.flush(); sink.close()

Each `record_*` call fills in `timestamp` (ISO-8601 UTC, ms, `Z`) and `event_id` when the record
lacks them, appends one line to its JSONL file synchronously (one `os.write`), and queues the same
record for the SQL writer (batched, background thread). It returns the record's `event_id` and
never raises on I/O trouble: JSONL failures are counted in `io_errors` and retried (in order,
before the next write of that file and on `flush()`); SQL outages are counted in `sql_stats`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine

from polymarket_bot.core.clock import Clock, LiveClock
from polymarket_bot.storage.db import create_db_engine, default_db_url
from polymarket_bot.storage.fields import iso_ms, new_event_id
from polymarket_bot.storage.jsonl import DEFAULT_MAX_PENDING, JsonlWriter
from polymarket_bot.storage.snapshots import merge_status, write_json_atomic
from polymarket_bot.storage.writer import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_FLUSH_INTERVAL,
    DEFAULT_MAX_BUFFER,
    SqlWriter,
    SqlWriterStats,
)

log = logging.getLogger(__name__)

IO_ERROR_KEYS: Final = ("orders", "trades", "status", "positions", "risk_audit")

# stream -> (file, table, io_errors key). docs/REPORTS.md.
STREAMS: Final[dict[str, tuple[str, str, str]]] = {
    "orders": ("orders.jsonl", "order_events", "orders"),
    "trades": ("trades.jsonl", "trade_events", "trades"),
    "fills": ("fills.jsonl", "fill_events", "trades"),
    "risk_audit": ("risk_audit.jsonl", "risk_audit_events", "risk_audit"),
    "realized_exits": ("realized_exits.jsonl", "realized_exits", "positions"),
}
STATUS_FILE: Final = "pipeline_status.json"
POSITIONS_FILE: Final = "open_positions.json"
SUMMARY_FILE: Final = "realized_summary.json"
_RUNTIME_MODE_STREAMS: Final = frozenset({"orders", "trades"})


class ReportSink:
    """JSONL files + SQL tables for the engine's records. Thread-safe.

    db_url: SQLAlchemy URL; None = `sqlite:///<reports_dir>/polymarket.db`. engine: use this
    engine instead (not disposed by `close`). sql=False: JSONL and snapshots only.
    runtime_mode: added to order and trade records that do not carry one (`"dry-run"`...).
    """

    def __init__(
        self,
        reports_dir: Path | str,
        *,
        db_url: str | None = None,
        engine: Engine | None = None,
        sql: bool = True,
        clock: Clock | None = None,
        runtime_mode: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        max_pending: int = DEFAULT_MAX_PENDING,
        fsync: bool = False,
        echo: bool = False,
    ) -> None:
        self.reports_dir = Path(reports_dir)
        self.clock: Clock = clock if clock is not None else LiveClock()
        self.runtime_mode = runtime_mode
        self.fsync = fsync
        self._writers = {
            stream: JsonlWriter(self.reports_dir / file, max_pending=max_pending, fsync=fsync)
            for stream, (file, _, _) in STREAMS.items()
        }
        self._snapshot_errors = {"status": 0, "positions": 0}
        self._pending_snapshots: dict[str, Mapping[str, Any]] = {}
        self._lock = threading.Lock()
        self._closed = False
        self.sql: SqlWriter | None = None
        if sql:
            own = engine is None
            if engine is None:
                engine = create_db_engine(db_url or default_db_url(self.reports_dir), echo=echo)
            self.sql = SqlWriter(
                engine,
                batch_size=batch_size,
                flush_interval=flush_interval,
                max_buffer=max_buffer,
                dispose_engine=own,
            )
            self.sql.start()

    # -- event streams ---------------------------------------------------------------------------

    def record_order(self, record: Mapping[str, Any]) -> str:
        """orders.jsonl + order_events: submit | partial | filled | cancel | reject | ..."""
        return self._record("orders", record)

    def record_trade(self, record: Mapping[str, Any]) -> str:
        """trades.jsonl + trade_events: one incremental fill (or a settlement correction)."""
        return self._record("trades", record)

    def record_fill(self, record: Mapping[str, Any]) -> str:
        """fills.jsonl + fill_events: execution telemetry (entry | exit)."""
        return self._record("fills", record)

    def record_risk(self, record: Mapping[str, Any]) -> str:
        """risk_audit.jsonl + risk_audit_events: one risk decision."""
        return self._record("risk_audit", record)

    def record_exit(self, record: Mapping[str, Any]) -> str:
        """realized_exits.jsonl + realized_exits: one realized exit."""
        return self._record("realized_exits", record)

    def record_backtest(self, record: Mapping[str, Any]) -> str:
        """backtest_runs only (no JSONL): {"name", "strategy", "params", "metrics", ...}."""
        full = self._complete(record)
        self._submit("backtest_runs", full)
        return str(full["event_id"])

    def _complete(self, record: Mapping[str, Any], stream: str | None = None) -> dict[str, Any]:
        full = dict(record)
        if full.get("timestamp") is None:
            full = {"timestamp": iso_ms(self.clock.time()), **full}
        if (
            stream in _RUNTIME_MODE_STREAMS
            and self.runtime_mode is not None
            and full.get("runtime_mode") is None
        ):
            full["runtime_mode"] = self.runtime_mode
        if not full.get("event_id"):
            full["event_id"] = new_event_id(self.clock.time_ms())
        return full

    def _record(self, stream: str, record: Mapping[str, Any]) -> str:
        full = self._complete(record, stream)
        self._writers[stream].write(full)
        self._submit(STREAMS[stream][1], full)
        return str(full["event_id"])

    def _submit(self, table: str, record: Mapping[str, Any]) -> None:
        if self.sql is None:
            return
        try:
            self.sql.submit(table, record)
        except RuntimeError:  # closed: the JSONL line is written, the SQL row is not
            log.debug("%s: SQL writer closed, row not queued", table)

    # -- snapshots -------------------------------------------------------------------------------

    def snapshot_positions(self, snapshot: Mapping[str, Any]) -> str:
        """open_positions.json (atomic replace; `updated_at` filled in when missing) +
        account_snapshots (the header: cash, exposure, unrealized_pnl...) + position_snapshots
        (one row per entry of `positions`). Returns the snapshot id."""
        stamp = snapshot.get("updated_at") or snapshot.get("timestamp") or iso_ms(self.clock.time())
        document = dict(snapshot)
        if document.get("updated_at") is None:
            document = {"updated_at": stamp, **document}
        self._write_snapshot("positions", self.reports_dir / POSITIONS_FILE, document)
        snapshot_id = new_event_id(self.clock.time_ms())
        if self.sql is not None:
            positions = document.get("positions")
            rows = positions if isinstance(positions, list) else []
            header = {k: v for k, v in document.items() if k not in ("positions", "updated_at")}
            header.setdefault("timestamp", stamp)
            if self.runtime_mode is not None:
                header.setdefault("runtime_mode", self.runtime_mode)
            header["positions"] = len(rows)
            header["event_id"] = snapshot_id
            self._submit("account_snapshots", header)
            for index, position in enumerate(rows):
                if isinstance(position, Mapping):
                    row = {"timestamp": stamp, **position}
                    row["snapshot_id"] = snapshot_id
                    row["event_id"] = f"{snapshot_id}-{index}"
                    self._submit("position_snapshots", row)
        return snapshot_id

    def write_realized_summary(self, summary: Mapping[str, Any]) -> bool:
        """realized_summary.json (atomic replace). False if it could not be written (counted)."""
        return self._write_snapshot("positions", self.reports_dir / SUMMARY_FILE, summary)

    def update_status(self, sections: Mapping[str, Any]) -> bool:
        """Merge these sections (names or dotted paths) into pipeline_status.json, keeping the
        sections other processes own. False if it could not be written (counted in `status`)."""
        try:
            merge_status(
                self.reports_dir / STATUS_FILE,
                sections,
                updated_at=iso_ms(self.clock.time()),
                fsync=self.fsync,
            )
        except OSError as exc:
            self._count("status", exc)
            return False
        return True

    def _write_snapshot(self, key: str, path: Path, data: Mapping[str, Any]) -> bool:
        try:
            write_json_atomic(path, data, fsync=self.fsync)
        except OSError as exc:
            self._count(key, exc)
            with self._lock:
                self._pending_snapshots[str(path)] = data  # retried by flush(); newest wins
            return False
        with self._lock:
            self._pending_snapshots.pop(str(path), None)
        return True

    def _count(self, key: str, exc: OSError) -> None:
        with self._lock:
            self._snapshot_errors[key] += 1
            count = self._snapshot_errors[key]
        if count == 1 or count % 100 == 0:
            log.warning("reports/%s: write failed (%d so far): %s", key, count, exc)

    # -- state -----------------------------------------------------------------------------------

    @property
    def io_errors(self) -> dict[str, int]:
        """Failed write attempts per seed key (`pipeline_status.json` -> `io_errors`)."""
        counts = dict.fromkeys(IO_ERROR_KEYS, 0)
        for stream, writer in self._writers.items():
            counts[STREAMS[stream][2]] += writer.errors
        with self._lock:
            for key, value in self._snapshot_errors.items():
                counts[key] += value
        return counts

    @property
    def jsonl_pending(self) -> int:
        """JSONL lines waiting for a retry after a failed write."""
        return sum(writer.pending for writer in self._writers.values())

    @property
    def jsonl_dropped(self) -> int:
        return sum(writer.dropped for writer in self._writers.values())

    @property
    def sql_stats(self) -> SqlWriterStats | None:
        return None if self.sql is None else self.sql.stats

    def status_sections(self) -> dict[str, Any]:
        """`io_errors` (seed §12) and *(ours)* `storage` for pipeline_status.json."""
        storage: dict[str, Any] = {
            "jsonl_pending": self.jsonl_pending,
            "jsonl_dropped": self.jsonl_dropped,
        }
        stats = self.sql_stats
        if stats is not None:
            storage["sql"] = {
                "connected": stats.connected,
                "buffered": stats.buffered,
                "written": stats.written,
                "dropped": stats.dropped,
                "rejected": stats.rejected,
                "outages": stats.outages,
                "failed_attempts": stats.failed_attempts,
                "last_error": stats.last_error,
                "last_success_epoch": stats.last_success_epoch,
            }
        return {"io_errors": self.io_errors, "storage": storage}

    # -- lifecycle -------------------------------------------------------------------------------

    def retry_pending(self) -> bool:
        """Retry failed JSONL lines and snapshots; True when nothing is pending."""
        ok = True
        for writer in self._writers.values():  # every file, even after a failure
            ok = writer.retry_pending() and ok
        with self._lock:
            pending = list(self._pending_snapshots.items())
        for path, data in pending:
            key = "positions"
            ok = self._write_snapshot(key, Path(path), data) and ok
        return ok

    def catch_up(self, *, tail_bytes: int | None = 8 << 20, timeout: float | None = 300.0) -> int:
        """Re-submit the JSONL files' recent records to SQL (after a crash the files may hold
        records the database lacks; present rows are skipped). Call at start-up. Returns the
        number of records submitted."""
        if self.sql is None:
            return 0
        from polymarket_bot.storage.backfill import backfill

        counts = backfill(self.sql, self.reports_dir, tail_bytes=tail_bytes, timeout=timeout)
        return sum(counts.values())

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Retry pending JSONL lines, then wait for the SQL writer to commit everything queued.
        True when every record so far is in its file and in the database."""
        ok = self.retry_pending()
        if self.sql is not None:
            ok = self.sql.flush(timeout) and ok
        return ok

    async def aflush(self, timeout: float | None = 30.0) -> bool:
        """`flush` from asyncio code without blocking the event loop."""
        return await asyncio.to_thread(self.flush, timeout)

    def close(self, timeout: float | None = 30.0) -> bool:
        """Flush and release files and the database (idempotent)."""
        if self._closed:
            return True
        self._closed = True
        ok = self.retry_pending()
        if self.sql is not None:
            ok = self.sql.close(timeout) and ok
        for writer in self._writers.values():
            writer.close()
        return ok

    def __enter__(self) -> ReportSink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


EventStore = ReportSink
