"""The YES-space book, settlement planning, price grid and the fee curve."""

from __future__ import annotations

from decimal import Decimal

import pytest

from polymarket_bot.core.errors import InvalidValueError
from polymarket_bot.core.types import OrderType, Side
from polymarket_bot.sim.fees import FeeSchedule, taker_fee_units
from polymarket_bot.sim.matching import MarketBook, grid_price, plan_legs, price_buckets
from polymarket_bot.sim.model import SimOrder, fmt_units

UNIT = 10**6
YES, NO = "yes-token", "no-token"


def order(
    oid: str, side: Side, price: str, size: int, *, token: str = YES, owner: str = "o"
) -> SimOrder:
    price_u = int(Decimal(price) * UNIT)
    is_yes = token == YES
    return SimOrder(
        order_id=oid,
        owner=owner,
        maker_address="0xabc",
        market="m",
        token_id=token,
        outcome="Yes" if is_yes else "No",
        side=side,
        is_yes=is_yes,
        price_u=price_u,
        yes_price_u=price_u if is_yes else UNIT - price_u,
        is_bid=is_yes == (side is Side.BUY),
        original_size=size,
        maker_amount=0,
        taker_amount=0,
        order_type=OrderType.GTC,
        expiration=0,
        post_only=False,
        created_at=0,
        remaining=size,
    )


def test_fmt_units() -> None:
    assert [
        fmt_units(n) for n in (0, 5 * UNIT, 120_500_000, 550_000, 1, 10 * UNIT, -1_500_000)
    ] == [
        "0",
        "5",
        "120.5",
        "0.55",
        "0.000001",
        "10",
        "-1.5",
    ]


def test_plan_walks_price_then_time_and_is_pure() -> None:
    book = MarketBook()
    a = order("a", Side.SELL, "0.52", 10)
    b = order("b", Side.SELL, "0.51", 10)
    c = order("c", Side.SELL, "0.52", 10)
    d = order("d", Side.BUY, "0.49", 10, token=NO)  # a YES ask at 0.51, after b in time
    for o in (a, b, c, d):
        book.add(o)
    fills, filled = book.plan(True, 520_000, 35)
    assert [(o.order_id, q) for o, q in fills] == [("b", 10), ("d", 10), ("a", 10), ("c", 5)]
    assert filled == 35
    assert book.plan(True, 510_000, 100)[1] == 20  # limit stops at 0.51
    assert book.plan(True, 500_000, 100) == ([], 0)
    assert book.asks.depth() == [(520_000, 20), (510_000, 20)]  # untouched, best last


def test_cancel_is_lazy_and_levels_vanish_when_empty() -> None:
    book = MarketBook()
    a, b = order("a", Side.BUY, "0.4", 10), order("b", Side.BUY, "0.4", 5)
    book.add(a)
    book.add(b)
    book.remove(a)
    assert book.bids.depth() == [(400_000, 5)]
    assert [o.order_id for o, _ in book.plan(False, 400_000, 100)[0]] == ["b"]
    b.remaining -= 5
    book.fill(b, 5)
    assert book.bids.depth() == [] and book.best_bid() is None
    assert book.take_dirty() == [(True, 400_000, 0)]
    assert book.take_dirty() == []


def test_crosses_in_yes_space() -> None:
    book = MarketBook()
    book.add(order("no-bid", Side.BUY, "0.4", 10, token=NO))  # YES ask 0.6
    assert book.crosses(True, 600_000) and not book.crosses(True, 590_000)
    book.add(order("yes-bid", Side.BUY, "0.5", 10))
    assert book.crosses(False, 500_000)  # YES ask (or NO bid at 0.5)
    assert book.errors("m") == []


