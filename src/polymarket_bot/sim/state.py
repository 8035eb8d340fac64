"""Shared state of the simulated venue server: the exchange, market metadata, keys, faults,
counters and the WebSocket hub, plus the views every endpoint reads (books, prices, history).

Book timestamps: a book's `timestamp` is the time of its market's last change (not the time of
the request), so `GET /book` and the WS `book` snapshot of a quiet book carry the same hash.
"""

from __future__ import annotations

import bisect
import logging
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from polymarket_bot.core.clock import Clock
from polymarket_bot.core.types import TickSize
from polymarket_bot.sim.exchange import Exchange
from polymarket_bot.sim.faults import Fault, FaultController, FaultKind
from polymarket_bot.sim.keys import ApiKeyRegistry
from polymarket_bot.sim.markets import SimEvent, SimMarket
from polymarket_bot.sim.model import (
    BookSnapshot,
    LastTradePriceEvent,
    MarketResolvedEvent,
    PriceChangeEvent,
    TickSizeChangeEvent,
)
from polymarket_bot.sim.model import SimEvent as ExchangeEvent
from polymarket_bot.sim.ws_api import WsConfig, WsHub

if TYPE_CHECKING:
    from polymarket_bot.sim.replay_feed import ReplayFeed
    from polymarket_bot.sim.universe import SimUniverse

__all__ = ["Counters", "PriceHistory", "ServerConfig", "SimState"]

log = logging.getLogger(__name__)

_HISTORY_POINTS: Final = 20_000
"""Points kept per token (bounded memory on long runs)."""


@dataclass(frozen=True, slots=True)
class ServerConfig:
    chain_id: int = 137
    auth_window_s: int = 300
    """Accepted |POLY_TIMESTAMP - now| for L1 and L2 (the venue's is undocumented)."""
    page_size: int = 100
    """Items per cursor page (`/markets`, `/data/orders`, `/data/trades`)."""
    max_batch_orders: int = 15
    max_cancel_ids: int = 3000
    max_books: int = 500
    tick_interval_s: float | None = None
    """Background tick period; None = the flow's `step_interval_s` (else 0.25 s)."""
    history_interval_s: float = 10.0
    """Midpoint sampling period of `/prices-history`."""
    ws: WsConfig = field(default_factory=WsConfig)
    ws_per_message_deflate: bool = False
    """permessage-deflate on the WS server; off by default (it costs ~2.5x per frame)."""


@dataclass(slots=True)
class Counters:
    """What `GET /admin/state` reports; `orders_received` is keyed by the API key a request
    carried (even a rejected one), so a DRY-RUN test can prove nothing reached the venue."""

    requests: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    orders_received: dict[str, int] = field(default_factory=dict)
    orders_accepted: dict[str, int] = field(default_factory=dict)
    orders_rejected: dict[str, int] = field(default_factory=dict)
    cancel_requests: dict[str, int] = field(default_factory=dict)
    lost_responses: int = 0
    ticks: int = 0
    tick_errors: int = 0

    def bump(self, table: dict[str, int], key: str, n: int = 1) -> None:
        table[key] = table.get(key, 0) + n

    def to_wire(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "orders_received": dict(self.orders_received),
            "orders_received_total": sum(self.orders_received.values()),
            "orders_accepted": dict(self.orders_accepted),
            "orders_rejected": dict(self.orders_rejected),
            "cancel_requests": dict(self.cancel_requests),
            "lost_responses": self.lost_responses,
            "ticks": self.ticks,
            "tick_errors": self.tick_errors,
        }


