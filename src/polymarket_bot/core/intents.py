"""The decision vocabulary: what strategies ask for (intents) and what they and risk read.

* `OrderIntent` / `CancelIntent`: a strategy's wish, before rate limits and risk. Intents are
  mode-blind: OFFLINE, DRY-RUN and LIVE turn an approved intent into an order the same way.
* `MarketInfo`: static metadata of one binary market (condition id, YES/NO token ids, tick, min
  size, neg-risk event, end date, taker fee rate).
* `BookReader`: the read-only part of `core.book.OrderBook` that strategies and risk use.
* `PositionInfo`: shares held and their cost basis.
* `iso_ms`: the reports' timestamp format (`2025-10-13T10:05:12.345Z`).

An intent's size is in shares or in USD notional (`SizeUnit`); `shares` and `notional` convert
with the limit price. Shares are rounded DOWN to 2 decimals, as every venue SDK does.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_DOWN, Decimal
from functools import lru_cache
from typing import Protocol, TypeAlias

from polymarket_bot.core.book import LastTradeInfo
from polymarket_bot.core.errors import InvalidValueError
from polymarket_bot.core.types import ONE, ZERO, OrderType, Outcome, Side, TickSize

__all__ = [
    "OUTCOME_VALUE",
    "SHARE_QUANTUM",
    "BookReader",
    "CancelIntent",
    "Intent",
    "MarketInfo",
    "OrderIntent",
    "PositionInfo",
    "SizeUnit",
    "iso_ms",
]

SHARE_QUANTUM = Decimal("0.01")
"""Venue share precision: sizes are rounded down to 2 decimals."""
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


OUTCOME_VALUE: dict[Outcome, str] = {Outcome.YES: "yes", Outcome.NO: "no"}
"""`outcome.value` without the enum property lookup (hot path)."""


def iso_ms(ts_s: float) -> str:
    """Unix seconds -> `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC, milliseconds rounded half-even)."""
    secs, ms = divmod(round(ts_s * 1000), 1000)
    return f"{_iso_second(secs)}.{ms:03d}Z"


@lru_cache(maxsize=256)
def _iso_second(secs: int) -> str:
    return f"{datetime.fromtimestamp(secs, tz=timezone.utc):%Y-%m-%dT%H:%M:%S}"


class SizeUnit(str, enum.Enum):
    SHARES = "shares"
    USD = "usd"
    """Notional in pUSD at the limit price; converted to shares rounded down to 0.01."""


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """A strategy's wish to place one limit order (FOK/FAK are marketable limit orders).

    `market` is the condition id, `token_id` the outcome token (YES or NO of that market), and
    `outcome` says which one (reports call it `action`). Validated on construction.
    """

    strategy: str
    market: str
    outcome: Outcome
    token_id: str
    side: Side
    size: Decimal
    limit_price: Decimal
    size_unit: SizeUnit = SizeUnit.SHARES
    order_type: OrderType = OrderType.GTC
    post_only: bool = False
    expiration_s: int | None = None
    """GTD only: Unix seconds (the venue wants >= now + 180 s; execution checks that)."""
    reason: str = ""
    client_tag: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.size, Decimal) or not self.size.is_finite() or self.size <= 0:
            raise InvalidValueError(f"intent size must be a positive Decimal, got {self.size!r}")
        price = self.limit_price
        if not isinstance(price, Decimal) or not price.is_finite() or not ZERO < price < ONE:
            raise InvalidValueError(f"intent limit price must be in (0, 1), got {price!r}")
        if self.post_only and self.order_type.is_marketable_only:
            raise InvalidValueError("post_only is allowed with GTC/GTD only")
        if (self.order_type is OrderType.GTD) != (self.expiration_s is not None):
            raise InvalidValueError("expiration_s is required for GTD and only for GTD")

    @property
    def shares(self) -> Decimal:
        """Order size in shares (USD sizes converted at the limit price, rounded down)."""
        if self.size_unit is SizeUnit.SHARES:
            return self.size
        return (self.size / self.limit_price).quantize(SHARE_QUANTUM, rounding=ROUND_DOWN)

    @property
    def notional(self) -> Decimal:
        """pUSD value at the limit price: shares x price (the USD size itself for USD intents)."""
        if self.size_unit is SizeUnit.USD:
            return self.size
        return self.size * self.limit_price

    @property
    def is_buy(self) -> bool:
        return self.side is Side.BUY


@dataclass(frozen=True, slots=True)
class CancelIntent:
    """Cancel one order (`order_id`, as `StrategyView.open_orders` names it) or, when `order_id`
    is None, every open order of this strategy in `market` (optionally only on `token_id`)."""

    strategy: str
    market: str
    order_id: str | None = None
    token_id: str | None = None
    reason: str = ""

    @property
    def all_for_market(self) -> bool:
        return self.order_id is None


Intent: TypeAlias = OrderIntent | CancelIntent


@dataclass(frozen=True, slots=True)
class MarketInfo:
    """Static metadata of one binary market (Gamma/CLOB market object)."""

    condition_id: str
    yes_token: str
    no_token: str
    tick_size: TickSize = TickSize.T0_01
    min_order_size: Decimal = Decimal(5)
    neg_risk: bool = False
    event_id: str = ""
    """The event grouping markets; for neg-risk events exactly one of them resolves YES."""
    end_date_s: float | None = None
    """Scheduled end (Unix seconds), if known."""
    name: str = ""
    """Short label reports use as `market_id` (e.g. `SIM-1`); the condition id when empty."""
    fee_rate: Decimal = ZERO
    """Taker fee rate: fee = shares x fee_rate x p x (1 - p) (ref §10.1, exponent 1)."""
    event_market_count: int | None = None
    """Markets in the neg-risk event, when known (arbitrage needs every outcome)."""
    neg_risk_augmented: bool = False
    """Augmented neg-risk event (placeholder outcomes, `Other`): the outcome set is open."""

    @property
    def label(self) -> str:
        return self.name or self.condition_id

    def token(self, outcome: Outcome) -> str:
        return self.yes_token if outcome is Outcome.YES else self.no_token

    def outcome_of(self, token_id: str) -> Outcome | None:
        if token_id == self.yes_token:
            return Outcome.YES
        if token_id == self.no_token:
            return Outcome.NO
        return None

    def taker_fee_per_share(self, price: Decimal) -> Decimal:
        return self.fee_rate * price * (ONE - price)


@dataclass(frozen=True, slots=True)
class PositionInfo:
    shares: Decimal = ZERO
    cost: Decimal = ZERO
    """Cost basis of the shares held (exact price x size paid)."""

    @property
    def avg_cost(self) -> Decimal | None:
        return self.cost / self.shares if self.shares else None


class BookReader(Protocol):
    """Read-only L2 book (`core.book.OrderBook` satisfies it). Prices are Decimal; `*_units`
    are integer multiples of 0.0001 (fast, no Decimal)."""

    @property
    def asset_id(self) -> str: ...
    @property
    def tick_size(self) -> TickSize: ...
    @property
    def awaiting_snapshot(self) -> bool: ...
    @property
    def last_update_ms(self) -> int: ...
    @property
    def last_trade(self) -> LastTradeInfo | None: ...
    def best_bid_units(self) -> int | None: ...
    def best_ask_units(self) -> int | None: ...
    def best_bid(self) -> Decimal | None: ...
    def best_ask(self) -> Decimal | None: ...
    def best_bid_size(self) -> Decimal | None: ...
    def best_ask_size(self) -> Decimal | None: ...
    def mid(self) -> Decimal | None: ...
    def spread(self) -> Decimal | None: ...
    def depth(self, side: Side, n_ticks: int) -> Decimal: ...
    def levels(self, side: Side, n: int | None = None) -> list[tuple[Decimal, Decimal]]: ...
    def size_at(self, side: Side, price: str | Decimal) -> Decimal: ...
