"""The SQL store, on SQLite and on a real MariaDB (same tests, `db_url` is parametrized):
schema, exact money, UTC timestamps, idempotent retries, outages buffered/counted/caught up,
replay from the database, export."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from mariadb_server import MariaDBServer
from sqlalchemy import Engine, func, inspect, select
from store_kit import (
    base_time,
    exit_,
    fill,
    order,
    positions,
    require_mariadb_binaries,
    risk,
    spaced,
    trade,
)

from polymarket_bot.storage.db import create_db_engine, init_schema, open_database
from polymarket_bot.storage.jsonl import iter_jsonl
from polymarket_bot.storage.models import TABLE_NAMES, TABLES
from polymarket_bot.storage.replay import ReplayFilter, iter_db
from polymarket_bot.storage.sink import STREAMS, ReportSink
from polymarket_bot.storage.writer import SqlWriter


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(TABLES[table])).scalar_one())


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = open_database(db_url)
    yield eng
    eng.dispose()


def fill_sink(sink: ReportSink, n: int = 30) -> None:
    rng = random.Random(7)
    start = base_time()
    for i in range(n):
        when = spaced(start, i)
        sink.record_order(order(i, when, rng))
        sink.record_trade(trade(i, when, rng))
        sink.record_fill(fill(i, when))
        sink.record_risk(risk(i, when))
        sink.record_exit(exit_(i, when))


def test_schema_is_created_automatically(engine: Engine, db_url: str) -> None:
    inspector = inspect(engine)
    assert set(TABLE_NAMES) <= set(inspector.get_table_names())
    for table in TABLE_NAMES:
        indexed = {tuple(ix["column_names"]) for ix in inspector.get_indexes(table)}
        assert ("timestamp",) in indexed, table
        assert inspector.get_pk_constraint(table)["constrained_columns"] == ["event_id"]
    columns = {c["name"]: c for c in inspector.get_columns("trade_events")}
    if engine.dialect.name == "sqlite":
        assert str(columns["notional"]["type"]) == "BIGINT"  # exact integer micro-units
    else:
        assert str(columns["notional"]["type"]) == "DECIMAL(20, 6)"
        assert "DATETIME" in str(columns["timestamp"]["type"])
        assert getattr(columns["timestamp"]["type"], "fsp", None) == 6
    init_schema(engine)  # idempotent
    init_schema(create_db_engine(db_url))


def test_every_record_lands_in_jsonl_and_sql_identically(db_url: str, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    sink = ReportSink(reports, db_url=db_url, runtime_mode="dry-run", flush_interval=0.05)
    fill_sink(sink)
    sink.snapshot_positions(positions(3, base_time()))
    assert sink.flush(timeout=30)
    stats = sink.sql_stats
    assert stats is not None and stats.written == 5 * 30 + 1 + 3 and stats.rejected == 0
    assert sink.io_errors == dict.fromkeys(sink.io_errors, 0)
    assert sink.close()

    engine = create_db_engine(db_url)
    try:
        for stream, (file, table, _) in STREAMS.items():
            from_file = {r["event_id"]: r for r in iter_jsonl(reports / file)}
            from_db = {r["event_id"]: r for r in iter_db(engine, table, ReplayFilter())}
            assert len(from_file) == 30 and from_file.keys() == from_db.keys(), stream
            for event_id, record in from_file.items():
                assert same_record(record, from_db[event_id]), (stream, record, from_db[event_id])
        assert count(engine, "account_snapshots") == 1
        assert count(engine, "position_snapshots") == 3
        with engine.connect() as conn:
            token = conn.execute(select(TABLES["position_snapshots"].c.token_id)).scalars().all()
        assert sorted(token) == [str(10**70 + k) for k in range(3)]
    finally:
        engine.dispose()


def same_record(file_record: dict[str, Any], db_record: dict[str, Any]) -> bool:
    """Equal field by field; money compared as numbers (the database keeps 6 decimals)."""
    derived = {"rejections"}  # risk_audit: the rejected names as a column of their own
    keys = set(file_record) | (set(db_record) - derived)
    for key in keys:
        a, b = file_record.get(key), db_record.get(key)
        if a is None and b is None:
            continue
        if isinstance(a, Decimal) or isinstance(b, Decimal):
            if Decimal(str(a)).quantize(Decimal("1e-6")) != Decimal(str(b)):
                return False
        elif a != b:
            return False
    return True


def test_money_is_exact_and_odd_values_are_kept(engine: Engine) -> None:
    writer = SqlWriter(engine, flush_interval=0.01)
    values: dict[str, Any] = {
        "a": Decimal("0.000001"),
        "b": Decimal("9000000000000.999999"),  # within SQLite's 64-bit micro-units
        "i": Decimal("99999999999999.999999"),  # a column on MariaDB, `extra` on SQLite
        "c": Decimal("-12345.678901"),
        "d": 0.1 + 0.2,  # 0.30000000000000004 -> 0.300000
        "e": Decimal("0.0000005"),  # half-even -> 0.000000
        "f": Decimal("0.0000015"),  # half-even -> 0.000002
        "g": Decimal("1e14"),  # out of Numeric(20,6): kept in `extra`
        "h": "not a number",
    }
    for key, value in values.items():
        writer.submit("realized_exits", {"event_id": key, "timestamp": 0, "pnl": value})
    assert writer.flush(10)
    writer.close()
    got = {r["event_id"]: r for r in iter_db(engine, "realized_exits", ReplayFilter())}
    assert got["a"]["pnl"] == Decimal("0.000001")
    assert got["b"]["pnl"] == Decimal("9000000000000.999999")
    assert got["i"]["pnl"] == Decimal("99999999999999.999999")
    assert got["c"]["pnl"] == Decimal("-12345.678901")
    assert got["d"]["pnl"] == Decimal("0.3")
    assert got["e"]["pnl"] == 0
    assert got["f"]["pnl"] == Decimal("0.000002")
    assert got["g"]["pnl"] == Decimal("1e14") and isinstance(got["g"]["pnl"], Decimal)
    assert got["h"]["pnl"] == "not a number"
    exits = TABLES["realized_exits"]
    with engine.connect() as conn:
        total = conn.execute(
            select(func.sum(exits.c.pnl)).where(exits.c.event_id != "i")
        ).scalar_one()
    # SQL arithmetic is exact too (micro-units on SQLite, DECIMAL on MariaDB; the sum keeps the
    # column's type, so it reads back as Decimal dollars on both).
    expected = Decimal("9000000000000.999999") + Decimal("0.000001") - Decimal("12345.678901")
    expected += Decimal("0.3") + Decimal("0.000002")
    assert total == expected and isinstance(total, Decimal)


def test_timestamps_are_utc_and_filterable(engine: Engine) -> None:
    writer = SqlWriter(engine, flush_interval=0.01)
    writer.submit("order_events", {"event_id": "x", "timestamp": "2025-10-13T12:05:12.345+02:00"})
    writer.submit("order_events", {"event_id": "y", "timestamp": "2025-10-13T10:05:13.000Z"})
    writer.submit("order_events", {"event_id": "z", "timestamp": "yesterday-ish"})
    assert writer.flush(10)
    writer.close()
    rows = {r["event_id"]: r for r in iter_db(engine, "order_events", ReplayFilter())}
    assert rows["x"]["timestamp"] == "2025-10-13T10:05:12.345Z"
    assert rows["z"]["timestamp"] == "yesterday-ish"  # unreadable: kept, not lost
    since = datetime(2025, 10, 13, 10, 5, 13, tzinfo=timezone.utc)
    assert [r["event_id"] for r in iter_db(engine, "order_events", ReplayFilter(since=since))] == [
        "y"
    ]


def test_a_retried_record_never_duplicates(engine: Engine) -> None:
    writer = SqlWriter(engine, flush_interval=0.01)
    record = {"event_id": "same", "timestamp": "2025-10-13T10:00:00Z", "filled_shares": 1}
    writer.submit("trade_events", record)
    writer.submit("trade_events", record)  # same batch
    assert writer.flush(10)
    writer.submit("trade_events", record)  # a later batch
    assert writer.flush(10)
    writer.close()
    assert count(engine, "trade_events") == 1


def test_refused_rows_are_counted_and_do_not_block_the_batch(engine: Engine) -> None:
    writer = SqlWriter(engine, flush_interval=0.01)
    writer.submit("order_events", {"event_id": "ok-1", "timestamp": 0})
    writer.submit("order_events", {"event_id": "x" * 200, "timestamp": 0})  # id too long
    writer.submit("order_events", {"timestamp": 0})  # no id
    writer.submit("order_events", {"event_id": "ok-2", "timestamp": 0})
    assert not writer.flush(10)  # two rows could not be stored
    assert writer.flush(10)  # nothing new since: all good
    stats = writer.stats
    writer.close()
    assert (stats.written, stats.rejected, stats.buffered) == (2, 2, 0)
    assert count(engine, "order_events") == 2


# -- outages -------------------------------------------------------------------------------------


class Outage:
    """Break and repair a database for real: SQLite locked by another writer (what a backup or a
    second process does), or the MariaDB server stopped and started again."""

    def __init__(self, backend: str, tmp_path: Path) -> None:
        self.backend = backend
        self.server: MariaDBServer | None = None
        self._lock: Any = None
        if backend == "sqlite":
            self.url = f"sqlite:///{tmp_path / 'db' / 'polymarket.db'}"
        else:
            require_mariadb_binaries()
            self.server = MariaDBServer.start(tmp_path / "outage-mariadb")
            self.url = self.server.url

    def engine(self) -> Engine:
        return create_db_engine(self.url, busy_timeout_ms=50, connect_timeout=1)

    def break_(self) -> None:
        if self.server is not None:
            self.server.stop()
            return
        import sqlite3

        path = self.url.removeprefix("sqlite:///")
        self._lock = sqlite3.connect(path, isolation_level=None, timeout=0)
        self._lock.execute("BEGIN EXCLUSIVE")

    def repair(self) -> None:
        if self.server is not None:
            self.server.restart()
            return
        self._lock.execute("ROLLBACK")
        self._lock.close()

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


@pytest.fixture
def outage(backend: str, tmp_path: Path) -> Iterator[Outage]:
    state = Outage(backend, tmp_path)
    yield state
    state.close()


def _rec(i: int) -> dict[str, Any]:
    return {"event_id": f"e{i:06d}", "timestamp": 1_760_000_000 + i, "size": i}


def test_outage_is_counted_buffered_and_caught_up(outage: Outage) -> None:
    engine = outage.engine()
    writer = SqlWriter(
        engine, batch_size=50, flush_interval=0.01, retry_initial=0.02, retry_max=0.2
    )
    writer.submit_many("order_events", (_rec(i) for i in range(10)))
    assert writer.flush(20)
    outage.break_()
    writer.submit_many("order_events", (_rec(i) for i in range(10, 500)))
    wait_for(lambda: writer.stats.outages == 1 and writer.stats.failed_attempts >= 2)
    stats = writer.stats
    assert not stats.connected and stats.buffered == 490 and stats.last_error
    assert not writer.flush(0.2)  # not durable while the database is away
    outage.repair()
    assert writer.flush(30)
    stats = writer.stats
    assert stats.connected and stats.outages == 1 and stats.dropped == 0 and stats.buffered == 0
    assert stats.written == 500
    writer.close()
    assert count(engine, "order_events") == 500
    engine.dispose()


def test_buffer_is_bounded_during_an_outage(outage: Outage) -> None:
    engine = outage.engine()
    init_schema(engine)
    outage.break_()
    writer = SqlWriter(
        engine,
        batch_size=20,
        max_buffer=100,
        flush_interval=0.01,
        retry_initial=0.02,
        retry_max=0.1,
    )
    writer.submit_many("order_events", (_rec(i) for i in range(300)))
    wait_for(lambda: writer.stats.outages == 1)
    stats = writer.stats
    assert stats.buffered == 100 and stats.dropped == 200
    outage.repair()
    assert not writer.flush(30)  # done, but some rows were dropped: reported once
    assert writer.stats.buffered == 0
    writer.submit("order_events", _rec(1000))
    assert writer.flush(30)  # everything since the last flush is in
    writer.close()
    with engine.connect() as conn:
        ids = conn.execute(select(TABLES["order_events"].c.event_id)).scalars().all()
    assert sorted(ids) == [f"e{i:06d}" for i in (*range(200, 300), 1000)]  # the newest were kept
    engine.dispose()


def test_two_processes_write_the_same_database(db_url: str, tmp_path: Path) -> None:
    child = textwrap.dedent(
        """
        import sys
        from polymarket_bot.storage.sink import ReportSink
        url, reports, tag = sys.argv[1:]
        sink = ReportSink(reports, db_url=url, batch_size=100, flush_interval=0.01)
        for i in range(1500):
            sink.record_trade({"market_id": tag, "filled_shares": i, "status": "partial"})
        assert sink.close(60)
        """
    )
    open_database(db_url).dispose()  # schema first (both children would race to create it)
    procs = [
        subprocess.Popen([sys.executable, "-c", child, db_url, str(tmp_path / f"r{n}"), f"M{n}"])
        for n in range(2)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    engine = create_db_engine(db_url)
    assert count(engine, "trade_events") == 3000
    engine.dispose()


def test_missing_mariadb_skips_locally_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    import store_kit

    monkeypatch.setattr(store_kit, "find_binaries", lambda: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required under CI=true"):
        store_kit.require_mariadb_binaries()
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        store_kit.require_mariadb_binaries()
