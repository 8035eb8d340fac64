"""momentum / mean_reversion: window signal, entries, take-profit, stop-loss and time exits."""

from __future__ import annotations

from decimal import Decimal

import pytest
from strategy_kit import World, market

from polymarket_bot.core.decisions import Decision, Stage
from polymarket_bot.core.intents import Intent, OrderIntent
from polymarket_bot.core.types import OrderType, Side
from polymarket_bot.strategies.momentum import Momentum, MomentumParams

D = Decimal


def make(**params: object) -> Momentum:
    return Momentum("mo", MomentumParams.from_params(params))


def one(intents: object) -> OrderIntent:
    assert isinstance(intents, (list, tuple)) and len(intents) == 1
    (intent,) = intents
    assert isinstance(intent, OrderIntent)
    return intent


def feed(w: World, strat: Momentum, bid: str, ask: str) -> tuple[Intent, ...] | list[Intent]:
    m = next(iter(w.markets.values()))
    return list(strat.on_event(w.snapshot(m.yes_token, [(bid, "50")], [(ask, "50")]), w.view("mo")))


def test_momentum_buys_yes_on_an_up_move_over_the_window() -> None:
    m = market()
    w = World([m])
    mo = make(window_seconds=60, entry_threshold="0.03")
    assert feed(w, mo, "0.49", "0.51") == []  # mid 0.50
    w.clock.advance(30)
    assert feed(w, mo, "0.53", "0.55") == []  # +0.04 but the history covers only 30 s
    w.clock.advance(31)
    entry = one(feed(w, mo, "0.54", "0.56"))  # mid 0.55 vs 0.50 at the window start
    assert (entry.outcome.value, entry.side, entry.limit_price) == ("yes", Side.BUY, D("0.56"))
    assert entry.order_type is OrderType.FAK and entry.size == D(10)
    w.clock.advance(1)
    assert feed(w, mo, "0.55", "0.57") == []  # entry in flight: no second one


def test_below_threshold_no_entry() -> None:
    m = market()
    w = World([m])
    mo = make(window_seconds=60, entry_threshold="0.03")
    feed(w, mo, "0.49", "0.51")
    w.clock.advance(61)
    assert feed(w, mo, "0.51", "0.53") == []  # +0.02


def test_mean_reversion_buys_no_against_the_move() -> None:
    m = market()
    w = World([m])
    w.snapshot(m.no_token, [("0.43", "50")], [("0.46", "50")])
    mo = make(mode="mean_reversion", window_seconds=10)
    feed(w, mo, "0.49", "0.51")
    w.clock.advance(11)
    entry = one(feed(w, mo, "0.54", "0.56"))
    assert (entry.outcome.value, entry.token_id, entry.limit_price) == ("no", m.no_token, D("0.46"))
    # a down move would buy YES at its ask
    w2 = World([m])
    mo2 = make(mode="mean_reversion", window_seconds=10)
    feed(w2, mo2, "0.49", "0.51")
    w2.clock.advance(11)
    assert one(feed(w2, mo2, "0.44", "0.46")).outcome.value == "yes"


def test_momentum_down_move_buys_no_priced_from_yes_bid_without_a_no_book() -> None:
    m = market()
    w = World([m])
    mo = make(window_seconds=10)
    feed(w, mo, "0.49", "0.51")
    w.clock.advance(11)
    entry = one(feed(w, mo, "0.44", "0.46"))
    assert (entry.outcome.value, entry.limit_price) == ("no", D("0.56"))  # 1 - 0.44


def test_entry_size_meets_one_dollar_minimum() -> None:
    m = market(min_size="1")
    w = World([m])
    mo = make(window_seconds=10, order_size="2")
    feed(w, mo, "0.04", "0.06")
    w.clock.advance(11)
    entry = one(feed(w, mo, "0.09", "0.11"))
    assert entry.limit_price == D("0.11") and entry.size == D("9.10")  # ceil(1 / 0.11, 0.01)


@pytest.mark.parametrize(
    ("bid", "ask", "why"),
    [("0.55", "0.57", "take profit"), ("0.47", "0.49", "stop loss")],
)
def test_exits_on_take_profit_and_stop_loss(bid: str, ask: str, why: str) -> None:
    m = market()
    w = World([m])
    mo = make(take_profit="0.05", stop_loss="0.03")
    w.hold(m, "yes", "10", "5")  # avg cost 0.50
    feed(w, mo, "0.51", "0.53")  # holding, inside the band: nothing
    exit_ = one(feed(w, mo, bid, ask))
    assert (exit_.side, exit_.size, exit_.limit_price, exit_.reason) == (
        Side.SELL, D(10), D(bid), why,
    )  # fmt: skip


def test_time_exit_from_the_timer_and_cooldown_after_close() -> None:
    m = market()
    w = World([m])
    mo = make(max_hold_seconds=100, cooldown_seconds=30, window_seconds=10)
    w.hold(m, "no", "20", "8")  # avg 0.40
    w.snapshot(m.no_token, [("0.41", "50")], [("0.43", "50")])
    feed(w, mo, "0.57", "0.59")
    w.clock.advance(50)
    assert mo.on_timer(w.clock.time(), w.view("mo")) == []
    w.clock.advance(50)
    exit_ = one(mo.on_timer(w.clock.time(), w.view("mo")))
    assert (exit_.outcome.value, exit_.side, exit_.limit_price, exit_.reason) == (
        "no", Side.SELL, D("0.41"), "max hold time",
    )  # fmt: skip
    del w.positions[(m.condition_id, "no")]  # filled: flat
    w.clock.advance(1)
    assert feed(w, mo, "0.40", "0.42") == []  # closed -> cooling down despite a big move
    w.clock.advance(31)
    assert feed(w, mo, "0.20", "0.22") != []


def test_rejected_entry_cools_down() -> None:
    m = market()
    w = World([m])
    mo = make(window_seconds=10, cooldown_seconds=30)
    feed(w, mo, "0.49", "0.51")
    w.clock.advance(11)
    entry = one(feed(w, mo, "0.54", "0.56"))
    mo.on_decision(Decision(entry, False, Stage.RISK, "var"), w.clock.time())
    w.clock.advance(5)
    assert feed(w, mo, "0.60", "0.62") == []
    w.clock.advance(30)
    assert feed(w, mo, "0.70", "0.72") != []  # +0.10 against the sample at 0.61


def test_params_validation() -> None:
    with pytest.raises(ValueError, match="'mode'"):
        MomentumParams.from_params({"mode": "trend"})
    with pytest.raises(ValueError, match="'window_seconds'"):
        MomentumParams.from_params({"window_seconds": 0})


def test_price_changes_drive_entries_and_deep_ones_are_skipped() -> None:
    m = market()
    w = World([m])
    mo = make(window_seconds=10)
    feed(w, mo, "0.49", "0.51")
    w.clock.advance(11)
    assert mo.on_event(w.change(m.yes_token, Side.BUY, "0.30", "5"), w.view("mo")) == ()
    w.change(m.yes_token, Side.SELL, "0.51", "0")  # (applied without telling the strategy)
    w.change(m.yes_token, Side.SELL, "0.56", "20")
    # the new best bid 0.54 touches the top: mid 0.55 vs 0.50 -> entry at the 0.56 ask
    entry = one(mo.on_event(w.change(m.yes_token, Side.BUY, "0.54", "20"), w.view("mo")))
    assert (entry.outcome.value, entry.limit_price) == ("yes", D("0.56"))
