"""complement_arb on synthetic books: binary pairs below $1, fees, depth, neg-risk events."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest
from strategy_kit import World, market

from polymarket_bot.core.events import BookSnapshot
from polymarket_bot.core.intents import Intent, OrderIntent
from polymarket_bot.core.types import OrderType, Side
from polymarket_bot.strategies.complement_arb import ComplementArb, ComplementArbParams

D = Decimal


def make(**params: object) -> ComplementArb:
    return ComplementArb("arb", ComplementArbParams.from_params(params))


def legs(intents: Sequence[Intent]) -> list[tuple[str, str, str]]:
    out = []
    for i in intents:
        assert isinstance(i, OrderIntent) and i.side is Side.BUY
        out.append((i.outcome.value, format(i.size.normalize(), "f"), str(i.limit_price)))
    return out


def binary_world(fee_rate: str = "0") -> tuple[World, BookSnapshot]:
    m = market(fee_rate=fee_rate)
    w = World([m])
    w.snapshot(m.yes_token, [("0.40", "10")], [("0.45", "20"), ("0.47", "30"), ("0.60", "100")])
    event = w.snapshot(m.no_token, [("0.40", "10")], [("0.50", "25"), ("0.52", "50")])
    return w, event


def test_walks_both_ladders_while_the_pair_costs_less_than_the_bound() -> None:
    w, event = binary_world()
    out = make().on_event(event, w.view("arb"))
    # 0.45+0.50 (20) -> 0.47+0.50 (5) -> 0.47+0.52 = 0.99 < 0.995 (25): 50 shares in total
    assert legs(out) == [("yes", "50", "0.47"), ("no", "50", "0.52")]
    assert all(isinstance(i, OrderIntent) and i.order_type is OrderType.FOK for i in out)


def test_fees_and_margin_stop_the_walk_earlier() -> None:
    w, event = binary_world(fee_rate="0.02")
    # 0.47 + 0.52 + fees(0.004982 + 0.004992) = 0.999974 >= 0.995: stop after 25 shares
    out = make().on_event(event, w.view("arb"))
    assert legs(out) == [("yes", "25", "0.47"), ("no", "25", "0.5")]
    w2, event2 = binary_world()
    out2 = make(margin="0.02", order_type="FAK").on_event(event2, w2.view("arb"))
    assert legs(out2) == [("yes", "25", "0.47"), ("no", "25", "0.5")]  # 0.97 < 0.98 only
    assert all(isinstance(i, OrderIntent) and i.order_type is OrderType.FAK for i in out2)


def test_capped_by_max_shares_and_cooldown() -> None:
    w, event = binary_world()
    arb = make(max_shares=12, cooldown_seconds=5)
    assert legs(arb.on_event(event, w.view("arb"))) == [("yes", "12", "0.45"), ("no", "12", "0.5")]
    assert arb.on_event(event, w.view("arb")) == []
    w.clock.advance(5)
    assert len(arb.on_event(event, w.view("arb"))) == 2


def test_no_trade_when_asks_sum_to_the_bound_or_more() -> None:
    m = market()
    w = World([m])
    w.snapshot(m.yes_token, [], [("0.50", "100")])
    event = w.snapshot(m.no_token, [], [("0.50", "100")])
    assert make().on_event(event, w.view("arb")) == []
    assert make(margin="0").on_event(event, w.view("arb")) == []  # exactly 1: no edge


def test_too_thin_for_the_minimum_size_or_one_dollar() -> None:
    m = market(min_size="5")
    w = World([m])
    w.snapshot(m.yes_token, [], [("0.40", "4")])
    event = w.snapshot(m.no_token, [], [("0.50", "100")])
    assert make().on_event(event, w.view("arb")) == []  # 4 shares < min size 5
    m2 = market(2, min_size="1")
    w2 = World([m2])
    w2.snapshot(m2.yes_token, [], [("0.10", "5")])
    event2 = w2.snapshot(m2.no_token, [], [("0.80", "5")])
    assert make().on_event(event2, w2.view("arb")) == []  # YES leg 5 x 0.10 = $0.50 < $1


def neg_risk_world(
    count: int | None = 3, augmented: bool = False
) -> tuple[World, list[BookSnapshot]]:
    ms = [
        market(n, neg_risk=True, event_id="E", event_market_count=count, augmented=augmented)
        for n in (1, 2, 3)
    ]
    w = World(ms)
    events = [
        w.snapshot(m.yes_token, [], [(ask, size)])
        for m, ask, size in zip(ms, ("0.30", "0.30", "0.35"), ("40", "25", "60"), strict=True)
    ]
    return w, events


def test_neg_risk_event_buys_every_yes_below_one() -> None:
    w, events = neg_risk_world()
    out = make().on_event(events[-1], w.view("arb"))
    assert legs(out) == [("yes", "25", "0.3"), ("yes", "25", "0.3"), ("yes", "25", "0.35")]
    assert [i.market for i in out] == ["0xm1", "0xm2", "0xm3"]
    assert make(neg_risk=False).on_event(events[-1], w.view("arb")) == []


@pytest.mark.parametrize(("count", "augmented"), [(4, False), (None, False), (3, True)])
def test_neg_risk_needs_a_closed_outcome_set(count: int | None, augmented: bool) -> None:
    w, events = neg_risk_world(count, augmented)
    assert make().on_event(events[-1], w.view("arb")) == []


def test_params_validation() -> None:
    with pytest.raises(ValueError, match="'order_type'"):
        ComplementArbParams.from_params({"order_type": "GTC"})
    with pytest.raises(ValueError, match="'neg_risk'"):
        ComplementArbParams.from_params({"neg_risk": "yes"})


def test_price_changes_behind_the_best_asks_are_skipped_and_a_new_best_ask_fires() -> None:
    from polymarket_bot.core.types import Side as S

    m = market()
    w = World([m])
    w.snapshot(m.yes_token, [("0.40", "50")], [("0.50", "50"), ("0.55", "50")])
    arb = make()
    assert arb.on_event(w.snapshot(m.no_token, [], [("0.52", "50")]), w.view("arb")) == []
    # a bid, and an ask behind the best: nothing to look at (and nothing to do anyway)
    assert arb.on_event(w.change(m.yes_token, S.BUY, "0.45", "10"), w.view("arb")) == ()
    assert arb.on_event(w.change(m.no_token, S.SELL, "0.60", "10"), w.view("arb")) == ()
    # a NO ask at 0.48 through the 0.52 best: 0.50 + 0.48 = 0.98 < 0.995
    out = arb.on_event(w.change(m.no_token, S.SELL, "0.48", "20"), w.view("arb"))
    assert legs(out) == [("yes", "20", "0.5"), ("no", "20", "0.48")]
