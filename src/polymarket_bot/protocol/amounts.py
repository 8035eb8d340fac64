"""Price/size -> makerAmount/takerAmount, as the official SDKs round them (ref §6.4), in Decimal.

Client side: `limit_order_amounts`, `market_order_amounts`, `market_price_from_book`.
Server side (the simulator): `implied_price`, `order_shares`, `validate_price`, `limit_price_of`,
`worst_price_on_tick`.

PCC2 computes these with binary floats; for every valid input its float steps only remove noise,
so exact Decimal arithmetic gives the same integers (UNI, the unified SDK, works in Decimal too).
Where PCC2's float truncation misfires (e.g. `floor(0.29 * 100) == 28`) we follow the exact value.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_UP, Decimal
from typing import Final

from polymarket_bot.core.errors import InvalidValueError
from polymarket_bot.core.types import (
    BASE_UNIT_DECIMALS,
    BASE_UNIT_SCALE,
    ONE,
    ZERO,
    OrderType,
    Side,
    TickSize,
    is_on_tick,
    to_decimal,
)

__all__ = [
    "ROUNDING_CONFIG",
    "InsufficientLiquidityError",
    "OrderAmounts",
    "RoundConfig",
    "implied_price",
    "is_valid_price",
    "limit_order_amounts",
    "limit_order_units",
    "limit_price_of",
    "market_order_amounts",
    "market_price_from_book",
    "order_shares",
    "validate_price",
    "worst_price_on_tick",
]

# Enough digits that no quotient/product of 6-decimal amounts is ever rounded by the context.
_CTX: Final = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_EVEN)


@dataclass(frozen=True, slots=True)
class RoundConfig:
    """Decimal places per tick: price, size (shares), amount (the computed side)."""

    price: int
    size: int
    amount: int


ROUNDING_CONFIG: Final[Mapping[TickSize, RoundConfig]] = {
    TickSize.T0_1: RoundConfig(price=1, size=2, amount=3),
    TickSize.T0_01: RoundConfig(price=2, size=2, amount=4),
    TickSize.T0_005: RoundConfig(price=3, size=2, amount=5),
    TickSize.T0_0025: RoundConfig(price=4, size=2, amount=6),
    TickSize.T0_001: RoundConfig(price=3, size=2, amount=5),
    TickSize.T0_0001: RoundConfig(price=4, size=2, amount=6),
}


# Valid grid prices seen so far -> base units, per tick (at most 1/tick - 1 entries each: only
# prices that passed `validate_price` are stored). Decimal keys compare by value.
_GRID_UNITS: Final[dict[TickSize, dict[Decimal, int]]] = {t: {} for t in TickSize}


class InsufficientLiquidityError(InvalidValueError):
    """The book cannot fill a FOK market order (the SDKs raise "no match")."""


@dataclass(frozen=True, slots=True)
class OrderAmounts:
    """Signed amounts in base units (10**-6): BUY gives pUSD for shares, SELL the reverse."""

    side: Side
    maker_amount: int
    taker_amount: int
    price: Decimal
    """The price the amounts were computed at (after the SDK's rounding)."""


_QUANTA: Final = {d: Decimal(1).scaleb(-d) for d in range(13)}


def _q(decimals: int) -> Decimal:
    quantum = _QUANTA.get(decimals)
    return quantum if quantum is not None else Decimal(1).scaleb(-decimals)


def _round_down(value: Decimal, decimals: int) -> Decimal:
    return value.quantize(_q(decimals), rounding=ROUND_DOWN, context=_CTX)


def _decimal_places(value: Decimal) -> int:
    exponent = value.normalize(_CTX).as_tuple().exponent
    assert isinstance(exponent, int)  # finite by construction
    return max(0, -exponent)


def _fit_amount(raw: Decimal, amount_decimals: int) -> Decimal:
    """PCC2's two-step fit: round up at amount+4 places (kills float noise), then truncate."""
    if _decimal_places(raw) > amount_decimals:
        raw = raw.quantize(_q(amount_decimals + 4), rounding=ROUND_UP, context=_CTX)
        if _decimal_places(raw) > amount_decimals:
            raw = _round_down(raw, amount_decimals)
    return raw


def _to_base(value: Decimal) -> int:
    # The value has at most 6 decimals here, so the product is an exact integer.
    return int((value * BASE_UNIT_SCALE).to_integral_value(context=_CTX))


def is_valid_price(price: Decimal, tick_size: TickSize) -> bool:
    """On the tick grid and within `[tick, 1 - tick]` (the venue's limit-price rule)."""
    return price.is_finite() and is_on_tick(price, tick_size.decimal)


def validate_price(price: Decimal, tick_size: TickSize) -> None:
    """Raise InvalidValueError unless `price` is a valid limit price for `tick_size`."""
    if not is_valid_price(price, tick_size):
        tick = tick_size.decimal
        raise InvalidValueError(
            f"invalid price ({price}): must be a multiple of {tick} in [{tick}, {ONE - tick}]"
        )


def limit_order_amounts(
    side: Side, *, price: Decimal | str | int, size: Decimal | str | int, tick_size: TickSize
) -> OrderAmounts:
    """Amounts of a limit order of `size` shares at `price` (must be on the grid).

    Size is truncated to 2 decimals as every SDK does. Unlike PCC2 (which silently rounds an
    off-grid price) an off-grid price raises, as the unified SDK and the venue do.
    """
    maker, taker, px = limit_order_units(side, price=price, size=size, tick_size=tick_size)
    return OrderAmounts(side, maker, taker, px)


def limit_order_units(
    side: Side, *, price: Decimal | str | int, size: Decimal | str | int, tick_size: TickSize
) -> tuple[int, int, Decimal]:
    """`limit_order_amounts` as a plain `(maker_amount, taker_amount, price)`: the signing path.

    Integer arithmetic, exact: a grid price has at most as many decimals as the tick (<= 4), so
    price x 10**6 is a whole number of base units divisible by 100, shares are whole cents, and
    shares x price has at most `cfg.amount` decimals: PCC2's amount fit (`_fit_amount`) never
    changes a limit order's notional, and notional units = shares units x price units / 10**6
    with no remainder.
    """
    cfg = ROUNDING_CONFIG[tick_size]
    px = to_decimal(price)
    grid = _GRID_UNITS[tick_size]
    px_units = grid.get(px)
    if px_units is None:
        validate_price(px, tick_size)
        # Exact: `px` is in (0, 1) with at most 4 significant decimals.
        px_units = grid[px] = int(_CTX.scaleb(px, BASE_UNIT_DECIMALS))
    shares = _round_down(to_decimal(size), cfg.size)
    if shares <= ZERO:
        raise InvalidValueError(f"order size {size} is below 0.01 shares")
    # Exact: `shares` has 2 decimals and <= 60 digits (the quantize would have raised).
    shares_units = int(_CTX.scaleb(shares, BASE_UNIT_DECIMALS))
    notional_units = shares_units * px_units // BASE_UNIT_SCALE
    if side is Side.BUY:
        return notional_units, shares_units, px
    return shares_units, notional_units, px


def market_order_amounts(
    side: Side, *, amount: Decimal | str | int, price: Decimal | str | int, tick_size: TickSize
) -> OrderAmounts:
    """Amounts of a market (FOK/FAK) order: BUY `amount` is dollars, SELL `amount` is shares.

    `price` is the worst price accepted (usually from `market_price_from_book`). V2 SDKs round it
    down to the tick's decimals; we floor it onto the tick grid, which is the same for the four
    documented ticks and keeps 0.005/0.0025 prices on the grid.
    """
    cfg = ROUNDING_CONFIG[tick_size]
    tick = tick_size.decimal
    raw_px = to_decimal(price)
    if not (raw_px.is_finite() and tick <= raw_px <= ONE - tick):
        raise InvalidValueError(f"invalid price ({price}), min: {tick} - max: {ONE - tick}")
    px = _CTX.divide(raw_px, tick).to_integral_value(rounding=ROUND_FLOOR, context=_CTX) * tick
    maker = _round_down(to_decimal(amount), cfg.size)
    if maker <= ZERO:
        raise InvalidValueError(f"market order amount {amount} is below 0.01")
    if side is Side.BUY:
        shares = _fit_amount(_CTX.divide(maker, px), cfg.amount)
        return OrderAmounts(side, _to_base(maker), _to_base(shares), px)
    notional = _fit_amount(_CTX.multiply(maker, px), cfg.amount)
    return OrderAmounts(side, _to_base(maker), _to_base(notional), px)


def market_price_from_book(
    side: Side,
    levels: Sequence[tuple[Decimal, Decimal]],
    amount: Decimal | str | int,
    order_type: OrderType = OrderType.FOK,
) -> Decimal:
    """Worst price needed to fill a market order, walking the opposite side as the SDKs do.

    `levels` are `(price, size)` of the side being taken, in the venue's order (asks for a BUY,
    bids for a SELL; best level LAST). BUY accumulates notional (size x price) until it covers
    `amount` dollars, SELL accumulates shares. If the book is too thin, FOK raises
    InsufficientLiquidityError; any other type falls back to the worst (first) level.
    """
    if not levels:
        raise InsufficientLiquidityError("no match")
    target = to_decimal(amount)
    total = ZERO
    for price, size in reversed(levels):
        total += size * price if side is Side.BUY else size
        if total >= target:
            return price
    if order_type is OrderType.FOK:
        raise InsufficientLiquidityError("no match")
    return levels[0][0]


def implied_price(side: Side, maker_amount: int, taker_amount: int) -> Decimal:
    """pUSD per share implied by signed amounts: BUY maker/taker, SELL taker/maker (exact to 60
    significant digits; a market BUY gives e.g. 0.5500005500...)."""
    if maker_amount <= 0 or taker_amount <= 0:
        raise InvalidValueError("order amounts must be positive")
    usd, shares = (maker_amount, taker_amount) if side is Side.BUY else (taker_amount, maker_amount)
    return _CTX.divide(Decimal(usd), Decimal(shares))


def order_shares(side: Side, maker_amount: int, taker_amount: int) -> Decimal:
    """Order size in shares: the taker amount of a BUY, the maker amount of a SELL."""
    units = taker_amount if side is Side.BUY else maker_amount
    return _CTX.divide(Decimal(units), Decimal(BASE_UNIT_SCALE))


def limit_price_of(
    side: Side, maker_amount: int, taker_amount: int, tick_size: TickSize
) -> Decimal | None:
    """The order's exact implied price if it is a valid grid price, else None (market orders)."""
    px = implied_price(side, maker_amount, taker_amount)
    return px if is_valid_price(px, tick_size) else None


def worst_price_on_tick(
    side: Side, maker_amount: int, taker_amount: int, tick_size: TickSize
) -> Decimal:
    """Most aggressive grid price the signed amounts allow: a BUY never pays above
    maker/taker (floor to the grid), a SELL never receives below taker/maker (ceil).
    The matching engine can use this as the order's limit price."""
    tick = tick_size.decimal
    rounding = ROUND_FLOOR if side is Side.BUY else ROUND_CEILING
    steps = _CTX.divide(implied_price(side, maker_amount, taker_amount), tick).to_integral_value(
        rounding=rounding, context=_CTX
    )
    return steps * tick
