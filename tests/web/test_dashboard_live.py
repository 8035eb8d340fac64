"""The dashboard end to end with real processes: the simulator, a real trader trading on it
(OFFLINE mode) and the monitor over the trader's reports directory, in Debian's headless Chromium.

Checks that the panels show the numbers the reports hold while the trader runs and after it
stops, that the "WS degraded" banner appears when the simulator kills and stalls the market WS
and goes away after recovery, and that controls are refused (403, no control file) when the
monitor has no token. Screenshots go to the test's tmp_path (and $MONITOR_SCREENSHOT_DIR).
Under CI=true a missing /usr/bin/chromium fails the test; elsewhere it skips.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from live_kit import LiveTrading, panel_expectations, usd, wait_until
from monitor_kit import serve
from test_dashboard_browser import ARGS, CHROMIUM, TIMEOUT_MS, _require_chromium

from polymarket_bot.web.app import CONTROL_ROUTES, create_app

PANELS_TIMEOUT_S = 20.0
FAULT_TIMEOUT_MS = 15_000
READ_FIELDS = """keys => Object.fromEntries(keys.map(k => {
  const node = document.querySelector(k.startsWith("#") ? k : `[data-k="${k}"]`);
  return [k, node === null ? null : node.textContent];
}))"""
POST_CONTROLS = """async paths => {
  const out = {};
  for (const p of paths) out[p] = (await fetch(`/api/controls/${p}`, {method: "POST"})).status;
  return out;
}"""


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


def test_money_format_is_the_browsers(browser: Any) -> None:
    """The tests' `usd` formats money exactly as the dashboard's `Intl.NumberFormat` does in
    Chromium, half cents and signed zeros included (a trader's numbers land on them)."""
    values = [16.395, 0.205, -0.205, 1.005, 2.675, 0.125, 1234.565, 0.695, 0.0, -0.0, 1e-9, 5e-3]
    page = browser.new_page()
    shown = page.evaluate(
        "vs => vs.map(v => new Intl.NumberFormat('en-US', {style: 'currency', currency: 'USD'})"
        ".format(v))",
        values,
    )
    assert shown == [usd(v) for v in values]


def shown_fields(page: Any, keys: list[str]) -> dict[str, str | None]:
    """The text of these `data-k` fields (or #selectors), read in one go (between two renders)."""
    shown: dict[str, str | None] = page.evaluate(READ_FIELDS, keys)
    return shown


def panels_agree(page: Any, reports: Path, timeout: float, what: str) -> dict[str, str]:
    """Poll until every panel field shows what the report files hold at that moment (the page
    refreshes every 250 ms, the trader rewrites its status every 2 s); the agreed fields."""
    deadline = time.monotonic() + timeout
    expected: dict[str, str] | None = None
    shown: dict[str, str | None] = {}
    while True:
        expected = panel_expectations(reports)
        if expected is not None:
            shown = shown_fields(page, list(expected))
            if shown == expected and panel_expectations(reports) == expected:
                return expected
        if time.monotonic() > deadline:
            diff = {k: (shown.get(k), v) for k, v in (expected or {}).items() if shown.get(k) != v}
            raise AssertionError(f"{what}: panels never matched the reports; (shown, file): {diff}")
        time.sleep(0.1)


def screenshot(page: Any, tmp_path: Path, name: str) -> Path:
    """A full-page PNG under tmp_path/screenshots, copied to $MONITOR_SCREENSHOT_DIR if set."""
    folder = tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    page.screenshot(path=str(path), full_page=True)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    extra = os.environ.get("MONITOR_SCREENSHOT_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(extra) / name)
    return path


def test_dashboard_follows_a_real_trader_on_the_simulator(
    browser: Any, tmp_path: Path, quick_feed: dict[str, float]
) -> None:
    from playwright.sync_api import expect

    reports, run = tmp_path / "reports", tmp_path / "run"
    app = create_app(reports, control_token=None, run_dir=run, poll_interval=0.2)
    control_file = app.state.monitor.controls.path
    with serve(app) as url:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        with LiveTrading(tmp_path, seed=11, market_data=quick_feed) as live:
            wait_until(
                lambda: live.source() == "ws_live" and live.filled() >= 2,
                40,
                "two filled orders on a live market WS",
            )
            page.goto(f"{url}/?refresh=250")
            page.wait_for_selector("body[data-loaded='1']", timeout=TIMEOUT_MS)

            # (1) Every panel shows what the reports hold, while the trader trades.
            agreed = panels_agree(page, reports, PANELS_TIMEOUT_S, "while trading")
            assert agreed["runtime_mode"] == "OFFLINE"
            assert int(agreed["lifecycle.fills"]) >= 2
            assert int(agreed["lifecycle.submitted"]) > 0 and int(agreed["risk.approved"]) > 0
            assert agreed["ledger.cash"] != "$10,000.00"  # the fills moved cash
            assert '#rl-scopes li[data-key="global"] .bar-val' in agreed
            banner = page.locator('[data-banner="ws_degraded"]')
            expect(banner).to_have_count(0)
            expect(page.locator("#feed-pill")).to_have_text("ws_live")
            screenshot(page, tmp_path, "dashboard_live.png")

            # (2) The simulator kills the market WS and keeps it silent: the trader falls back to
            # REST, the banner appears; the fault ends: ws_live again, the banner goes away.
            live.admin(
                "POST",
                "/admin/faults",
                {"fault": "ws_stall", "params": {"channel": "market"}, "duration_s": 30},
            )
            live.admin(
                "POST", "/admin/faults", {"fault": "ws_disconnect", "params": {"channel": "market"}}
            )
            expect(banner).to_be_visible(timeout=FAULT_TIMEOUT_MS)
            expect(banner).to_contain_text(
                re.compile(r"market data source is (ws_stale|rest_only)")
            )
            expect(page.locator("#feed-pill")).to_have_text(re.compile(r"^(ws_stale|rest_only)$"))
            assert live.source() in ("ws_stale", "rest_only")
            screenshot(page, tmp_path, "dashboard_ws_degraded.png")
            assert live.admin("DELETE", "/admin/faults")["cleared"] >= 1
            wait_until(lambda: live.source() == "ws_live", 20, "the market WS to recover")
            expect(banner).to_have_count(0, timeout=FAULT_TIMEOUT_MS)
            expect(page.locator("#feed-pill")).to_have_text("ws_live", timeout=FAULT_TIMEOUT_MS)

            # (3) Without a control token every control is refused and nothing is written.
            expect(page.locator("#controls-note")).to_contain_text("Controls are disabled")
            page.click("button[data-action='pause']")
            expect(page.locator("#control-result")).to_contain_text("Refused (403)")
            statuses = page.evaluate(POST_CONTROLS, list(CONTROL_ROUTES))
            assert statuses == dict.fromkeys(CONTROL_ROUTES, 403)
            assert not control_file.exists()
            assert not list(run.glob("*control*"))
            controls = live.status()["controls"]
            assert (controls["paused"], controls["kill_switch"], controls["control_revision"]) == (
                False,
                False,
                0,
            )

        # (4) The trader stopped (resting orders cancelled, final status and ledger written):
        # the panels settle on the final numbers.
        final = panels_agree(page, reports, PANELS_TIMEOUT_S, "after the trader stopped")
        assert final["lifecycle.pending"] == "0"
        screenshot(page, tmp_path, "dashboard_final.png")
        assert errors == []
