"""The sandboxed caller of strategies.

Every call into a strategy (`on_event`, `on_timer`, `on_decision`) is guarded: an exception, or
output that is not a sequence of intents of that strategy, is a FAULT. A fault is logged with
the strategy's name (logger `polymarket_bot.strategies`, with the traceback), counted, and that
call's intents are dropped; after `max_faults` faults the strategy is disabled (an error is
logged) until `enable(name)`. Other strategies are unaffected.

Events are delivered only to strategies whose `markets` include the event's market (None =
all). Output order is deterministic: strategies in the order given, intents in the order each
returned them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from polymarket_bot.core.decisions import Decision
from polymarket_bot.core.errors import StrategyError
from polymarket_bot.core.intents import CancelIntent, Intent, OrderIntent
from polymarket_bot.strategies.base import StrategyEvent, StrategyLike
from polymarket_bot.strategies.view import StrategyView

__all__ = ["DEFAULT_MAX_FAULTS", "StrategyRunner"]

DEFAULT_MAX_FAULTS = 5
_LOG = logging.getLogger("polymarket_bot.strategies")
_INTENT_TYPES = (OrderIntent, CancelIntent)


class StrategyRunner:
    def __init__(
        self,
        strategies: Sequence[StrategyLike],
        views: Mapping[str, StrategyView] | Callable[[str], StrategyView],
        *,
        max_faults: int = DEFAULT_MAX_FAULTS,
        logger: logging.Logger | None = None,
    ) -> None:
        if max_faults < 1:
            raise ValueError("max_faults must be >= 1")
        names = [s.name for s in strategies]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate strategy names in {names}")
        get_view = views if callable(views) else views.__getitem__
        self._entries = [(s, get_view(s.name)) for s in strategies]
        self._by_name = {s.name: (s, v) for s, v in self._entries}
        self.max_faults = max_faults
        self.faults: dict[str, int] = dict.fromkeys(names, 0)
        self.disabled: dict[str, str] = {}
        """Disabled strategy -> the last fault's message."""
        self.last_error: dict[str, str] = {}
        self._log = logger or _LOG
        self._active = list(self._entries)

    @property
    def strategies(self) -> list[StrategyLike]:
        return [s for s, _ in self._entries]

    def on_event(self, event: StrategyEvent) -> list[Intent]:
        """Intents of every active strategy for `event` (faulty strategies contribute none)."""
        market = getattr(event, "market", None)
        out: list[Intent] = []
        for strategy, view in self._active:
            markets = strategy.markets
            if markets is not None and market not in markets:
                continue
            try:
                intents = strategy.on_event(event, view)
                if intents:
                    self._check(strategy, intents)
                    out.extend(intents)
            except Exception as exc:
                self._fault(strategy, "on_event", exc)
        return out

    def on_timer(self, now: float) -> list[Intent]:
        out: list[Intent] = []
        for strategy, view in list(self._active):
            try:
                intents = strategy.on_timer(now, view)
                if intents:
                    self._check(strategy, intents)
                    out.extend(intents)
            except Exception as exc:
                self._fault(strategy, "on_timer", exc)
        return out

    def notify(self, decisions: Iterable[Decision], now: float) -> None:
        """Tell each strategy what became of its intents."""
        for decision in decisions:
            name = decision.intent.strategy
            entry = self._by_name.get(name)
            if entry is None or name in self.disabled:
                continue
            try:
                entry[0].on_decision(decision, now)
            except Exception as exc:
                self._fault(entry[0], "on_decision", exc)

    def _check(self, strategy: StrategyLike, intents: Sequence[Intent]) -> None:
        kind = type(intents)
        if (
            kind is not tuple
            and kind is not list
            and (  # (the ABC check costs ~1 us)
                isinstance(intents, (str, bytes)) or not isinstance(intents, Sequence)
            )
        ):
            raise StrategyError(f"returned {type(intents).__name__}, not a sequence of intents")
        name = strategy.name
        for intent in intents:
            if not isinstance(intent, _INTENT_TYPES):
                raise StrategyError(f"returned {type(intent).__name__}, not an intent")
            if intent.strategy != name:
                raise StrategyError(f"returned an intent of strategy {intent.strategy!r}")

    def _fault(self, strategy: StrategyLike, where: str, exc: Exception) -> None:
        name = strategy.name
        count = self.faults[name] = self.faults.get(name, 0) + 1
        message = f"{type(exc).__name__}: {exc}"
        self.last_error[name] = message
        self._log.error(
            "strategy %s failed in %s (fault %d/%d): %s",
            name,
            where,
            count,
            self.max_faults,
            message,
            exc_info=exc,
        )
        if count >= self.max_faults and name not in self.disabled:
            self.disabled[name] = message
            self._active = [e for e in self._active if e[0].name != name]
            self._log.error("strategy %s disabled after %d faults", name, count)

    def enable(self, name: str) -> None:
        """Re-enable a disabled strategy (its fault count restarts at zero)."""
        if name not in self._by_name:
            raise KeyError(name)
        self.disabled.pop(name, None)
        self.faults[name] = 0
        self._active = [e for e in self._entries if e[0].name not in self.disabled]

    def status(self) -> dict[str, Any]:
        """Per strategy: `{enabled, faults, last_error}` (for pipeline status / dashboard)."""
        return {
            s.name: {
                "enabled": s.name not in self.disabled,
                "faults": self.faults.get(s.name, 0),
                "last_error": self.last_error.get(s.name),
            }
            for s, _ in self._entries
        }
