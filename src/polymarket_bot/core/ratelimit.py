"""Order-rate limits for strategy intents: sliding windows per scope (seed §5, §6, §16).

Scopes, checked most specific first (the first one that blocks is the binding scope):

* `market_side`: strategy x market x outcome x side, limit
  `trading.strategy_order_frequency.per_market_side[<strategy> or default]`;
* `strategy`: one strategy, `trading.strategy_order_frequency.per_strategy[<strategy> or default]`;
* `strategies`: all strategies together, `trading.strategy_order_frequency.global`;
* `global`: every order of the process, `trading.order_frequency`.

Each limit is `{interval_seconds, max_orders}`: an intent is allowed when fewer than
`max_orders` orders were recorded in the window `(now - interval_seconds, now]` of every scope.
An order recorded at `t` stops counting at exactly `t + interval_seconds`. Times are Unix seconds
(floats), kept internally as integer microseconds so the window edges are exact.

`check` never changes state; `record` is called when an intent is submitted (after risk
approval). Memory stays bounded: windows are pruned on use, and empty windows are evicted by
`sweep` (run automatically when the number of market x side windows doubles).
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from polymarket_bot.core.intents import OUTCOME_VALUE, OrderIntent, iso_ms
from polymarket_bot.core.types import Outcome, Side

__all__ = [
    "RATE_LIMIT_REASON",
    "FrequencyLimit",
    "Hotspot",
    "OrderRateLimiter",
    "RateDecision",
    "RateLimitConfig",
    "RateScope",
    "SlidingWindow",
    "rate_limit_reject_record",
]

RATE_LIMIT_REASON = "strategy_rate_limit"
_US = 1_000_000
_MIN_SWEEP_KEYS = 1024


def _to_us(seconds: float) -> int:
    return round(seconds * _US)


class RateScope(str, enum.Enum):
    MARKET_SIDE = "market_side"
    STRATEGY = "strategy"
    STRATEGIES = "strategies"
    GLOBAL = "global"


@dataclass(frozen=True, slots=True)
class FrequencyLimit:
    interval_seconds: float
    max_orders: int
    interval_us: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.interval_seconds > 0 or self.interval_seconds == float("inf"):
            raise ValueError(f"interval_seconds must be > 0, got {self.interval_seconds!r}")
        if self.max_orders < 1:
            raise ValueError(f"max_orders must be >= 1, got {self.max_orders!r}")
        object.__setattr__(self, "interval_us", max(1, _to_us(self.interval_seconds)))

    @classmethod
    def from_dict(cls, raw: Any, where: str) -> FrequencyLimit:
        """`{interval_seconds, max_orders}`; ValueError naming `where` on anything else."""
        if isinstance(raw, FrequencyLimit):
            return raw
        if not isinstance(raw, Mapping):
            raise ValueError(f"{where}: expected {{interval_seconds, max_orders}}, got {raw!r}")
        unknown = set(raw) - {"interval_seconds", "max_orders"}
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}")
        try:
            interval = float(raw["interval_seconds"])
            max_orders = raw["max_orders"]
            if isinstance(max_orders, bool) or int(max_orders) != max_orders:
                raise ValueError(f"{where}.max_orders must be an integer, got {max_orders!r}")
            return cls(interval, int(max_orders))
        except KeyError as exc:
            raise ValueError(f"{where}.{exc.args[0]} is required") from None
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: {exc}") from None

    def as_dict(self) -> dict[str, float | int]:
        return {
            "interval_seconds": _json_number(self.interval_seconds),
            "max_orders": self.max_orders,
        }


def _json_number(x: float) -> float | int:
    """60.0 -> 60 (the seed prints whole seconds as integers)."""
    return int(x) if float(x).is_integer() else x


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    """Limits per scope; None disables a scope. `per_strategy`/`per_market_side` map a strategy
    name (or `default`) to its limit."""

    order_frequency: FrequencyLimit | None = None
    strategies_global: FrequencyLimit | None = None
    per_strategy: Mapping[str, FrequencyLimit] = field(default_factory=dict)
    per_market_side: Mapping[str, FrequencyLimit] = field(default_factory=dict)

    @classmethod
    def from_trading(cls, trading: Mapping[str, Any]) -> RateLimitConfig:
        """From the `trading` config section (`order_frequency`, `strategy_order_frequency`)."""
        of_raw = trading.get("order_frequency")
        order_frequency = (
            None if of_raw is None else FrequencyLimit.from_dict(of_raw, "trading.order_frequency")
        )
        sof = trading.get("strategy_order_frequency") or {}
        where = "trading.strategy_order_frequency"
        if not isinstance(sof, Mapping):
            raise ValueError(f"{where}: expected a mapping, got {sof!r}")
        unknown = set(sof) - {"global", "per_strategy", "per_market_side"}
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}")
        g_raw = sof.get("global")
        strategies_global = (
            None if g_raw is None else FrequencyLimit.from_dict(g_raw, f"{where}.global")
        )
        scoped: dict[str, dict[str, FrequencyLimit]] = {}
        for scope in ("per_strategy", "per_market_side"):
            raw = sof.get(scope) or {}
            if not isinstance(raw, Mapping):
                raise ValueError(f"{where}.{scope}: expected a mapping, got {raw!r}")
            scoped[scope] = {
                str(name): FrequencyLimit.from_dict(lim, f"{where}.{scope}.{name}")
                for name, lim in raw.items()
            }
        return cls(
            order_frequency,
            strategies_global,
            scoped["per_strategy"],
            scoped["per_market_side"],
        )

    def strategy_limit(self, strategy: str) -> FrequencyLimit | None:
        return self.per_strategy.get(strategy) or self.per_strategy.get("default")

    def market_side_limit(self, strategy: str) -> FrequencyLimit | None:
        return self.per_market_side.get(strategy) or self.per_market_side.get("default")


class SlidingWindow:
    """Timestamps (integer microseconds) of recorded orders, oldest first."""

    __slots__ = ("_times",)

    def __init__(self) -> None:
        self._times: deque[int] = deque()

    def count(self, now_us: int, interval_us: int) -> int:
        """Orders in `(now - interval, now]`; prunes the expired ones."""
        times = self._times
        floor = now_us - interval_us
        while times and times[0] <= floor:
            times.popleft()
        return len(times)

    def add(self, now_us: int) -> None:
        self._times.append(now_us)

    def __len__(self) -> int:
        return len(self._times)


MarketSideKey = tuple[str, str, Outcome, Side]
"""(strategy, market, outcome, side)."""


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    scope: RateScope | None = None
    """The binding (blocking) scope; None when allowed."""
    limit: FrequencyLimit | None = None
    current_window: int = 0
    """Orders counted in the binding scope's window."""

    @property
    def metadata(self) -> dict[str, float | int]:
        """The seed's reject `metadata`: `{interval_seconds, max_orders, current_window}`."""
        if self.limit is None:
            return {}
        return {**self.limit.as_dict(), "current_window": self.current_window}


