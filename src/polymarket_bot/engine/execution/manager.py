"""`OrderManager`: every order of this process, the ledger feed and the execution reports.

One manager per trader, shared by whatever execution is plugged in (venue or local fill model).
It is synchronous and never awaits, so each call is atomic on the event loop:

* Orders are kept by client id and by venue order id (the order hash, registered *before* the
  order is posted, so a user-channel event that beats the POST response attaches to it). Memory
  is bounded: only the newest `retain_terminal` terminal orders and `retain_settled` settled
  trades are kept (older ones live on in the reports; a late report of one is unmatched, and the
  ledger's fill ids still refuse a second booking). State
  changes go through `core.orders` (the transition table); a report the table refuses is a
  discrepancy: counted, logged, handed to `on_discrepancy` (the venue side re-queries), never
  raised into the trading loop.
* Fills go to the `Ledger` first (the venue's word is reality, even when our order state
  disagrees), idempotently by fill id: the taker leg of a trade is `trade_id`, a maker leg is
  `trade_id:order_id`. Trades are de-duplicated per (trade id, status); a trade is booked the
  first time it is seen with a status other than FAILED; FAILED after booking voids its fills
  (`Ledger.void_fills`) and writes a correcting trades record (`status: void`).
* Records (docs/REPORTS.md): orders.jsonl `submit` (written as the request leaves, before any
  answer can be processed), `partial`, `filled`, `cancel`, `expired`, `reject`, `reconcile`
  (entering UNKNOWN and leaving it for a resting state); trades.jsonl one increment per fill;
  fills.jsonl entry/exit telemetry; realized_exits.jsonl whatever the ledger realized
  (`flush_exits`).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from polymarket_bot.core.clock import Clock
from polymarket_bot.core.errors import InvalidValueError, VenueStateError
from polymarket_bot.core.events import OrderUpdate as VenueOrderUpdate
from polymarket_bot.core.events import TradeStatus, TradeUpdate
from polymarket_bot.core.intents import OUTCOME_VALUE, BookReader, MarketInfo, OrderIntent, iso_ms
from polymarket_bot.core.ledger import FillClass, Ledger, LedgerFill, RealizedExit
from polymarket_bot.core.orders import Order, OrderEvent, OrderEventKind, OrderFill, OrderState
from polymarket_bot.core.portfolio import OpenOrderExposure
from polymarket_bot.core.types import ZERO, Side, quantize_down
from polymarket_bot.engine.execution import records as rec
from polymarket_bot.engine.execution.sink import ExecutionSink
from polymarket_bot.engine.execution.venue_reports import (
    Identity,
    order_update_kind,
    taker_fee,
    trade_legs,
)

__all__ = ["MarketLookup", "OrderManager", "TradeBook"]

log = logging.getLogger(__name__)

MarketLookup = Callable[[str], MarketInfo | None]
"""token id -> the market's static info (None if unknown)."""
BookLookup = Callable[[str], BookReader | None]

_E = OrderEventKind
_S = OrderState
_CHANNEL_MODE: Final = {"rest_poll": "order_rest"}
"""trades.jsonl `execution_mode` of a source tag (seed §16: order_ws | order_rest)."""
_RECENT_FILLED: Final = 20
RETAIN_TERMINAL_ORDERS: Final = 5_000
"""Terminal orders kept in memory (the newest); older ones live on in orders.jsonl."""
RETAIN_SETTLED_TRADES: Final = 20_000
"""Trades kept after their final status (CONFIRMED or FAILED)."""
_FINAL_TRADE: Final = frozenset({TradeStatus.CONFIRMED, TradeStatus.FAILED})
_STATUS_ITEMS: Final = 50
_RESTING = frozenset({_S.LIVE, _S.PARTIAL})
_STATE_RECORDS: Final = {
    _S.UNKNOWN: ("unknown", "reconcile"),
    _S.CANCELED: ("canceled", "cancel"),
    _S.EXPIRED: ("expired", "expired"),
    _S.REJECTED: ("rejected", "reject"),
}
"""Entering one of these states: (counter, orders.jsonl event)."""


