"""Line decoding and the incremental aggregates: what is folded in, and that folding in pieces
gives exactly what one full read gives."""

from __future__ import annotations

import itertools
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from monitor_kit import iso, write_json, write_reports

from polymarket_bot.web.aggregates import BoundedCounter, MinuteCounts, ReportsState
from polymarket_bot.web.panels import ext_trend
from polymarket_bot.web.records import LineDecoder, OrderRecord, RiskRecord, TradeRecord

NOW = 1_760_350_000.0  # 2025-10-13T10:06:40Z


def test_decoder_valid_lenient_glued_and_malformed() -> None:
    decoder = LineDecoder(OrderRecord)
    good = b'{"timestamp":"2025-10-13T10:05:12.345Z","event":"reject","reason":"x","size":250.0}'
    wrong_type = b'{"event":"submit","size":{"nested":1},"market_id":"SIM-1"}'
    glued = b'{"timestamp":"2025-10-13T10:05:1{"event":"filled","market_id":"SIM-2"}'
    garbage = b"not json at all"
    records = decoder.decode([good, wrong_type, glued, garbage])
    assert [(r.event, r.market_id) for r in records] == [
        ("reject", ""),
        ("submit", "SIM-1"),
        ("filled", "SIM-2"),
    ]
    assert records[0].reason == "x" and records[0].size == 250.0
    assert records[1].size is None  # the bad field is dropped, the record kept
    assert (decoder.lenient, decoder.recovered, decoder.malformed) == (1, 1, 1)


def test_decoder_batch_path_and_count_mismatch() -> None:
    decoder = LineDecoder(OrderRecord)
    assert [r.event for r in decoder.decode([b'{"event":"a"}', b'{"event":"b"}'])] == ["a", "b"]
    # Two objects on one line would pass the array decode as two records; judged line by line,
    # the line is a torn record glued to a complete one, and only the complete one counts.
    records = decoder.decode([b'{"event":"a"}, {"event":"b"}', b'{"event":"c"}'])
    assert [r.event for r in records] == ["b", "c"]
    assert (decoder.recovered, decoder.malformed) == (1, 0)


def test_money_decodes_exactly() -> None:
    decoder = LineDecoder(TradeRecord)
    (rec,) = decoder.decode([b'{"notional": 66.275, "fee": "0.1", "external": "true"}'])
    assert rec.notional == Decimal("66.275") and rec.fee == Decimal("0.1") and rec.external is True


def test_risk_reasons_from_rejections_or_factors() -> None:
    decoder = LineDecoder(RiskRecord)
    lines = [
        json.dumps({"approved": False, "risk": {"rejections": ["liquidity"]}}).encode(),
        json.dumps(
            {"approved": False, "risk": {"factors": {"var": {"approved": False}, "x": {}}}}
        ).encode(),
        json.dumps({"approved": False}).encode(),
        json.dumps({"risk": {"approved": True}}).encode(),
    ]
    from polymarket_bot.web.aggregates import RiskAgg

    agg = RiskAgg()
    agg.add_all(decoder.decode(lines))
    assert (agg.approved, agg.rejected) == (1, 3)
    assert dict(agg.reasons.counts) == {"liquidity": 1, "var": 1, "unknown": 1}


def test_bounded_counter_lumps_new_keys_into_other() -> None:
    counter = BoundedCounter(max_keys=3)
    for key in ["a", "b", "c", "d", "e", "a"]:
        counter.add(key)
    assert dict(counter.counts) == {"a": 2, "b": 1, "c": 1, "other": 2}
    assert counter.total() == 6


def test_minute_counts_window_and_pruning() -> None:
    counts = MinuteCounts(keep=10)
    for minute in range(100):
        counts.add(iso(NOW - minute * 60))
    assert len(counts.counts) <= 10 + 10 // 4
    series = counts.series(5, NOW)
    assert [c for _, c in series] == [1, 1, 1, 1, 1]
    assert series[-1][0] == "2025-10-13T10:06"
    counts.add("garbage")
    assert "garbage" not in counts.counts


