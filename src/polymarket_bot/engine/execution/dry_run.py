"""`DryRunExecution`: the execution port over `core.fill_model.LocalFillModel`. No order ever leaves
the process; the model fills orders against the real books and trade prints the trader feeds it.

The trader calls `on_book(book, now_ms)` after every change of a book, `on_trade(asset_id, price,
size, taker_side, now_ms)` for every trade print, and `poll(now_ms)` on a timer (activates
orders whose latency has passed, expires GTD orders). Each returns the orders that changed.
Model events become the same order transitions, ledger entries and records as venue reports:
`Accepted` -> ACCEPTED, `Rejected` -> REJECTED (the venue's texts), `Canceled` -> CANCELED
(EXPIRED for a GTD expiry), `Fill` -> a fill (`execution_mode: dry-run`). Order ids are
`dry-<client id>`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

from polymarket_bot.core.book import OrderBook
from polymarket_bot.core.clock import Clock
from polymarket_bot.core.fees import FeeSchedule
from polymarket_bot.core.fill_model import (
    Accepted,
    Canceled,
    Fill,
    LocalFillModel,
    ModelEvent,
    ModelOrder,
    Rejected,
)
from polymarket_bot.core.intents import OUTCOME_VALUE, OrderIntent
from polymarket_bot.core.orders import Order, OrderEventKind, OrderState
from polymarket_bot.core.types import OrderType, Side
from polymarket_bot.engine.execution.manager import MarketLookup, OrderManager
from polymarket_bot.engine.execution.records import FillInfo

__all__ = ["SOURCE_DRY_RUN", "DryRunExecution", "make_fill_model"]

SOURCE_DRY_RUN: Final = "dry-run"
_E = OrderEventKind
_GTD_MIN_LIFETIME_S: Final = 180
_DEFAULT_MIN_SIZE: Final = Decimal(5)


def make_fill_model(markets: MarketLookup, *, latency_ms: int = 0) -> LocalFillModel:
    """A fill model whose fees and minimum sizes come from the markets' static info."""

    def fees_for(asset_id: str) -> FeeSchedule:
        info = markets(asset_id)
        return FeeSchedule(rate=info.fee_rate) if info is not None else FeeSchedule()

    def min_size_for(asset_id: str) -> Decimal:
        info = markets(asset_id)
        return info.min_order_size if info is not None else _DEFAULT_MIN_SIZE

    return LocalFillModel(fees_for=fees_for, min_size_for=min_size_for, latency_ms=latency_ms)


