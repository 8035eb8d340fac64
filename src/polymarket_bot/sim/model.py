"""Data the simulated exchange keeps and emits: orders, trades, events, results.

Units: sizes and amounts are integer base units (10**-6 shares or pUSD); prices are integer
micro-dollars per share (0.55 -> 550_000). `to_wire()` renders the venue's JSON shapes (ref §5.5,
§6.6, §7.5, §7.6) with decimal strings such as "0.5" and "120.5".
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from polymarket_bot.core.errors import PolymarketBotError
from polymarket_bot.core.types import OrderType, Side, TickSize
from polymarket_bot.protocol.book_hash import with_book_hash
from polymarket_bot.sim.fees import FeeSchedule

__all__ = [
    "CANCELED",
    "CANCELED_MARKET_RESOLVED",
    "LIVE",
    "MATCHED",
    "BookSnapshot",
    "CancelResult",
    "HeartbeatMismatchError",
    "LastTradePriceEvent",
    "MakerLeg",
    "MarketResolvedEvent",
    "MarketSpec",
    "OrderEvent",
    "OrderRejectedError",
    "OrderRequest",
    "PlaceResult",
    "PriceChangeEvent",
    "PriceLevelChange",
    "SimEvent",
    "SimOrder",
    "TickSizeChangeEvent",
    "Trade",
    "TradeEvent",
    "TradeStatus",
    "fmt_units",
]

UNIT: Final = 10**6

# Order statuses (upper case, as on WS/REST; §6.8).
LIVE: Final = "LIVE"
MATCHED: Final = "MATCHED"
CANCELED: Final = "CANCELED"
CANCELED_MARKET_RESOLVED: Final = "CANCELED_MARKET_RESOLVED"


class TradeStatus:
    """Trade statuses (§5.5): MATCHED -> MINED -> CONFIRMED, or MATCHED -> RETRYING -> FAILED."""

    MATCHED: Final = "MATCHED"
    MINED: Final = "MINED"
    CONFIRMED: Final = "CONFIRMED"
    RETRYING: Final = "RETRYING"
    FAILED: Final = "FAILED"
    FINAL: Final = frozenset({"CONFIRMED", "FAILED"})


@functools.lru_cache(maxsize=16_384)  # prices and common sizes repeat; events format a lot
def fmt_units(units: int) -> str:
    """Base units (or micro-dollars) -> shortest decimal string: 550000 -> "0.55", 10**7 -> "10"."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), UNIT)
    if not frac:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{frac:06d}".rstrip("0")


