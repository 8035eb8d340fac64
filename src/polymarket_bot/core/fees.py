"""The V2 taker fee curve (ref §10.1), in integer base units.

fee (pUSD) = C x rate x (p x (1 - p)) ** exponent, C = shares, p = trade price; rounded half-up to
5 decimals (10 base units) and at least 0.00001 when the exact fee is positive. Makers pay
nothing. With an integral exponent (the only one seen live: 1) the computation is exact integer
arithmetic; any other exponent goes through `Decimal` at 40 digits.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Final

from polymarket_bot.core.errors import InvalidValueError

__all__ = ["FEE_QUANTUM_UNITS", "FeeSchedule", "taker_fee_units"]

PRICE_SCALE: Final = 10**6
"""Prices are carried as integer micro-dollars per share (0.55 -> 550_000)."""
FEE_QUANTUM_UNITS: Final = 10
"""5 decimals of pUSD expressed in base units (10**-6)."""
_FEE_QUANTUM = Decimal("0.00001")


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """A market's fee details (`/clob-markets` `fd`: `r` rate, `e` exponent, `to` taker-only).

    `rate_bps` is what trades report as `fee_rate_bps`; it defaults to `rate` x 10_000.
    """

    rate: Decimal = Decimal(0)
    exponent: Decimal = Decimal(1)
    taker_only: bool = True
    rate_bps: int | None = None

    def __post_init__(self) -> None:
        if not (Decimal(0) <= self.rate < Decimal(1)):
            raise InvalidValueError(f"fee rate must be in [0, 1): {self.rate}")
        if self.exponent < 0:
            raise InvalidValueError(f"fee exponent must be >= 0: {self.exponent}")

    @property
    def fee_rate_bps(self) -> int:
        if self.rate_bps is not None:
            return self.rate_bps
        return int((self.rate * 10_000).to_integral_value(rounding=ROUND_HALF_UP))

    def taker_fee(self, shares_units: int, price_u: int) -> int:
        """Taker fee in pUSD base units for `shares_units` shares traded at `price_u`."""
        return taker_fee_units(shares_units, price_u, self.rate, self.exponent)


def taker_fee_units(shares_units: int, price_u: int, rate: Decimal, exponent: Decimal) -> int:
    """Fee in base units; `shares_units` in 10**-6 shares, `price_u` in micro-dollars."""
    if shares_units <= 0 or rate == 0 or not (0 < price_u < PRICE_SCALE):
        return 0
    if exponent == exponent.to_integral_value():
        return _fee_integral(shares_units, price_u, rate, int(exponent))
    return _fee_decimal(shares_units, price_u, rate, exponent)


def _fee_integral(shares_units: int, price_u: int, rate: Decimal, exponent: int) -> int:
    rate_num, rate_den = rate.as_integer_ratio()
    # fee_units = shares_units * rate * (p(1-p))**e with p = price_u / 1e6, in base units.
    curve: int = (price_u * (PRICE_SCALE - price_u)) ** exponent  # int ** int >= 0 is an int
    scale: int = PRICE_SCALE ** (2 * exponent)
    num = shares_units * rate_num * curve
    den = rate_den * scale * FEE_QUANTUM_UNITS
    if num == 0:
        return 0
    quanta = (2 * num + den) // (2 * den)  # round half up, in units of 0.00001 pUSD
    return max(quanta, 1) * FEE_QUANTUM_UNITS


def _fee_decimal(shares_units: int, price_u: int, rate: Decimal, exponent: Decimal) -> int:
    with localcontext() as ctx:
        ctx.prec = 40
        p = Decimal(price_u) / PRICE_SCALE
        exact = Decimal(shares_units) / PRICE_SCALE * rate * (p * (1 - p)) ** exponent
        if exact <= 0:
            return 0
        rounded = exact.quantize(_FEE_QUANTUM, rounding=ROUND_HALF_UP)
        units = int(rounded * PRICE_SCALE)
    return max(units, FEE_QUANTUM_UNITS)