def test_state_matches_the_reports(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    exp = write_reports(reports, NOW)
    state = ReportsState(reports, clock=lambda: NOW)
    assert state.refresh() is True
    assert state.caught_up
    assert dict(state.orders.agg.events) == dict(exp.order_events)
    assert dict(state.orders.agg.reject_reasons.counts) == dict(exp.reject_reasons)
    assert state.orders.agg.rate_limited.total() == exp.reject_reasons["strategy_rate_limit"]
    assert state.orders.tail.stats().offset < state.orders.tail.stats().size  # torn tail left
    assert state.orders.decoder.malformed == 0
    assert (state.risk.agg.approved, state.risk.agg.rejected) == (
        exp.risk_approved,
        exp.risk_rejected,
    )
    assert dict(state.risk.agg.reasons.counts) == dict(exp.risk_reasons)
    assert state.trades.agg.count == exp.trades
    assert float(state.trades.agg.notional) == round(exp.trade_notional, 6)
    assert state.trades.agg.external == sum(exp.external_minutes.values())
    assert float(state.fills.agg.fees) == round(exp.fills_fees, 4)
    assert float(state.realized.agg.pnl) == exp.realized["realized_pnl"]
    assert state.realized.agg.wins == exp.realized["wins"]
    assert state.snapshot("pipeline_status") == exp.status
    assert state.refresh() is False  # nothing changed on disk
    state.close()


def test_ext_trend_prefers_the_status_trend_where_it_reaches(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    exp = write_reports(reports, NOW)
    state = ReportsState(reports, clock=lambda: NOW)
    state.refresh()
    only_trades = ext_trend(state, 60, NOW)
    assert only_trades["source"] == "trades.jsonl"
    assert only_trades["total"] == sum(exp.external_minutes.values())
    assert len(only_trades["points"]) == 60
    assert only_trades["points"][-1]["t"] == "2025-10-13T10:06:00Z"
    status = dict(exp.status)
    status["external_fills_trend"] = [
        {"t": iso(NOW - m * 60)[:17] + "00Z", "count": 7 if m == 1 else 0} for m in range(15)
    ]
    write_json(reports / "pipeline_status.json", status)
    state.refresh()
    last15 = ext_trend(state, 15, NOW)
    assert last15["source"] == "pipeline_status"
    assert last15["total"] == 7
    mixed = ext_trend(state, 60, NOW)
    assert mixed["source"] == "mixed"
    # Minutes 0-14 from the status (7), older ones from trades.jsonl (the 40-minute-old fill).
    assert mixed["total"] == 7 + exp.external_minutes[40]
    state.close()


def _order_line(i: int) -> bytes:
    reasons = ["strategy_rate_limit", "risk:var", "venue:error"]
    record: dict[str, Any] = {
        "timestamp": iso(NOW - 3600 + i),
        "event": ["submit", "partial", "filled", "cancel", "reject"][i % 5],
        "market_id": f"M{i % 3}",
        "action": "yes" if i % 2 else "no",
        "size": 10.5 + i,
    }
    if record["event"] == "reject":
        record["reason"] = reasons[i % 3]
    return json.dumps(record).encode() + b"\n"


def _summary(state: ReportsState) -> tuple[Any, ...]:
    agg = state.orders.agg
    return (
        dict(agg.events),
        dict(agg.reject_reasons.counts),
        dict(agg.rate_limited.counts),
        dict(agg.per_minute.counts),
        [r.timestamp for r in agg.recent],
        state.orders.records,
    )


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(min_value=0, max_value=120),
    cuts=st.lists(st.integers(min_value=0, max_value=20_000), max_size=12),
    max_bytes=st.integers(min_value=1, max_value=4096),
)
def test_incremental_equals_full_read(
    tmp_path_factory: Any, n: int, cuts: list[int], max_bytes: int
) -> None:
    """Appending the same bytes in arbitrary pieces (cutting lines anywhere), with refreshes in
    between and small read steps, folds in exactly what one read of the whole file does."""
    data = b"".join(_order_line(i) for i in range(n))
    pieces_dir = tmp_path_factory.mktemp("pieces")
    whole_dir = tmp_path_factory.mktemp("whole")
    (whole_dir / "orders.jsonl").write_bytes(data)
    whole = ReportsState(whole_dir, clock=time.time)
    whole.catch_up()

    pieces = ReportsState(pieces_dir, clock=time.time, max_bytes_per_poll=max_bytes)
    bounds = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    for start, end in itertools.pairwise(bounds):
        with open(pieces_dir / "orders.jsonl", "ab") as fh:
            fh.write(data[start:end])
        pieces.refresh()
    pieces.catch_up()
    assert _summary(pieces) == _summary(whole)
    assert pieces.orders.decoder.malformed == 0
    whole.close()
    pieces.close()


def test_truncated_stream_starts_over(tmp_path: Path) -> None:
    (tmp_path / "orders.jsonl").write_bytes(b"".join(_order_line(i) for i in range(10)))
    state = ReportsState(tmp_path)
    state.refresh()
    assert state.orders.records == 10
    (tmp_path / "orders.jsonl").write_bytes(_order_line(0))
    state.refresh()
    assert state.orders.records == 1
    assert dict(state.orders.agg.events) == {"submit": 1}
    state.close()


def test_message_rates_and_io_growth(tmp_path: Path) -> None:
    clock = [NOW]
    state = ReportsState(tmp_path, clock=lambda: clock[0])
    status: dict[str, Any] = {
        "updated_at": iso(NOW - 10),
        "fetch_info": {"messages": {"ws": 100, "rest": 10}},
        "io_errors": {"orders": 0},
    }
    write_json(tmp_path / "pipeline_status.json", status)
    state.refresh()
    assert state.rates.ws is None
    status = {
        "updated_at": iso(NOW),
        "fetch_info": {"messages": {"ws": 300, "rest": 15}},
        "io_errors": {"orders": 2},
    }
    write_json(tmp_path / "pipeline_status.json", status)
    state.refresh()
    assert state.rates.ws == 20.0 and state.rates.rest == 0.5
    assert state.io_errors_grew_at == NOW
