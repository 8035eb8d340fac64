"""A real simulator and a real trader for the monitor's live browser test.

`LiveTrading` runs `SimServer` + `Trader` (OFFLINE mode, venue URLs pointed at the sim, reports
and run dirs under a tmp dir) on an event loop of their own in a background thread, so the test
body can drive Chromium with Playwright's sync API while both keep trading. `market_data` shortens
the trader's market-data timings (the defaults wait ~30 s before calling the WS silent), as
tests/ops/test_alerts.py does with the `quick_feed` fixture.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx

from polymarket_bot.config import build_settings
from polymarket_bot.engine.trader import Trader, TraderOptions
from polymarket_bot.sim.flow import FlowConfig
from polymarket_bot.sim.server import SimServer

T = TypeVar("T")


def read_json(path: Path) -> dict[str, Any]:
    """A report snapshot (written by atomic replace), {} while it does not exist."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return document if isinstance(document, dict) else {}


def wait_until(probe: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll `probe` until it returns something truthy (returned); fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


# -- what the panels must show --------------------------------------------------------------------


def usd(value: float) -> str:
    """The dashboard's money format (`Intl.NumberFormat` en-US currency) as Chromium applies it:
    the float's shortest decimal form (`repr`) rounded half away from zero, so 16.395 (a double
    just below 16.395) shows $16.40, not the $16.39 its exact binary value would round to.
    Pinned against the browser by test_dashboard_live.test_money_format_is_the_browsers."""
    cents = Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    negative = value < 0 or (value == 0 and math.copysign(1.0, value) < 0)
    return ("-" if negative else "") + f"${abs(cents):,}"


def signed_usd(value: float) -> str:
    """The dashboard's PnL format: money with a + on gains."""
    return ("+" if value > 0 else "") + usd(value)


def count(value: object) -> str:
    """The dashboard's integer format (en-US grouping)."""
    assert isinstance(value, int) and not isinstance(value, bool), value
    return f"{value:,}"


def panel_expectations(reports: Path) -> dict[str, str] | None:
    """`data-k` field (or CSS selector, starting with #) -> the text the dashboard must show for
    the report files as they are now: Order Lifecycle, Risk Audit and Strategy Rate Limits from
    pipeline_status.json (`execution`, `risk_audit`, `rate_limits`), Ledger Summary from
    open_positions.json, Realized Summary from realized_summary.json. None while one of them is
    not written yet."""
    status = read_json(reports / "pipeline_status.json")
    positions = read_json(reports / "open_positions.json")
    realized = read_json(reports / "realized_summary.json")
    if not (status and positions and realized):
        return None
    execution = status.get("execution") or {}
    counts = execution.get("counts") or {}
    risk = status.get("risk_audit") or {}
    return {
        "runtime_mode": str(status.get("runtime_mode", "")).upper(),
        "lifecycle.market_feed.current_source": str(
            (status.get("fetch_info") or {}).get("current_source")
        ),
        "lifecycle.submitted": count(counts.get("submitted")),
        "lifecycle.fills": count(counts.get("filled")),
        "lifecycle.partials": count(counts.get("partial")),
        "lifecycle.canceled": count(counts.get("canceled")),
        "lifecycle.pending": count(len(execution.get("pending") or [])),
        "lifecycle.approvals": count(risk.get("approved")),
        "risk.approved": count(risk.get("approved")),
        "risk.rejected": count(risk.get("rejected")),
        "ledger.cash": usd(positions["cash"]),
        "ledger.exposure": usd(positions["exposure"]),
        "ledger.unrealized_pnl": signed_usd(positions["unrealized_pnl"]),
        "ledger.positions_count": count(len(positions["positions"])),
        "realized.realized_pnl": signed_usd(realized["realized_pnl"]),
        "realized.count": count(realized["count"]),
        "ledger.total_pnl": signed_usd(realized["realized_pnl"] + positions["unrealized_pnl"]),
        **{
            f'#rl-scopes li[data-key="{name}"] .bar-val': (
                f"{count(scope.get('current_window'))} / {count(scope.get('max_orders'))}"
                f" per {count(scope.get('interval_seconds'))}s"
            )
            for name, scope in ((status.get("rate_limits") or {}).get("scopes") or {}).items()
        },
    }


class LiveTrading:
    """The simulator and a trader on their own loop in a thread (a context manager).

    On entry the trader is up and has written its first status file; on exit it is stopped
    (resting orders cancelled) and the simulator shut down. An exception in the thread is
    raised again on exit.
    """

    def __init__(
        self,
        tmp: Path,
        *,
        seed: int = 11,
        n_markets: int = 3,
        flow: FlowConfig | None = None,
        start_timeout: float = 30.0,
        market_data: dict[str, float] | None = None,
    ) -> None:
        self.tmp = tmp
        self.market_data = market_data or {}
        self.reports = tmp / "reports"
        self.run_dir = tmp / "run"
        self.seed = seed
        self.n_markets = n_markets
        self.flow = flow or FlowConfig(taker_rate=3.0, taker_size=(5, 60))
        self.start_timeout = start_timeout
        self.sim: SimServer | None = None
        self.trader: Trader | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._thread_main, name="live-trading", daemon=True)

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> LiveTrading:
        self._thread.start()
        if not self._ready.wait(self.start_timeout) or self._error is not None:
            self.close()
            raise AssertionError(f"the simulator and trader did not start: {self._error!r}")
        wait_until(
            lambda: self.trader is not None and self.trader.manager is not None,
            self.start_timeout,
            "the trader to start",
        )
        wait_until(lambda: self.status(), self.start_timeout, "the first pipeline_status.json")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the trader and the simulator; re-raise what failed in their thread."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout=30)
        if self._thread.is_alive():
            raise AssertionError("the trader did not stop within 30 s")
        error, self._error = self._error, None
        if error is not None:
            raise error

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # re-raised on the test's thread by close()
            self._error = exc
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with SimServer(
            n_markets=self.n_markets, seed=self.seed, flow_config=self.flow
        ) as sim:
            self.sim = sim
            settings = build_settings(
                {
                    "mode.offline_mode": True,
                    "venue.clob_rest_url": sim.rest_url,
                    "venue.clob_ws_url": sim.ws_url,
                    "venue.gamma_api_url": sim.gamma_url,
                    "paths.reports_dir": str(self.reports),
                    "paths.run_dir": str(self.run_dir),
                    "paths.logs_dir": str(self.tmp / "logs"),
                    "trading.cancel_on_stop": True,
                },
                base_dir=self.tmp,
            )
            options = TraderOptions(interval=1.0, status_interval=1.0, market_data=self.market_data)
            self.trader = Trader(settings, options=options)
            self._ready.set()
            await self.trader.run(self._stop)

    # -- what the test reads and does ------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return read_json(self.reports / "pipeline_status.json")

    def positions(self) -> dict[str, Any]:
        return read_json(self.reports / "open_positions.json")

    def source(self) -> str | None:
        fetch = self.status().get("fetch_info") or {}
        value = fetch.get("current_source")
        return value if isinstance(value, str) else None

    def filled(self) -> int:
        """`execution.counts.filled` of the status file (0 before the first status)."""
        counts = (self.status().get("execution") or {}).get("counts") or {}
        value = counts.get("filled", 0)
        return value if isinstance(value, int) else 0

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """A call to the simulator's loopback admin API (`/admin/...`); its JSON answer."""
        assert self.sim is not None
        with httpx.Client(base_url=self.sim.rest_url, timeout=5.0) as client:
            response = client.request(method, path, json=body)
            response.raise_for_status()
            return response.json()
