"""Maker/taker amounts: every vector, the ref's worked examples, the server-side helpers, and a
seeded cross-check against py-clob-client-v2's float implementation (with its known artifacts)."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from py_clob_client_v2.order_builder import helpers as pcc2_helpers
from py_clob_client_v2.order_builder.builder import ROUNDING_CONFIG as PCC2_ROUNDING
from py_clob_client_v2.order_builder.builder import OrderBuilder

from polymarket_bot.core.errors import InvalidValueError
from polymarket_bot.core.types import OrderType, Side, TickSize
from polymarket_bot.protocol.amounts import (
    ROUNDING_CONFIG,
    InsufficientLiquidityError,
    implied_price,
    is_valid_price,
    limit_order_amounts,
    limit_price_of,
    market_order_amounts,
    market_price_from_book,
    order_shares,
    validate_price,
    worst_price_on_tick,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "fixtures/polymarket/vectors.json").read_text()
)
D = Decimal


def test_rounding_config_matches_the_sdk() -> None:
    assert {t.value: (c.price, c.size, c.amount) for t, c in ROUNDING_CONFIG.items()} == {
        k: (c.price, c.size, c.amount) for k, c in PCC2_ROUNDING.items()
    }


@pytest.mark.parametrize("vector", VECTORS["orders"], ids=lambda v: v["id"])
def test_order_vector_amounts(vector: dict[str, Any]) -> None:
    i, out = vector["inputs"], vector["outputs"]
    side, tick = Side(i["side"]), TickSize(i["tick_size"])
    if i["kind"] == "limit":
        a = limit_order_amounts(
            side, price=D(str(i["price"])), size=D(str(i["size"])), tick_size=tick
        )
    else:
        price = D(str(i["price"])) or D(str(i["price_from_book"]))
        a = market_order_amounts(side, amount=D(str(i["amount"])), price=price, tick_size=tick)
    assert (str(a.maker_amount), str(a.taker_amount)) == (out["makerAmount"], out["takerAmount"])
    if i["kind"] == "limit":  # a limit order's amounts imply exactly its price
        assert limit_price_of(side, a.maker_amount, a.taker_amount, tick) == D(str(i["price"]))


@pytest.mark.parametrize(
    ("kind", "side", "qty", "price", "tick", "maker", "taker"),
    [
        ("limit", Side.BUY, "10", "0.55", "0.01", 5500000, 10000000),
        ("limit", Side.SELL, "10", "0.55", "0.01", 10000000, 5500000),
        ("limit", Side.BUY, "3.3333", "0.333", "0.001", 1108890, 3330000),
        ("limit", Side.SELL, "7.777", "0.1234", "0.0001", 7770000, 958818),
        ("market", Side.BUY, "25", "0.55", "0.01", 25000000, 45454500),
        ("market", Side.BUY, "10", "0.333", "0.001", 10000000, 30030030),
    ],
)
def test_ref_worked_examples(
    kind: str, side: Side, qty: str, price: str, tick: str, maker: int, taker: int
) -> None:
    if kind == "limit":
        a = limit_order_amounts(side, price=D(price), size=D(qty), tick_size=TickSize(tick))
    else:
        a = market_order_amounts(side, amount=D(qty), price=D(price), tick_size=TickSize(tick))
    assert (a.maker_amount, a.taker_amount) == (maker, taker)


def test_invalid_inputs_are_rejected() -> None:
    t = TickSize.T0_01
    for bad in ("0.555", "0", "1", "0.995", "1.5", "-0.5"):
        with pytest.raises(InvalidValueError):
            limit_order_amounts(Side.BUY, price=D(bad), size=D("10"), tick_size=t)
    with pytest.raises(InvalidValueError):  # 0.005 tick: 3 decimals but only the 0.005 grid
        limit_order_amounts(Side.BUY, price=D("0.503"), size=D("10"), tick_size=TickSize.T0_005)
    ok = limit_order_amounts(Side.BUY, price=D("0.505"), size=D("10"), tick_size=TickSize.T0_005)
    assert ok.maker_amount == 5050000
    with pytest.raises(InvalidValueError):
        limit_order_amounts(Side.SELL, price=D("0.5"), size=D("0.009"), tick_size=t)
    with pytest.raises(InvalidValueError):
        limit_order_amounts(Side.SELL, price="0.5", size="NaN", tick_size=t)
    with pytest.raises(InvalidValueError):
        market_order_amounts(Side.BUY, amount=D("10"), price=D("0.999"), tick_size=t)
    with pytest.raises(InvalidValueError):
        market_order_amounts(Side.BUY, amount=D("0.001"), price=D("0.5"), tick_size=t)
    assert not is_valid_price(D("0.555"), t)
    assert is_valid_price(D("0.55"), t)
    with pytest.raises(InvalidValueError, match=r"multiple of 0\.01"):
        validate_price(D("0.001"), t)


def test_market_price_is_floored_onto_the_grid() -> None:
    # PCC2 rounds a market price down to the tick's decimals; same for the documented ticks.
    a = market_order_amounts(Side.SELL, amount=D("10"), price=D("0.559"), tick_size=TickSize.T0_01)
    assert (a.price, a.taker_amount) == (D("0.55"), 5500000)
    b = market_order_amounts(Side.SELL, amount=D("10"), price=D("0.559"), tick_size=TickSize.T0_005)
    assert b.price == D("0.555")


def test_market_price_from_book() -> None:
    book = next(v for v in VECTORS["orders"] if "book_used_for_price" in v["inputs"])["inputs"]
    asks = [(D(x["price"]), D(x["size"])) for x in book["book_used_for_price"]["asks"]]
    bids = [(D(x["price"]), D(x["size"])) for x in book["book_used_for_price"]["bids"]]
    assert market_price_from_book(Side.BUY, asks, D("12")) == D("0.60")  # the vector's walk
    assert market_price_from_book(Side.BUY, asks, D("5.2")) == D("0.52")  # exactly covered
    assert market_price_from_book(Side.BUY, asks, D("10.7")) == D("0.55")
    assert market_price_from_book(Side.SELL, bids, D("50")) == D("0.45")
    assert market_price_from_book(Side.SELL, bids, D("51")) == D("0.40")
    with pytest.raises(InsufficientLiquidityError):
        market_price_from_book(Side.BUY, asks, D("1000"), OrderType.FOK)
    assert market_price_from_book(Side.BUY, asks, D("1000"), OrderType.FAK) == D("0.60")
    with pytest.raises(InsufficientLiquidityError):
        market_price_from_book(Side.SELL, [], D("1"), OrderType.FAK)


def test_server_side_helpers() -> None:
    t = TickSize.T0_01
    assert implied_price(Side.BUY, 5500000, 10000000) == D("0.55")
    assert implied_price(Side.SELL, 10000000, 5500000) == D("0.55")
    assert order_shares(Side.BUY, 5500000, 10000000) == D(10)
    assert order_shares(Side.SELL, 15550000, 6531000) == D("15.55")
    # A market BUY implies a price just above its grid price; the engine uses the floor.
    assert implied_price(Side.BUY, 25000000, 45454500) > D("0.55")
    assert limit_price_of(Side.BUY, 25000000, 45454500, t) is None
    assert worst_price_on_tick(Side.BUY, 25000000, 45454500, t) == D("0.55")
    assert worst_price_on_tick(Side.SELL, 10000000, 5450001, t) == D("0.55")
    with pytest.raises(InvalidValueError):
        implied_price(Side.BUY, 0, 1)


PRICE_TICKS = st.sampled_from(list(TickSize))


@st.composite
def limit_inputs(draw: st.DrawFn) -> tuple[Side, Decimal, Decimal, TickSize]:
    tick = draw(PRICE_TICKS)
    steps = int(1 / tick.decimal)
    price = tick.decimal * draw(st.integers(1, steps - 1))
    size = D(draw(st.integers(1, 10**9))).scaleb(-draw(st.integers(0, 4)))
    return draw(st.sampled_from([Side.BUY, Side.SELL])), price, size, tick


@given(limit_inputs())
def test_limit_amounts_round_trip_to_price_and_size(
    case: tuple[Side, Decimal, Decimal, TickSize],
) -> None:
    side, price, size, tick = case
    try:
        a = limit_order_amounts(side, price=price, size=size, tick_size=tick)
    except InvalidValueError:
        assert size < D("0.01")
        return
    shares = size.quantize(D("0.01"), rounding="ROUND_DOWN")
    assert order_shares(side, a.maker_amount, a.taker_amount) == shares
    assert limit_price_of(side, a.maker_amount, a.taker_amount, tick) == price
    assert worst_price_on_tick(side, a.maker_amount, a.taker_amount, tick) == price


@given(limit_inputs())
def test_market_buy_never_implies_a_price_below_its_limit(
    case: tuple[Side, Decimal, Decimal, TickSize],
) -> None:
    side, price, amount, tick = case
    if amount < D("0.01"):
        return
    a = market_order_amounts(side, amount=amount, price=price, tick_size=tick)
    # Shares are truncated, so the buyer pays at least the limit per share (and the engine can
    # still match at the limit); a SELL receives exactly the limit.
    px = implied_price(side, a.maker_amount, a.taker_amount)
    assert px >= price if side is Side.BUY else px == price
    assert worst_price_on_tick(side, a.maker_amount, a.taker_amount, tick) == price


def _pcc2_exact(value: Decimal, places: int, rounder: Any) -> bool:
    exact = value.quantize(D(1).scaleb(-places), "ROUND_DOWN")
    return bool(rounder(float(value), places) == float(exact))


def test_cross_check_amounts_against_pcc2() -> None:
    """~1000 seeded realistic inputs (<= 5000 shares / $5000). PCC2 works in binary floats;
    inputs on which its own truncation helpers are inexact are excluded here and covered by
    test_pcc2_float_artifacts_are_not_copied."""
    ob = OrderBuilder(None)
    rng = random.Random(5)
    compared = 0
    for _ in range(1000):
        tick = rng.choice(list(TickSize))
        cfg = ROUNDING_CONFIG[tick]
        price = tick.decimal * rng.randint(1, int(1 / tick.decimal) - 1)
        places = rng.choice([0, 1, 2, 3, 4])
        qty = D(rng.randint(10**places, 5000 * 10**places)).scaleb(-places)
        side = rng.choice([Side.BUY, Side.SELL])
        market = rng.random() < 0.5
        if not _pcc2_exact(qty, 2, pcc2_helpers.round_down):
            continue
        if market and not _pcc2_exact(price, cfg.price, pcc2_helpers.round_down):
            continue
        rc = PCC2_ROUNDING[tick.value]
        if market:
            _, m, t = ob.get_market_order_amounts(side.value, float(qty), float(price), rc)
            a = market_order_amounts(side, amount=qty, price=price, tick_size=tick)
        else:
            _, m, t = ob.get_order_amounts(side.value, float(qty), float(price), rc)
            a = limit_order_amounts(side, price=price, size=qty, tick_size=tick)
        assert (a.maker_amount, a.taker_amount) == (m, t), (side, qty, price, tick, market)
        compared += 1
    assert compared > 850


def test_pcc2_float_artifacts_are_not_copied() -> None:
    """Known PCC2 float bugs: floor(0.29 * 100) == 28 truncates 0.29 shares to 0.28 and a
    0.29 market price to 0.28. We give the exact (unified-SDK) result."""
    ob = OrderBuilder(None)
    rc = PCC2_ROUNDING["0.01"]
    _, m, t = ob.get_order_amounts("SELL", 0.29, 0.5, rc)
    assert (m, t) == (280000, 140000)  # PCC2 today
    ours = limit_order_amounts(Side.SELL, price=D("0.5"), size=D("0.29"), tick_size=TickSize.T0_01)
    assert (ours.maker_amount, ours.taker_amount) == (290000, 145000)
    _, m, t = ob.get_market_order_amounts("BUY", 10.0, 0.29, rc)
    assert (m, t) == (10000000, 35714200)  # priced at 0.28
    ours = market_order_amounts(Side.BUY, amount=D("10"), price=D("0.29"), tick_size=TickSize.T0_01)
    assert (ours.maker_amount, ours.taker_amount) == (10000000, 34482700)
