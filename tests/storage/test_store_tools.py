"""The seed's replay (§8) and export (§18) commands, run as written from a working directory that
holds a `reports/` made here, on SQLite (the default) and on MariaDB (POLY_DB_URL). Outputs are
checked against the source: row counts, CSV columns, Parquet schema."""

from __future__ import annotations

import csv
import os
import random
import shlex
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from store_kit import clean_environ, exit_, order, positions, trade

from polymarket_bot.storage.db import open_database
from polymarket_bot.storage.export import arrow_schema, export_tables
from polymarket_bot.storage.fields import iso_from_datetime
from polymarket_bot.storage.models import TABLE_FIELDS
from polymarket_bot.storage.replay import csv_columns
from polymarket_bot.storage.sink import ReportSink

REPO = Path(__file__).resolve().parents[2]
SEED_REPLAY = (
    "python scripts/replay_order_store.py --trades --last-minutes 30 --side yes --stats",
    "python scripts/replay_order_store.py --orders --since 2025-10-13T00:00:00Z --market SIM-1 "
    "--csv out.csv",
    "python scripts/replay_order_store.py --orders --trades --last-minutes 60 --csv out.csv",
)
SEED_EXPORT = (
    "python scripts/export_db.py --tables orders trades --format csv --out-dir exports",
    "python scripts/export_db.py --tables positions realized --format parquet --out-dir exports",
)


