"""msgspec structs for Polymarket's CLOB WebSocket channels (market and user), venue field names.

Conventions (ref §3, §7):
- Prices, sizes and timestamps stay `str` exactly as sent: decoding is a C-speed shape check and
  `protocol.mapping` turns them into `Decimal`/`int` once. Numeric strings are validated there.
- Sides and statuses are enums; the decoder's lenient path normalises other spellings
  (`buy`, `ORDER_STATUS_LIVE`, `CANCELED_<reason>`) before they reach these types.
- Every event is tagged by `event_type`; unknown tags are skipped by the decoder, unknown fields
  are ignored.
- Structs are frozen and untracked by the GC (decoded structs cannot form reference cycles).
"""

from __future__ import annotations

from typing import TypeAlias

import msgspec

from polymarket_bot.core.events import OrderEventType, OrderStatus, TraderSide, TradeStatus
from polymarket_bot.core.types import Side


class WireStruct(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Base of every wire struct. msgspec applies `kw_only` per class, so every subclass repeats
    it (fields are keyword-only, required and optional fields in venue order)."""


class PriceLevelWire(WireStruct, frozen=True, kw_only=True):
    """One aggregated book level `{"price": "0.51", "size": "12848.17"}`."""

    price: str
    size: str


# --- market channel ---------------------------------------------------------------------------


class MarketEventBase(WireStruct, tag_field="event_type", frozen=True, kw_only=True):
    """Market-channel events; the tag `event_type` discriminates."""


class BookEvent(MarketEventBase, tag="book", frozen=True, kw_only=True):
    """Full snapshot. Venue order: bids ascending, asks descending (best LAST)."""

    asset_id: str
    market: str
    bids: tuple[PriceLevelWire, ...]
    asks: tuple[PriceLevelWire, ...]
    timestamp: str
    hash: str = ""
    min_order_size: str | None = None
    tick_size: str | None = None
    neg_risk: bool | None = None
    last_trade_price: str | None = None


class PriceChangeEntry(WireStruct, frozen=True, kw_only=True):
    """One level change; `size` is the level's new absolute size (`"0"` removes the level)."""

    asset_id: str
    price: str
    size: str
    side: Side
    hash: str = ""
    best_bid: str | None = None
    best_ask: str | None = None


class PriceChangeEvent(MarketEventBase, tag="price_change", frozen=True, kw_only=True):
    """Current schema (since 2025-09-15). The decoder rewrites the legacy forms (top-level
    `asset_id` + `changes`, or flat `price`/`side`/`size`) into this one."""

    market: str
    price_changes: tuple[PriceChangeEntry, ...]
    timestamp: str


class LastTradePriceEvent(MarketEventBase, tag="last_trade_price", frozen=True, kw_only=True):
    asset_id: str
    market: str
    price: str
    side: Side
    size: str = ""
    fee_rate_bps: str = ""
    timestamp: str
    transaction_hash: str | None = None


class TickSizeChangeEvent(MarketEventBase, tag="tick_size_change", frozen=True, kw_only=True):
    asset_id: str
    market: str
    old_tick_size: str = ""
    new_tick_size: str
    timestamp: str


class BestBidAskEvent(MarketEventBase, tag="best_bid_ask", frozen=True, kw_only=True):
    """Only with `custom_feature_enabled`."""

    asset_id: str
    market: str
    best_bid: str | None = None
    best_ask: str | None = None
    spread: str | None = None
    timestamp: str


class EventMessage(WireStruct, frozen=True, kw_only=True):
    """The parent Gamma event embedded in `new_market` / `market_resolved`."""

    id: str = ""
    ticker: str = ""
    slug: str = ""
    title: str = ""
    description: str = ""


class NewMarketEvent(MarketEventBase, tag="new_market", frozen=True, kw_only=True):
    """Only with `custom_feature_enabled`; sent for every new market, not filtered."""

    id: str
    market: str
    question: str = ""
    slug: str = ""
    description: str = ""
    assets_ids: tuple[str, ...]
    """Required on the fast path so the `asset_ids`/`token_ids` spellings reach the lenient
    path, which renames them (or fills `[]`)."""
    outcomes: tuple[str, ...] = ()
    event_message: EventMessage | None = None
    timestamp: str = ""
    tags: tuple[str, ...] | None = None
    condition_id: str = ""
    active: bool | None = None
    clob_token_ids: tuple[str, ...] | None = None
    sports_market_type: str = ""
    line: str = ""
    game_start_time: str = ""
    order_price_min_tick_size: str = ""
    group_item_title: str = ""


class MarketResolvedEvent(MarketEventBase, tag="market_resolved", frozen=True, kw_only=True):
    """Only with `custom_feature_enabled`."""

    id: str
    market: str
    assets_ids: tuple[str, ...]
    """Required on the fast path so the `asset_ids`/`token_ids` spellings reach the lenient
    path, which renames them (or fills `[]`)."""
    winning_asset_id: str = ""
    winning_outcome: str = ""
    timestamp: str = ""
    tags: tuple[str, ...] | None = None
    question: str = ""
    slug: str = ""
    description: str = ""
    outcomes: tuple[str, ...] | None = None
    event_message: EventMessage | None = None


MarketEvent: TypeAlias = (
    BookEvent
    | PriceChangeEvent
    | LastTradePriceEvent
    | TickSizeChangeEvent
    | BestBidAskEvent
    | NewMarketEvent
    | MarketResolvedEvent
)
MARKET_EVENT_TYPES: tuple[type[MarketEventBase], ...] = (
    BookEvent,
    PriceChangeEvent,
    LastTradePriceEvent,
    TickSizeChangeEvent,
    BestBidAskEvent,
    NewMarketEvent,
    MarketResolvedEvent,
)


# --- trades (user WS `trade` event and REST `/data/trades` share the shape) ----------------------


class MakerOrder(WireStruct, frozen=True, kw_only=True):
    """A maker leg of a trade. `side` is absent in older captures."""

    order_id: str
    owner: str
    maker_address: str = ""
    matched_amount: str
    price: str
    fee_rate_bps: str = ""
    asset_id: str
    outcome: str = ""
    side: Side | None = None


class Trade(WireStruct, frozen=True, kw_only=True):
    """REST trade (`GET /data/trades`). Top-level fields describe the taker order; `match_time`
    and `last_update` are Unix seconds. The decoder also accepts the AsyncAPI spelling
    `matchtime` and strips a `TRADE_STATUS_` prefix."""

    id: str
    taker_order_id: str
    market: str
    asset_id: str
    side: Side
    size: str
    price: str
    fee_rate_bps: str = ""
    status: TradeStatus
    status_reason: str = ""
    """Not on the wire: the raw status when it was not a known spelling."""
    match_time: str
    """Required here so that `matchtime`-only payloads take the lenient path, which renames it
    (or fills `""` when neither key is present)."""
    last_update: str = ""
    outcome: str = ""
    bucket_index: int = 0
    owner: str = ""
    maker_address: str = ""
    transaction_hash: str | None = None
    trader_side: TraderSide | None = None
    maker_orders: tuple[MakerOrder, ...] = ()


# --- user channel -----------------------------------------------------------------------------


class UserEventBase(WireStruct, tag_field="event_type", frozen=True, kw_only=True):
    """User-channel events; the tag `event_type` discriminates."""


class OrderEvent(UserEventBase, tag="order", frozen=True, kw_only=True):
    """`type` PLACEMENT / UPDATE / CANCELLATION. `created_at`/`expiration` are seconds,
    `timestamp` milliseconds. `status` is optional in the spec."""

    id: str
    type: OrderEventType
    status: OrderStatus | None = None
    status_reason: str = ""
    """Not on the wire: text after the known status prefix (`CANCELED_<reason>`)."""
    owner: str
    order_owner: str = ""
    maker_address: str = ""
    market: str
    asset_id: str
    side: Side
    price: str
    original_size: str
    size_matched: str
    outcome: str = ""
    order_type: str = ""
    expiration: str = ""
    associate_trades: tuple[str, ...] | None = None
    created_at: str = ""
    timestamp: str = ""


class TradeEvent(UserEventBase, tag="trade", frozen=True, kw_only=True):
    """Sent on match and on every settlement status change, same `id` each time.
    `timestamp` is usually ms but some captures carry seconds (mapping detects by magnitude)."""

    type: str = "TRADE"
    id: str
    taker_order_id: str
    market: str
    asset_id: str
    side: Side
    size: str
    price: str
    fee_rate_bps: str = ""
    status: TradeStatus
    status_reason: str = ""
    match_time: str
    last_update: str = ""
    outcome: str = ""
    bucket_index: int = 0
    owner: str = ""
    trade_owner: str = ""
    maker_address: str = ""
    transaction_hash: str | None = None
    trader_side: TraderSide | None = None
    maker_orders: tuple[MakerOrder, ...] = ()
    timestamp: str = ""


UserEvent: TypeAlias = OrderEvent | TradeEvent
USER_EVENT_TYPES: tuple[type[UserEventBase], ...] = (OrderEvent, TradeEvent)
