"""`RiskConfig`: the risk engine's settings, built from the `risk` config section.

Keys and defaults (money is Decimal; statistics are floats):

* `var_allowed_loss` 500: `var` rejects when the order's potential loss exceeds this (pUSD).
* `var_confidence` 0.95: historical VaR confidence (the (1 - c) quantile of returns).
* `var_window` 100: mid samples kept per token (`var` and `liquidity` volatility).
* `var_min_samples` 10: with fewer returns, `var_fallback_return` and the volatility floor apply.
* `var_fallback_return` -0.05: the assumed (1 - c) return quantile without enough history.
* `var_sample_seconds` 1.0: a mid observed closer than this to the last sample replaces it.
* `var_resolution_horizon_seconds` 86400: resolution scenarios count when the market ends
  within this many seconds (0: never; negative: always).
* `liquidity_balance_fraction` 0.015: max allocation per order, as a fraction of the balance.
* `liquidity_depth_fraction` 0.25: max share of the visible contra-side depth (notional).
* `liquidity_depth_ticks` 5: depth counted within this many ticks of the best price.
* `liquidity_volatility_floor` 0.5: the lowest volatility adjustment.
* `liquidity_volatility_target` 0.02: adjustment = clamp(target / volatility, floor, 1).
* `liquidity_wide_spread` 0.05: a wider spread scales the allocation by wide_spread / spread.
* `min_order_notional` 1: `order_limits`' smallest entry (pUSD); exits are exempt.
* `max_order_notional` 500: `order_limits`' largest order (pUSD).
* `max_exposure_per_market` 1000, `max_exposure_per_event` 2000 (neg-risk events),
  `max_total_exposure` 5000: `exposure` caps on cost basis + open BUY notional.
* `daily_loss_stop` 500: `daily_loss` stops entries after losing this since the UTC day's start.
* `drawdown_stop` 1000: `drawdown` stops entries this far below the equity peak.
* `stale_data_seconds` 30: `stale_data` blocks orders while the market feed is older.
* `factors` (all of `ALL_FACTORS`): the factors evaluated, in order.

`kill_switch_file` is accepted and ignored here: the engine watches the file and calls
`RiskEngine.set_kill_switch`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from polymarket_bot.core.errors import InvalidValueError
from polymarket_bot.core.types import to_decimal

__all__ = ["ALL_FACTORS", "ENGINE_KEYS", "RiskConfig"]

ALL_FACTORS: tuple[str, ...] = (
    "trading_mode",
    "stale_data",
    "order_limits",
    "venue_rules",
    "balance",
    "exposure",
    "daily_loss",
    "drawdown",
    "var",
    "liquidity",
)
ENGINE_KEYS = frozenset({"kill_switch_file"})
"""Keys of the `risk` section that belong to the engine, not to the pure risk engine."""


@dataclass(frozen=True, slots=True)
class RiskConfig:
    var_allowed_loss: Decimal = Decimal(500)
    var_confidence: float = 0.95
    var_window: int = 100
    var_min_samples: int = 10
    var_fallback_return: float = -0.05
    var_sample_seconds: float = 1.0
    var_resolution_horizon_seconds: float = 86_400.0
    liquidity_balance_fraction: Decimal = Decimal("0.015")
    liquidity_depth_fraction: Decimal = Decimal("0.25")
    liquidity_depth_ticks: int = 5
    liquidity_volatility_floor: Decimal = Decimal("0.5")
    liquidity_volatility_target: float = 0.02
    liquidity_wide_spread: Decimal = Decimal("0.05")
    min_order_notional: Decimal = Decimal(1)
    max_order_notional: Decimal = Decimal(500)
    max_exposure_per_market: Decimal = Decimal(1000)
    max_exposure_per_event: Decimal = Decimal(2000)
    max_total_exposure: Decimal = Decimal(5000)
    daily_loss_stop: Decimal = Decimal(500)
    drawdown_stop: Decimal = Decimal(1000)
    stale_data_seconds: float = 30.0
    factors: tuple[str, ...] = ALL_FACTORS

    def __post_init__(self) -> None:
        def bad(key: str, why: str) -> InvalidValueError:
            return InvalidValueError(f"risk.{key}: {why}")

        if not 0 < self.var_confidence < 1:
            raise bad("var_confidence", "must be in (0, 1)")
        if self.var_window < 2:
            raise bad("var_window", "must be >= 2")
        if self.var_min_samples < 1:
            raise bad("var_min_samples", "must be >= 1")
        if self.var_fallback_return > 0:
            raise bad("var_fallback_return", "must be <= 0 (a loss)")
        if self.var_sample_seconds < 0:
            raise bad("var_sample_seconds", "must be >= 0")
        for key in ("liquidity_balance_fraction", "liquidity_depth_fraction"):
            if not 0 < getattr(self, key) <= 1:
                raise bad(key, "must be in (0, 1]")
        if not 0 < self.liquidity_volatility_floor <= 1:
            raise bad("liquidity_volatility_floor", "must be in (0, 1]")
        if self.liquidity_volatility_target <= 0:
            raise bad("liquidity_volatility_target", "must be > 0")
        if self.liquidity_depth_ticks < 0:
            raise bad("liquidity_depth_ticks", "must be >= 0")
        if self.liquidity_wide_spread <= 0:
            raise bad("liquidity_wide_spread", "must be > 0")
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Decimal) and value < 0:
                raise bad(f.name, "must be >= 0")
        if self.min_order_notional > self.max_order_notional:
            raise bad("min_order_notional", "must not exceed max_order_notional")
        if self.stale_data_seconds <= 0:
            raise bad("stale_data_seconds", "must be > 0")
        unknown = [name for name in self.factors if name not in ALL_FACTORS]
        if unknown:
            raise bad("factors", f"unknown factor(s) {unknown}; known: {list(ALL_FACTORS)}")

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> RiskConfig:
        """From the `risk` config section; a missing key keeps its default. Raises
        `InvalidValueError` (a ValueError) naming the bad key."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in raw.items():
            if key in ENGINE_KEYS:
                continue
            f = fields.get(key)
            if f is None:
                raise InvalidValueError(f"risk.{key}: unknown key")
            kwargs[key] = _convert(key, f.default, value)
        return cls(**kwargs)


def _convert(key: str, default: Any, value: Any) -> Any:
    try:
        if isinstance(default, Decimal):
            if isinstance(value, bool):
                raise TypeError("a boolean is not an amount")
            return to_decimal(value if isinstance(value, (Decimal, int)) else str(value))
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise TypeError("expected true/false")
            return value
        if isinstance(default, int):
            if isinstance(value, bool) or int(value) != value:
                raise TypeError("expected an integer")
            return int(value)
        if isinstance(default, float):
            if isinstance(value, bool):
                raise TypeError("expected a number")
            return float(value)
        if isinstance(default, tuple):
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise TypeError("expected a list of factor names")
            return tuple(value)
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise InvalidValueError(f"risk.{key}: invalid value {value!r} ({exc})") from None
    raise InvalidValueError(f"risk.{key}: unsupported setting")  # pragma: no cover
