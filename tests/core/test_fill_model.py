"""The local fill model: latency, book walking, FOK/FAK/post-only, queue position, fees."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from polymarket_bot.core.book import OrderBook
from polymarket_bot.core.fees import FeeSchedule
from polymarket_bot.core.fill_model import (
    FAK_TEXT,
    FOK_TEXT,
    POST_ONLY_CROSS_TEXT,
    Accepted,
    Canceled,
    Fill,
    Liquidity,
    LocalFillModel,
    ModelOrder,
    Rejected,
)
from polymarket_bot.core.types import OrderType, Side

ASSET = "1" * 77


def book(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> OrderBook:
    b = OrderBook(ASSET)
    b.apply_snapshot(bids, asks, ts_ms=1)
    return b


def model(rate: str = "0", latency_ms: int = 0) -> LocalFillModel:
    return LocalFillModel(fees_for=lambda _a: FeeSchedule(rate=D(rate)), latency_ms=latency_ms)


def order(
    oid: str, side: Side, price: str, size: str, otype: OrderType = OrderType.GTC, **kw: object
) -> ModelOrder:
    return ModelOrder(oid, ASSET, side, D(price), D(size), otype, **kw)  # type: ignore[arg-type]


def fills(events: list[object]) -> list[Fill]:
    return [e for e in events if isinstance(e, Fill)]


def test_marketable_buy_walks_levels_with_slippage_and_taker_fees() -> None:
    m = model(rate="0.02")
    b = book([("0.40", "100")], [("0.52", "50"), ("0.51", "30"), ("0.50", "10")])
    m.submit(order("o1", Side.BUY, "0.51", "60", OrderType.FAK), now_ms=0)
    events = m.poll(0, {ASSET: b})
    assert isinstance(events[0], Accepted) and not events[0].resting
    got = [(f.price, f.size, f.liquidity) for f in fills(events)]
    assert got == [(D("0.5"), D(10), Liquidity.TAKER), (D("0.51"), D(30), Liquidity.TAKER)]
    # The FAK remainder (20 shares) is canceled, never rests.
    assert isinstance(events[-1], Canceled) and events[-1].reason == "fak_remainder"
    # fee = C x 0.02 x p(1-p), rounded to 5 decimals: 10 x 0.02 x 0.25 = 0.05
    assert fills(events)[0].fee == D("0.05")
    assert fills(events)[0].reference_price == D("0.5")


def test_fok_fills_entirely_or_is_rejected() -> None:
    m = model()
    b = book([], [("0.60", "5"), ("0.55", "5")])
    m.submit(order("a", Side.BUY, "0.60", "11", OrderType.FOK), 0)
    assert m.poll(0, {ASSET: b}) == [Rejected("a", 0, FOK_TEXT)]
    m.submit(order("b", Side.BUY, "0.60", "10", OrderType.FOK), 0)
    assert sum(f.size for f in fills(m.poll(0, {ASSET: b}))) == 10


def test_fak_with_nothing_to_match_is_rejected() -> None:
    m = model()
    b = book([("0.40", "100")], [("0.60", "100")])
    m.submit(order("a", Side.BUY, "0.55", "10", OrderType.FAK), 0)
    assert m.poll(0, {ASSET: b}) == [Rejected("a", 0, FAK_TEXT)]


def test_post_only_that_would_cross_is_rejected() -> None:
    m = model()
    b = book([("0.40", "100")], [("0.60", "100")])
    m.submit(order("a", Side.BUY, "0.60", "10", post_only=True), 0)
    assert m.poll(0, {ASSET: b}) == [Rejected("a", 0, POST_ONLY_CROSS_TEXT)]


def test_off_tick_and_undersized_orders_are_rejected_with_venue_texts() -> None:
    m = model()
    b = book([("0.40", "100")], [("0.60", "100")])
    m.submit(order("a", Side.BUY, "0.405", "10"), 0)
    m.submit(order("b", Side.BUY, "0.40", "4"), 0)
    ev = m.poll(0, {ASSET: b})
    assert isinstance(ev[0], Rejected) and "breaks minimum tick size rule: 0.01" in ev[0].reason
    assert isinstance(ev[1], Rejected) and "lower than the minimum: 5" in ev[1].reason


def test_latency_delays_activation_until_due() -> None:
    m = model(latency_ms=250)
    b = book([("0.40", "100")], [("0.50", "100")])
    m.submit(order("a", Side.BUY, "0.50", "10", OrderType.FAK), now_ms=1000)
    assert m.poll(1249, {ASSET: b}) == []
    assert len(fills(m.poll(1250, {ASSET: b}))) == 1


def test_two_orders_cannot_take_the_same_visible_size() -> None:
    m = model()
    b = book([], [("0.50", "10")])
    m.submit(order("a", Side.BUY, "0.50", "10", OrderType.FAK), 0)
    m.submit(order("b", Side.BUY, "0.50", "10", OrderType.FAK), 0)
    ev = m.poll(0, {ASSET: b})
    assert [f.order_id for f in fills(ev)] == ["a"]
    assert Rejected("b", 0, FAK_TEXT) in ev
    # Once the book moves on, its liquidity is fresh again.
    b.apply_level(False, "0.50", "10", ts_ms=2)
    m.submit(order("c", Side.BUY, "0.50", "10", OrderType.FAK), 0)
    assert [f.order_id for f in fills(m.poll(0, {ASSET: b}))] == ["c"]


def test_resting_order_waits_behind_the_visible_queue() -> None:
    m = model()
    b = book([("0.45", "100")], [("0.55", "100")])
    m.submit(order("a", Side.BUY, "0.45", "20"), 0)
    ev = m.poll(0, {ASSET: b})
    assert ev == [Accepted("a", 0, True)]
    # 80 shares trade at our price: all of them were ahead of us.
    assert m.on_trade(ASSET, D("0.45"), D("80"), Side.SELL, 1) == []
    # 30 more: 20 finish the queue ahead, 10 fill us (as maker, no fee).
    f = fills(m.on_trade(ASSET, D("0.45"), D("30"), Side.SELL, 2))
    assert [(x.size, x.liquidity, x.fee) for x in f] == [(D(10), Liquidity.MAKER, D(0))]
    # Cancels ahead of us shorten the queue: the level drops to our remaining size.
    b.apply_level(True, "0.45", "10", ts_ms=3)
    assert fills(m.on_book(b, 3)) == []
    f = fills(m.on_trade(ASSET, D("0.45"), D("10"), Side.SELL, 4))
    assert sum(x.size for x in f) == 10
    assert m.open_order_ids() == []


def test_trading_through_our_price_fills_us() -> None:
    m = model()
    b = book([("0.45", "500")], [("0.55", "100")])
    m.submit(order("a", Side.BUY, "0.45", "20"), 0)
    m.poll(0, {ASSET: b})
    f = fills(m.on_trade(ASSET, D("0.44"), D("50"), Side.SELL, 1))
    assert [(x.price, x.size) for x in f] == [(D("0.45"), D(20))]


def test_opposite_side_reaching_our_price_fills_us_as_maker() -> None:
    m = model()
    b = book([("0.45", "100")], [("0.55", "100")])
    m.submit(order("a", Side.BUY, "0.50", "20"), 0)
    assert m.poll(0, {ASSET: b}) == [Accepted("a", 0, True)]
    b.apply_level(False, "0.49", "15", ts_ms=2)  # a new ask below our bid
    f = fills(m.on_book(b, 2))
    assert [(x.price, x.size, x.liquidity) for x in f] == [(D("0.5"), D(15), Liquidity.MAKER)]


def test_cancel_and_gtd_expiry() -> None:
    m = model()
    b = book([("0.45", "100")], [("0.55", "100")])
    m.submit(order("a", Side.BUY, "0.45", "20"), 0)
    m.submit(order("g", Side.BUY, "0.44", "20", OrderType.GTD, expiration_s=1000), 0)
    m.poll(0, {ASSET: b})
    assert m.cancel("a", 5) == [Canceled("a", 5, "canceled")]
    assert m.cancel("a", 6) == []
    assert m.poll(939_000, {ASSET: b}) == []
    assert m.poll(940_000, {ASSET: b}) == [Canceled("g", 940_000, "expired")]


@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
def test_marketable_buy_under_one_dollar_is_rejected(side: Side) -> None:
    m = model()
    b = book([("0.09", "100")], [("0.11", "100")])
    price = "0.11" if side is Side.BUY else "0.09"
    m.submit(order("a", side, price, "5", OrderType.FAK), 0)
    ev = m.poll(0, {ASSET: b})
    if side is Side.BUY:
        assert isinstance(ev[0], Rejected) and "min size: $1" in ev[0].reason
    else:
        assert sum(f.size for f in fills(ev)) == 5