class Workdir:
    """A working directory with reports/ (JSONL + the database) and `scripts` linked in."""

    def __init__(self, root: Path, db_url: str, backend: str) -> None:
        self.root = root
        (root / "scripts").symlink_to(REPO / "scripts")
        self.env = clean_environ()
        if backend != "sqlite":
            self.env["POLY_DB_URL"] = db_url
            self.db_url = db_url
        else:
            self.db_url = f"sqlite:///{root / 'reports' / 'polymarket.db'}"
        self.now = datetime.now(timezone.utc)
        self.orders: list[dict[str, Any]] = []
        self.trades: list[dict[str, Any]] = []
        rng = random.Random(11)
        sink = ReportSink(root / "reports", db_url=self.db_url, runtime_mode="dry-run")
        # One order and one trade every minute for two hours (half a minute off the edges),
        # plus a day before the --since bound of the seed example.
        times = [self.now - timedelta(minutes=k + 0.5) for k in range(120)]
        times += [
            datetime(2025, 10, 12, 23, 59, tzinfo=timezone.utc) - timedelta(minutes=k)
            for k in range(10)
        ]
        for i, when in enumerate(times):
            self.orders.append(order(i, when, rng))
            self.trades.append(trade(i, when, rng))
            sink.record_order(self.orders[-1])
            sink.record_trade(self.trades[-1])
        for i in range(5):
            sink.record_exit(exit_(i, self.now))
        sink.snapshot_positions(positions(3, self.now))
        sink.snapshot_positions(positions(3, self.now + timedelta(seconds=1)))
        assert sink.close(60)
        with open(root / "reports" / "orders.jsonl", "ab") as handle:
            handle.write(b'{"torn": ')  # a crash mid-line: must be skipped, not fatal

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        argv = shlex.split(command)
        assert argv[0] == "python"
        result = subprocess.run(
            [sys.executable, *argv[1:]],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, (command, result.stdout, result.stderr)
        return result

    def within(self, minutes: float, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        start = self.now - timedelta(minutes=minutes)
        return [r for r in records if r["timestamp"] >= iso_from_datetime(start)]


@pytest.fixture
def workdir(tmp_path: Path, db_url: str, backend: str) -> Workdir:
    root = tmp_path / "work"
    root.mkdir()
    return Workdir(root, db_url, backend)


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def test_seed_replay_examples(workdir: Workdir) -> None:
    # 1. last 30 minutes of trades on the yes side, with statistics.
    result = workdir.run(SEED_REPLAY[0])
    expected = [t for t in workdir.within(30, workdir.trades) if t["action"] == "yes"]
    assert f"trades: {len(expected)} matched" in result.stderr
    total_row = next(line for line in result.stdout.splitlines() if line.startswith("│ *"))
    cells = [c.strip() for c in total_row.strip("│").split("│")]
    notional = sum((t["notional"] for t in expected), Decimal(0))
    shares = sum((t["filled_shares"] for t in expected), Decimal(0))
    assert cells[2] == str(len(expected))
    assert Decimal(cells[3]) == shares and Decimal(cells[4]) == notional
    assert Decimal(cells[6]) == (notional / shares).quantize(Decimal("0.000001"))

    # 2. orders since a date, one market, to CSV (the torn last line is skipped and counted).
    result = workdir.run(SEED_REPLAY[1])
    expected = [
        o
        for o in workdir.orders
        if o["market_id"] == "SIM-1" and o["timestamp"] >= "2025-10-13T00:00:00.000Z"
    ]
    assert "skipped 1 malformed/torn line(s)" in result.stderr
    columns, rows = read_csv(workdir.root / "out.csv")
    assert tuple(columns) == csv_columns("orders")
    assert [r["order_id"] for r in rows] == [o["order_id"] for o in expected]
    assert all(r["market_id"] == "SIM-1" and r["event_id"] for r in rows)

    # 3. both streams, last hour: suffixed files.
    (workdir.root / "out.csv").unlink()
    workdir.run(SEED_REPLAY[2])
    assert not (workdir.root / "out.csv").exists()
    _, orders = read_csv(workdir.root / "out_orders.csv")
    columns, trades = read_csv(workdir.root / "out_trades.csv")
    assert len(orders) == len(workdir.within(60, workdir.orders)) == 60
    assert len(trades) == 60 and tuple(columns) == csv_columns("trades")
    assert [Decimal(r["filled_shares"]) for r in trades] == [
        t["filled_shares"] for t in workdir.within(60, workdir.trades)
    ]


def test_replay_from_the_database_matches_jsonl(workdir: Workdir) -> None:
    base = "python scripts/replay_order_store.py --orders --trades --last-minutes 60 --stats --json"
    from_jsonl = workdir.run(base).stdout
    from_db = workdir.run(f"{base} --db {shlex.quote(workdir.db_url)}").stdout
    from_config = workdir.run(f"{base} --db config").stdout
    import json

    a, b, c = json.loads(from_jsonl), json.loads(from_db), json.loads(from_config)
    for kind in ("orders", "trades"):
        assert a[kind]["groups"] == b[kind]["groups"] == c[kind]["groups"]
        assert a[kind]["matched"] == b[kind]["matched"] == 60
    assert b["orders"]["source"] == "table order_events"


def test_seed_export_examples(workdir: Workdir) -> None:
    result = workdir.run(SEED_EXPORT[0])
    exports = workdir.root / "exports"
    for table, source in (("order_events", workdir.orders), ("trade_events", workdir.trades)):
        assert f"{table}: {len(source)} rows" in result.stdout
        columns, rows = read_csv(exports / f"{table}.csv")
        assert columns == ["event_id", *(f.name for f in TABLE_FIELDS[table])]
        assert len(rows) == len(source)
    _, trades = read_csv(exports / "trade_events.csv")
    by_trade = {r["trade_id"]: r for r in trades}
    for t in workdir.trades:
        assert Decimal(by_trade[t["trade_id"]]["notional"]) == t["notional"].quantize(
            Decimal("1e-6")
        )

    workdir.run(SEED_EXPORT[1])
    positions_pq = pq.read_table(exports / "position_snapshots.parquet")
    realized_pq = pq.read_table(exports / "realized_exits.parquet")
    assert positions_pq.num_rows == 6 and realized_pq.num_rows == 5
    assert positions_pq.schema.equals(arrow_schema("position_snapshots"))
    assert realized_pq.schema.field("pnl").type == pa.decimal128(20, 6)
    assert realized_pq.schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    pnl = realized_pq.column("pnl").to_pylist()
    assert pnl == [Decimal("1.365000")] * 5


def test_parquet_falls_back_to_csv_without_pyarrow(workdir: Workdir) -> None:
    code = (
        "import sys; sys.modules['pyarrow'] = None; "
        "from polymarket_bot.cli.store_cmd import export_main; export_main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "--tables", "realized", "--format", "parquet"],
        cwd=workdir.root,
        env=workdir.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "pyarrow is not installed" in result.stderr and "wrote CSV instead" in result.stderr
    _, rows = read_csv(workdir.root / "exports" / "realized_exits.csv")
    assert len(rows) == 5


def test_export_function_falls_back_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    engine = open_database(db_url)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    [result] = export_tables(engine, ["orders"], tmp_path / "x", "parquet")
    engine.dispose()
    assert result.format == "csv" and result.note and result.path.suffix == ".csv"
    assert result.rows == 0 and result.path.read_text().startswith("event_id,timestamp,")


def test_bad_arguments_exit_with_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "scripts").symlink_to(REPO / "scripts")
    env = clean_environ()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True
        )

    for args in (
        ["scripts/replay_order_store.py", "--side", "maybe"],
        ["scripts/replay_order_store.py", "--since", "yesterday"],
        ["scripts/export_db.py", "--tables", "nope"],
        ["scripts/export_db.py", "--format", "xlsx"],
    ):
        result = run(*args)
        assert result.returncode == 2, (args, result.stderr)
    missing = run("scripts/export_db.py", "--db", f"sqlite:///{tmp_path / 'no.db'}")
    assert missing.returncode == 1 and "database file not found" in missing.stderr
    assert not (tmp_path / "no.db").exists()
    empty = run("scripts/replay_order_store.py", "--orders")  # no reports yet: a warning only
    assert empty.returncode == 0 and "does not exist" in empty.stderr


def test_cli_functions_register_as_subcommands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """How the lead wires them: `app.command("replay")(replay)`, `app.command("export")(export)`."""
    import typer
    from typer.testing import CliRunner

    from polymarket_bot.cli.store_cmd import export, replay

    app = typer.Typer()
    app.command("replay")(replay)
    app.command("export")(export)
    for name in clean_environ().keys() ^ os.environ.keys():
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    sink = ReportSink(tmp_path / "reports")
    sink.record_trade({"market_id": "SIM-1", "action": "yes", "filled_shares": 2, "notional": 1})
    assert sink.close()
    runner = CliRunner()
    result = runner.invoke(app, ["replay", "--trades", "--log-level", "INFO"])
    assert result.exit_code == 0, result.output
    assert '"market_id":"SIM-1"' in result.stdout  # records printed as JSONL
    result = runner.invoke(app, ["export", "--tables", "trades", "fills", "--out-dir", "out"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "trade_events.csv").read_text().count("\n") == 2
    assert (tmp_path / "out" / "fill_events.csv").exists()
