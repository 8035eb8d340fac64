"""Immutable domain events produced from venue messages (market data and the user's orders/trades).

These are what books, strategies, the order tracker and the ledger consume. Prices and sizes are
exact `Decimal`; timestamps carry their unit in the field name (`_ms` milliseconds, `_s` seconds).
Books are BEST-FIRST (bids descending, asks ascending), whatever order the venue sent.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeAlias

from polymarket_bot.core.types import Side

PriceLevel: TypeAlias = tuple[Decimal, Decimal]
"""`(price, size)` of one aggregated book level."""


class OrderStatus(str, enum.Enum):
    """Order status as the venue spells it (WS `order` events, REST open orders), prefix-free."""

    LIVE = "LIVE"
    MATCHED = "MATCHED"
    CANCELED = "CANCELED"
    CANCELED_MARKET_RESOLVED = "CANCELED_MARKET_RESOLVED"
    INVALID = "INVALID"
    DELAYED = "DELAYED"
    UNMATCHED = "UNMATCHED"
    UNKNOWN = "UNKNOWN"
    """A spelling we do not know; the raw text is kept in the event's `status_reason`."""

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL_ORDER_STATUSES


_TERMINAL_ORDER_STATUSES = frozenset(
    {
        OrderStatus.MATCHED,
        OrderStatus.CANCELED,
        OrderStatus.CANCELED_MARKET_RESOLVED,
        OrderStatus.INVALID,
        OrderStatus.UNMATCHED,
    }
)


class TradeStatus(str, enum.Enum):
    """Settlement status of a trade: MATCHED -> MINED -> CONFIRMED, or RETRYING/FAILED."""

    MATCHED = "MATCHED"
    MINED = "MINED"
    CONFIRMED = "CONFIRMED"
    RETRYING = "RETRYING"
    FAILED = "FAILED"
    MATCHED_NOT_BROADCASTED = "MATCHED_NOT_BROADCASTED"
    UNKNOWN = "UNKNOWN"

    @property
    def is_terminal(self) -> bool:
        return self in (TradeStatus.CONFIRMED, TradeStatus.FAILED)


class OrderEventType(str, enum.Enum):
    """`type` of a user-channel `order` event."""

    PLACEMENT = "PLACEMENT"
    UPDATE = "UPDATE"
    CANCELLATION = "CANCELLATION"
    UNKNOWN = "UNKNOWN"


class TraderSide(str, enum.Enum):
    """Whether the user was the taker of a trade or one of its makers."""

    TAKER = "TAKER"
    MAKER = "MAKER"


# --- market channel ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """Full aggregated book of one token; replaces any local book state for `asset_id`."""

    asset_id: str
    market: str
    bids: tuple[PriceLevel, ...]
    asks: tuple[PriceLevel, ...]
    timestamp_ms: int | None
    hash: str = ""
    tick_size: Decimal | None = None
    min_order_size: Decimal | None = None
    neg_risk: bool | None = None
    last_trade_price: Decimal | None = None

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0][0] if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0][0] if self.asks else None


@dataclass(frozen=True, slots=True)
class PriceLevelChange:
    """One level of one token's book now has `size` (absolute, not a delta); size 0 removes it."""

    asset_id: str
    market: str
    side: Side
    price: Decimal
    size: Decimal
    best_bid: Decimal | None
    best_ask: Decimal | None
    hash: str
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class PriceChange:
    """One `price_change` message: level changes, possibly for several tokens of one market."""

    market: str
    changes: tuple[PriceLevelChange, ...]
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class LastTrade:
    """A trade printed on the public tape (`last_trade_price`); `side` is the taker's."""

    asset_id: str
    market: str
    price: Decimal
    size: Decimal | None
    side: Side
    fee_rate_bps: Decimal | None
    timestamp_ms: int
    transaction_hash: str | None = None


@dataclass(frozen=True, slots=True)
class TickSizeChange:
    """The market's tick changed: resting orders off the new grid fail; resync the book."""

    asset_id: str
    market: str
    old_tick_size: Decimal | None
    new_tick_size: Decimal
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class BestBidAsk:
    asset_id: str
    market: str
    best_bid: Decimal | None
    best_ask: Decimal | None
    spread: Decimal | None
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class NewMarket:
    market: str
    id: str
    question: str
    slug: str
    asset_ids: tuple[str, ...]
    outcomes: tuple[str, ...]
    tick_size: Decimal | None
    active: bool | None
    tags: tuple[str, ...]
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class MarketResolved:
    market: str
    id: str
    asset_ids: tuple[str, ...]
    winning_asset_id: str
    winning_outcome: str
    timestamp_ms: int


MarketDataEvent: TypeAlias = (
    BookSnapshot
    | PriceChange
    | LastTrade
    | TickSizeChange
    | BestBidAsk
    | NewMarket
    | MarketResolved
)


# --- user channel -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """The venue's view of one of our orders (user WS `order` event or a REST open order)."""

    order_id: str
    status: OrderStatus | None
    event_type: OrderEventType | None
    market: str
    asset_id: str
    side: Side
    price: Decimal
    original_size: Decimal
    size_matched: Decimal
    outcome: str
    owner: str
    maker_address: str
    order_type: str
    expiration_s: int | None
    created_at_s: int | None
    timestamp_ms: int | None
    associate_trades: tuple[str, ...] = ()
    status_reason: str = ""
    """Text after the known status prefix (`CANCELED_<reason>`), or the raw unknown status."""

    @property
    def remaining_size(self) -> Decimal:
        return self.original_size - self.size_matched


@dataclass(frozen=True, slots=True)
class MakerFill:
    """One maker leg of a trade (the resting order that was hit)."""

    order_id: str
    owner: str
    maker_address: str
    matched_amount: Decimal
    price: Decimal
    fee_rate_bps: Decimal | None
    asset_id: str
    outcome: str
    side: Side | None


@dataclass(frozen=True, slots=True)
class TradeUpdate:
    """A trade involving one of our orders; top-level fields describe the TAKER order.

    The same `trade_id` is re-sent for every status change; de-duplicate on (trade_id, status).
    """

    trade_id: str
    status: TradeStatus
    taker_order_id: str
    market: str
    asset_id: str
    side: Side
    price: Decimal
    size: Decimal
    fee_rate_bps: Decimal | None
    outcome: str
    owner: str
    maker_address: str
    trader_side: TraderSide | None
    bucket_index: int
    match_time_s: int | None
    last_update_s: int | None
    timestamp_ms: int | None
    transaction_hash: str | None
    maker_fills: tuple[MakerFill, ...] = ()
    status_reason: str = ""


AccountEvent: TypeAlias = OrderUpdate | TradeUpdate
"""What the user channel (or REST reconciliation) says about our orders and trades."""