class DryRunExecution:
    """The execution port for DRY-RUN; see the module docstring.

    `books`: the live books by asset id (e.g. the market-data `BookSet`); when omitted, the books
    passed to `on_book` are remembered and used by `poll` and `submit`.
    """

    def __init__(
        self,
        manager: OrderManager,
        model: LocalFillModel,
        *,
        clock: Clock,
        books: Mapping[str, OrderBook] | None = None,
    ) -> None:
        self.manager = manager
        self.model = model
        self.clock = clock
        self._own_books: dict[str, OrderBook] = {}
        self._books: Mapping[str, OrderBook] = books if books is not None else self._own_books
        self.events = 0

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        return None

    async def stop(self, cancel_open: bool) -> None:
        if cancel_open:
            await self.cancel_all()

    # -- commands --------------------------------------------------------------------------------

    async def submit(self, intent: OrderIntent, *, client_id: str | None = None) -> Order:
        return self.submit_now(intent, client_id=client_id)

    async def submit_many(self, intents: Sequence[OrderIntent]) -> list[Order]:
        return [self.submit_now(intent) for intent in intents]

    def submit_now(self, intent: OrderIntent, *, client_id: str | None = None) -> Order:
        """`submit` without the coroutine (backtests)."""
        manager = self.manager
        order = manager.create(intent, client_id=client_id)
        if order.state is not OrderState.NEW:
            return order
        now_ms = self.clock.time_ms()
        expiration = intent.expiration_s or 0
        if order.order_type is OrderType.GTD and expiration < now_ms // 1000 + _GTD_MIN_LIFETIME_S:
            manager.reject_locally(order, "invalid expiration")
            return order
        vid = f"dry-{order.client_id}"
        manager.register_venue_id(order, vid)
        manager.mark_submitted(order, source=SOURCE_DRY_RUN)
        self.model.submit(
            ModelOrder(
                order_id=vid,
                asset_id=order.asset_id,
                side=order.side,
                price=order.price,
                size=order.size,
                order_type=order.order_type,
                post_only=intent.post_only,
                expiration_s=expiration,
            ),
            now_ms,
        )
        self._apply(self.model.poll(now_ms, self._books))
        return order

    async def cancel(self, order_id_or_client_id: str) -> Order | None:
        order = self.manager.get(order_id_or_client_id)
        if order is None:
            return None
        if order.state is OrderState.NEW:
            self.manager.request_cancel(order)
            return order
        if order.is_terminal or order.venue_order_id is None:
            return order
        self.manager.request_cancel(order)
        events = self.model.cancel(order.venue_order_id, self.clock.time_ms())
        if events:
            self._apply(events)
        else:
            self.manager.apply_event(
                order, _E.CANCEL_REJECTED, source=SOURCE_DRY_RUN, reason="not open in the model"
            )
        return order

    async def cancel_all(self) -> list[Order]:
        opened = self.manager.open_orders()
        for order in opened:
            await self.cancel(order.client_id)
        return opened

    # -- market inputs ---------------------------------------------------------------------------

    def on_book(self, book: OrderBook, now_ms: int) -> list[Order]:
        if self._books is self._own_books:
            self._own_books[book.asset_id] = book
        return self._apply(self.model.on_book(book, now_ms))

    def on_trade(
        self, asset_id: str, price: Decimal, size: Decimal, taker_side: Side, now_ms: int
    ) -> list[Order]:
        return self._apply(self.model.on_trade(asset_id, price, size, taker_side, now_ms))

    def poll(self, now_ms: int) -> list[Order]:
        return self._apply(self.model.poll(now_ms, self._books))

    # -- model events ----------------------------------------------------------------------------

    def _apply(self, events: list[ModelEvent]) -> list[Order]:
        changed: dict[str, Order] = {}
        manager = self.manager
        for ev in events:
            order = manager.by_venue_id(ev.order_id)
            if order is None:
                continue
            self.events += 1
            changed[order.client_id] = order
            if isinstance(ev, Accepted):
                manager.apply_event(order, _E.ACCEPTED, source=SOURCE_DRY_RUN)
            elif isinstance(ev, Rejected):
                manager.apply_event(order, _E.REJECTED, source=SOURCE_DRY_RUN, reason=ev.reason)
            elif isinstance(ev, Canceled):
                kind = _E.EXPIRED if ev.reason == "expired" else _E.CANCELED
                manager.apply_event(order, kind, source=SOURCE_DRY_RUN, reason=ev.reason)
            elif isinstance(ev, Fill):
                self._fill(order, ev)
        return list(changed.values())

    def _fill(self, order: Order, ev: Fill) -> None:
        book = self._books.get(ev.asset_id)
        fill = FillInfo(
            fill_id=ev.fill_id,
            trade_id=ev.fill_id,
            order_id=ev.order_id,
            market=order.market,
            market_id=self.manager.label(order.market),
            asset_id=ev.asset_id,
            outcome=OUTCOME_VALUE[order.outcome],
            side=ev.side,
            price=ev.price,
            size=ev.size,
            fee=ev.fee,
            ts_ms=ev.ts_ms,
            liquidity=ev.liquidity.value,
        )
        self.manager.apply_fill(
            order,
            fill,
            source=SOURCE_DRY_RUN,
            settlement="local",
            reference_price=ev.reference_price,
            mid=book.mid() if book is not None else None,
            spread=book.spread() if book is not None else None,
        )

    # -- reads -----------------------------------------------------------------------------------

    def open_orders(self) -> list[Order]:
        return self.manager.open_orders()

    def status(self) -> dict[str, Any]:
        section = self.manager.status()
        section["dry_run"] = {
            "model_open_orders": len(self.model.open_order_ids()),
            "events": self.events,
            "latency_ms": self.model.latency_ms,
        }
        return section
