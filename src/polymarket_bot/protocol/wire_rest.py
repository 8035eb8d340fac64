"""msgspec structs for the CLOB REST responses a bot reads (ref §5, §6.6, §6.9), venue field names.

String numbers stay `str` (as in the WS structs). Fields the venue sends as JSON *numbers* (market
objects, `/tick-size`, `/fee-rate`, `/prices-history`, `/clob-markets`) are `Decimal`: msgspec
parses them exactly from the JSON text (no float round trip) and also accepts numeric strings.
Base-unit amounts (`balance`, allowances) are `int | str` because both spellings occur.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Generic, TypeAlias, TypeVar

from polymarket_bot.core.events import OrderStatus
from polymarket_bot.core.types import Side
from polymarket_bot.protocol.wire import MakerOrder, PriceLevelWire, Trade, WireStruct

__all__ = [
    "END_CURSOR",
    "INITIAL_CURSOR",
    "ApiCreds",
    "ApiKeysResponse",
    "BalanceAllowance",
    "BanStatusResponse",
    "BuilderFeesResponse",
    "CancelResponse",
    "ClobFeeDetails",
    "ClobMarketInfo",
    "ClobRewards",
    "ClobToken",
    "CursorPage",
    "ErrorResponse",
    "FeeRateResponse",
    "HeartbeatResponse",
    "LastTradePriceResponse",
    "LastTradesPricesItem",
    "MakerOrder",
    "Market",
    "MarketByToken",
    "MarketToken",
    "MidpointResponse",
    "MidpointsResponse",
    "NegRiskResponse",
    "OpenOrder",
    "OrderBookSummary",
    "OrderResponse",
    "OrderScoringResponse",
    "PriceLevelWire",
    "PriceResponse",
    "PricesHistory",
    "PricesHistoryPoint",
    "PricesResponse",
    "RewardRate",
    "Rewards",
    "SimplifiedMarket",
    "SpreadResponse",
    "SpreadsResponse",
    "TickSizeResponse",
    "Trade",
    "VersionResponse",
]

T = TypeVar("T")

INITIAL_CURSOR = "MA=="
"""First page (`base64("0")`)."""
END_CURSOR = "LTE="
"""`next_cursor` of the last page (`base64("-1")`)."""


class CursorPage(WireStruct, Generic[T], frozen=True, kw_only=True):
    """`{limit, count, next_cursor, data}` of `/markets`, `/data/orders`, `/data/trades`, ..."""

    limit: int = 0
    count: int = 0
    next_cursor: str | None = None
    data: tuple[T, ...]

    @property
    def is_last(self) -> bool:
        """`LTE=` ends the walk; a missing cursor also does (UNI). `""` does not."""
        return self.next_cursor is None or self.next_cursor == END_CURSOR


# --- markets ----------------------------------------------------------------------------------


class MarketToken(WireStruct, frozen=True, kw_only=True):
    """`token_id` can be `""` for a few minutes after a market is created."""

    token_id: str
    outcome: str
    price: Decimal | None = None
    winner: bool = False


class RewardRate(WireStruct, frozen=True, kw_only=True):
    asset_address: str = ""
    rewards_daily_rate: Decimal | None = None


class Rewards(WireStruct, frozen=True, kw_only=True):
    rates: tuple[RewardRate, ...] | None = None
    min_size: Decimal | None = None
    max_spread: Decimal | None = None


class Market(WireStruct, frozen=True, kw_only=True):
    """Full CLOB market object (`GET /markets`, `/markets/{condition_id}`)."""

    condition_id: str
    question_id: str = ""
    tokens: tuple[MarketToken, ...]
    active: bool
    closed: bool
    archived: bool = False
    accepting_orders: bool
    accepting_order_timestamp: str | None = None
    enable_order_book: bool = False
    minimum_order_size: Decimal
    minimum_tick_size: Decimal
    neg_risk: bool = False
    neg_risk_market_id: str = ""
    neg_risk_request_id: str = ""
    question: str = ""
    description: str = ""
    market_slug: str = ""
    end_date_iso: str | None = None
    game_start_time: str | None = None
    seconds_delay: int = 0
    fpmm: str = ""
    maker_base_fee: Decimal | None = None
    taker_base_fee: Decimal | None = None
    notifications_enabled: bool = False
    icon: str = ""
    image: str = ""
    rewards: Rewards | None = None
    is_50_50_outcome: bool = False
    tags: tuple[str, ...] | None = None


class SimplifiedMarket(WireStruct, frozen=True, kw_only=True):
    """`GET /simplified-markets` row."""

    condition_id: str
    tokens: tuple[MarketToken, ...]
    rewards: Rewards | None = None
    active: bool
    closed: bool
    archived: bool = False
    accepting_orders: bool


class ClobToken(WireStruct, frozen=True, kw_only=True):
    t: str
    """token id"""
    o: str = ""
    """outcome label"""


class ClobFeeDetails(WireStruct, frozen=True, kw_only=True):
    r: Decimal = Decimal(0)
    """rate"""
    e: Decimal = Decimal(0)
    """exponent"""
    to: bool = False
    """taker only"""


class ClobRewards(WireStruct, frozen=True, kw_only=True):
    mi: Decimal | None = None
    ma: Decimal | None = None
    e: bool | None = None
    smoa: bool | None = None
    moas: int | None = None


class ClobMarketInfo(WireStruct, frozen=True, kw_only=True):
    """`GET /clob-markets/{condition_id}`: compact keys (`nr`, `to` omitted when false)."""

    c: str = ""
    t: tuple[ClobToken, ...]
    mts: Decimal
    nr: bool = False
    fd: ClobFeeDetails | None = None
    mbf: Decimal | None = None
    tbf: Decimal | None = None
    r: ClobRewards | None = None
    ao: bool | None = None
    mos: Decimal | None = None
    sd: int | None = None
    gst: str | None = None
    cbos: bool | None = None
    aot: str | None = None
    rfqe: bool | None = None
    itode: bool | None = None
    ibce: bool | None = None


class MarketByToken(WireStruct, frozen=True, kw_only=True):
    """`GET /markets-by-token/{token_id}`; only `condition_id` is read by the SDKs."""

    condition_id: str


# --- prices and books -------------------------------------------------------------------------


class OrderBookSummary(WireStruct, frozen=True, kw_only=True):
    """`GET /book`, `POST /books`. Venue order: bids ascending, asks descending (best LAST)."""

    market: str
    asset_id: str
    timestamp: str = ""
    hash: str = ""
    bids: tuple[PriceLevelWire, ...]
    asks: tuple[PriceLevelWire, ...]
    min_order_size: str | None = None
    tick_size: str | None = None
    neg_risk: bool | None = None
    last_trade_price: str | None = None


class PriceResponse(WireStruct, frozen=True, kw_only=True):
    """`GET /price`: BUY returns the best bid, SELL the best ask."""

    price: str


PricesResponse: TypeAlias = dict[str, dict[str, str]]
"""`POST /prices`: `{token_id: {"BUY": "0.45", "SELL": "0.46"}}`."""
MidpointsResponse: TypeAlias = dict[str, str]
SpreadsResponse: TypeAlias = dict[str, str]


class MidpointResponse(WireStruct, frozen=True, kw_only=True):
    """`GET /midpoint`: `{"mid": ...}` (SDKs) or `{"mid_price": ...}` (2026 OpenAPI)."""

    mid: str | None = None
    mid_price: str | None = None

    def __post_init__(self) -> None:
        if self.mid is None and self.mid_price is None:
            raise ValueError("midpoint response has neither `mid` nor `mid_price`")

    @property
    def value(self) -> str:
        return self.mid if self.mid is not None else self.mid_price or ""


class SpreadResponse(WireStruct, frozen=True, kw_only=True):
    spread: str


class LastTradePriceResponse(WireStruct, frozen=True, kw_only=True):
    """`GET /last-trade-price`; `side` is `""` when the token never traded."""

    price: str
    side: str = ""


class LastTradesPricesItem(WireStruct, frozen=True, kw_only=True):
    """`POST /last-trades-prices` row."""

    token_id: str
    price: str
    side: str = ""


class TickSizeResponse(WireStruct, frozen=True, kw_only=True):
    """`GET /tick-size`: a JSON number (`0.01`)."""

    minimum_tick_size: Decimal


class NegRiskResponse(WireStruct, frozen=True, kw_only=True):
    neg_risk: bool


class FeeRateResponse(WireStruct, frozen=True, kw_only=True):
    """`GET /fee-rate`: bps, a number or a numeric string."""

    base_fee: Decimal


class BuilderFeesResponse(WireStruct, frozen=True, kw_only=True):
    builder_maker_fee_rate_bps: Decimal = Decimal(0)
    builder_taker_fee_rate_bps: Decimal = Decimal(0)


class PricesHistoryPoint(WireStruct, frozen=True, kw_only=True):
    t: int
    """Unix seconds"""
    p: Decimal


class PricesHistory(WireStruct, frozen=True, kw_only=True):
    history: tuple[PricesHistoryPoint, ...]


class VersionResponse(WireStruct, frozen=True, kw_only=True):
    """`GET /version`; SDKs fall back to 2 when the key is missing."""

    version: int = 2


# --- orders, trades, account ------------------------------------------------------------------


class OrderResponse(WireStruct, frozen=True, kw_only=True):
    """`POST /order` (and each element of `POST /orders`). `status` is lower case here."""

    success: bool
    errorMsg: str = ""
    orderID: str | None = None
    status: str = ""
    makingAmount: str = ""
    takingAmount: str = ""
    transactionsHashes: tuple[str, ...] | None = None
    tradeIDs: tuple[str, ...] | None = None

    @property
    def accepted(self) -> bool:
        """UNI's rule: success, no error text, an order id, and a resting/matched status."""
        return (
            self.success
            and self.errorMsg == ""
            and bool(self.orderID)
            and self.status.lower() in ("live", "matched", "delayed")
        )


