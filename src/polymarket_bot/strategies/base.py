"""The strategy interface.

A strategy sees immutable core events and a read-only `StrategyView`, and answers with intents
(`OrderIntent`, `CancelIntent`). It never does I/O, never awaits and never reads the clock other
than through `view.now`, so a backtest replays its decisions exactly. It cannot tell OFFLINE,
DRY-RUN and LIVE apart.

* `on_event(event, view) -> Sequence[Intent]`: every market-data and account event of the
  strategy's markets (`markets`; None = all). Return `()` fast when nothing changed: this is on
  the hot path.
* `on_timer(now, view) -> Sequence[Intent]`: called periodically (time-based exits, requotes).
* `on_decision(decision, now)`: what happened to each of its intents (approved, rate-limited,
  rejected by risk); e.g. to back off after a rejection.

Parameters are plain frozen dataclasses deriving from `Params`: `from_params(dict)` converts
each value to the type of the field's default and raises ValueError naming the bad key;
`validate()` checks ranges.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar, Generic, Protocol, TypeAlias, TypeVar, runtime_checkable

from polymarket_bot.core.decisions import Decision
from polymarket_bot.core.events import AccountEvent, MarketDataEvent, PriceChange
from polymarket_bot.core.intents import Intent
from polymarket_bot.core.types import Side, to_decimal
from polymarket_bot.strategies.view import StrategyView

__all__ = [
    "Params",
    "Strategy",
    "StrategyEvent",
    "StrategyLike",
    "require",
    "touches_top",
]

StrategyEvent: TypeAlias = MarketDataEvent | AccountEvent
"""What a strategy receives: market data and its own orders' and trades' updates."""

P = TypeVar("P", bound="Params")


class Params:
    """Mixin for a frozen dataclass of strategy parameters (every field has a default)."""

    @classmethod
    def from_params(cls: type[P], raw: Mapping[str, Any] | None) -> P:
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            raise ValueError(f"params must be a mapping, got {type(raw).__name__}")
        fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        kwargs: dict[str, Any] = {}
        for key, value in raw.items():
            f = fields.get(key)
            if f is None:
                raise ValueError(f"unknown parameter {key!r} (known: {sorted(fields)})")
            kwargs[key] = _convert(key, f.default, value)
        try:
            params = cls(**kwargs)
        except TypeError as exc:
            raise ValueError(str(exc)) from None
        params.validate()
        return params

    def validate(self) -> None:
        """Range checks; raise ValueError naming the parameter."""

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]


def _convert(key: str, default: Any, value: Any) -> Any:
    try:
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise TypeError("expected true or false")
            return value
        if isinstance(value, bool):
            raise TypeError("expected a number, got a boolean")
        if isinstance(default, Decimal):
            return to_decimal(value if isinstance(value, (Decimal, int)) else str(value))
        if isinstance(default, int):
            if int(value) != value:
                raise TypeError("expected an integer")
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, str):
            if not isinstance(value, str):
                raise TypeError("expected a string")
            return value
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise ValueError(f"parameter {key!r}: invalid value {value!r} ({exc})") from None
    return value


def require(ok: bool, key: str, why: str) -> None:
    """`validate()` helper: ValueError naming the parameter when `ok` is false."""
    if not ok:
        raise ValueError(f"parameter {key!r}: {why}")


_BUY = Side.BUY


def touches_top(event: PriceChange, token: str, bid: Decimal, ask: Decimal) -> bool:
    """Could `event` move the top of `token`'s book, last seen at (`bid`, `ask`)? False means
    only levels behind the top (or other tokens) changed: an idle-path early exit."""
    for c in event.changes:
        if c.asset_id == token:
            if c.side is _BUY:
                if c.price >= bid:
                    return True
            elif c.price <= ask:
                return True
    return False


@runtime_checkable
class StrategyLike(Protocol):
    """What the runner calls (a user strategy may implement it without subclassing)."""

    name: str
    markets: frozenset[str] | None

    def on_event(self, event: StrategyEvent, view: StrategyView) -> Sequence[Intent]: ...
    def on_timer(self, now: float, view: StrategyView) -> Sequence[Intent]: ...
    def on_decision(self, decision: Decision, now: float) -> None: ...


class Strategy(abc.ABC, Generic[P]):
    """Base class: name, parameters, market filter; subclasses implement `on_event`."""

    kind: ClassVar[str] = ""
    """Registry name of the built-in (`market_maker`, ...)."""
    params_type: ClassVar[type[Params]]

    def __init__(self, name: str, params: P, *, markets: Iterable[str] = ()) -> None:
        self.name = name
        self.params = params
        market_set = frozenset(markets)
        self.markets: frozenset[str] | None = market_set or None
        """Condition ids this strategy trades; None = every market the engine selects."""

    @classmethod
    def from_config(
        cls, name: str, params: Mapping[str, Any] | None = None, *, markets: Iterable[str] = ()
    ) -> Strategy[Any]:
        """Build from the `strategies.<name>` config entry (`params`, `markets`)."""
        parsed: Any = cls.params_type.from_params(params)
        return cls(name, parsed, markets=markets)

    @abc.abstractmethod
    def on_event(self, event: StrategyEvent, view: StrategyView) -> Sequence[Intent]:
        """React to one event; return `()` quickly when there is nothing to do."""

    def on_timer(self, now: float, view: StrategyView) -> Sequence[Intent]:
        return ()

    def on_decision(self, decision: Decision, now: float) -> None:
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, params={self.params!r})"
