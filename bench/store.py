"""SQL store throughput: our batched writer vs a bare DB-API `executemany` of the same rows, in the
same run, into SQLite (WAL, synchronous=NORMAL) and into MariaDB (a throwaway server on loopback,
tests/storage/mariadb_server.py; "skipped" when it is not installed).

Workload: N `trade_events` records shaped like the seed's trades.jsonl lines (+ our fields).
- bare:   rows already converted to driver values, plain `INSERT ... VALUES` via
          `cursor.executemany`, one commit per batch of B rows.
- writer: `SqlWriter.submit(record dict)` for every record, then `flush()`: conversion, idempotent
          insert (`ON CONFLICT DO NOTHING` / `ON DUPLICATE KEY UPDATE`), background thread, same B.
- sink:   `ReportSink.record_trade()` (JSONL line + SQL) then `flush()`, for information.
Also the hot-path cost per call (what the engine pays): `submit()` and `record_trade()`.
Target: writer within 2x of bare.

Run: .venv/bin/python bench/store.py [--events N] [--batch B] [--mysql-url URL]
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import random
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, Table
from sqlalchemy.sql.elements import quoted_name

from polymarket_bot.storage.db import create_db_engine, init_schema, is_sqlite
from polymarket_bot.storage.fields import iso_ms
from polymarket_bot.storage.models import TABLES
from polymarket_bot.storage.records import RowConverter
from polymarket_bot.storage.sink import ReportSink
from polymarket_bot.storage.writer import SqlWriter

ROOT = Path(__file__).resolve().parents[1]


def make_records(n: int, seed: int = 5) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = 1_760_349_961.123
    records = []
    for i in range(n):
        shares = Decimal(rng.randint(1, 50_000)) / 100
        price = Decimal(rng.randint(1, 99)) / 100
        records.append(
            {
                "timestamp": iso_ms(start + i * 0.01),
                "order_id": f"0x{rng.getrandbits(256):064x}",
                "market_id": f"SIM-{rng.randint(1, 50)}",
                "action": "yes" if i % 2 else "no",
                "filled_shares": shares,
                "average_price": price,
                "notional": shares * price,
                "status": "partial" if i % 3 else "filled",
                "execution_mode": "order_ws",
                "trade_id": f"{rng.getrandbits(64):016x}",
                "side": "BUY",
                "fee": Decimal("0.01"),
                "settlement": "MATCHED",
                "external": False,
                "runtime_mode": "dry-run",
                "event_id": f"{i:012x}{rng.getrandbits(80):020x}",
            }
        )
    return records


def bare_table(engine: Engine) -> str:
    """A fresh copy of trade_events (same columns and indexes) for the bare inserts."""
    metadata = MetaData()
    copy: Table = TABLES["trade_events"].to_metadata(metadata, name="bench_bare_trades")
    for index in copy.indexes:
        index.name = quoted_name(f"bare_{index.name}", quote=None)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    return copy.name


def run_bare(engine: Engine, records: list[dict[str, Any]], batch: int) -> float:
    converter = RowConverter("trade_events", sqlite=is_sqlite(engine))
    rows = [converter(r) for r in records]  # not timed: the bare path gets ready-made rows
    table = bare_table(engine)
    quote = engine.dialect.identifier_preparer.quote
    mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in converter.columns)}) "
        f"VALUES ({', '.join(mark for _ in converter.columns)})"
    )
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        gc.collect()
        started = time.perf_counter()
        for i in range(0, len(rows), batch):
            cursor.executemany(sql, rows[i : i + batch])
            raw.commit()
        elapsed = time.perf_counter() - started
        cursor.close()
    finally:
        raw.close()
    return elapsed


def run_writer(engine: Engine, records: list[dict[str, Any]], batch: int) -> tuple[float, float]:
    init_schema(engine)
    with engine.begin() as conn:
        conn.execute(TABLES["trade_events"].delete())
    writer = SqlWriter(engine, batch_size=batch, flush_interval=0.05, create_schema=False)
    writer.start()
    gc.collect()
    submit = writer.submit
    started = time.perf_counter()
    for record in records:
        submit("trade_events", record)
    submitted = time.perf_counter()
    assert writer.flush(timeout=600)
    elapsed = time.perf_counter() - started
    stats = writer.stats
    writer.close()
    assert stats.written == len(records) and stats.rejected == 0, stats
    return elapsed, (submitted - started) / len(records)


def run_sink(
    url: str, reports: Path, records: list[dict[str, Any]], batch: int
) -> tuple[float, float]:
    engine = create_db_engine(url)
    init_schema(engine)
    with engine.begin() as conn:
        conn.execute(TABLES["trade_events"].delete())
    sink = ReportSink(reports, engine=engine, batch_size=batch, flush_interval=0.05)
    gc.collect()
    fresh = [dict(r, event_id=f"s{r['event_id']}") for r in records]
    started = time.perf_counter()
    for record in fresh:
        sink.record_trade(record)
    submitted = time.perf_counter()
    assert sink.flush(timeout=600)
    elapsed = time.perf_counter() - started
    sink.close()
    engine.dispose()
    return elapsed, (submitted - started) / len(records)


def bench(name: str, url: str, records: list[dict[str, Any]], batch: int, workdir: Path) -> None:
    n = len(records)
    engine = create_db_engine(url)
    try:
        init_schema(engine)
        bare = min(run_bare(engine, records, batch) for _ in range(2))
        ours, submit_cost = min(
            (run_writer(engine, records, batch) for _ in range(2)), key=lambda t: t[0]
        )
    finally:
        engine.dispose()
    sink, record_cost = run_sink(url, workdir / f"reports-{name}", records, batch)
    ratio = ours / bare
    print(f"{name}: {n} trade events, batch {batch}")
    print(f"  bare executemany      {n / bare:>10,.0f} events/s")
    print(f"  SqlWriter             {n / ours:>10,.0f} events/s  ({ratio:.2f}x bare, target <= 2x)")
    print(f"  ReportSink JSONL+SQL  {n / sink:>10,.0f} events/s")
    print(
        f"  hot path per call: submit() {submit_cost * 1e6:.2f} us, "
        f"record_trade() {record_cost * 1e6:.2f} us"
    )


def start_mariadb(workdir: Path) -> tuple[Callable[[], None], str] | None:
    spec = importlib.util.spec_from_file_location(
        "mariadb_server", ROOT / "tests" / "storage" / "mariadb_server.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mariadb_server"] = module
    spec.loader.exec_module(module)
    if module.find_binaries() is None:
        return None
    server = module.MariaDBServer.start(workdir / "mariadb")
    return server.stop, str(server.url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--mysql-url", default=None, help="use this server instead of starting one")
    args = parser.parse_args()
    records = make_records(args.events)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        bench("sqlite", f"sqlite:///{workdir / 'bench.db'}", records, args.batch, workdir)
        stop: Callable[[], None] | None = None
        url = args.mysql_url
        if url is None:
            started = start_mariadb(workdir)
            if started is not None:
                stop, url = started
        if url is None:
            print("mariadb: skipped (mariadb-server not installed)")
            return
        try:
            bench("mariadb", url, records, args.batch, workdir)
        finally:
            if stop is not None:
                stop()


if __name__ == "__main__":
    main()
