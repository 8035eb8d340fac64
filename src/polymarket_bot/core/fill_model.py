"""The local fill model: DRY-RUN and the backtester fill orders here, never at the venue.

Pure and clock-free (times are passed in as epoch milliseconds). It reads the market's real L2 book
(`core.book.OrderBook`) and trade prints and answers with the events the venue would have sent:

- Latency: an order becomes active `latency_ms` after submission and then meets the book as it is
  at that moment (`poll`, or the next `on_book`/`on_trade` for its asset).
- Marketable orders walk the opposite side level by level from the best price up to their limit
  (slippage is the difference to the best price at arrival). Liquidity taken from a level is
  remembered until the book changes, so two orders cannot take the same visible size twice.
- FOK fills completely or is rejected; FAK fills what is there and cancels the rest (rejected when
  nothing matches); post-only is rejected if it would cross. Texts are the venue's (ref §6.7).
- Resting orders join the queue *behind* the visible size at their price. They fill only when trades
  consume the queue ahead (`on_trade` at their price), at once when the market trades through their
  price, or when the opposite side comes to their price (`on_book`: the newcomer would match them).
  Size leaving the level (cancels) shortens the queue ahead: `queue = min(queue, level size)`.
- Fees: takers pay the V2 curve (`core.fees`), makers nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from polymarket_bot.core.book import OrderBook, price_units
from polymarket_bot.core.fees import FeeSchedule
from polymarket_bot.core.types import (
    ONE,
    ZERO,
    OrderType,
    Side,
    from_base_units,
    is_on_tick,
    to_base_units,
)

FOK_TEXT = "order couldn't be fully filled. FOK orders are fully filled or killed."
FAK_TEXT = (
    "no orders found to match with FAK order. "
    "FAK orders are partially filled or killed if no match is found."
)
POST_ONLY_CROSS_TEXT = "invalid post-only order: order crosses book"
POST_ONLY_TYPE_TEXT = "invalid post-only order: only GTC and GTD order types are allowed"
GTD_BUFFER_S = 60  # the venue treats a GTD order as expiring a minute before `expiration`


class Liquidity(str, enum.Enum):
    TAKER = "taker"
    MAKER = "maker"


@dataclass(frozen=True, slots=True)
class ModelOrder:
    order_id: str
    asset_id: str
    side: Side
    price: Decimal
    size: Decimal
    order_type: OrderType = OrderType.GTC
    post_only: bool = False
    expiration_s: int = 0


@dataclass(frozen=True, slots=True)
class Accepted:
    order_id: str
    ts_ms: int
    resting: bool


@dataclass(frozen=True, slots=True)
class Rejected:
    order_id: str
    ts_ms: int
    reason: str


@dataclass(frozen=True, slots=True)
class Canceled:
    order_id: str
    ts_ms: int
    reason: str  # "canceled", "fak_remainder", "expired"


@dataclass(frozen=True, slots=True)
class Fill:
    order_id: str
    fill_id: str
    asset_id: str
    side: Side
    price: Decimal
    size: Decimal
    fee: Decimal
    liquidity: Liquidity
    ts_ms: int
    reference_price: Decimal | None
    """Best opposite price when the order arrived (slippage = fill price - reference)."""


ModelEvent = Accepted | Rejected | Canceled | Fill


@dataclass(slots=True)
class _Resting:
    order: ModelOrder
    remaining: Decimal
    queue_ahead: Decimal
    seq: int
    reference_price: Decimal | None


@dataclass(slots=True)
class _Pending:
    order: ModelOrder
    active_at_ms: int


@dataclass(slots=True)
class LocalFillModel:
    """Fills orders against real books and trade prints; see the module docstring."""

    fees_for: Callable[[str], FeeSchedule]
    min_size_for: Callable[[str], Decimal] = lambda _asset: Decimal(5)
    latency_ms: int = 0
    _pending: list[_Pending] = field(default_factory=list)
    _resting: dict[str, dict[str, _Resting]] = field(default_factory=dict)  # asset -> id -> order
    _taken: dict[tuple[str, bool, int], Decimal] = field(default_factory=dict)
    _taken_at: dict[str, int] = field(default_factory=dict)  # asset -> book update_count
    _seq: int = 0
    _fills: int = 0

    # -- commands ---------------------------------------------------------------------------
    def submit(self, order: ModelOrder, now_ms: int) -> None:
        """Queue an order; it meets the book once `latency_ms` has passed."""
        self._pending.append(_Pending(order, now_ms + self.latency_ms))

    def cancel(self, order_id: str, now_ms: int) -> list[ModelEvent]:
        for i, p in enumerate(self._pending):
            if p.order.order_id == order_id:
                del self._pending[i]
                return [Canceled(order_id, now_ms, "canceled")]
        for orders in self._resting.values():
            if orders.pop(order_id, None) is not None:
                return [Canceled(order_id, now_ms, "canceled")]
        return []

    def open_order_ids(self) -> list[str]:
        ids = [p.order.order_id for p in self._pending]
        for orders in self._resting.values():
            ids.extend(orders)
        return ids

    # -- market inputs ----------------------------------------------------------------------
    def poll(self, now_ms: int, books: Mapping[str, OrderBook]) -> list[ModelEvent]:
        """Activate due orders and expire GTD orders (call on a timer)."""
        out: list[ModelEvent] = []
        if self._pending:
            due = [p for p in self._pending if p.active_at_ms <= now_ms]
            if due:
                self._pending = [p for p in self._pending if p.active_at_ms > now_ms]
                for p in due:
                    book = books.get(p.order.asset_id)
                    out.extend(self._activate(p.order, book, now_ms))
        out.extend(self._expire(now_ms))
        return out

    def on_book(self, book: OrderBook, now_ms: int) -> list[ModelEvent]:
        """The book of `book.asset_id` changed: activate, shorten queues, fill crossed orders."""
        out = self.poll(now_ms, {book.asset_id: book}) if self._pending else []
        orders = self._resting.get(book.asset_id)
        if not orders:
            return out
        self._refresh_taken(book)
        for r in sorted(orders.values(), key=_priority):
            side_is_bid = r.order.side is Side.BUY
            r.queue_ahead = min(r.queue_ahead, book.size_at(r.order.side, r.order.price))
            # The opposite side reached our price: a newcomer there would have matched us.
            for price, size in book.levels(r.order.side.opposite):
                if (price > r.order.price) if side_is_bid else (price < r.order.price):
                    break
                free = size - self._taken.get(
                    (book.asset_id, not side_is_bid, price_units(price)), ZERO
                )
                if free <= 0:
                    continue
                qty = min(free, r.remaining)
                self._take(book.asset_id, not side_is_bid, price, qty)
                out.append(self._fill(r, r.order.price, qty, Liquidity.MAKER, now_ms))
                if r.remaining <= 0:
                    break
        self._drop_done(book.asset_id)
        return out

    def on_trade(
        self, asset_id: str, price: Decimal, size: Decimal, taker_side: Side, now_ms: int
    ) -> list[ModelEvent]:
        """A trade printed: it consumes the queue at its price, and fills every resting order of
        ours it traded through (a SELL taker at p fills our bids above p, then the queue at p)."""
        orders = self._resting.get(asset_id)
        if not orders:
            return []
        maker_side = taker_side.opposite
        left = size
        out: list[ModelEvent] = []
        for r in sorted(orders.values(), key=_priority):
            if left <= 0:
                break
            if r.order.side is not maker_side:
                continue
            through = r.order.price > price if maker_side is Side.BUY else r.order.price < price
            if through:
                qty = min(r.remaining, left)
            elif r.order.price == price:
                consumed = min(r.queue_ahead, left)
                r.queue_ahead -= consumed
                left -= consumed
                qty = min(r.remaining, left)
            else:
                continue
            if qty > 0:
                left -= qty
                out.append(self._fill(r, r.order.price, qty, Liquidity.MAKER, now_ms))
        self._drop_done(asset_id)
        return out

    # -- internals --------------------------------------------------------------------------
    def _activate(self, order: ModelOrder, book: OrderBook | None, now_ms: int) -> list[ModelEvent]:
        oid = order.order_id
        if book is None or book.awaiting_snapshot:
            return [Rejected(oid, now_ms, "the market is not yet ready to process new orders")]
        tick = book.tick_size.decimal
        if not is_on_tick(order.price, tick):
            return [
                Rejected(
                    oid,
                    now_ms,
                    f"order {oid} is invalid. Price ({order.price}) breaks minimum tick size "
                    f"rule: {tick}",
                )
            ]
        if order.post_only and order.order_type.is_marketable_only:
            return [Rejected(oid, now_ms, POST_ONLY_TYPE_TEXT)]
        self._refresh_taken(book)
        is_buy = order.side is Side.BUY
        reference = book.best_ask() if is_buy else book.best_bid()
        crosses = reference is not None and (
            order.price >= reference if is_buy else order.price <= reference
        )
        if order.post_only and crosses:
            return [Rejected(oid, now_ms, POST_ONLY_CROSS_TEXT)]
        if not crosses and order.order_type.is_marketable_only:
            text = FOK_TEXT if order.order_type is OrderType.FOK else FAK_TEXT
            return [Rejected(oid, now_ms, text)]
        min_size = self.min_size_for(order.asset_id)
        if not order.order_type.is_marketable_only and order.size < min_size:
            return [
                Rejected(
                    oid,
                    now_ms,
                    f"order {oid} is invalid. Size ({order.size}) lower than the minimum: "
                    f"{min_size}",
                )
            ]
        plan = self._plan(order, book)
        planned = sum((q for _, q in plan), ZERO)
        if order.order_type is OrderType.FOK and planned < order.size:
            return [Rejected(oid, now_ms, FOK_TEXT)]
        if order.order_type is OrderType.FAK and planned <= 0:
            return [Rejected(oid, now_ms, FAK_TEXT)]
        if is_buy and crosses and planned * order.price < ONE and planned > 0:
            return [
                Rejected(
                    oid,
                    now_ms,
                    f"invalid amount for a marketable BUY order (${planned * order.price}), "
                    "min size: $1",
                )
            ]
        rests = not order.order_type.is_marketable_only and planned < order.size
        out: list[ModelEvent] = [Accepted(oid, now_ms, rests)]
        r = _Resting(order, order.size, ZERO, self._next_seq(), reference)
        for price, qty in plan:
            self._take(order.asset_id, not is_buy, price, qty)
            out.append(self._fill(r, price, qty, Liquidity.TAKER, now_ms))
        if r.remaining > 0:
            if rests:
                r.queue_ahead = book.size_at(order.side, order.price)
                self._resting.setdefault(order.asset_id, {})[oid] = r
            else:
                out.append(Canceled(oid, now_ms, "fak_remainder"))
        return out

    def _plan(self, order: ModelOrder, book: OrderBook) -> list[tuple[Decimal, Decimal]]:
        """Levels (price, qty) the order would take, best first, within its limit."""
        is_buy = order.side is Side.BUY
        need = order.size
        plan: list[tuple[Decimal, Decimal]] = []
        for price, size in book.levels(order.side.opposite):
            if need <= 0 or ((price > order.price) if is_buy else (price < order.price)):
                break
            free = size - self._taken.get((order.asset_id, not is_buy, price_units(price)), ZERO)
            if free <= 0:
                continue
            qty = min(free, need)
            plan.append((price, qty))
            need -= qty
        return plan

    def _fill(
        self, r: _Resting, price: Decimal, qty: Decimal, liquidity: Liquidity, now_ms: int
    ) -> Fill:
        r.remaining -= qty
        fee = ZERO
        if liquidity is Liquidity.TAKER:
            schedule = self.fees_for(r.order.asset_id)
            fee = from_base_units(schedule.taker_fee(to_base_units(qty), to_base_units(price)))
        self._fills += 1
        return Fill(
            order_id=r.order.order_id,
            fill_id=f"{r.order.order_id}-{self._fills}",
            asset_id=r.order.asset_id,
            side=r.order.side,
            price=price,
            size=qty,
            fee=fee,
            liquidity=liquidity,
            ts_ms=now_ms,
            reference_price=r.reference_price,
        )

    def _take(self, asset_id: str, side_is_bid: bool, price: Decimal, qty: Decimal) -> None:
        key = (asset_id, side_is_bid, price_units(price))
        self._taken[key] = self._taken.get(key, ZERO) + qty

    def _refresh_taken(self, book: OrderBook) -> None:
        """Liquidity we took is forgotten once the book has moved on (a fresh picture of it)."""
        if self._taken_at.get(book.asset_id) != book.update_count:
            self._taken_at[book.asset_id] = book.update_count
            for key in [k for k in self._taken if k[0] == book.asset_id]:
                del self._taken[key]

    def _expire(self, now_ms: int) -> list[ModelEvent]:
        out: list[ModelEvent] = []
        now_s = now_ms // 1000
        for orders in self._resting.values():
            for oid, r in list(orders.items()):
                exp = r.order.expiration_s
                if r.order.order_type is OrderType.GTD and exp and now_s >= exp - GTD_BUFFER_S:
                    del orders[oid]
                    out.append(Canceled(oid, now_ms, "expired"))
        return out

    def _drop_done(self, asset_id: str) -> None:
        orders = self._resting.get(asset_id)
        if orders:
            for oid in [oid for oid, r in orders.items() if r.remaining <= 0]:
                del orders[oid]

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq


def _priority(r: _Resting) -> tuple[Decimal, int]:
    """Best price first (highest bid, lowest ask), then time."""
    return (-r.order.price if r.order.side is Side.BUY else r.order.price, r.seq)
