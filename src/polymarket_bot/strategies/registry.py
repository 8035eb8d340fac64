"""Strategy registry: the built-ins by name, and user strategies by module path.

`create_strategy(name, kind, params, markets)` builds one strategy from its config entry
(`strategies.<name>: {kind, enabled, markets, params}`). `kind` is a built-in name
(`market_maker`, `complement_arb`, `momentum`) or a user class as `"pkg.module:ClassName"`:
the class must implement the `StrategyLike` protocol and provide
`from_config(name, params, markets=...)` (subclassing `Strategy` gives both). Importing the
module is the only I/O here and happens once, at startup or on config reload.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from typing import Any

from polymarket_bot.strategies.base import Strategy, StrategyLike
from polymarket_bot.strategies.complement_arb import ComplementArb
from polymarket_bot.strategies.market_maker import MarketMaker
from polymarket_bot.strategies.momentum import Momentum

__all__ = ["BUILTINS", "create_strategies", "create_strategy", "load_strategy_class"]

BUILTINS: dict[str, type[Strategy[Any]]] = {
    MarketMaker.kind: MarketMaker,
    ComplementArb.kind: ComplementArb,
    Momentum.kind: Momentum,
}


def load_strategy_class(path: str) -> type[Any]:
    """`"pkg.module:ClassName"` -> the class. ValueError with the reason on any failure."""
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"strategy kind {path!r}: expected a built-in or 'pkg.module:ClassName'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"strategy kind {path!r}: cannot import {module_name!r} ({exc})") from exc
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"strategy kind {path!r}: {module_name} has no {attr!r}") from None
    if not isinstance(obj, type):
        raise ValueError(f"strategy kind {path!r}: {attr!r} is not a class")
    if not callable(getattr(obj, "from_config", None)):
        raise ValueError(f"strategy kind {path!r}: {attr!r} has no from_config(name, params)")
    for method in ("on_event", "on_timer", "on_decision"):
        if not callable(getattr(obj, method, None)):
            raise ValueError(f"strategy kind {path!r}: {attr!r} lacks {method}()")
    return obj


def create_strategy(
    name: str,
    kind: str | None = None,
    params: Mapping[str, Any] | None = None,
    markets: Iterable[str] = (),
) -> StrategyLike:
    """One strategy from its config entry; ValueError naming the strategy on bad config."""
    kind = kind or name
    cls = BUILTINS.get(kind) or load_strategy_class(kind)
    try:
        strategy = cls.from_config(name, params or {}, markets=markets)
    except ValueError as exc:
        raise ValueError(f"strategies.{name}.params: {exc}") from None
    if not isinstance(strategy, StrategyLike):
        raise ValueError(f"strategies.{name}: {kind} does not implement the strategy interface")
    if strategy.name != name:
        raise ValueError(f"strategies.{name}: the strategy calls itself {strategy.name!r}")
    return strategy


def create_strategies(config: Mapping[str, Mapping[str, Any]]) -> list[StrategyLike]:
    """Every ENABLED entry of the `strategies` config section, in name order."""
    out: list[StrategyLike] = []
    for name in sorted(config):
        entry = config[name]
        if not entry.get("enabled", True):
            continue
        out.append(
            create_strategy(
                name, entry.get("kind"), entry.get("params"), entry.get("markets") or ()
            )
        )
    return out