@dataclass(slots=True)
class TradeBook:
    """What the manager knows about one venue trade id."""

    statuses: set[TradeStatus] = field(default_factory=set)
    fills: list[rec.FillInfo] = field(default_factory=list)
    """Fills booked in the ledger for this trade (voided together on FAILED)."""
    booked: bool = False
    voided: bool = False
    settlement: TradeStatus | None = None


@dataclass(slots=True)
class _Meta:
    info: MarketInfo | None
    market_id: str
    reference_price: Decimal | None
    post_only: bool = False
    expiration_s: int | None = None
    reason: str = ""


class OrderManager:
    """Orders, fills, ledger feed and report records; see the module docstring."""

    def __init__(
        self,
        ledger: Ledger,
        sink: ExecutionSink,
        *,
        clock: Clock,
        runtime_mode: str,
        execution_mode: str,
        markets: MarketLookup,
        books: BookLookup | None = None,
        client_prefix: str = "c",
        retain_terminal: int = RETAIN_TERMINAL_ORDERS,
        retain_settled: int = RETAIN_SETTLED_TRADES,
    ) -> None:
        self.ledger = ledger
        self.sink = sink
        self.clock = clock
        self.runtime_mode = runtime_mode
        """`offline | dry-run | live` (orders/trades records)."""
        self.execution_mode = execution_mode
        """fills.jsonl `execution_mode` (e.g. `simulation`, `dry-run`, `live`) and trades.jsonl's
        for fills that did not come from a venue channel."""
        self.markets = markets
        self.books = books
        self.client_prefix = client_prefix
        self.on_discrepancy: Callable[[Order, str], None] | None = None
        """Called when a venue report does not fit our order state (the venue side re-queries)."""
        self.identity = Identity()
        self.is_own_order: Callable[[str], bool] | None = None
        """Venue order ids this account placed but this manager does not track (an earlier run
        of the trader; the trader's orders seen from `orders-ws`): their fills are booked but
        not counted as external (engine.tracking sets it)."""
        self._orders: dict[str, Order] = {}
        self._open: dict[str, Order] = {}  # the subset that `is_open` (kept by `_apply`)
        # Memory stays bounded on long runs: the oldest terminal orders and settled trades are
        # forgotten (a late report of one is unmatched; the ledger's fill ids still refuse a
        # second booking of any fill).
        self.retain_terminal = retain_terminal
        self.retain_settled = retain_settled
        self._terminal: deque[str] = deque()
        self._settled: deque[str] = deque()
        self.forgotten_orders = 0
        self.forgotten_trades = 0
        self.exposure = OpenOrderExposure()
        """The open orders summed per (market, outcome), kept by `_apply` (risk reads it)."""
        self._by_venue: dict[str, Order] = {}
        self._meta: dict[str, _Meta] = {}
        self._infos: dict[str, MarketInfo] = {}  # condition id -> info seen
        self._trades: dict[str, TradeBook] = {}
        self._pending_voids: list[rec.FillInfo] = []
        self._recent_filled: deque[Order] = deque(maxlen=_RECENT_FILLED)
        self._seq = 0
        self.counts: dict[str, int] = dict.fromkeys(
            ("submitted", "partial", "filled", "canceled", "expired", "rejected", "unknown"), 0
        )
        self.discrepancies = 0
        self.ledger_errors = 0
        self.unmatched_order_updates = 0
        self.last_error: str | None = None

    # -- identity and lookups --------------------------------------------------------------------

    def set_identity(self, *, owner: str | None, addresses: Iterable[str] = ()) -> None:
        """Our API key (trade `owner`) and wallet addresses (`maker_address`), so fills of
        orders this process did not place on the same wallet are recognised as external."""
        self.identity = Identity.of(owner, addresses)

    def market_info(self, token_id: str) -> MarketInfo | None:
        info = self.markets(token_id)
        if info is not None:
            self._infos.setdefault(info.condition_id, info)
        return info

    def label(self, condition_id: str) -> str:
        info = self._infos.get(condition_id)
        return info.label if info is not None else condition_id

    def get(self, key: str) -> Order | None:
        """An order by client id or venue order id."""
        return self._orders.get(key) or self._by_venue.get(key)

    def by_venue_id(self, venue_order_id: str) -> Order | None:
        return self._by_venue.get(venue_order_id)

    def orders(self) -> list[Order]:
        return list(self._orders.values())

    def open_orders(self) -> list[Order]:
        return list(self._open.values())

    def unknown_orders(self) -> list[Order]:
        return [o for o in self._orders.values() if o.state is _S.UNKNOWN]

    def _meta_of(self, order: Order) -> _Meta:
        """The order's metadata (a blank one for an order already forgotten)."""
        meta = self._meta.get(order.client_id)
        return meta if meta is not None else _Meta(None, order.market, None)

    def meta_post_only(self, order: Order) -> bool:
        return self._meta_of(order).post_only

    def meta_expiration(self, order: Order) -> int | None:
        return self._meta_of(order).expiration_s

    def trade_book(self, trade_id: str) -> TradeBook | None:
        return self._trades.get(trade_id)

    def preload_trades(self, trade_ids: Iterable[str]) -> int:
        """Mark venue trades as already reflected in the ledger (it was seeded from balances
        that include them): later reports of them book nothing. Returns how many were new."""
        added = 0
        for trade_id in trade_ids:
            if trade_id not in self._trades:
                self._trades[trade_id] = TradeBook(booked=True)
                added += 1
        return added

    def _stamp(self) -> str:
        return iso_ms(self.clock.time())

    # -- creating and sending --------------------------------------------------------------------

    def new_client_id(self, now_ms: int | None = None) -> str:
        self._seq += 1
        if now_ms is None:
            now_ms = self.clock.time_ms()
        return f"{self.client_prefix}-{now_ms}-{self._seq}"

    def create(self, intent: OrderIntent, *, client_id: str | None = None) -> Order:
        """Track a NEW order for `intent` (not sent). A USD size that rounds to 0 shares gives an
        order that is at once rejected locally."""
        now_ms = self.clock.time_ms()
        cid = client_id or self.new_client_id(now_ms)
        if cid in self._orders:
            raise InvalidValueError(f"duplicate client id {cid!r}")
        info = self.market_info(intent.token_id)
        shares = quantize_down(intent.shares, 2)  # the venue's share precision
        order = Order(
            client_id=cid,
            market=intent.market,
            asset_id=intent.token_id,
            outcome=intent.outcome,
            side=intent.side,
            price=intent.limit_price,
            size=shares if shares > 0 else intent.size,
            order_type=intent.order_type,
            strategy=intent.strategy,
            created_ms=now_ms,
        )
        self._orders[cid] = order
        self._meta[cid] = _Meta(
            info=info,
            market_id=info.label if info is not None else intent.market,
            reference_price=self._reference(intent),
            post_only=intent.post_only,
            expiration_s=intent.expiration_s,
            reason=intent.reason,
        )
        if shares <= 0:
            self.reject_locally(order, f"size {intent.size} USD is below 0.01 shares", "local")
        return order

    def _reference(self, intent: OrderIntent) -> Decimal | None:
        book = self.books(intent.token_id) if self.books is not None else None
        if book is None:
            return None
        return book.best_ask() if intent.side is Side.BUY else book.best_bid()

    def register_venue_id(self, order: Order, venue_order_id: str) -> None:
        """Attach the locally computed order hash before sending (venue events then attach)."""
        if order.venue_order_id not in (None, venue_order_id):
            raise InvalidValueError(f"order {order.client_id} already has a venue id")
        order.venue_order_id = venue_order_id
        self._by_venue[venue_order_id] = order

    def mark_submitted(self, order: Order, *, source: str) -> None:
        """SUBMIT, with its `submit` record, as the request leaves (the order hash is on disk
        for reconciliation before the venue can answer)."""
        self._apply(order, OrderEvent(_E.SUBMIT, self.clock.time_ms()), source)
        self.counts["submitted"] += 1
        self._record_order(order, "submit", source)

    def reject_locally(self, order: Order, reason: str, source: str = "local") -> None:
        self._apply(
            order, OrderEvent(_E.REJECT_LOCALLY, self.clock.time_ms(), reason=reason), source
        )

    def request_cancel(self, order: Order, *, source: str = "local") -> bool:
        """REQUEST_CANCEL if legal (False for UNKNOWN and terminal orders)."""
        if not order.can_apply(_E.REQUEST_CANCEL):
            return False
        self._apply(order, OrderEvent(_E.REQUEST_CANCEL, self.clock.time_ms()), source)
        return True

    # -- venue reports ---------------------------------------------------------------------------

    def apply_event(
        self,
        order: Order,
        kind: OrderEventKind,
        *,
        source: str,
        reason: str = "",
        venue_order_id: str | None = None,
    ) -> bool:
        """A venue report other than a fill; False if it did not fit (a discrepancy)."""
        event = OrderEvent(kind, self.clock.time_ms(), venue_order_id=venue_order_id, reason=reason)
        return self._apply(order, event, source)

    def apply_fill(
        self,
        order: Order | None,
        fill: rec.FillInfo,
        *,
        source: str,
        settlement: str = "",
        execution_mode: str | None = None,
        reference_price: Decimal | None = None,
        mid: Decimal | None = None,
        spread: Decimal | None = None,
    ) -> FillClass | None:
        """Book one fill: ledger, order, trades/fills/exits records. Returns the ledger's class
        of it (DUPLICATE: seen before, nothing done) or None when the ledger refused it (counted
        in `ledger_errors`; the order and the records still follow the venue)."""
        try:
            cls = self.ledger.apply_fill(
                LedgerFill(
                    fill_id=fill.fill_id,
                    market=fill.market,
                    outcome=fill.outcome,
                    side=fill.side,
                    price=fill.price,
                    size=fill.size,
                    fee=fill.fee,
                    ts_ms=fill.ts_ms,
                    external=fill.external,
                    order_id=fill.order_id,
                )
            )
        except InvalidValueError as exc:
            self.ledger_errors += 1
            self.last_error = f"ledger refused fill {fill.fill_id}: {exc}"
            log.error("%s", self.last_error)
            cls = None
        if cls is FillClass.DUPLICATE:
            return cls
        status = "filled"
        if order is not None:
            event = OrderEvent(
                _E.PARTIAL_FILL,
                fill.ts_ms or self.clock.time_ms(),
                fill=OrderFill(fill.fill_id, fill.price, fill.size, fill.fee, fill.ts_ms),
            )
            if self._apply(order, event, source, record=False):
                status = "filled" if order.state is _S.FILLED else "partial"
                self._record_fill_transition(order, status, source)
            elif order.state is not _S.FILLED:
                status = "partial"
        stamp = self._stamp()
        self.sink.record_trade(
            rec.trade_record(
                fill,
                timestamp=stamp,
                status=status,
                execution_mode=execution_mode or self.execution_mode,
                settlement=settlement,
                source=source,
                runtime_mode=self.runtime_mode,
            )
        )
        if reference_price is None and order is not None:
            reference_price = self._meta_of(order).reference_price
        if (mid is None or spread is None) and self.books is not None:
            book = self.books(fill.asset_id)
            if book is not None:
                mid = book.mid() if mid is None else mid
                spread = book.spread() if spread is None else spread
        self.sink.record_fill(
            rec.fill_record(
                fill,
                timestamp=stamp,
                execution_mode=self.execution_mode,
                reference_price=reference_price,
                mid=mid,
                spread=spread,
            )
        )
        if cls is not None:
            self.flush_exits()
        return cls

    def apply_order_update(self, update: VenueOrderUpdate, *, source: str) -> Order | None:
        """A user-channel `order` event or a REST open order about one of our orders."""
        order = self._by_venue.get(update.order_id)
        if order is None:
            self.unmatched_order_updates += 1
            return None
        kind = order_update_kind(
            order,
            update,
            expiration_s=self._meta_of(order).expiration_s,
            now_s=self.clock.time(),
        )
        if kind is not None:
            self.apply_event(order, kind, source=source, reason=update.status_reason)
        return order

    def apply_trade_update(self, update: TradeUpdate, *, source: str) -> int:
        """A user-channel `trade` event or a REST trade; returns the number of fills booked."""
        book = self._trades.setdefault(update.trade_id, TradeBook())
        if update.status in book.statuses:
            return 0
        book.statuses.add(update.status)
        if update.status in _FINAL_TRADE and len(book.statuses & _FINAL_TRADE) == 1:
            self._settle(update.trade_id)
        if update.status is TradeStatus.FAILED:
            if book.booked and not book.voided:
                self._void(update.trade_id, book, source)
            book.booked = True  # a trade first seen as FAILED never settled: nothing to book
            return 0
        book.settlement = update.status
        if book.booked:
            return 0
        book.booked = True
        booked = 0
        ts_ms = update.timestamp_ms or (update.match_time_s or 0) * 1000 or self.clock.time_ms()
        for leg in trade_legs(update, self._by_venue, self.identity):
            order = leg.order
            fill = rec.FillInfo(
                fill_id=leg.fill_id,
                trade_id=update.trade_id,
                order_id=leg.order_id,
                market=order.market if order is not None else update.market,
                market_id=self.label(update.market),
                asset_id=leg.asset_id,
                outcome=self._outcome(leg.asset_id, leg.wire_outcome, order),
                side=leg.side,
                price=leg.price,
                size=leg.size,
                fee=(
                    self.taker_fee(leg.asset_id, leg.price, leg.size, leg.side, update.fee_rate_bps)
                    if leg.taker
                    else ZERO
                ),
                ts_ms=ts_ms,
                liquidity="taker" if leg.taker else "maker",
                external=order is None
                and not (self.is_own_order is not None and self.is_own_order(leg.order_id)),
            )
            cls = self.apply_fill(
                order,
                fill,
                source=source,
                settlement=update.status.value,
                execution_mode=_CHANNEL_MODE.get(source, source),
            )
            if cls is FillClass.DUPLICATE:
                continue
            booked += 1
            if cls is not None:  # only what the ledger holds can be voided
                book.fills.append(fill)
        return booked

    def _outcome(self, asset_id: str, wire_outcome: str, order: Order | None) -> str:
        if order is not None:
            return OUTCOME_VALUE[order.outcome]
        info = self.market_info(asset_id)
        outcome = info.outcome_of(asset_id) if info is not None else None
        return OUTCOME_VALUE[outcome] if outcome is not None else wire_outcome.lower()

    def taker_fee(
        self, asset_id: str, price: Decimal, size: Decimal, side: Side, fee_rate_bps: Decimal | None
    ) -> Decimal:
        """The taker fee of one trade at the market's rate (else the trade's `fee_rate_bps`:
        trades often report 0 where fees are charged, so the market's schedule wins)."""
        info = self.market_info(asset_id)
        rate = info.fee_rate if info is not None else (fee_rate_bps or ZERO) / 10_000
        return taker_fee(rate, price, size, side)

    def _void(self, trade_id: str, book: TradeBook, source: str) -> None:
        """Reverse the fills of a FAILED trade. A void the ledger refuses because a later sale
        would be left uncovered waits, and is retried together with the next FAILED trade
        (that sale's trade usually fails too)."""
        book.voided = True
        if not book.fills:
            return
        pending = [*self._pending_voids, *book.fills]
        try:
            self.ledger.void_fills([f.fill_id for f in pending], self.clock.time_ms())
        except InvalidValueError as exc:
            self._pending_voids = pending
            log.warning("execution: void of trade %s deferred: %s", trade_id, exc)
            return
        self._pending_voids = []
        stamp = self._stamp()
        for fill in pending:
            self.sink.record_trade(
                rec.void_trade_record(
                    fill,
                    timestamp=stamp,
                    execution_mode=_CHANNEL_MODE.get(source, source),
                    source=source,
                    runtime_mode=self.runtime_mode,
                )
            )
        self.flush_exits()

    @property
    def pending_voids(self) -> int:
        """Fills of FAILED trades the ledger could not reverse yet (see `_void`)."""
        return len(self._pending_voids)

    def flush_exits(self) -> list[RealizedExit]:
        """Write what the ledger realized since the last flush to realized_exits.jsonl (call
        after `Ledger.resolve_market` too)."""
        exits = self.ledger.drain_exits()
        if exits:
            stamp = self._stamp()
            for exit_ in exits:
                self.sink.record_exit(
                    rec.exit_record(exit_, timestamp=stamp, market_id=self.label(exit_.market))
                )
        return exits

    # -- transitions and records -----------------------------------------------------------------

    def _apply(self, order: Order, event: OrderEvent, source: str, *, record: bool = True) -> bool:
        before = order.state
        was_open, was_remaining = order.is_open, order.remaining_size
        try:
            transition = order.apply(event)
        except VenueStateError as exc:
            self.discrepancies += 1
            self.last_error = str(exc)
            log.warning("execution: %s (source %s)", exc, source)
            if self.on_discrepancy is not None:
                self.on_discrepancy(order, str(exc))
            return False
        if order.venue_order_id is not None:
            self._by_venue.setdefault(order.venue_order_id, order)
        self.exposure.update(order, was_open, was_remaining)
        if transition.note == "duplicate":
            return False
        if order.is_open:
            self._open[order.client_id] = order
        else:
            self._open.pop(order.client_id, None)
            if order.state.is_terminal and not before.is_terminal:
                self._retire(order)
        after = order.state
        if not record or after is before:
            return True
        entered = _STATE_RECORDS.get(after)
        if entered is not None:
            count, name = entered
            self.counts[count] += 1
            self._record_order(order, name, source, event.reason)
        elif before is _S.UNKNOWN and after in _RESTING:
            self._record_order(order, "reconcile", source, event.reason or "resolved")
        return True

    def _retire(self, order: Order) -> None:
        """A new terminal order: forget the oldest ones beyond `retain_terminal`."""
        terminal = self._terminal
        terminal.append(order.client_id)
        while len(terminal) > self.retain_terminal:
            old = self._orders.pop(terminal.popleft(), None)
            if old is None:
                continue
            self._meta.pop(old.client_id, None)
            if old.venue_order_id is not None and self._by_venue.get(old.venue_order_id) is old:
                del self._by_venue[old.venue_order_id]
            self.forgotten_orders += 1

    def _settle(self, trade_id: str) -> None:
        """A trade reached its final status: forget the oldest beyond `retain_settled`."""
        settled = self._settled
        settled.append(trade_id)
        while len(settled) > self.retain_settled:
            if self._trades.pop(settled.popleft(), None) is not None:
                self.forgotten_trades += 1

    def _record_fill_transition(self, order: Order, status: str, source: str) -> None:
        self.counts[status] += 1
        if status == "filled":
            self._recent_filled.append(order)
        self._record_order(order, status, source)

    def _record_order(self, order: Order, event: str, source: str, reason: str = "") -> None:
        meta = self._meta_of(order)
        self.sink.record_order(
            rec.order_record(
                order,
                timestamp=self._stamp(),
                event=event,
                market_id=meta.market_id,
                runtime_mode=self.runtime_mode,
                source=source,
                reason=reason or (meta.reason if event == "submit" else ""),
            )
        )

    # -- status ----------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """The `execution` section of pipeline_status.json (seed §12) plus *(ours)* counters."""
        pending: list[dict[str, Any]] = []
        partial: list[dict[str, Any]] = []
        for order in self._orders.values():
            if not order.is_open:
                continue
            target = partial if order.state is _S.PARTIAL or order.filled_size else pending
            if len(target) < _STATUS_ITEMS:
                target.append(self._item(order))
        filled = [self._item(o) for o in reversed(self._recent_filled)]
        return {
            "pending": pending,
            "partial": partial,
            "filled": filled,
            "counts": dict(self.counts),
            "open_orders": sum(1 for o in self._orders.values() if o.is_open),
            "unknown_orders": sum(1 for o in self._orders.values() if o.state is _S.UNKNOWN),
            "discrepancies": self.discrepancies,
            "forgotten_orders": self.forgotten_orders,
            "forgotten_trades": self.forgotten_trades,
            "ledger_errors": self.ledger_errors,
            "pending_voids": len(self._pending_voids),
            "last_error": self.last_error,
        }

    def _item(self, order: Order) -> dict[str, Any]:
        return rec.order_item(
            order,
            market_id=self._meta_of(order).market_id,
            updated_at=iso_ms(order.updated_ms / 1000),
        )