class PriceHistory:
    """Per-token (t seconds, price) points from trades and periodic midpoints (§5.1
    `/prices-history`)."""

    def __init__(self) -> None:
        self._points: dict[str, deque[tuple[int, Decimal]]] = {}

    def add(self, token_id: str, t: int, price: Decimal) -> None:
        points = self._points.get(token_id)
        if points is None:
            points = self._points[token_id] = deque(maxlen=_HISTORY_POINTS)
        if points and points[-1][0] > t:
            t = points[-1][0]  # keep time order
        points.append((t, price))

    def query(self, token_id: str, start: int, end: int, fidelity_s: int) -> list[dict[str, Any]]:
        """The last point of each `fidelity_s` bucket within [start, end]."""
        points = list(self._points.get(token_id, ()))
        lo = bisect.bisect_left(points, (start, Decimal(-1)))
        out: list[dict[str, Any]] = []
        last_bucket: int | None = None
        for t, price in points[lo:]:
            if t > end:
                break
            bucket = t // max(1, fidelity_s)
            entry = {"t": t, "p": float(price)}
            if bucket == last_bucket:
                out[-1] = entry
            else:
                out.append(entry)
                last_bucket = bucket
        return out


class SimState:
    """Everything the endpoints share. Built by `SimServer`; usable without a socket."""

    def __init__(
        self,
        universe: SimUniverse | None,
        *,
        clock: Clock,
        config: ServerConfig | None = None,
        keys: ApiKeyRegistry | None = None,
        faults: FaultController | None = None,
        replay: ReplayFeed | None = None,
    ) -> None:
        self.config = config or ServerConfig()
        self.clock = clock
        self.universe = universe
        self.replay = replay
        self.exchange: Exchange = universe.exchange if universe is not None else Exchange()
        markets = list(universe.markets) if universe is not None else []
        events = list(universe.events) if universe is not None else []
        if replay is not None:
            markets += replay.markets
        self.markets: list[SimMarket] = markets
        self.events: list[SimEvent] = events
        self.by_condition = {m.condition_id: m for m in markets}
        self.by_token = {t: m for m in markets for t in m.token_ids}
        self.by_name = {m.name: m for m in markets}
        self.by_gamma_id = {m.gamma_id: m for m in markets}
        self.by_slug = {m.slug: m for m in markets}
        self.keys = keys or ApiKeyRegistry()
        self.faults = faults or FaultController()
        self.counters = Counters()
        self.history = PriceHistory()
        self.paused = False
        self.started_at = clock.time()
        self.started_mono = clock.monotonic()
        start_ms = round(self.started_at * 1000)
        self._book_ts: dict[str, int] = dict.fromkeys(self.by_condition, start_ms)
        self._last_sample = -1e18
        self.hub = WsHub(self, self._ws_auth, self.faults, clock, self.config.ws)

    # --- clocks -------------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock.time()

    def now_ms(self) -> int:
        return round(self.clock.time() * 1000)

    # --- lookups ------------------------------------------------------------------------------

    def market(self, key: str) -> SimMarket | None:
        """By name (`SIM-3`), condition id, token id, Gamma id or slug."""
        return (
            self.by_name.get(key)
            or self.by_condition.get(key)
            or self.by_token.get(key)
            or self.by_gamma_id.get(key)
            or self.by_slug.get(key)
        )

    def _ws_auth(self, api_key: str, secret: str, passphrase: str) -> str | None:
        record = self.keys.authenticate(api_key, secret, passphrase)
        return None if record is None else record.api_key

    # --- books (MarketDataSource for the WS hub) ----------------------------------------------

    def snapshot(self, token_id: str) -> BookSnapshot | None:
        if self.replay is not None and token_id in self.replay.books:
            return self.replay.snapshot(token_id)
        if self.exchange.market_for_token(token_id) is None:
            return None
        return self.exchange.book(token_id)

    def book_timestamp(self, token_id: str) -> int:
        if self.replay is not None and token_id in self.replay.books:
            return self.replay.timestamp(token_id)
        market = self.exchange.market_for_token(token_id)
        cid = market.condition_id if market is not None else ""
        return self._book_ts.get(cid, round(self.started_at * 1000))

    def book_wire(self, asset_id: str) -> dict[str, Any] | None:
        snap = self.snapshot(asset_id)
        if snap is None:
            return None
        return snap.to_wire(self.book_timestamp(asset_id))

    def tokens_of(self, condition_id: str) -> tuple[str, ...]:
        market = self.by_condition.get(condition_id)
        if market is not None:
            return market.token_ids
        state = self.exchange.market(condition_id)
        return state.token_ids if state is not None else ()

    def tick_size(self, token_id: str) -> TickSize | None:
        state = self.exchange.market_for_token(token_id)
        if state is not None:
            return state.tick_size
        snap = self.snapshot(token_id)
        if snap is None:
            return None
        return TickSize.parse(snap.tick_size)

    def midpoint(self, snap: BookSnapshot) -> Decimal | None:
        if snap.best_bid is None or snap.best_ask is None:
            return None
        return (Decimal(snap.best_bid) + Decimal(snap.best_ask)) / 2

    def token_price(self, token_id: str) -> Decimal:
        """A display price: the midpoint, else the last trade, else 0.5 (market objects,
        Gamma `outcomePrices`)."""
        state = self.exchange.market_for_token(token_id)
        if state is not None and state.closed:
            return Decimal(1) if state.winner_token_id == token_id else Decimal(0)
        snap = self.snapshot(token_id)
        if snap is None:
            return Decimal("0.5")
        mid = self.midpoint(snap)
        if mid is not None:
            return mid
        return Decimal(snap.last_trade_price) if snap.last_trade_price else Decimal("0.5")

    # --- the event pump -----------------------------------------------------------------------

    def publish(self) -> None:
        """Drain the exchange's events and fan them out (called after every mutation and tick).
        Book timestamps, price history and volumes follow the events."""
        events = self.exchange.drain_events()
        if events:
            self._account(events)
            self.hub.publish_exchange(events)

    def _account(self, events: Iterable[ExchangeEvent]) -> None:
        book_ts = self._book_ts
        for ev in events:
            if isinstance(ev, PriceChangeEvent | TickSizeChangeEvent | MarketResolvedEvent):
                book_ts[ev.market] = ev.timestamp_ms
            elif isinstance(ev, LastTradePriceEvent):
                book_ts[ev.market] = ev.timestamp_ms
                price = Decimal(ev.price)
                self.history.add(ev.asset_id, ev.timestamp_ms // 1000, price)
                market = self.by_condition.get(ev.market)
                if market is not None:
                    market.volume += Decimal(ev.size) * price

    def sample_history(self, now: float) -> None:
        """Record each token's midpoint every `history_interval_s`."""
        if now - self._last_sample < self.config.history_interval_s:
            return
        self._last_sample = now
        t = int(now)
        for market in self.markets:
            for token in market.token_ids:
                snap = self.snapshot(token)
                if snap is None:
                    continue
                mid = self.midpoint(snap)
                if mid is not None:
                    self.history.add(token, t, mid)

    # --- time-driven work ---------------------------------------------------------------------

    def tick(self) -> None:
        """One background step: scheduled faults, the flow and exchange timers (unless paused),
        the replay feed, price history, then publish. Never raises (a bug is logged and
        counted, the loop goes on)."""
        self.counters.ticks += 1
        try:
            mono = self.clock.monotonic()
            for item in self.faults.due(mono):
                self.inject_fault(item.kind, item.params, item.duration_s)
            self.faults.tick(mono)
            if not self.paused:
                now = self.now()
                if self.universe is not None:
                    self.universe.step(now)
                if self.replay is not None:
                    for assets, frame in self.replay.pump(mono):
                        self.hub.publish_market(assets, frame)
                self.sample_history(now)
            self.publish()
            self.hub.flush_held()
        except Exception:
            self.counters.tick_errors += 1
            log.exception("simulator tick failed")

    def inject_fault(
        self,
        kind: FaultKind | str,
        params: Mapping[str, object] | None = None,
        duration_s: float | None = None,
    ) -> Fault:
        """Activate a fault now (`ws_disconnect` acts at once). Raises InvalidValueError."""
        fault = self.faults.inject(kind, params, duration_s, self.clock.monotonic())
        if fault.kind is FaultKind.WS_DISCONNECT:
            p = fault.params
            self.hub.disconnect_all(str(p["channel"]), mode=str(p["mode"]), code=int(p["code"]))
        return fault
