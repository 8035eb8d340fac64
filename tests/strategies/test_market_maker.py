"""market_maker on synthetic books: microprice, edge, skew, requote threshold, reduce-only."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategy_kit import World, market

from polymarket_bot.core.decisions import Decision, Stage
from polymarket_bot.core.intents import CancelIntent, Intent, OrderIntent
from polymarket_bot.core.orders import Order, OrderState
from polymarket_bot.core.ratelimit import FrequencyLimit, RateDecision, RateScope
from polymarket_bot.core.types import OrderType, Outcome, Side, TickSize, is_on_tick
from polymarket_bot.strategies.market_maker import MarketMaker, MarketMakerParams

D = Decimal


def make(**params: object) -> MarketMaker:
    return MarketMaker("mm", MarketMakerParams.from_params(params))


def orders_of(intents: Sequence[Intent]) -> list[OrderIntent]:
    return [i for i in intents if isinstance(i, OrderIntent)]


def quotes(intents: Sequence[Intent]) -> set[tuple[str, str, str, str]]:
    return {
        (i.outcome.value, i.side.value, str(i.limit_price), str(i.size)) for i in orders_of(intents)
    }


def rest(world: World, intents: Sequence[Intent]) -> None:
    """Pretend execution placed every order intent: they rest as LIVE orders."""
    for n, i in enumerate(orders_of(intents), start=len(world.orders)):
        order = Order(
            f"c{n}", i.market, i.token_id, i.outcome, i.side, i.limit_price, i.shares,
            strategy=i.strategy, state=OrderState.LIVE,
        )  # fmt: skip
        world.orders[order.client_id] = order


def test_symmetric_book_quotes_min_edge_around_mid() -> None:
    m = market()
    w = World([m])
    mm = make()
    event = w.snapshot(m.yes_token, [("0.48", "100")], [("0.52", "100")])
    intents = mm.on_event(event, w.view("mm"))
    # bid 0.50 - 0.01 = 0.49 (BUY YES); ask 0.51 expressed as BUY NO at 1 - 0.51 = 0.49
    assert quotes(intents) == {("yes", "BUY", "0.49", "10"), ("no", "BUY", "0.49", "10")}
    for i in orders_of(intents):
        assert i.post_only and i.order_type is OrderType.GTC and i.strategy == "mm"
        assert i.token_id == m.token(i.outcome)
    # the same book again: idle, nothing computed
    assert mm.on_event(event, w.view("mm")) == ()


def test_microprice_leans_toward_the_heavier_side() -> None:
    m = market()
    w = World([m])
    # micro = (0.48 x 100 + 0.52 x 300) / 400 = 0.51 -> bid 0.50, ask 0.52 (BUY NO 0.48)
    event = w.snapshot(m.yes_token, [("0.48", "300")], [("0.52", "100")])
    assert quotes(make().on_event(event, w.view("mm"))) == {
        ("yes", "BUY", "0.5", "10"),
        ("no", "BUY", "0.48", "10"),
    }


def test_quotes_never_cross_the_book_post_only() -> None:
    m = market()
    w = World([m])
    # 1-tick spread: micro 0.505 +- 0.01 would put the bid at 0.49 and ask at 0.52
    event = w.snapshot(m.yes_token, [("0.50", "10")], [("0.51", "10")])
    q = quotes(make(min_edge="0.001").on_event(event, w.view("mm")))
    # min_edge 0.001: raw bid 0.504 -> 0.50 (<= ask - tick), raw ask 0.506 -> 0.51 (>= bid + tick)
    assert q == {("yes", "BUY", "0.5", "10"), ("no", "BUY", "0.49", "10")}


def test_inventory_skew_and_selling_what_is_held() -> None:
    m = market()
    w = World([m])
    w.hold(m, "yes", "50", "25")  # net +50 of max 100 -> shift down 2 x 0.5 = 1 tick
    event = w.snapshot(m.yes_token, [("0.48", "100")], [("0.52", "100")])
    assert quotes(make().on_event(event, w.view("mm"))) == {
        ("yes", "BUY", "0.48", "10"),
        ("yes", "SELL", "0.5", "10"),  # holds YES: the ask is a SELL of YES
    }


def test_no_opening_order_past_max_position() -> None:
    m = market()
    w = World([m])
    w.hold(m, "yes", "100", "50")
    event = w.snapshot(m.yes_token, [("0.48", "100")], [("0.52", "100")])
    q = quotes(make().on_event(event, w.view("mm")))
    assert q == {("yes", "SELL", "0.49", "10")}  # full skew: 2 ticks down, no bid


def test_size_raised_to_market_minimum_and_tick_grid() -> None:
    m = market(tick=TickSize.T0_001, min_size="15")
    w = World([m])
    event = w.snapshot(m.yes_token, [("0.480", "100")], [("0.520", "50")])
    intents = orders_of(make(min_edge="0.0125").on_event(event, w.view("mm")))
    # micro = (0.48 x 50 + 0.52 x 100) / 150 = 0.50667; bid 0.49417 -> 0.494; ask 0.51917 -> 0.520
    assert {(i.outcome.value, str(i.limit_price), str(i.size)) for i in intents} == {
        ("yes", "0.494", "15"),
        ("no", "0.48", "15"),
    }


def test_requote_only_beyond_threshold_keeps_queue_priority() -> None:
    m = market()
    w = World([m])
    mm = make(requote_ticks=2)
    first = mm.on_event(w.snapshot(m.yes_token, [("0.48", "100")], [("0.52", "100")]), w.view("mm"))
    rest(w, first)
    # top moves by one tick: targets move one tick, below the threshold -> keep both
    moved = w.snapshot(m.yes_token, [("0.49", "100")], [("0.53", "100")])
    assert mm.on_event(moved, w.view("mm")) == []
    # three ticks: cancel both resting quotes and requote
    far = w.snapshot(m.yes_token, [("0.51", "100")], [("0.55", "100")])
    out = mm.on_event(far, w.view("mm"))
    cancels = [i for i in out if isinstance(i, CancelIntent)]
    assert sorted(c.order_id or "" for c in cancels) == ["c0", "c1"]
    assert quotes(out) == {("yes", "BUY", "0.52", "10"), ("no", "BUY", "0.46", "10")}


def test_pending_intent_is_not_repeated_before_it_shows_up() -> None:
    m = market()
    w = World([m])
    mm = make(pending_seconds=10)
    assert (
        len(mm.on_event(w.snapshot(m.yes_token, [("0.48", "9")], [("0.52", "9")]), w.view("mm")))
        == 2
    )
    # the top size changes (new key) but the targets are the same: no duplicate
    assert (
        mm.on_event(w.snapshot(m.yes_token, [("0.48", "8")], [("0.52", "9")]), w.view("mm")) == []
    )
    w.clock.advance(11)  # never showed up: forgotten, sent again
    again = mm.on_event(w.snapshot(m.yes_token, [("0.48", "7")], [("0.52", "9")]), w.view("mm"))
    assert len(orders_of(again)) == 2


def test_rejected_quote_backs_off() -> None:
    m = market()
    w = World([m])
    mm = make(retry_seconds=5)
    out = mm.on_event(w.snapshot(m.yes_token, [("0.48", "9")], [("0.52", "9")]), w.view("mm"))
    for intent in out:
        mm.on_decision(Decision(intent, False, Stage.RISK, "liquidity"), w.clock.time())
    w.clock.advance(1)
    assert (
        mm.on_event(w.snapshot(m.yes_token, [("0.48", "8")], [("0.52", "9")]), w.view("mm")) == []
    )
    w.clock.advance(5)
    assert len(mm.on_timer(w.clock.time(), w.view("mm"))) == 2


def test_rate_limited_quote_waits_for_the_limits_spacing() -> None:
    # 3 orders per 60 s: retrying before 20 s could only be refused again.
    m = market()
    w = World([m])
    mm = make(retry_seconds=5)
    out = mm.on_event(w.snapshot(m.yes_token, [("0.48", "9")], [("0.52", "9")]), w.view("mm"))
    limit = FrequencyLimit(60.0, 3)
    rate = RateDecision(False, RateScope.MARKET_SIDE, limit, 3)
    for intent in out:
        mm.on_decision(
            Decision(intent, False, Stage.RATE_LIMIT, "strategy_rate_limit", rate=rate),
            w.clock.time(),
        )
    w.clock.advance(19)  # past retry_seconds, not past the limit's spacing
    assert (
        mm.on_event(w.snapshot(m.yes_token, [("0.48", "8")], [("0.52", "9")]), w.view("mm")) == []
    )
    w.clock.advance(1)
    assert len(mm.on_timer(w.clock.time(), w.view("mm"))) == 2


def test_a_block_by_the_strategy_wide_budget_pauses_every_market() -> None:
    # 20 orders per 60 s for the whole strategy: after a block nothing is quoted for 3 s.
    a, b = market(1), market(2)
    w = World([a, b])
    mm = make()
    out = mm.on_event(w.snapshot(a.yes_token, [("0.48", "9")], [("0.52", "9")]), w.view("mm"))
    rate = RateDecision(False, RateScope.STRATEGY, FrequencyLimit(60.0, 20), 20)
    mm.on_decision(
        Decision(out[0], False, Stage.RATE_LIMIT, "strategy_rate_limit", rate=rate), w.clock.time()
    )
    w.clock.advance(2.9)
    snap_b = w.snapshot(b.yes_token, [("0.38", "9")], [("0.42", "9")])
    assert not mm.on_event(snap_b, w.view("mm"))
    w.clock.advance(0.1)
    assert len(mm.on_event(snap_b, w.view("mm"))) == 2


def test_reduce_only_near_end_date() -> None:
    m = market(end_date_s=1_700_000_000.0 + 600)
    w = World([m])
    w.hold(m, "yes", "7", "3.5")
    mm = make(reduce_only_seconds=3600)
    out = mm.on_event(w.snapshot(m.yes_token, [("0.48", "9")], [("0.52", "9")]), w.view("mm"))
    assert quotes(out) == {("yes", "SELL", "0.51", "7")}  # only the exit of what is held


def test_market_resolved_cancels_everything() -> None:
    from polymarket_bot.core.events import MarketResolved

    m = market()
    w = World([m])
    event = MarketResolved(m.condition_id, "1", (m.yes_token, m.no_token), m.yes_token, "Yes", 0)
    (cancel,) = make().on_event(event, w.view("mm"))
    assert isinstance(cancel, CancelIntent) and cancel.all_for_market


def test_params_validation_names_the_key() -> None:
    with pytest.raises(ValueError, match="'min_edge'"):
        MarketMakerParams.from_params({"min_edge": "0.7"})
    with pytest.raises(ValueError, match="'order_size'"):
        MarketMakerParams.from_params({"order_size": "ten"})
    with pytest.raises(ValueError, match="'spread'"):
        MarketMakerParams.from_params({"spread": 1})


@settings(max_examples=300, deadline=None)
@given(
    bid=st.integers(1, 97),
    width=st.integers(1, 20),
    bid_size=st.integers(1, 500),
    ask_size=st.integers(1, 500),
    held_yes=st.integers(0, 150),
    held_no=st.integers(0, 150),
    edge=st.sampled_from(["0.001", "0.01", "0.03"]),
)
def test_quotes_are_valid_on_any_book(
    bid: int, width: int, bid_size: int, ask_size: int, held_yes: int, held_no: int, edge: str
) -> None:
    ask = min(bid + width, 99)
    m = market()
    w = World([m])
    if held_yes:
        w.hold(m, "yes", str(held_yes), "1")
    if held_no:
        w.hold(m, "no", str(held_no), "1")
    event = w.snapshot(
        m.yes_token, [(f"0.{bid:02d}", str(bid_size))], [(f"0.{ask:02d}", str(ask_size))]
    )
    out = orders_of(make(min_edge=edge).on_event(event, w.view("mm")))
    tick = D("0.01")
    yes_prices = {}
    for i in out:
        assert is_on_tick(i.limit_price, tick)
        assert i.size >= m.min_order_size
        yes_price = i.limit_price if i.outcome is Outcome.YES else 1 - i.limit_price
        slot = (
            "bid"
            if (i.outcome, i.side) in ((Outcome.YES, Side.BUY), (Outcome.NO, Side.SELL))
            else "ask"
        )
        yes_prices[slot] = yes_price
        if i.side is Side.SELL:
            held = held_yes if i.outcome is Outcome.YES else held_no
            assert i.size <= held
    if "bid" in yes_prices:
        assert yes_prices["bid"] < D(f"0.{ask:02d}")  # never crosses (post-only)
    if "ask" in yes_prices:
        assert yes_prices["ask"] > D(f"0.{bid:02d}")
    if len(yes_prices) == 2:
        assert yes_prices["bid"] < yes_prices["ask"]


def test_one_sided_book_then_a_new_top_below_the_old_one_is_seen() -> None:
    from polymarket_bot.core.types import Side as S

    m = market()
    w = World([m])
    mm = make()
    mm.on_event(w.snapshot(m.yes_token, [("0.48", "100")], [("0.52", "100")]), w.view("mm"))
    assert mm.on_event(w.change(m.yes_token, S.BUY, "0.48", "0"), w.view("mm")) == ()
    # the new best bid 0.40 is below the old one: must still requote around the new book
    out = mm.on_event(w.change(m.yes_token, S.BUY, "0.40", "100"), w.view("mm"))
    assert quotes(out) == {("yes", "BUY", "0.45", "10"), ("no", "BUY", "0.53", "10")}