def test_plan_legs_money() -> None:
    same = order("s", Side.SELL, "0.55", 10 * UNIT)
    no_buy = order("n", Side.BUY, "0.3", 10 * UNIT, token=NO)
    legs = plan_legs(YES, True, [(same, 4 * UNIT), (no_buy, 3_333_333)])
    assert [(leg.taker_price, leg.taker_pusd, leg.maker_pusd, leg.locked) for leg in legs] == [
        (550_000, -2_200_000, 2_200_000, 0),
        (700_000, -2_333_334, -999_999, 3_333_333),  # maker floors, taker pays the rest
    ]
    no_sell = order("ns", Side.SELL, "0.45", 10 * UNIT, token=NO)
    (merge,) = plan_legs(YES, False, [(no_sell, 10 * UNIT)])
    assert (merge.taker_pusd, merge.maker_pusd, merge.locked) == (5_500_000, 4_500_000, -10 * UNIT)


def test_price_buckets_and_sell_fee_cap() -> None:
    a, b, c = (order(x, Side.BUY, p, UNIT) for x, p in (("a", "0.5"), ("b", "0.5"), ("c", "0.4")))
    legs = plan_legs(YES, False, [(a, 100), (b, 100), (c, 100)])
    buckets = price_buckets(legs, False, FeeSchedule(rate=Decimal("0.5")))
    assert [(x.start, x.end, x.price) for x in buckets] == [(0, 2, 500_000), (2, 3, 400_000)]
    assert [x.fee for x in buckets] == [30, 10]  # 0.000025 -> 0.00003; 0.000012 -> 0.00001
    tiny = plan_legs(YES, False, [(c, 1)])  # proceeds 0: the fee cannot exceed them
    assert price_buckets(tiny, False, FeeSchedule(rate=Decimal("0.5")))[0].fee == 0


def test_grid_price() -> None:
    assert grid_price(5_500_000, 10 * UNIT, 10_000, 4) == 550_000
    assert grid_price(25_000_000, 45_454_500, 10_000, 4) == 550_000  # market BUY truncation
    assert grid_price(10_000_000, 30_030_030, 1_000, 5) == 333_000
    assert grid_price(5_550_000, 10 * UNIT, 10_000, 4) is None  # 0.555 on a 0.01 grid
    assert grid_price(5_505_000, 10 * UNIT, 10_000, 4) is None  # 0.5505: too far for truncation
    assert grid_price(9_950_000, 10 * UNIT, 10_000, 4) is None  # rounds to 1.00
    assert grid_price(50_000, 10 * UNIT, 10_000, 4) is None  # 0.005 -> 0.00 or 0.01: off grid
    assert grid_price(9_990_000, 10 * UNIT, 1_000, 5) == 999_000


@pytest.mark.parametrize(
    ("shares", "price", "rate", "exponent", "expected"),
    [
        (100 * UNIT, 400_000, "0.07", "1", 1_680_000),  # 100 x 0.07 x 0.24
        (10 * UNIT, 500_000, "0.07", "1", 175_000),
        (1 * UNIT, 10_000, "0.04", "1", 400),  # 0.000396 -> 0.0004
        (UNIT // 100, 500_000, "0.01", "1", 30),  # 0.000025 -> 0.00003 (half up)
        (1, 500_000, "0.07", "1", 10),  # positive but tiny -> the 0.00001 minimum
        (100 * UNIT, 500_000, "0.07", "2", 437_500),  # 100 x 0.07 x 0.0625 = 0.4375
        (100 * UNIT, 500_000, "0.07", "0.5", 3_500_000),  # sqrt(0.25) = 0.5
        (100 * UNIT, 500_000, "0", "1", 0),
    ],
)
def test_fee_curve(shares: int, price: int, rate: str, exponent: str, expected: int) -> None:
    assert taker_fee_units(shares, price, Decimal(rate), Decimal(exponent)) == expected


def test_fee_schedule_bps_and_validation() -> None:
    assert FeeSchedule(rate=Decimal("0.07")).fee_rate_bps == 700
    assert FeeSchedule(rate=Decimal("0.07"), rate_bps=0).fee_rate_bps == 0
    with pytest.raises(InvalidValueError):
        FeeSchedule(rate=Decimal("1.5"))
