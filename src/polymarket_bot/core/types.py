"""Domain value types: ids, sides, outcomes and exact prices/sizes.

Money, prices and sizes are `Decimal` (or integer base units of 10**-6), never binary floats.
On-chain amounts (pUSD and outcome tokens alike) carry 6 decimals.
"""

from __future__ import annotations

import enum
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_UP, Decimal, InvalidOperation
from typing import NewType

from polymarket_bot.core.errors import InvalidValueError

TokenId = NewType("TokenId", str)
"""CLOB token id (`asset_id`): a decimal uint256 string of ~77 digits."""
ConditionId = NewType("ConditionId", str)
"""Market condition id: `0x` + 64 hex."""
OrderId = NewType("OrderId", str)
"""Venue order id: `0x` + 64 hex, the EIP-712 digest of the signed order."""
TradeId = NewType("TradeId", str)
"""Venue trade id (UUID string)."""

BASE_UNIT_DECIMALS = 6
BASE_UNIT_SCALE = 10**BASE_UNIT_DECIMALS
_BASE_QUANTUM = Decimal(1).scaleb(-BASE_UNIT_DECIMALS)
ZERO = Decimal(0)
ONE = Decimal(1)


class Side(str, enum.Enum):
    """Order side as on the wire (upper case); signed as uint8 0/1."""

    BUY = "BUY"
    SELL = "SELL"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY

    @property
    def as_uint8(self) -> int:
        return 0 if self is Side.BUY else 1

    @classmethod
    def parse(cls, value: str) -> Side:
        """Lenient parse: venues and SDKs send `buy`, `BUY`, `Buy`."""
        try:
            return cls(value.upper())
        except ValueError:
            raise InvalidValueError(f"unknown side {value!r}") from None


class Outcome(str, enum.Enum):
    """Which token of a binary market an order or position is on (reports say `yes|no`)."""

    YES = "yes"
    NO = "no"

    @property
    def complement(self) -> Outcome:
        return Outcome.NO if self is Outcome.YES else Outcome.YES

    @classmethod
    def parse(cls, value: str) -> Outcome:
        try:
            return cls(value.lower())
        except ValueError:
            raise InvalidValueError(f"unknown outcome {value!r}") from None


class OrderType(str, enum.Enum):
    GTC = "GTC"
    GTD = "GTD"
    FOK = "FOK"
    FAK = "FAK"

    @property
    def is_marketable_only(self) -> bool:
        """FOK/FAK never rest on the book."""
        return self in (OrderType.FOK, OrderType.FAK)


class TickSize(str, enum.Enum):
    """The six tick sizes the V2 SDKs accept; the string value prints exactly as the venue's."""

    T0_1 = "0.1"
    T0_01 = "0.01"
    T0_005 = "0.005"
    T0_0025 = "0.0025"
    T0_001 = "0.001"
    T0_0001 = "0.0001"

    @property
    def decimal(self) -> Decimal:
        return _TICK_DECIMALS[self]

    @classmethod
    def parse(cls, value: str | float | Decimal) -> TickSize:
        try:
            d = Decimal(str(value))
        except InvalidOperation:
            raise InvalidValueError(f"invalid tick size {value!r}") from None
        for tick, dec in _TICK_DECIMALS.items():
            if dec == d:
                return tick
        raise InvalidValueError(f"invalid tick size {value!r}")


_TICK_DECIMALS: dict[TickSize, Decimal] = {t: Decimal(t.value) for t in TickSize}


def to_decimal(value: str | int | Decimal) -> Decimal:
    """Parse a wire number (string) exactly; rejects NaN/infinity and garbage."""
    if isinstance(value, Decimal):
        d = value
    else:
        try:
            d = Decimal(value)
        except (InvalidOperation, ValueError, TypeError):
            raise InvalidValueError(f"not a decimal number: {value!r}") from None
    if not d.is_finite():
        raise InvalidValueError(f"not a finite number: {value!r}")
    return d


def to_base_units(amount: Decimal) -> int:
    """Decimal amount -> integer base units (10**-6), rounding half-even as the SDKs do."""
    return int((amount * BASE_UNIT_SCALE).to_integral_value(rounding=ROUND_HALF_EVEN))


def from_base_units(units: int) -> Decimal:
    return (Decimal(units) * _BASE_QUANTUM).normalize() if units else ZERO


def quantize_down(value: Decimal, decimals: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_DOWN)


def quantize_up(value: Decimal, decimals: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_UP)


def is_on_tick(price: Decimal, tick: Decimal) -> bool:
    """True if `price` is a multiple of `tick` and within `[tick, 1 - tick]`."""
    return tick <= price <= ONE - tick and (price % tick) == 0


def round_to_tick(price: Decimal, tick: Decimal, *, side: Side) -> Decimal:
    """Round a price onto the grid conservatively: bids down, asks up; clamp to `[tick, 1-tick]`."""
    steps = price / tick
    rounding = ROUND_DOWN if side is Side.BUY else ROUND_UP
    snapped = steps.to_integral_value(rounding=rounding) * tick
    return min(max(snapped, tick), ONE - tick)
