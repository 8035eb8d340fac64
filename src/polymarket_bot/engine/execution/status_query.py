"""Asking the venue about one order over REST: the cure for UNKNOWN and for discrepancies.

An order is looked up by its hash (`GET /data/order/{id}`: only *active* orders answer). If the
venue has it, its status and `associate_trades` are applied (trades fetched by id). If it does not,
the order is filled, cancelled or was never placed: the market's trades since the order was
created are searched for legs of it (taker or maker). Fills found are booked; a remainder that is
not active any more was cancelled. An UNKNOWN order with no trace is NOT_FOUND only when the
caller says the grace period is over (a request in flight may still land). Nothing is ever
re-sent: the signed order exists once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Final

from polymarket_bot.core.orders import Order, OrderEventKind, OrderState
from polymarket_bot.engine.execution.manager import OrderManager
from polymarket_bot.protocol.mapping import order_update, trade_update
from polymarket_bot.protocol.wire import Trade
from polymarket_bot.transport.errors import TransportError
from polymarket_bot.transport.rest import ClobRestClient

__all__ = ["SOURCE_REST", "StatusQuery"]

log = logging.getLogger(__name__)

SOURCE_REST: Final = "order_rest"
_TRADE_LOOKBACK_S: Final = 60
"""Search trades from this long before the order's creation (clock skew)."""
_MAX_TRADE_PAGES: Final = 20


class StatusQuery:
    """Status queries for orders of `manager` through `rest` (see the module docstring)."""

    def __init__(self, manager: OrderManager, rest: ClobRestClient) -> None:
        self.manager = manager
        self.rest = rest
        self.queries = 0
        self.errors = 0
        self.last_error: str | None = None

    async def fetch_trades(self, trade_ids: Iterable[str]) -> int:
        """Fetch and apply trades by id (skipping those already booked); returns fills booked.
        Errors are counted and logged, never raised (the user channel may still deliver)."""
        ids = [
            t
            for t in dict.fromkeys(trade_ids)
            if (book := self.manager.trade_book(t)) is None or not book.booked
        ]
        if not ids:
            return 0
        results = await asyncio.gather(
            *(self.rest.get_trades(trade_id=t) for t in ids), return_exceptions=True
        )
        booked = 0
        for trade_id, result in zip(ids, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, TransportError | ValueError):
                    raise result
                self._error(f"trade {trade_id}: {result}")
                continue
            booked += self.apply_trades(result.data)
        return booked

    def apply_trades(self, trades: Iterable[Trade]) -> int:
        booked = 0
        for trade in trades:
            try:
                update = trade_update(trade)
            except ValueError as exc:  # DecodeError is a ValueError
                self._error(f"unusable trade {trade.id}: {exc}")
                continue
            booked += self.manager.apply_trade_update(update, source=SOURCE_REST)
        return booked

    async def trades_of(self, order: Order) -> list[Trade]:
        """The venue's trades with a leg of `order` (taker or maker), oldest first."""
        vid = order.venue_order_id
        if vid is None:
            return []
        after = max(0, order.created_ms // 1000 - _TRADE_LOOKBACK_S)
        trades = await self.rest.get_all_trades(
            market=order.market, after=after, max_pages=_MAX_TRADE_PAGES
        )
        return [
            t
            for t in trades
            if t.taker_order_id == vid or any(leg.order_id == vid for leg in t.maker_orders)
        ]

    async def query(self, order: Order, *, allow_not_found: bool = True) -> bool:
        """Bring `order` in line with the venue. Returns True when the venue answered (whatever
        it said), False when the query failed (try again later)."""
        vid = order.venue_order_id
        if vid is None or order.state is OrderState.NEW:
            return True
        self.queries += 1
        try:
            open_order = await self.rest.get_order(vid)
            if open_order is not None:
                self.manager.apply_order_update(order_update(open_order), source=SOURCE_REST)
                await self.fetch_trades(open_order.associate_trades or ())
                return True
            trades = await self.trades_of(order)
        except (TransportError, ValueError) as exc:
            self._error(f"status of {order.client_id}: {exc}")
            return False
        self.apply_trades(trades)
        if order.is_terminal or order.state is OrderState.SUBMITTED:
            return True  # a POST still in flight answers for itself
        if order.filled_size > 0 or order.state is not OrderState.UNKNOWN:
            # Not active at the venue any more: the remainder was cancelled.
            self.manager.apply_event(
                order, OrderEventKind.CANCELED, source=SOURCE_REST, reason="not open at the venue"
            )
        elif allow_not_found:
            self.manager.apply_event(
                order, OrderEventKind.NOT_FOUND, source=SOURCE_REST, reason="order not found"
            )
        return True

    def _error(self, message: str) -> None:
        self.errors += 1
        self.last_error = message
        log.warning("status query: %s", message)