class CancelResponse(WireStruct, frozen=True, kw_only=True):
    """`DELETE /order`, `/orders`, `/cancel-all`, `/cancel-market-orders`."""

    canceled: tuple[str, ...] | None = None
    not_canceled: dict[str, str] | None = None


class OpenOrder(WireStruct, frozen=True, kw_only=True):
    """`GET /data/orders` row / `GET /data/order/{id}`. `created_at` is integer seconds."""

    id: str
    status: OrderStatus
    status_reason: str = ""
    """Not on the wire: text after the known status prefix."""
    owner: str
    maker_address: str
    market: str
    asset_id: str
    side: Side
    original_size: str
    size_matched: str
    price: str
    outcome: str = ""
    expiration: str = "0"
    order_type: str = ""
    associate_trades: tuple[str, ...] | None = None
    created_at: int


class BalanceAllowance(WireStruct, frozen=True, kw_only=True):
    """`GET /balance-allowance`: base units (10**-6). V2 sends an `allowances` map per spender,
    V1-era payloads a single `allowance`."""

    balance: int | str
    allowances: dict[str, int | str] | None = None
    allowance: int | str | None = None


class ApiCreds(WireStruct, frozen=True, kw_only=True):
    """`POST /auth/api-key`, `GET /auth/derive-api-key`."""

    apiKey: str
    secret: str
    passphrase: str


class ApiKeysResponse(WireStruct, frozen=True, kw_only=True):
    apiKeys: tuple[str, ...]


class BanStatusResponse(WireStruct, frozen=True, kw_only=True):
    closed_only: bool


class OrderScoringResponse(WireStruct, frozen=True, kw_only=True):
    scoring: bool


class HeartbeatResponse(WireStruct, frozen=True, kw_only=True):
    """`POST /v1/heartbeats`; an invalid id comes back as 400 whose body carries the right id."""

    heartbeat_id: str
    error: str | None = None


class ErrorResponse(WireStruct, frozen=True, kw_only=True):
    """Every CLOB error body; `code`/`retry_after_seconds` in post-only mode."""

    error: str
    code: str | None = None
    retry_after_seconds: int | Decimal | None = None