class OrderRejectedError(PolymarketBotError):
    """A business rejection of `POST /order`: `message` is the venue's verbatim text (§6.7),
    `code` the docs' code name. The server answers 400 `{"error": message}` (or, inside a
    batch, `success: false` + `errorMsg`)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class HeartbeatMismatchError(PolymarketBotError):
    """`heartbeat()` got an id that is not the current one; `expected_id` goes in the 400 body
    (`{"heartbeat_id": expected_id, "error": ...}`, §6.9). "" means: start a new session."""

    def __init__(self, expected_id: str) -> None:
        super().__init__(f"invalid heartbeat id, expected {expected_id!r}")
        self.expected_id = expected_id


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """A binary market (two tokens). Neg-risk markets carry `neg_risk_event_id`; resolving the
    event makes exactly one of its markets' YES token win."""

    condition_id: str
    yes_token_id: str
    no_token_id: str
    tick_size: TickSize = TickSize.T0_01
    min_order_size: Decimal = Decimal(5)
    yes_outcome: str = "Yes"
    no_outcome: str = "No"
    neg_risk: bool = False
    neg_risk_event_id: str | None = None
    fees: FeeSchedule = field(default_factory=FeeSchedule)
    question: str = ""


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What a verified `POST /order` carries: the signed V2 amounts plus the envelope fields.

    BUY: `maker_amount` pUSD for `taker_amount` shares; SELL: `maker_amount` shares for
    `taker_amount` pUSD (both in base units). `expiration` is Unix seconds (GTD only)."""

    order_id: str
    owner: str
    maker_address: str
    token_id: str
    side: Side
    maker_amount: int
    taker_amount: int
    order_type: OrderType = OrderType.GTC
    expiration: int = 0
    post_only: bool = False


@dataclass(slots=True, eq=False)
class SimOrder:
    """An accepted order. `price_u` is on the order's own token; the market book keeps it in
    YES space (`yes_price_u`, `is_bid`): a NO bid at q is a YES ask at 1 - q."""

    order_id: str
    owner: str
    maker_address: str
    market: str
    token_id: str
    outcome: str
    side: Side
    is_yes: bool
    price_u: int
    yes_price_u: int
    is_bid: bool
    original_size: int
    maker_amount: int
    taker_amount: int
    order_type: OrderType
    expiration: int
    post_only: bool
    created_at: int
    remaining: int
    matched: int = 0
    reserved: int = 0  # pUSD (BUY) or shares (SELL) still held for this order
    res_num: int = 0  # BUY reservation price = res_num / res_den pUSD per share
    res_den: int = 1
    status: str = LIVE
    resting: bool = False
    associate_trades: list[str] = field(default_factory=list)

    def to_wire(self) -> dict[str, Any]:
        """REST OpenOrder (§5.5): `created_at` an integer, sizes in decimal shares."""
        return {
            "id": self.order_id,
            "status": self.status,
            "owner": self.owner,
            "maker_address": self.maker_address,
            "market": self.market,
            "asset_id": self.token_id,
            "side": self.side.value,
            "original_size": fmt_units(self.original_size),
            "size_matched": fmt_units(self.matched),
            "price": fmt_units(self.price_u),
            "outcome": self.outcome,
            "expiration": str(self.expiration),
            "order_type": self.order_type.value,
            "associate_trades": list(self.associate_trades),
            "created_at": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class MakerLeg:
    order_id: str
    owner: str
    maker_address: str
    matched_amount: int
    price_u: int
    asset_id: str
    outcome: str
    side: Side
    fee_rate_bps: int = 0  # makers pay no fee

    def to_wire(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "owner": self.owner,
            "maker_address": self.maker_address,
            "matched_amount": fmt_units(self.matched_amount),
            "price": fmt_units(self.price_u),
            "fee_rate_bps": str(self.fee_rate_bps),
            "asset_id": self.asset_id,
            "outcome": self.outcome,
            "side": self.side.value,
        }


BalanceDelta = tuple[str, int, str | None, int]
"""(address, pUSD delta, token id or None, token delta) as applied by a trade."""


@dataclass(slots=True, eq=False)
class Trade:
    """One trade = the taker's fills at one execution price (`bucket_index` counts the prices of
    one match). Top-level fields describe the taker order (§5.5)."""

    trade_id: str
    taker_order_id: str
    market: str
    asset_id: str
    side: Side
    size: int
    price_u: int
    outcome: str
    bucket_index: int
    taker_owner: str
    taker_address: str
    fee_rate_bps: int
    fee: int
    match_time: int
    transaction_hash: str
    maker_legs: tuple[MakerLeg, ...]
    owners: tuple[str, ...]
    deltas: list[BalanceDelta]
    locked_delta: int
    will_fail: bool
    status: str = TradeStatus.MATCHED
    last_update: int = 0

    def to_wire(
        self,
        for_owner: str | None = None,
        *,
        status: str | None = None,
        last_update: int | None = None,
    ) -> dict[str, Any]:
        """REST Trade as seen by `for_owner` (`trader_side` MAKER unless they own the taker)."""
        viewer = self.taker_owner if for_owner is None else for_owner
        return {
            "id": self.trade_id,
            "taker_order_id": self.taker_order_id,
            "market": self.market,
            "asset_id": self.asset_id,
            "side": self.side.value,
            "size": fmt_units(self.size),
            "fee_rate_bps": str(self.fee_rate_bps),
            "price": fmt_units(self.price_u),
            "status": self.status if status is None else status,
            "match_time": str(self.match_time),
            "last_update": str(self.last_update if last_update is None else last_update),
            "outcome": self.outcome,
            "bucket_index": self.bucket_index,
            "owner": viewer,
            "maker_address": self.taker_address,
            "transaction_hash": self.transaction_hash,
            "trader_side": "TAKER" if viewer == self.taker_owner else "MAKER",
            "maker_orders": [leg.to_wire() for leg in self.maker_legs],
        }


@dataclass(frozen=True, slots=True)
class PlaceResult:
    """`POST /order` success data (§6.6). Amounts are base units; None renders as ""."""

    order_id: str
    status: str  # "live" | "matched"
    making_amount: int | None
    taking_amount: int | None
    trade_ids: tuple[str, ...]
    transaction_hashes: tuple[str, ...]

    def to_wire(self) -> dict[str, Any]:
        return {
            "success": True,
            "errorMsg": "",
            "orderID": self.order_id,
            "status": self.status,
            "makingAmount": "" if self.making_amount is None else str(self.making_amount),
            "takingAmount": "" if self.taking_amount is None else str(self.taking_amount),
            "transactionsHashes": list(self.transaction_hashes),
            "tradeIDs": list(self.trade_ids),
        }


@dataclass(frozen=True, slots=True)
class CancelResult:
    canceled: tuple[str, ...]
    not_canceled: Mapping[str, str]

    def to_wire(self) -> dict[str, Any]:
        return {"canceled": list(self.canceled), "not_canceled": dict(self.not_canceled)}


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """Aggregated book of one token: bids ascending, asks descending (best LAST, §5.4)."""

    market: str
    asset_id: str
    bids: tuple[tuple[str, str], ...]
    asks: tuple[tuple[str, str], ...]
    min_order_size: str
    tick_size: str
    neg_risk: bool
    last_trade_price: str
    last_trade_side: str
    best_bid: str | None
    best_ask: str | None

    def to_wire(self, timestamp_ms: int) -> dict[str, Any]:
        """The ten-key REST book with its SHA-1 `hash` (protocol.book_hash.with_book_hash)."""
        return with_book_hash(
            {
                "market": self.market,
                "asset_id": self.asset_id,
                "timestamp": str(timestamp_ms),
                "bids": [{"price": p, "size": s} for p, s in self.bids],
                "asks": [{"price": p, "size": s} for p, s in self.asks],
                "min_order_size": self.min_order_size,
                "tick_size": self.tick_size,
                "neg_risk": self.neg_risk,
                "last_trade_price": self.last_trade_price,
            }
        )


# --- events the server drains and publishes -----------------------------------------------


@dataclass(frozen=True, slots=True)
class PriceLevelChange:
    asset_id: str
    price: str
    size: str  # new absolute size of the level; "0" removes it
    side: str  # BUY = bid side, SELL = ask side
    best_bid: str  # "0" when the bid side is empty
    best_ask: str  # "1" when the ask side is empty
    hash: str

    def to_wire(self) -> dict[str, Any]:
        return {
            "asset_id": self.asset_id,
            "price": self.price,
            "size": self.size,
            "side": self.side,
            "hash": self.hash,
            "best_bid": self.best_bid,
            "best_ask": self.best_ask,
        }


@dataclass(frozen=True, slots=True)
class PriceChangeEvent:
    """Market channel `price_change`: every touched level, mirrored on both tokens."""

    market: str
    changes: tuple[PriceLevelChange, ...]
    timestamp_ms: int
    owners: tuple[str, ...] = ()

    @property
    def asset_ids(self) -> frozenset[str]:
        return frozenset(c.asset_id for c in self.changes)

    def to_wire(self) -> dict[str, Any]:
        return {
            "event_type": "price_change",
            "market": self.market,
            "price_changes": [c.to_wire() for c in self.changes],
            "timestamp": str(self.timestamp_ms),
        }


@dataclass(frozen=True, slots=True)
class LastTradePriceEvent:
    market: str
    asset_id: str
    price: str
    side: str  # the taker's side
    size: str
    fee_rate_bps: str
    timestamp_ms: int
    transaction_hash: str
    owners: tuple[str, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        return {
            "event_type": "last_trade_price",
            "asset_id": self.asset_id,
            "market": self.market,
            "price": self.price,
            "side": self.side,
            "size": self.size,
            "fee_rate_bps": self.fee_rate_bps,
            "timestamp": str(self.timestamp_ms),
            "transaction_hash": self.transaction_hash,
        }


@dataclass(frozen=True, slots=True)
class TickSizeChangeEvent:
    market: str
    asset_id: str
    old_tick_size: str
    new_tick_size: str
    timestamp_ms: int
    owners: tuple[str, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        return {
            "event_type": "tick_size_change",
            "asset_id": self.asset_id,
            "market": self.market,
            "old_tick_size": self.old_tick_size,
            "new_tick_size": self.new_tick_size,
            "timestamp": str(self.timestamp_ms),
        }


@dataclass(frozen=True, slots=True)
class MarketResolvedEvent:
    market: str
    assets_ids: tuple[str, ...]
    winning_asset_id: str
    winning_outcome: str
    timestamp_ms: int
    owners: tuple[str, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        return {
            "event_type": "market_resolved",
            "id": self.market,
            "market": self.market,
            "assets_ids": list(self.assets_ids),
            "winning_asset_id": self.winning_asset_id,
            "winning_outcome": self.winning_outcome,
            "timestamp": str(self.timestamp_ms),
        }


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """User channel `order` (PLACEMENT | UPDATE | CANCELLATION); `order` is a snapshot of the
    OpenOrder view at emission time."""

    owners: tuple[str, ...]
    kind: str
    order: Mapping[str, Any]
    timestamp_ms: int

    @property
    def market(self) -> str:
        return str(self.order["market"])

    def to_wire(self) -> dict[str, Any]:
        wire = dict(self.order)
        trades: Sequence[str] = wire["associate_trades"]
        wire.update(
            event_type="order",
            type=self.kind,
            order_owner=wire["owner"],
            associate_trades=list(trades) if trades else None,
            created_at=str(wire["created_at"]),
            timestamp=str(self.timestamp_ms),
        )
        return wire


@dataclass(frozen=True, slots=True)
class TradeEvent:
    """User channel `trade` for one status (MATCHED, MINED, CONFIRMED, RETRYING, FAILED)."""

    owners: tuple[str, ...]
    trade: Trade
    status: str
    last_update: int
    timestamp_ms: int

    @property
    def market(self) -> str:
        return self.trade.market

    def to_wire(self, for_owner: str | None = None) -> dict[str, Any]:
        wire = self.trade.to_wire(for_owner, status=self.status, last_update=self.last_update)
        wire.update(
            event_type="trade",
            type="TRADE",
            trade_owner=self.trade.taker_owner,
            timestamp=str(self.timestamp_ms),
        )
        return wire


SimEvent = (
    PriceChangeEvent
    | LastTradePriceEvent
    | TickSizeChangeEvent
    | MarketResolvedEvent
    | OrderEvent
    | TradeEvent
)
"""Everything `Exchange.drain_events()` returns; `owners` empty = public market channel."""
