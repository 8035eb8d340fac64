"""The dashboard in Debian's headless Chromium (Playwright), served by a real uvicorn on an
ephemeral loopback port over a reports directory filled with realistic report files.

Checks that every panel shows the numbers the reports hold, that the "WS degraded" banner follows
pipeline_status.json, that controls are refused without a token (and accepted with it), and that
the page fits a phone. Screenshots go to $MONITOR_SCREENSHOT_DIR or the test's tmp_path.
Under CI=true a missing /usr/bin/chromium fails the test; elsewhere it skips.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from monitor_kit import (
    Expected,
    frontier_document,
    money,
    pct,
    pipeline_status,
    pnl,
    serve,
    write_json,
    write_reports,
)

from polymarket_bot.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN = "operator-token-123"
TIMEOUT_MS = 10_000


def _require_chromium() -> None:
    problem = None
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is missing"
    if problem is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(problem)
        pytest.skip(problem)


@pytest.fixture
def browser() -> Iterator[Any]:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("MONITOR_SCREENSHOT_DIR") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def field(page: Any, key: str) -> Any:
    return page.locator(f'[data-k="{key}"]').first


def check_panels(page: Any, exp: Expected) -> None:
    from playwright.sync_api import expect

    r = exp.realized
    expected_fields = {
        "runtime_mode": "OFFLINE",
        # Realized Summary
        "realized.realized_pnl": pnl(r["realized_pnl"]),
        "realized.win_rate": pct(r["win_rate"]),
        "realized.count": str(r["count"]),
        "realized.wins": str(r["wins"]),
        "realized.losses": str(r["losses"]),
        "realized.average_win": pnl(r["average_win"]),
        "realized.average_loss": pnl(r["average_loss"]),
        "realized.average_pnl": pnl(r["average_pnl"]),
        "realized.fees": money(r["fees"]),
        # Ledger Summary
        "ledger.cash": money(exp.positions["cash"]),
        "ledger.exposure": money(exp.positions["exposure"]),
        "ledger.unrealized_pnl": pnl(exp.positions["unrealized_pnl"]),
        "ledger.total_pnl": pnl(r["realized_pnl"] + exp.positions["unrealized_pnl"]),
        "ledger.fees": money(exp.fills_fees),
        "ledger.positions_count": "2",
        # Order Lifecycle
        "lifecycle.approvals": str(exp.risk_approved),
        "lifecycle.rejects": str(exp.order_events["reject"]),
        "lifecycle.fills": str(exp.order_events["filled"]),
        "lifecycle.partials": str(exp.order_events["partial"]),
        "lifecycle.pending": "3",
        "lifecycle.submitted": str(exp.order_events["submit"]),
        "lifecycle.canceled": str(exp.order_events["cancel"]),
        "lifecycle.trades.notional": money(exp.trade_notional),
        "lifecycle.orders_ws.status": "ok",
        "lifecycle.orders_ws.last_success_epoch": re.compile(r"^\d+s ago$"),
        "lifecycle.orders_ws.last_error_epoch": "30m ago",
        "lifecycle.orders_ws.last_error": "ConnectionClosedError: no close frame received",
        "lifecycle.orders_rest.running": "running",
        "lifecycle.orders_rest.success": "214",
        "lifecycle.orders_rest.errors": "2",
        "lifecycle.orders_rest.last_error_epoch": "60m ago",
        "lifecycle.orders_rest.last_error": "HTTP 429 Too Many Requests",
        "lifecycle.external_fills.opened": "3",
        "lifecycle.external_fills.applied_same_side": "2",
        "lifecycle.external_fills.reduced_opposite": "1",
        "lifecycle.external_fills.closed": "1",
        "lifecycle.external_fills.last_seen": "2m ago",
        "lifecycle.ext_trends.5.total": "2",
        "lifecycle.ext_trends.15.total": "4",
        "lifecycle.ext_trends.60.total": "5",
        "lifecycle.io_errors_total": "0",
        # Risk Audit
        "risk.approved": str(exp.risk_approved),
        "risk.rejected": str(exp.risk_rejected),
        "risk.reject_rate": pct(exp.risk_rejected / (exp.risk_approved + exp.risk_rejected)),
        # Strategy Rate Limits
        "rate_limits.rate_limit_rejects": str(exp.reject_reasons["strategy_rate_limit"]),
    }
    for key, text in expected_fields.items():
        expect(field(page, key)).to_have_text(text, timeout=TIMEOUT_MS)
    # tables, bars and charts
    positions = page.locator("#positions tbody tr")
    expect(positions).to_have_count(2)
    expect(positions.nth(0)).to_contain_text("SIM-1")
    expect(positions.nth(0)).to_contain_text("+$4.00")
    expect(positions.nth(1)).to_contain_text("-$7.62")
    for reason, count in exp.risk_reasons.items():
        expect(page.locator(f'#risk-reasons li[data-key="{reason}"]')).to_contain_text(str(count))
    expect(page.locator('#rl-scopes li[data-key="global"]')).to_contain_text("17 / 30 per 60s")
    hot = page.locator("#rl-hotspots tbody tr").first
    expect(hot).to_contain_text("SIM-1")
    expect(hot).to_contain_text("100.0%")
    expect(page.locator("#recent-orders tbody tr")).to_have_count(12)
    expect(page.locator("#chart-equity svg path.mc-line")).to_have_count(1)
    for window in ("5", "15", "60"):
        expect(page.locator(f"#chart-ext-{window} svg rect")).to_have_count(int(window))
    expect(page.locator('#io-list li[data-io="orders"]')).to_contain_text("0")


def test_dashboard_in_chromium(browser: Any, tmp_path: Path, shots: Path) -> None:
    from playwright.sync_api import expect

    reports, run = tmp_path / "reports", tmp_path / "run"
    now = time.time()
    exp = write_reports(reports, now)
    app = create_app(reports, control_token=None, run_dir=run, poll_interval=0.2)
    with serve(app) as url:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{url}/?refresh=250")
        page.wait_for_selector("body[data-loaded='1']", timeout=TIMEOUT_MS)
        check_panels(page, exp)

        # Backtest Frontier: says so until a backtest ran, then plots it with the chosen point.
        expect(page.locator("#frontier-empty")).to_contain_text("No backtest has run yet")
        write_json(reports / "backtest_frontier.json", frontier_document(now))
        expect(page.locator("#chart-frontier svg circle")).to_have_count(6, timeout=TIMEOUT_MS)
        expect(page.locator("#chart-frontier circle[data-chosen='1']")).to_have_count(1)
        expect(page.locator("#frontier-chosen")).to_contain_text("return 5.2%")
        expect(page.locator("#frontier-chosen")).to_contain_text("spread_bps")
        expect(page.locator("#frontier-empty")).to_be_hidden()
        page.screenshot(path=str(shots / "dashboard.png"), full_page=True)

        # Banners follow pipeline_status.json.
        banner = page.locator('[data-banner="ws_degraded"]')
        expect(banner).to_have_count(0)
        degraded = pipeline_status(now, source="rest_only")
        degraded["fetch_info"]["orders_ws"]["status"] = "ok"  # the market feed alone
        degraded["io_errors"]["orders"] = 3
        write_json(reports / "pipeline_status.json", degraded)
        expect(banner).to_be_visible(timeout=TIMEOUT_MS)
        expect(banner).to_contain_text("WS degraded: fallback to REST")
        expect(banner).to_contain_text("market data source is rest_only")
        expect(banner).to_contain_text("SERVICE_USE_WS=true")
        expect(page.locator('[data-banner="io_degraded"]')).to_contain_text("orders: 3")
        expect(field(page, "lifecycle.io_errors_total")).to_have_text("3")
        expect(page.locator("#feed-pill")).to_have_text("rest_only")
        page.screenshot(path=str(shots / "dashboard_degraded.png"), full_page=False)
        write_json(reports / "pipeline_status.json", pipeline_status(now))
        expect(banner).to_have_count(0, timeout=TIMEOUT_MS)
        order_ws_degraded = pipeline_status(now)
        order_ws_degraded["fetch_info"]["orders_ws"]["status"] = "degraded"
        write_json(reports / "pipeline_status.json", order_ws_degraded)
        expect(banner).to_contain_text("order WS is degraded", timeout=TIMEOUT_MS)
        recovered = pipeline_status(now)
        recovered["fetch_info"]["orders_ws"]["status"] = "disabled"
        write_json(reports / "pipeline_status.json", recovered)
        expect(banner).to_have_count(0, timeout=TIMEOUT_MS)
        expect(page.locator('[data-banner="io_degraded"]')).to_have_count(0)
        disabled = page.locator('[data-banner="order_ws_disabled"]')
        expect(disabled).to_contain_text("Order WS disabled")
        expect(disabled).to_contain_text("SERVICE_USE_ORDER_WS=true")

        # Controls are refused without a configured token, and nothing is written.
        expect(page.locator("#controls-note")).to_contain_text("Controls are disabled")
        page.click("button[data-action='pause']")
        result = page.locator("#control-result")
        expect(result).to_contain_text("Refused (403)")
        expect(result).to_contain_text("no control token is configured")
        kill = page.locator("button[data-action='kill-switch']")
        kill.click()
        expect(kill).to_contain_text("Confirm")  # two-step confirmation
        kill.click()
        expect(result).to_contain_text("Refused (403)")
        assert not (run / "control.json").exists()

        # A phone: one column, nothing wider than the screen.
        phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        phone.goto(f"{url}/?refresh=250")
        phone.wait_for_selector("body[data-loaded='1']", timeout=TIMEOUT_MS)
        expect(field(phone, "realized.realized_pnl")).to_have_text(
            pnl(exp.realized["realized_pnl"])
        )
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        phone.screenshot(path=str(shots / "dashboard_phone.png"), full_page=True)
        assert errors == []


def test_controls_with_a_token_in_chromium(browser: Any, tmp_path: Path, shots: Path) -> None:
    from playwright.sync_api import expect

    reports, run = tmp_path / "reports", tmp_path / "run"
    write_reports(reports, time.time())
    app = create_app(reports, control_token=TOKEN, run_dir=run, poll_interval=0.2)
    with serve(app) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{url}/?refresh=250")
        page.wait_for_selector("body[data-loaded='1']", timeout=TIMEOUT_MS)
        expect(page.locator("#controls-note")).to_be_hidden()
        result = page.locator("#control-result")
        page.click("button[data-action='pause']")
        expect(result).to_contain_text("Refused (401)")
        page.fill("#control-token", "wrong")
        page.click("button[data-action='pause']")
        expect(result).to_contain_text("Refused (401)")
        expect(result).to_contain_text("not valid")
        assert not (run / "control.json").exists()
        page.fill("#control-token", TOKEN)
        page.click("button[data-action='pause']")
        expect(result).to_contain_text("pause requested (revision 1)")
        expect(page.locator('[data-banner="paused"]')).to_be_visible(timeout=TIMEOUT_MS)
        expect(page.locator("#controls-state")).to_contain_text("rev 1 pending")
        cancel = page.locator("button[data-action='cancel-all']")
        cancel.click()
        cancel.click()
        expect(result).to_contain_text("cancel_all requested (revision 2)")
        page.screenshot(path=str(shots / "dashboard_controls.png"))
    from polymarket_bot.observability.controls import read_control_state

    state = read_control_state(run)
    assert (state.revision, state.paused, state.cancel_all.seq) == (2, True, 1)
