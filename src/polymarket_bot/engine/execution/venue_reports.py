"""Reading venue reports about our account: which order transition an `order` event means, which
legs of a `trade` are ours, and what the taker fee of a trade was. Pure functions over core
events (ref §5.5, §6.8, §7.6, §10.1).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from polymarket_bot.core.events import (
    OrderEventType,
    OrderStatus,
    OrderUpdate,
    TraderSide,
    TradeUpdate,
)
from polymarket_bot.core.fees import taker_fee_units
from polymarket_bot.core.orders import Order, OrderEventKind
from polymarket_bot.core.types import ONE, ZERO, OrderType, Side, from_base_units, to_base_units

__all__ = [
    "GTD_SECURITY_BUFFER_S",
    "Identity",
    "TradeLeg",
    "order_update_kind",
    "taker_fee",
    "trade_legs",
]

GTD_SECURITY_BUFFER_S = 60
"""The venue treats a GTD order as expiring a minute before its `expiration` (ref §6.1)."""
_E = OrderEventKind


@dataclass(frozen=True, slots=True)
class Identity:
    """Who we are at the venue: the API key (a trade's `owner`) and our wallet addresses."""

    owner: str | None = None
    addresses: frozenset[str] = frozenset()

    @classmethod
    def of(cls, owner: str | None, addresses: Iterable[str]) -> Identity:
        return cls(owner, frozenset(a.lower() for a in addresses if a))

    def is_us(self, owner: str, address: str) -> bool:
        return (self.owner is not None and owner == self.owner) or (
            bool(address) and address.lower() in self.addresses
        )


def order_update_kind(
    order: Order, update: OrderUpdate, *, expiration_s: int | None, now_s: float
) -> OrderEventKind | None:
    """The transition an `order` event (or a REST open order) reports; None if none.

    LIVE/DELAYED/MATCHED are acceptance (fills come with their trades), CANCELED* a cancel (an
    expired GTD's cancel is EXPIRED), INVALID/UNMATCHED a rejection unless the order already
    rested or filled, then a venue-side cancel."""
    status = update.status
    if status is None:
        if update.event_type is OrderEventType.CANCELLATION:
            return _E.CANCELED
        if update.event_type in (OrderEventType.PLACEMENT, OrderEventType.UPDATE):
            return _E.ACCEPTED
        return None
    if status in (OrderStatus.LIVE, OrderStatus.DELAYED, OrderStatus.MATCHED):
        return _E.ACCEPTED
    if status in (OrderStatus.CANCELED, OrderStatus.CANCELED_MARKET_RESOLVED):
        if order.order_type is OrderType.GTD:
            exp = expiration_s or update.expiration_s
            if "expir" in update.status_reason.lower() or (
                exp is not None and now_s >= exp - GTD_SECURITY_BUFFER_S
            ):
                return _E.EXPIRED
        return _E.CANCELED
    if status in (OrderStatus.INVALID, OrderStatus.UNMATCHED):
        if order.filled_size == 0 and order.can_apply(_E.REJECTED):
            return _E.REJECTED
        return _E.CANCELED
    return None


@dataclass(frozen=True, slots=True)
class TradeLeg:
    """One leg of a trade that is ours: of an order we know (`order`), or external (None)."""

    order: Order | None
    order_id: str
    fill_id: str
    """The taker leg is the trade id; a maker leg is `trade_id:order_id`."""
    asset_id: str
    wire_outcome: str
    side: Side
    price: Decimal
    size: Decimal
    taker: bool


def trade_legs(
    trade: TradeUpdate, orders: Mapping[str, Order], identity: Identity
) -> list[TradeLeg]:
    """Our legs of `trade`: the taker leg if the taker order is ours (known, or `trader_side`
    TAKER with our owner/address), and every maker leg whose order is known or whose
    owner/maker address is ours. Top-level fields describe the taker (§5.5)."""
    legs: list[TradeLeg] = []
    t = trade
    taker = orders.get(t.taker_order_id)
    if taker is not None or (
        t.trader_side is TraderSide.TAKER and identity.is_us(t.owner, t.maker_address)
    ):
        legs.append(
            TradeLeg(
                order=taker,
                order_id=t.taker_order_id,
                fill_id=t.trade_id,
                asset_id=t.asset_id,
                wire_outcome=t.outcome,
                side=taker.side if taker is not None else t.side,
                price=t.price,
                size=t.size,
                taker=True,
            )
        )
    for m in t.maker_fills:
        order = orders.get(m.order_id)
        if order is None and not identity.is_us(m.owner, m.maker_address):
            continue
        if order is not None:
            side = order.side
        elif m.side is not None:
            side = m.side
        else:  # a cross-asset match (BUY YES vs BUY NO): same side, else the opposite
            side = t.side if m.asset_id != t.asset_id else t.side.opposite
        legs.append(
            TradeLeg(
                order=order,
                order_id=m.order_id,
                fill_id=f"{t.trade_id}:{m.order_id}",
                asset_id=m.asset_id,
                wire_outcome=m.outcome,
                side=side,
                price=m.price,
                size=m.matched_amount,
                taker=False,
            )
        )
    return legs


def taker_fee(rate: Decimal, price: Decimal, size: Decimal, side: Side) -> Decimal:
    """The V2 taker fee of one trade (exponent 1), rounded as the venue rounds it (5 decimals,
    at least 0.00001); a SELL's fee is capped at its proceeds."""
    if rate <= 0:
        return ZERO
    units = taker_fee_units(to_base_units(size), to_base_units(price), rate, ONE)
    if side is Side.SELL:
        units = min(units, to_base_units(price * size))
    return from_base_units(units)
