"""Pure parts of order tracking: the per-minute external-fill trend, the submit journal, the
status shapes."""

from __future__ import annotations

from pathlib import Path

from polymarket_bot.engine.tracking import ExternalTrend, disabled_ws_status
from polymarket_bot.engine.tracking.reconcile import SubmitJournal, prior_order_ids
from polymarket_bot.engine.tracking.status import ws_section


def test_trend_counts_growth_per_minute_zero_filled_and_bounded() -> None:
    trend = ExternalTrend()
    t0 = 1_800_000_000.0 - 1_800_000_000.0 % 60  # a minute boundary
    assert trend.observe(5, t0) == 0  # baseline: fills before start are not "new"
    assert trend.observe(7, t0 + 10) == 2
    assert trend.observe(8, t0 + 70) == 1
    series = trend.series(t0 + 70, window=5)
    assert [p["count"] for p in series] == [0, 0, 0, 2, 1]
    assert series[-1]["t"].endswith(":00.000Z")
    assert trend.totals(t0 + 70) == {"5": 3, "15": 3, "60": 3}
    for minute in range(200):
        trend.observe(8 + minute, t0 + 120 + minute * 60)
    assert len(trend.series(t0 + 120 + 199 * 60)) == 60
    assert len(trend._buckets) <= 60  # bounded memory


def test_submit_journal_reads_increments_and_skips_torn_lines(tmp_path: Path) -> None:
    path = tmp_path / "orders.jsonl"
    journal = SubmitJournal(path)
    assert "0xa" not in journal  # no file yet
    path.write_text(
        '{"event": "submit", "order_id": "0xa"}\n{"event": "cancel", "order_id": "0xb"}\n'
    )
    assert "0xa" in journal and "0xb" not in journal
    with path.open("a") as fh:
        fh.write('{"event": "submit", "order_id": "0xc"')  # torn: no newline yet
    assert "0xc" not in journal
    with path.open("a") as fh:
        fh.write("}\n")
    assert "0xc" in journal
    assert prior_order_ids(path) == {"0xa", "0xc"}


def test_status_shapes() -> None:
    off = disabled_ws_status("SERVICE_USE_ORDER_WS is false")
    assert off["status"] == "disabled" and off["reason"] == "SERVICE_USE_ORDER_WS is false"
    assert set(off) >= {
        "failures",
        "cooldown_remaining_seconds",
        "last_success_epoch",
        "last_error_epoch",
        "last_error",
    }
    assert ws_section({"status": "connecting"})["status"] == "degraded"
    assert ws_section({"status": "ok"})["status"] == "ok"
