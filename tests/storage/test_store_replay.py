"""Replay logic: filters and their boundaries, statistics computed exactly, CSV naming and columns,
torn lines skipped with a count, the database as a source, and constant memory on a big file."""

from __future__ import annotations

import csv
import random
import tracemalloc
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from store_kit import MARKETS, base_time, order, spaced, trade

from polymarket_bot.storage.jsonl import JsonlWriter, encode_record
from polymarket_bot.storage.replay import (
    ReplayFilter,
    csv_columns,
    csv_paths,
    parse_when,
    replay,
)
from polymarket_bot.storage.sink import ReportSink


def write_reports(reports: Path, n: int = 60) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(3)
    orders, trades = [], []
    sink = ReportSink(reports, sql=False)
    for i in range(n):
        when = spaced(base_time(), i, 60.0)
        orders.append(order(i, when, rng))
        trades.append(trade(i, when, rng))
        sink.record_order(orders[-1])
        sink.record_trade(trades[-1])
    sink.close()
    return orders, trades


def test_filters_time_window_market_and_side(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    orders, _ = write_reports(reports)
    since = base_time() + timedelta(minutes=10)
    until = base_time() + timedelta(minutes=40)
    flt = ReplayFilter(since=since, until=until, market="SIM-2", side="no")
    seen: list[dict[str, Any]] = []
    [result] = replay(["orders"], flt, reports_dir=reports, emit=lambda _k, r: seen.append(r))
    expected = [
        o
        for i, o in enumerate(orders)
        if 10 <= i < 40 and o["market_id"] == "SIM-2" and o["action"] == "no"
    ]
    assert [r["order_id"] for r in seen] == [o["order_id"] for o in expected]
    assert result.counts.matched == len(expected) > 0
    assert result.counts.matched + result.counts.excluded == len(orders)


def test_stats_are_exact_by_market_and_side(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    orders, trades = write_reports(reports)
    [result] = replay(["trades"], ReplayFilter(), reports_dir=reports, stats=True)
    assert result.stats is not None
    rows = {(r["market_id"], r["side"]): r for r in result.stats.rows()}
    for market in MARKETS:
        for side in ("yes", "no"):
            mine = [t for t in trades if t["market_id"] == market and t["action"] == side]
            if not mine:
                assert (market, side) not in rows
                continue
            row = rows[(market, side)]
            shares = sum((t["filled_shares"] for t in mine), Decimal(0))
            notional = sum((t["notional"] for t in mine), Decimal(0))
            assert row["count"] == len(mine)
            assert row["shares"] == shares and row["notional"] == notional
            assert row["average_price"] == (notional / shares).quantize(Decimal("0.000001"))
            submitted = sum(
                (
                    Decimal(repr(o["size"]))
                    for o in orders
                    if o["market_id"] == market and o["action"] == side and o["event"] == "submit"
                ),
                Decimal(0),
            )
            # fill ratio = filled shares / submitted size (orders.jsonl read for it)
            expected_ratio = (
                (shares / submitted).quantize(Decimal("0.000001")) if submitted else None
            )
            assert row["fill_ratio"] == expected_ratio
    total = rows[("*", "*")]
    assert total["count"] == len(trades)
    assert total["by_type"] == {"filled": 30, "partial": 30}


def test_csv_suffixes_and_fixed_columns(tmp_path: Path) -> None:
    base = tmp_path / "out.csv"
    assert csv_paths(base, ["orders"]) == {"orders": base}
    assert csv_paths(base, ["orders", "trades"]) == {
        "orders": tmp_path / "out_orders.csv",
        "trades": tmp_path / "out_trades.csv",
    }
    reports = tmp_path / "reports"
    orders, trades = write_reports(reports, 10)
    results = replay(["orders", "trades"], ReplayFilter(), reports_dir=reports, csv_base=base)
    assert [r.csv_rows for r in results] == [10, 10]
    with open(tmp_path / "out_orders.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == csv_columns("orders")
    assert rows[0]["metadata"] == '{"interval_seconds":60,"max_orders":3,"current_window":0}'
    assert rows[0]["size"] == repr(orders[0]["size"])
    assert [r["order_id"] for r in rows] == [o["order_id"] for o in orders]
    with open(tmp_path / "out_trades.csv", newline="") as handle:
        trade_rows = list(csv.DictReader(handle))
    assert trade_rows[0]["external"] == "true"
    assert Decimal(trade_rows[3]["notional"]) == trades[3]["notional"]


def test_torn_and_malformed_lines_are_skipped_with_a_count(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    good = {"timestamp": "2025-10-13T10:00:00.000Z", "market_id": "SIM-1", "action": "yes"}
    (reports / "orders.jsonl").write_bytes(
        encode_record(good) + b"{garbage\n" + encode_record(good) + b'{"timestamp": "2025-10'
    )
    [result] = replay(["orders"], ReplayFilter(), reports_dir=reports, stats=True)
    assert result.counts.matched == 2 and result.read.malformed == 2


def test_unreadable_timestamps_are_excluded_only_under_a_time_filter(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    writer = JsonlWriter(reports / "trades.jsonl")
    writer.write({"timestamp": "not a time", "market_id": "M"})
    writer.write({"timestamp": "2025-10-13T10:00:00Z", "market_id": "M"})
    writer.close()
    [all_] = replay(["trades"], ReplayFilter(), reports_dir=reports)
    assert all_.counts.matched == 2
    flt = ReplayFilter(since=parse_when("2025-10-13T00:00:00Z"))
    [timed] = replay(["trades"], flt, reports_dir=reports)
    assert timed.counts.matched == 1 and timed.counts.bad_timestamp == 1


def test_parse_when_and_filter_validation() -> None:
    assert parse_when("2025-10-13T00:00:00Z") == parse_when("2025-10-13T02:00:00+02:00")
    assert parse_when("2025-10-13").isoformat() == "2025-10-13T00:00:00+00:00"
    with pytest.raises(ValueError):
        parse_when("13/10/2025")
    with pytest.raises(ValueError):
        ReplayFilter(side="maybe")


def test_replay_streams_in_constant_memory(tmp_path: Path) -> None:
    """A file 10x bigger than the memory the replay may use: stats and CSV in one pass."""
    reports = tmp_path / "reports"
    line = encode_record(trade(1, base_time(), random.Random(1)))
    reports.mkdir()
    with open(reports / "trades.jsonl", "wb") as handle:
        for _ in range(20):
            handle.write(line * 2000)
    assert (reports / "trades.jsonl").stat().st_size > 10_000_000
    tracemalloc.start()
    try:
        [result] = replay(
            ["trades"],
            ReplayFilter(market="SIM-2"),
            reports_dir=reports,
            stats=True,
            csv_base=tmp_path / "big.csv",
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.counts.matched == result.csv_rows == 40_000
    assert peak < 1_000_000, peak  # bytes; independent of the file size
