"""Batched SQL writer off the hot path.

`submit()` only appends to an in-memory buffer (a lock and a deque append); a background thread
converts records to rows and writes them in batches (`executemany`, one transaction per batch).
Rows are keyed by `event_id` and inserted with "skip if present", so a batch retried after an
error never duplicates a row.

Outage handling: when the database cannot be reached (connection refused, server gone, SQLite
locked) the batch goes back to the front of the buffer, the outage is counted (`outages` per
episode, `failed_attempts` per try) and retried with capped exponential backoff; meanwhile the
buffer keeps growing up to `max_buffer` rows, beyond which the OLDEST rows are dropped and counted
(`dropped`; they are still in the JSONL files). When the database comes back the backlog is
written in batches (catch-up). A batch refused for its data (a row the database rejects) is
retried row by row and only the refused rows are counted in `rejected` and skipped.

Durability: a row is durable once `flush()` has returned True for it. A SIGKILL loses at most
the rows not yet committed (the last unflushed batch and what was buffered behind it).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Engine
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    TimeoutError,
)

from polymarket_bot.storage.db import display_url, init_schema, insert_ignore_sql, is_sqlite
from polymarket_bot.storage.models import TABLES
from polymarket_bot.storage.records import RowConverter

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE: Final = 1000
DEFAULT_FLUSH_INTERVAL: Final = 0.5
DEFAULT_MAX_BUFFER: Final = 200_000

_Item = tuple[int, str, Mapping[str, Any]]  # (sequence number, table, record)


@dataclass(frozen=True, slots=True)
class SqlWriterStats:
    submitted: int
    written: int
    """Rows committed (a row already present counts too: it is there)."""
    buffered: int
    """Rows waiting (including the batch being written)."""
    dropped: int
    """Oldest rows discarded because the buffer was full during an outage."""
    rejected: int
    """Rows the database refused for their data, or that could not be converted."""
    outages: int
    """Episodes of the database being unreachable."""
    failed_attempts: int
    batches: int
    connected: bool
    """False from a failed write until the next successful one."""
    last_error: str | None
    last_success_epoch: float | None


class SqlWriter:
    """Writes records to their tables in batches from a background thread (started on demand)."""

    def __init__(
        self,
        engine: Engine,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        retry_initial: float = 0.25,
        retry_max: float = 10.0,
        create_schema: bool = True,
        dispose_engine: bool = False,
    ) -> None:
        if batch_size < 1 or max_buffer < batch_size:
            raise ValueError("need 1 <= batch_size <= max_buffer")
        self.engine = engine
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_buffer = max_buffer
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self._dispose_engine = dispose_engine
        self._schema_ready = not create_schema
        sqlite = is_sqlite(engine)
        self._converters = {name: RowConverter(name, sqlite=sqlite) for name in TABLES}
        self._sql: dict[str, str] = {}
        self._buffer: deque[_Item] = deque()
        self._inflight = 0
        self._cond = threading.Condition(threading.Lock())
        self._seq = 0
        self._done_seq = 0  # every row with seq <= this is resolved (committed, dropped, rejected)
        self._last_lost_seq = 0
        self._reported_seq = 0  # losses up to here were reported by a completed flush
        self._first_at = 0.0
        self._flush_waiters = 0
        self._closing = False
        self._thread: threading.Thread | None = None
        self._submitted = self._written = self._dropped = self._rejected = 0
        self._outages = self._failed = self._batches = 0
        self._connected = True
        self._last_error: str | None = None
        self._last_success: float | None = None

    # -- hot path --------------------------------------------------------------------------------

    def submit(self, table: str, record: Mapping[str, Any]) -> None:
        """Queue one record (must carry `event_id`) for `table`. Never blocks on the database."""
        if table not in self._converters:
            raise KeyError(f"unknown table {table!r}")
        with self._cond:
            if self._closing:
                raise RuntimeError("SqlWriter is closed")
            self._seq += 1
            buffer = self._buffer
            if not buffer:
                self._first_at = time.monotonic()
            buffer.append((self._seq, table, record))
            self._submitted += 1
            # The batch in flight is not counted: if it fails it comes back as the oldest
            # rows and `_requeue` trims it first, so the newest rows are the ones kept.
            if len(buffer) > self.max_buffer:
                seq = buffer.popleft()[0]
                self._dropped += 1
                self._resolve_dropped(seq)
            if len(buffer) == self.batch_size:  # a full batch goes at once; else the thread polls
                self._cond.notify_all()
        if self._thread is None:
            self.start()

    def submit_many(self, table: str, records: Iterable[Mapping[str, Any]]) -> None:
        for record in records:
            self.submit(table, record)

    # -- control ---------------------------------------------------------------------------------

    def start(self) -> None:
        with self._cond:
            if self._thread is not None or self._closing:
                return
            self._thread = threading.Thread(target=self._run, name="sql-writer", daemon=True)
            self._thread.start()

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until every row submitted before this call is resolved. True when all the rows
        submitted since the previous completed flush are in the database; False on timeout, or
        when some of them were dropped (buffer bound) or rejected: each loss is reported by
        exactly one completed flush, so the next one is True again if nothing else is lost."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._thread is None:
            self.start()
        with self._cond:
            target, reported = self._seq, self._reported_seq
            self._flush_waiters += 1
            self._cond.notify_all()
            try:
                while self._done_seq < target:
                    if self._thread is None or not self._thread.is_alive():
                        return False
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    self._cond.wait(remaining)
            finally:
                self._flush_waiters -= 1
            self._reported_seq = max(self._reported_seq, target)
            return self._last_lost_seq <= reported

    async def aflush(self, timeout: float | None = 30.0) -> bool:
        return await asyncio.to_thread(self.flush, timeout)

    def close(self, timeout: float | None = 30.0) -> bool:
        """Flush (up to `timeout`), then stop the thread. True if everything was written."""
        flushed = self.flush(timeout) if self._thread is not None else not self._buffer
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=max(1.0, self.retry_max + 1.0))
        if self._dispose_engine:
            self.engine.dispose()
        return flushed and not self._buffer

    @property
    def stats(self) -> SqlWriterStats:
        with self._cond:
            return SqlWriterStats(
                submitted=self._submitted,
                written=self._written,
                buffered=len(self._buffer) + self._inflight,
                dropped=self._dropped,
                rejected=self._rejected,
                outages=self._outages,
                failed_attempts=self._failed,
                batches=self._batches,
                connected=self._connected,
                last_error=self._last_error,
                last_success_epoch=self._last_success,
            )

    # -- the background thread -------------------------------------------------------------------

    def _resolve_dropped(self, seq: int) -> None:
        self._last_lost_seq = max(self._last_lost_seq, seq)
        if not self._buffer and not self._inflight:
            self._done_seq = self._seq
        elif self._inflight == 0:
            self._done_seq = self._buffer[0][0] - 1

    def _take_batch(self) -> list[_Item] | None:
        """Wait for a batch (full, or the interval elapsed, or a flush/close asked); None = stop."""
        with self._cond:
            while not self._buffer:
                if self._closing:
                    return None
                # Polls instead of being woken by the first row: a wake-up would make this
                # thread take the GIL in the middle of the trading loop's work (see `submit`).
                self._cond.wait(self.flush_interval)
            while (
                len(self._buffer) < self.batch_size
                and not self._flush_waiters
                and not self._closing
            ):
                remaining = self._first_at + self.flush_interval - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            count = min(len(self._buffer), self.batch_size)
            batch = [self._buffer.popleft() for _ in range(count)]
            self._inflight = count
            return batch

    def _run(self) -> None:
        backoff = self.retry_initial
        while True:
            batch = self._take_batch()
            if batch is None:
                return
            try:
                rejected = self._write(batch)
            except Exception as exc:  # the database is unreachable (or broken): keep the rows
                if not self._requeue(batch, exc):
                    return
                with self._cond:
                    self._cond.wait_for(lambda: self._closing, timeout=backoff)
                    if self._closing and not self._flush_waiters:
                        return
                backoff = min(backoff * 2, self.retry_max)
                continue
            backoff = self.retry_initial
            with self._cond:
                self._inflight = 0
                self._written += len(batch) - len(rejected)
                self._rejected += len(rejected)
                if rejected:
                    self._last_lost_seq = max(self._last_lost_seq, max(rejected))
                self._batches += 1
                self._connected = True
                self._last_success = time.time()
                self._done_seq = self._buffer[0][0] - 1 if self._buffer else self._seq
                self._cond.notify_all()

    def _requeue(self, batch: list[_Item], exc: Exception) -> bool:
        self._schema_ready = False
        with self._cond:
            self._inflight = 0
            self._buffer.extendleft(reversed(batch))
            while len(self._buffer) > self.max_buffer:
                seq = self._buffer.popleft()[0]
                self._dropped += 1
                self._last_lost_seq = max(self._last_lost_seq, seq)
            if self._buffer:
                self._done_seq = max(self._done_seq, self._buffer[0][0] - 1)
            self._failed += 1
            if self._connected:
                self._outages += 1
                log.warning(
                    "database %s unavailable (%d rows buffered): %s",
                    display_url(str(self.engine.url)),
                    len(self._buffer),
                    _short(exc),
                )
            else:
                log.debug("database still unavailable: %s", _short(exc))
            self._connected = False
            self._last_error = _short(exc)
            self._cond.notify_all()
            return True

    def _write(self, batch: list[_Item]) -> list[int]:
        """Commit the batch; returns the sequence numbers of rejected rows. Raises on outage."""
        if not self._schema_ready:
            init_schema(self.engine)
            self._schema_ready = True
        groups: dict[str, list[tuple[int, tuple[Any, ...]]]] = {}
        rejected: list[int] = []
        for seq, table, record in batch:
            try:
                row = self._converters[table](record)
            except Exception as exc:  # a record without event_id or with an unusable value
                log.error("%s: record not stored in SQL: %s", table, exc)
                rejected.append(seq)
                continue
            groups.setdefault(table, []).append((seq, row))
        try:
            with self.engine.begin() as conn:
                for table, rows in groups.items():
                    conn.exec_driver_sql(self._insert_sql(table), [row for _, row in rows])
        except Exception as exc:
            if is_outage(exc):
                raise
            log.warning("batch refused (%s); retrying row by row", _short(exc))
            rejected += self._write_rows(groups)
        return rejected

    def _write_rows(self, groups: dict[str, list[tuple[int, tuple[Any, ...]]]]) -> list[int]:
        rejected: list[int] = []
        for table, rows in groups.items():
            sql = self._insert_sql(table)
            for seq, row in rows:
                try:
                    with self.engine.begin() as conn:
                        conn.exec_driver_sql(sql, row)
                except Exception as exc:
                    if is_outage(exc):
                        raise
                    log.error("%s row %s refused: %s", table, row[0], _short(exc))
                    rejected.append(seq)
        return rejected

    def _insert_sql(self, table: str) -> str:
        sql = self._sql.get(table)
        if sql is None:
            sql = insert_ignore_sql(self.engine, table, self._converters[table].columns)
            self._sql[table] = sql
        return sql


def is_outage(exc: BaseException) -> bool:
    """True when the database (not the row) is the problem: unreachable, gone away, locked,
    a table missing. Anything else (a value the driver or the database refuses) is the row's."""
    if isinstance(
        exc, (OperationalError, InterfaceError, ProgrammingError, DisconnectionError, TimeoutError)
    ):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def _short(exc: BaseException) -> str:
    text = str(exc.orig) if isinstance(exc, DBAPIError) and exc.orig is not None else str(exc)
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return f"{type(exc).__name__}: {first[:300]}"