ALLOWED = RateDecision(True)


@dataclass(frozen=True, slots=True)
class Hotspot:
    """One strategy x market x side window, for the dashboard's Top hotspots."""

    strategy: str
    market: str
    outcome: str
    side: str
    count: int
    max_orders: int
    interval_seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "market_id": self.market,
            "action": self.outcome,
            "side": self.side,
            "count": self.count,
            "max_orders": self.max_orders,
            "interval_seconds": _json_number(self.interval_seconds),
        }


class OrderRateLimiter:
    """Sliding-window limiter over the four scopes (see the module docstring)."""

    def __init__(self, config: RateLimitConfig) -> None:
        self._config = config
        self._global = SlidingWindow()
        self._strategies = SlidingWindow()
        self._per_strategy: dict[str, SlidingWindow] = {}
        self._market_side: dict[MarketSideKey, SlidingWindow] = {}
        self._sweep_at = _MIN_SWEEP_KEYS
        self.allowed_count = 0
        self.blocked: dict[RateScope, int] = dict.fromkeys(RateScope, 0)

    @property
    def config(self) -> RateLimitConfig:
        return self._config

    def update_config(self, config: RateLimitConfig) -> None:
        """Hot reload: new limits apply to the recorded history (entries older than the old
        interval may already have been pruned)."""
        self._config = config

    @staticmethod
    def key_of(intent: OrderIntent) -> MarketSideKey:
        return (intent.strategy, intent.market, intent.outcome, intent.side)

    def check(self, intent: OrderIntent, now: float) -> RateDecision:
        """Would submitting `intent` at `now` stay within every scope? Counts blocks."""
        decision = self._evaluate(intent, _to_us(now))
        if decision.allowed:
            self.allowed_count += 1
        else:
            assert decision.scope is not None
            self.blocked[decision.scope] += 1
        return decision

    def _evaluate(self, intent: OrderIntent, now_us: int) -> RateDecision:
        cfg = self._config
        strategy = intent.strategy
        lim = cfg.market_side_limit(strategy)
        if lim is not None:
            window = self._market_side.get(
                (strategy, intent.market, intent.outcome, intent.side)  # key_of, inlined
            )
            if window is not None:
                n = window.count(now_us, lim.interval_us)
                if n >= lim.max_orders:
                    return RateDecision(False, RateScope.MARKET_SIDE, lim, n)
        lim = cfg.strategy_limit(strategy)
        if lim is not None:
            window = self._per_strategy.get(strategy)
            if window is not None:
                n = window.count(now_us, lim.interval_us)
                if n >= lim.max_orders:
                    return RateDecision(False, RateScope.STRATEGY, lim, n)
        # The two process-wide windows: `SlidingWindow.count` inlined (checked per order).
        for lim, times, scope in (
            (cfg.strategies_global, self._strategies._times, RateScope.STRATEGIES),
            (cfg.order_frequency, self._global._times, RateScope.GLOBAL),
        ):
            if lim is not None:
                floor = now_us - lim.interval_us
                while times and times[0] <= floor:
                    times.popleft()
                if len(times) >= lim.max_orders:
                    return RateDecision(False, scope, lim, len(times))
        return ALLOWED

    def record(self, intent: OrderIntent, now: float) -> None:
        """Count `intent` as submitted at `now` in every enabled scope."""
        now_us = _to_us(now)
        cfg = self._config
        strategy = intent.strategy
        if cfg.order_frequency is not None:
            self._global._times.append(now_us)  # `add`, inlined
        if cfg.strategies_global is not None:
            self._strategies._times.append(now_us)
        if cfg.strategy_limit(strategy) is not None:
            window = self._per_strategy.get(strategy)
            if window is None:
                window = self._per_strategy[strategy] = SlidingWindow()
            window.add(now_us)
        if cfg.market_side_limit(strategy) is not None:
            key = self.key_of(intent)
            window = self._market_side.get(key)
            if window is None:
                if len(self._market_side) >= self._sweep_at:
                    self.sweep(now)
                window = self._market_side[key] = SlidingWindow()
            window.add(now_us)

    def sweep(self, now: float) -> int:
        """Prune every window and evict the empty ones; returns how many were evicted."""
        now_us = _to_us(now)
        cfg = self._config
        evicted = 0
        for key, window in list(self._market_side.items()):
            lim = cfg.market_side_limit(key[0])
            if lim is None or not window.count(now_us, lim.interval_us):
                del self._market_side[key]
                evicted += 1
        for name, window in list(self._per_strategy.items()):
            lim = cfg.strategy_limit(name)
            if lim is None or not window.count(now_us, lim.interval_us):
                del self._per_strategy[name]
                evicted += 1
        for window, lim in (
            (self._strategies, cfg.strategies_global),
            (self._global, cfg.order_frequency),
        ):
            window.count(now_us, lim.interval_us if lim else 0)  # disabled scope: drop all
        self._sweep_at = max(_MIN_SWEEP_KEYS, 2 * len(self._market_side))
        return evicted

    # -- introspection (dashboard: Strategy Rate Limits) --------------------------------------

    @property
    def window_count(self) -> int:
        """Windows held in memory (market x side plus per strategy)."""
        return len(self._market_side) + len(self._per_strategy)

    def counts(self, now: float) -> dict[str, Any]:
        """Orders in the current window of each scope (prunes; does not evict)."""
        now_us = _to_us(now)
        cfg = self._config

        def n(window: SlidingWindow, lim: FrequencyLimit | None) -> int:
            return window.count(now_us, lim.interval_us) if lim else len(window)

        return {
            RateScope.GLOBAL.value: n(self._global, cfg.order_frequency),
            RateScope.STRATEGIES.value: n(self._strategies, cfg.strategies_global),
            RateScope.STRATEGY.value: {
                name: n(w, cfg.strategy_limit(name))
                for name, w in sorted(self._per_strategy.items())
            },
            RateScope.MARKET_SIDE.value: sum(
                n(w, cfg.market_side_limit(k[0])) for k, w in self._market_side.items()
            ),
        }

    def hotspots(self, now: float, top: int = 10) -> list[Hotspot]:
        """The `top` busiest strategy x market x side windows (ties: by key, deterministic)."""
        now_us = _to_us(now)
        cfg = self._config
        rows: list[Hotspot] = []
        for key, window in self._market_side.items():
            lim = cfg.market_side_limit(key[0])
            if lim is None:
                continue
            count = window.count(now_us, lim.interval_us)
            if count:
                strategy, market, outcome, side = key
                rows.append(
                    Hotspot(
                        strategy, market, OUTCOME_VALUE[outcome], side.value, count,
                        lim.max_orders, lim.interval_seconds,
                    )
                )  # fmt: skip
        rows.sort(key=lambda h: (-h.count, h.strategy, h.market, h.outcome, h.side))
        return rows[:top]

    def snapshot(self, now: float, top: int = 10) -> dict[str, Any]:
        """Status block for pipeline_status.json / the dashboard."""
        return {
            "counts": self.counts(now),
            "allowed": self.allowed_count,
            "blocked": {scope.value: n for scope, n in self.blocked.items()},
            "hotspots": [h.as_dict() for h in self.hotspots(now, top)],
            "limits": self._limits_dict(),
        }

    def _limits_dict(self) -> dict[str, Any]:
        cfg = self._config
        return {
            "order_frequency": cfg.order_frequency.as_dict() if cfg.order_frequency else None,
            "strategy_order_frequency": {
                "global": cfg.strategies_global.as_dict() if cfg.strategies_global else None,
                "per_strategy": {k: v.as_dict() for k, v in sorted(cfg.per_strategy.items())},
                "per_market_side": {k: v.as_dict() for k, v in sorted(cfg.per_market_side.items())},
            },
        }


def rate_limit_reject_record(
    intent: OrderIntent,
    decision: RateDecision,
    now: float,
    *,
    runtime_mode: str,
    market_id: str | None = None,
    source: str = "rate_limiter",
) -> dict[str, Any]:
    """The orders.jsonl `reject` record for a rate-limited intent, in the seed's exact shape (§16).

    `size` is the order size in shares; `market_id` defaults to the intent's market.
    """
    return {
        "timestamp": iso_ms(now),
        "event": "reject",
        "market_id": market_id if market_id is not None else intent.market,
        "action": OUTCOME_VALUE[intent.outcome],
        "size": float(intent.shares),
        "reason": RATE_LIMIT_REASON,
        "metadata": decision.metadata,
        "runtime_mode": runtime_mode,
        "status": "reject",
        "source": source,
    }
