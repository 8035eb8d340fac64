"""The REST polling fallback of order tracking (SERVICE_USE_ORDER_REST_FALLBACK).

Every round reads our open orders (`GET /data/orders`) and our recent trades (`GET /data/trades
?after=`), at most `limit` items each, and feeds them through the same `OrderManager` paths as
the user channel (source tag `rest_poll`): the manager de-duplicates trades per (trade id,
status), so a fill seen by both channels is booked once, and settlement progress (MINED,
CONFIRMED, FAILED -> void) arrives through REST too.

The trade window: the venue lists trades oldest first and `after` is inclusive, so the poller
keeps `after` at the match time of the oldest trade whose settlement is not final yet (its
status can still change), else at the newest match time seen; non-final trades older than
`settle_horizon_s` stop holding the window back.

Cadence: every `interval_s` while the user channel is degraded (`ws_healthy()` False), every
`audit_interval_s` as an audit while it is healthy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from polymarket_bot.core.clock import Clock
from polymarket_bot.core.events import TradeStatus
from polymarket_bot.engine.execution.manager import OrderManager
from polymarket_bot.engine.tracking.status import PollStats
from polymarket_bot.protocol.mapping import order_update, trade_update
from polymarket_bot.protocol.wire import Trade
from polymarket_bot.protocol.wire_rest import INITIAL_CURSOR, OpenOrder
from polymarket_bot.transport.errors import TransportError
from polymarket_bot.transport.rest import ClobRestClient

__all__ = ["SOURCE_POLL", "PollSnapshot", "RestPoller"]

log = logging.getLogger(__name__)

SOURCE_POLL: Final = "rest_poll"
_FINAL = frozenset({TradeStatus.CONFIRMED, TradeStatus.FAILED})


@dataclass(frozen=True, slots=True)
class PollSnapshot:
    """What one round saw: our open orders at the venue (`complete`: every page was read)."""

    open_orders: tuple[OpenOrder, ...]
    complete: bool
    trades: tuple[Trade, ...]
    at: float


class RestPoller:
    """Polls open orders and recent trades into `manager`; see the module docstring."""

    def __init__(
        self,
        manager: OrderManager,
        rest: ClobRestClient,
        *,
        clock: Clock,
        interval_s: float = 10.0,
        limit: int = 50,
        audit_interval_s: float | None = None,
        ws_healthy: Callable[[], bool] = lambda: False,
        on_snapshot: Callable[[PollSnapshot], object] | None = None,
        start_after_s: int | None = None,
        settle_horizon_s: float = 600.0,
        source: str = SOURCE_POLL,
    ) -> None:
        self.manager = manager
        self.rest = rest
        self.clock = clock
        self.limit = limit
        self.interval_s = interval_s
        self.audit_interval_s = audit_interval_s if audit_interval_s is not None else interval_s
        self.ws_healthy = ws_healthy
        self.on_snapshot = on_snapshot
        self.settle_horizon_s = settle_horizon_s
        self.source = source
        self.stats = PollStats(interval_seconds=interval_s, limit=limit)
        self._after_s = start_after_s if start_after_s is not None else int(clock.time()) - 60
        self._pending: dict[str, int] = {}
        """Trade id -> match time of trades whose settlement is not final."""
        self._wake = asyncio.Event()

    # -- one round -------------------------------------------------------------------------------

    async def poll_once(self) -> PollSnapshot | None:
        """One round; None when the venue could not be read (counted in `errors`)."""
        now = self.clock.time()
        try:
            orders, complete = await self._open_orders()
            trades = await self._trades()
        except (TransportError, ValueError) as exc:
            self.stats.error(now, str(exc))
            log.warning("orders REST poll failed: %s", exc)
            return None
        for o in orders:
            try:
                self.manager.apply_order_update(order_update(o), source=self.source)
            except ValueError as exc:
                log.warning("orders REST poll: unusable order %s: %s", o.id, exc)
        booked = 0
        for t in trades:
            try:
                update = trade_update(t)
            except ValueError as exc:
                log.warning("orders REST poll: unusable trade %s: %s", t.id, exc)
                continue
            booked += self.manager.apply_trade_update(update, source=self.source)
            self._track(update.trade_id, update.status, update.match_time_s)
        self._advance(trades, truncated=len(trades) >= self.limit)
        self.stats.orders_seen += len(orders)
        self.stats.trades_seen += len(trades)
        self.stats.fills_booked += booked
        self.stats.ok(self.clock.time())
        snapshot = PollSnapshot(tuple(orders), complete, tuple(trades), now)
        if self.on_snapshot is not None:
            result = self.on_snapshot(snapshot)
            if asyncio.iscoroutine(result):
                await result
        return snapshot

    async def _open_orders(self) -> tuple[list[OpenOrder], bool]:
        out: list[OpenOrder] = []
        cursor = INITIAL_CURSOR
        while len(out) < self.limit:
            page = await self.rest.get_open_orders(next_cursor=cursor)
            out.extend(page.data)
            if page.is_last or not page.data or page.next_cursor is None:
                return out[: self.limit], len(out) <= self.limit
            cursor = page.next_cursor
        return out[: self.limit], False

    async def _trades(self) -> list[Trade]:
        out: list[Trade] = []
        cursor = INITIAL_CURSOR
        while len(out) < self.limit:
            page = await self.rest.get_trades(after=self._after_s, next_cursor=cursor)
            out.extend(page.data)
            if page.is_last or not page.data or page.next_cursor is None:
                break
            cursor = page.next_cursor
        return out[: self.limit]

    def _track(self, trade_id: str, status: TradeStatus, match_time_s: int | None) -> None:
        if status in _FINAL:
            self._pending.pop(trade_id, None)
        else:
            self._pending[trade_id] = match_time_s or int(self.clock.time())

    def _advance(self, trades: list[Trade], *, truncated: bool) -> None:
        horizon = int(self.clock.time() - self.settle_horizon_s)
        self._pending = {k: v for k, v in self._pending.items() if v >= horizon}
        times = [int(t.match_time) for t in trades if str(t.match_time).isdigit()]
        newest = max(times, default=self._after_s)
        candidates = [newest]
        if self._pending:
            candidates.append(min(self._pending.values()))
        if truncated and times:
            candidates.append(max(times))  # the rest of the window next round
        self._after_s = max(self._after_s, min(candidates))

    # -- the loop --------------------------------------------------------------------------------

    def wake(self) -> None:
        """Poll now (e.g. the user channel just went down)."""
        self._wake.set()

    async def run(self) -> None:
        self.stats.running = True
        try:
            while True:
                healthy = self.ws_healthy()
                self.stats.mode = "audit" if healthy else "fallback"
                try:
                    await self.poll_once()
                except Exception as exc:  # never let a bug stop the fallback silently
                    self.stats.error(self.clock.time(), repr(exc))
                    log.exception("orders REST poll crashed")
                delay = self.audit_interval_s if healthy else self.interval_s
                self._wake.clear()
                waited = 0.0
                step = min(1.0, delay)
                # Re-check the channel every second so a drop switches to the fast cadence.
                while waited < delay and not self._wake.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), step)
                    waited += step
                    if healthy and not self.ws_healthy():
                        break
        finally:
            self.stats.running = False

    @property
    def after_s(self) -> int:
        return self._after_s
