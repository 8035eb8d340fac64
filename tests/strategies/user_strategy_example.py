"""A user strategy loaded by module path in the registry tests (`user_strategy_example:Echo`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from polymarket_bot.core.events import BookSnapshot
from polymarket_bot.core.intents import Intent, OrderIntent
from polymarket_bot.core.types import Outcome, Side
from polymarket_bot.strategies.base import Params, Strategy, StrategyEvent
from polymarket_bot.strategies.view import StrategyView


@dataclass(frozen=True, slots=True)
class EchoParams(Params):
    size: Decimal = Decimal(5)
    price: Decimal = Decimal("0.5")


class Echo(Strategy[EchoParams]):
    """One BUY YES per book snapshot (what the decision tests and the bench need: busy)."""

    kind = "echo"
    params_type = EchoParams

    def __init__(self, name: str, params: EchoParams, **kw: Any) -> None:
        super().__init__(name, params, **kw)

    def on_event(self, event: StrategyEvent, view: StrategyView) -> Sequence[Intent]:
        if not isinstance(event, BookSnapshot):
            return ()
        info = view.market_of_token(event.asset_id)
        if info is None:
            return ()
        return (
            OrderIntent(
                self.name, info.condition_id, Outcome.YES, info.yes_token, Side.BUY,
                self.params.size, self.params.price, reason="echo",
            ),
        )  # fmt: skip


class NotAStrategy:
    pass
