"""Registry (built-ins, user classes by module path), the sandboxed runner, the view, params."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest
from strategy_kit import World, market

from polymarket_bot.core.decisions import Decision, Stage
from polymarket_bot.core.intents import CancelIntent, Intent, OrderIntent
from polymarket_bot.core.orders import Order, OrderState
from polymarket_bot.core.types import Outcome, Side
from polymarket_bot.strategies.base import StrategyEvent, StrategyLike
from polymarket_bot.strategies.complement_arb import ComplementArb
from polymarket_bot.strategies.market_maker import MarketMaker
from polymarket_bot.strategies.momentum import Momentum
from polymarket_bot.strategies.registry import (
    BUILTINS,
    create_strategies,
    create_strategy,
    load_strategy_class,
)
from polymarket_bot.strategies.runner import StrategyRunner
from polymarket_bot.strategies.view import BookView, StrategyView

D = Decimal


# -- registry ---------------------------------------------------------------------------------


def test_builtins_are_registered_and_built_from_config() -> None:
    assert set(BUILTINS) == {"market_maker", "complement_arb", "momentum"}
    mm = create_strategy("mm1", "market_maker", {"order_size": "20"}, markets=["0xm1"])
    assert isinstance(mm, MarketMaker) and mm.params.order_size == D(20)
    assert mm.markets == frozenset({"0xm1"})
    assert isinstance(create_strategy("complement_arb"), ComplementArb)  # kind defaults to name
    mo = create_strategy("m", "momentum", {"mode": "mean_reversion"})
    assert isinstance(mo, Momentum) and mo.markets is None


def test_settings_defaults_build() -> None:
    from polymarket_bot.config.settings import DEFAULT_RUNTIME

    config = DEFAULT_RUNTIME["strategies"]
    built = create_strategies(config)
    enabled = sorted(n for n, e in config.items() if e["enabled"])
    assert [s.name for s in built] == enabled


def test_bad_params_name_the_strategy_and_key() -> None:
    with pytest.raises(ValueError, match=r"strategies\.mm\.params: .*'min_edge'"):
        create_strategy("mm", "market_maker", {"min_edge": "-1"})
    with pytest.raises(ValueError, match="unknown parameter 'edge'"):
        create_strategy("mm", "market_maker", {"edge": "0.01"})


def test_user_strategy_by_module_path() -> None:
    s = create_strategy("echo1", "user_strategy_example:Echo", {"size": "7"})
    assert isinstance(s, StrategyLike) and s.name == "echo1"
    assert type(s).__name__ == "Echo"


@pytest.mark.parametrize(
    ("path", "match"),
    [
        ("no_colon_here", "pkg.module:ClassName"),
        ("no_such_module_xyz:Cls", "cannot import"),
        ("user_strategy_example:Missing", "has no 'Missing'"),
        ("user_strategy_example:EchoParams", "from_config"),
        ("user_strategy_example:NotAStrategy", "from_config"),
    ],
)
def test_bad_module_paths(path: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        load_strategy_class(path)


# -- runner -----------------------------------------------------------------------------------


class Scripted:
    """A minimal StrategyLike (no base class) that returns or raises what it is told to."""

    def __init__(self, name: str, result: Any = (), markets: frozenset[str] | None = None) -> None:
        self.name = name
        self.markets = markets
        self.result = result
        self.calls = 0
        self.decisions: list[Decision] = []

    def on_event(self, event: StrategyEvent, view: StrategyView) -> Sequence[Intent]:
        self.calls += 1
        if isinstance(self.result, Exception):
            raise self.result
        return self.result  # type: ignore[no-any-return]

    def on_timer(self, now: float, view: StrategyView) -> Sequence[Intent]:
        return ()

    def on_decision(self, decision: Decision, now: float) -> None:
        self.decisions.append(decision)


def _order(name: str, market: str = "0xm1") -> OrderIntent:
    return OrderIntent(name, market, Outcome.YES, "101", Side.BUY, D(5), D("0.5"))


def _runner(strategies: list[Scripted], max_faults: int = 3) -> tuple[StrategyRunner, World]:
    w = World([market()])
    return StrategyRunner(strategies, w.view, max_faults=max_faults), w


def test_runner_collects_intents_in_order_and_filters_markets() -> None:
    a = Scripted("a", [_order("a")])
    b = Scripted("b", [CancelIntent("b", "0xm1")], markets=frozenset({"0xm9"}))
    c = Scripted("c", [_order("c"), _order("c")])
    runner, w = _runner([a, b, c])
    event = w.snapshot("101", [("0.4", "1")], [("0.6", "1")])
    out = runner.on_event(event)
    assert [i.strategy for i in out] == ["a", "c", "c"]
    assert b.calls == 0  # not its market


def test_faults_are_logged_counted_and_disable(caplog: pytest.LogCaptureFixture) -> None:
    bad = Scripted("bad", RuntimeError("boom"))
    good = Scripted("good", [_order("good")])
    runner, w = _runner([bad, good], max_faults=3)
    event = w.snapshot("101", [("0.4", "1")], [("0.6", "1")])
    with caplog.at_level(logging.ERROR, logger="polymarket_bot.strategies"):
        for _ in range(5):
            assert [i.strategy for i in runner.on_event(event)] == ["good"]
    assert bad.calls == 3  # disabled after the third fault
    assert runner.faults["bad"] == 3 and "bad" in runner.disabled
    failed = [r for r in caplog.records if "failed in on_event" in r.getMessage()]
    assert len(failed) == 3 and all("strategy bad" in r.getMessage() for r in failed)
    assert failed[0].exc_info is not None
    assert any("strategy bad disabled after 3 faults" in r.getMessage() for r in caplog.records)
    assert runner.status()["bad"] == {
        "enabled": False, "faults": 3, "last_error": "RuntimeError: boom",
    }  # fmt: skip
    runner.enable("bad")
    bad.result = ()
    runner.on_event(event)
    assert bad.calls == 4 and runner.status()["bad"]["enabled"]


@pytest.mark.parametrize(
    "result",
    [
        "not intents",
        [object()],
        [_order("someone_else")],
        42,
    ],
)
def test_invalid_output_is_a_fault(result: Any, caplog: pytest.LogCaptureFixture) -> None:
    s = Scripted("s", result)
    runner, w = _runner([s])
    with caplog.at_level(logging.ERROR, logger="polymarket_bot.strategies"):
        assert runner.on_event(w.snapshot("101", [], [])) == []
    assert runner.faults["s"] == 1


def test_notify_routes_decisions_to_their_strategy() -> None:
    a, b = Scripted("a"), Scripted("b")
    runner, _ = _runner([a, b])
    d = Decision(_order("b"), False, Stage.RATE_LIMIT, "strategy_rate_limit")
    runner.notify([d], 0.0)
    assert b.decisions == [d] and a.decisions == []


def test_duplicate_names_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        _runner([Scripted("x"), Scripted("x")])


# -- view -------------------------------------------------------------------------------------


def test_view_is_read_only_and_scoped() -> None:
    m = market()
    w = World([m])
    w.snapshot(m.yes_token, [("0.40", "10")], [("0.60", "5")])
    w.hold(m, "yes", "3", "1.2")
    w.orders["c1"] = Order("c1", m.condition_id, m.yes_token, Outcome.YES, Side.BUY, D("0.4"), D(5))
    w.orders["c2"] = Order(
        "c2", m.condition_id, m.no_token, Outcome.NO, Side.BUY, D("0.3"), D(5),
        state=OrderState.LIVE,
    )  # fmt: skip
    w.orders["c3"] = Order(
        "c3", m.condition_id, m.no_token, Outcome.NO, Side.BUY, D("0.3"), D(5),
        state=OrderState.CANCELED,
    )  # fmt: skip
    view = w.view()
    book = view.book(m.yes_token)
    assert isinstance(book, BookView)
    assert (book.best_bid(), book.best_ask(), book.mid()) == (D("0.4"), D("0.6"), D("0.5"))
    assert not hasattr(book, "apply_level") and not hasattr(book, "apply_snapshot")
    with pytest.raises(AttributeError):
        book.tick_size = None  # type: ignore[misc, assignment]
    assert view.book("nope") is None
    assert view.market_of_token(m.no_token) is m
    assert view.position(m.condition_id, "YES").shares == D(3)
    assert view.position(m.condition_id, Outcome.NO).shares == 0
    with pytest.raises(TypeError):
        view.positions()[(m.condition_id, "yes")] = None  # type: ignore[index]
    assert [o.order_id for o in view.open_orders()] == ["c1", "c2"]  # terminal c3 excluded
    assert [o.order_id for o in view.open_orders(token_id=m.no_token)] == ["c2"]
    assert view.now == w.clock.time()
