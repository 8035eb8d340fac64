"""`OrderTracker`: the user channel, the REST polling fallback and reconciliation, composed.

    tracker = OrderTracker(manager, rest, creds, clock=clock, config=TrackerConfig.from_settings(s),
                           sink=sink, ws_url=ws + "/user", user_stream=venue.user_stream)
    await tracker.start(inventory)   # start-up reconciliation, then the background tasks
    sink.update_status(tracker.status_sections()) ... await tracker.stop()

In the trader (`Trader.start`, VenueExecution modes) it reuses the execution's `UserStream` and
feeds the trader's own `OrderManager`/ledger. Standalone (`polymarket-launch orders-ws`, see
`standalone.py`) it owns its stream, manager and ledger.

Double counting: every channel goes through one `OrderManager`, which books a trade once per
trade id (statuses de-duplicated), so a fill seen by the user channel and the REST poll counts
once. Two processes never share a ledger: the trader's ledger is fed only by its in-process
tracker; the standalone process keeps a mirror ledger of the account, writes its records to its
own streams (`reports/orders_ws/`) and only its own status sections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from polymarket_bot.config.model import Settings
from polymarket_bot.core.clock import Clock
from polymarket_bot.engine.execution.manager import OrderManager
from polymarket_bot.engine.execution.sink import ExecutionSink
from polymarket_bot.engine.execution.status_query import StatusQuery
from polymarket_bot.engine.execution.user_stream import UserStream
from polymarket_bot.engine.tracking.external import (
    ExternalTrend,
    external_fills_section,
)
from polymarket_bot.engine.tracking.reconcile import Inventory, Reconciler
from polymarket_bot.engine.tracking.rest_poller import RestPoller
from polymarket_bot.engine.tracking.status import disabled_ws_status, ws_section
from polymarket_bot.protocol.auth import ApiCreds
from polymarket_bot.transport.rest import ClobRestClient
from polymarket_bot.transport.retry import Backoff

__all__ = ["OrderTracker", "TrackerConfig"]

log = logging.getLogger(__name__)

_TICK_S: Final = 1.0
TRACKER_SECTIONS: Final = (
    "fetch_info.orders_ws",
    "fetch_info.orders_rest",
    "external_fills",
    "external_fills_trend",
    "reconcile",
)


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    use_order_ws: bool = True
    """SERVICE_USE_ORDER_WS."""
    use_rest_fallback: bool = True
    """SERVICE_USE_ORDER_REST_FALLBACK."""
    poll_seconds: float = 10.0
    """ORDER_REST_POLL_SECONDS: the cadence while the user channel is degraded."""
    poll_limit: int = 50
    """ORDER_REST_POLL_LIMIT: at most this many open orders and trades per round."""
    audit_seconds: float | None = None
    """Cadence while the channel is healthy (None: 3 x poll_seconds)."""
    position_check_seconds: float = 30.0
    orphan_policy: str = "cancel"
    unknown_grace_seconds: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> TrackerConfig:
        s = settings.service
        values: dict[str, Any] = {
            "use_order_ws": s.use_order_ws,
            "use_rest_fallback": s.use_order_rest_fallback,
            "poll_seconds": float(s.order_rest_poll_seconds),
            "poll_limit": int(s.order_rest_poll_limit),
        }
        values.update(overrides)
        return cls(**values)


class OrderTracker:
    """See the module docstring."""

    def __init__(
        self,
        manager: OrderManager,
        rest: ClobRestClient,
        creds: ApiCreds | None,
        *,
        clock: Clock,
        config: TrackerConfig,
        sink: ExecutionSink,
        ws_url: str | None = None,
        user_stream: UserStream | None = None,
        query: StatusQuery | None = None,
        prior_ids: Iterable[str] = (),
        may_cancel: bool = True,
        tokens: Callable[[], Iterable[str]] = lambda: (),
        proxy: str | None = None,
        ws_backoff: Backoff | None = None,
        ws_ping_interval: float = 10.0,
        ws_silence_timeout: float = 30.0,
    ) -> None:
        self.manager = manager
        self.rest = rest
        self.clock = clock
        self.config = config
        self.ws_disabled_reason: str | None = None
        self.stream: UserStream | None = None
        self._owns_stream = False
        if not config.use_order_ws:
            self.ws_disabled_reason = "SERVICE_USE_ORDER_WS is false"
        elif creds is None:
            self.ws_disabled_reason = (
                "no API credentials (POLYMARKET_API_KEY / _SECRET / _PASSPHRASE)"
            )
        elif user_stream is not None:
            self.stream = user_stream
        elif ws_url is not None:
            self.stream = UserStream(
                manager,
                ws_url,
                creds,
                clock=clock,
                proxy=proxy,
                on_reconnect=self._on_ws_reconnect,
                backoff=ws_backoff,
                ping_interval=ws_ping_interval,
                silence_timeout=ws_silence_timeout,
            )
            self._owns_stream = True
        else:
            self.ws_disabled_reason = "no user-channel URL"
        self.reconciler = Reconciler(
            manager,
            rest,
            clock=clock,
            sink=sink,
            query=query,
            prior_ids=prior_ids,
            may_cancel=may_cancel,
            orphan_policy=config.orphan_policy,
            tokens=tokens,
            position_check_s=config.position_check_seconds,
            unknown_grace_s=config.unknown_grace_seconds,
        )
        self.poller: RestPoller | None = None
        if config.use_rest_fallback:
            self.poller = RestPoller(
                manager,
                rest,
                clock=clock,
                interval_s=config.poll_seconds,
                limit=config.poll_limit,
                audit_interval_s=(
                    config.audit_seconds
                    if config.audit_seconds is not None
                    else 3 * config.poll_seconds
                ),
                ws_healthy=self.ws_healthy,
                on_snapshot=self.reconciler.on_snapshot,
            )
        self.trend = ExternalTrend()
        self._tasks: list[asyncio.Task[None]] = []
        self._was_healthy = False

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self, inventory: Inventory | None = None, *, seeded: bool = True) -> None:
        """Start-up reconciliation (when `inventory` is given), then the background tasks."""
        if inventory is not None:
            self.reconciler.startup(inventory, seeded=seeded)
        await self.reconciler.startup_orders()
        if self.stream is not None and self._owns_stream:
            await self.stream.start()
        self.trend.observe(self.manager.ledger.external.processed, self.clock.time())
        if self.poller is not None:
            self._tasks.append(asyncio.create_task(self.poller.run(), name="orders-rest-poll"))
        self._tasks.append(asyncio.create_task(self._tick_loop(), name="orders-tracker"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self.stream is not None and self._owns_stream:
            await self.stream.stop()

    def _on_ws_reconnect(self) -> None:
        if self.poller is not None:
            self.poller.wake()  # events may have been missed while the channel was down

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(_TICK_S)
            try:
                await self.tick()
            except Exception:
                log.exception("order tracker tick failed")

    async def tick(self) -> None:
        now = self.clock.time()
        self.trend.observe(self.manager.ledger.external.processed, now)
        healthy = self.ws_healthy()
        if self._was_healthy and not healthy and self.poller is not None:
            self.poller.wake()  # the channel just dropped: poll now
        self._was_healthy = healthy
        if self.poller is None and now - self._last_check() >= self.config.position_check_seconds:
            await self.reconciler.check_positions()

    def _last_check(self) -> float:
        return self.reconciler._last_position_check

    # -- status ----------------------------------------------------------------------------------

    def ws_healthy(self) -> bool:
        return self.stream is not None and self.stream.status()["status"] == "ok"

    def orders_ws_status(self) -> dict[str, Any]:
        if self.stream is None:
            return disabled_ws_status(self.ws_disabled_reason or "disabled")
        return ws_section(self.stream.status())

    def orders_rest_status(self) -> dict[str, Any]:
        if self.poller is None:
            return {
                "running": False,
                "interval_seconds": self.config.poll_seconds,
                "limit": self.config.poll_limit,
                "success": 0,
                "errors": 0,
                "last_success_epoch": None,
                "last_error_epoch": None,
                "last_error": None,
                "reason": "SERVICE_USE_ORDER_REST_FALLBACK is false",
            }
        return self.poller.stats.section()

    def status_sections(self, *, ext_window: int | None = None) -> dict[str, Any]:
        """The tracker's sections for `ReportSink.update_status` (dotted keys: merged into
        `fetch_info`, never replacing the market-data part of it)."""
        now = self.clock.time()
        self.trend.observe(self.manager.ledger.external.processed, now)
        external = external_fills_section(self.manager.ledger.external)
        external["windows"] = self.trend.totals(now)
        return {
            "fetch_info.orders_ws": self.orders_ws_status(),
            "fetch_info.orders_rest": self.orders_rest_status(),
            "external_fills": external,
            "external_fills_trend": self.trend.series(now, ext_window),
            "reconcile": self.reconciler.section(),
        }
