"""The exchange facade: validation texts, order types, complement matching, lifecycle, events."""

from __future__ import annotations

import dataclasses
import random
from decimal import Decimal

import pytest
from exchange_kit import (
    ALICE,
    BOB,
    CAROL,
    CID,
    NO,
    T0,
    UNIT,
    YES,
    Kit,
    condition_id,
    make_kit,
    token_id,
)

from polymarket_bot.core.types import OrderType, Side, TickSize
from polymarket_bot.sim.exchange import MSG, Exchange, SimConfig
from polymarket_bot.sim.fees import FeeSchedule
from polymarket_bot.sim.model import (
    LastTradePriceEvent,
    MarketResolvedEvent,
    MarketSpec,
    OrderEvent,
    OrderRejectedError,
    OrderRequest,
    PriceChangeEvent,
    TickSizeChangeEvent,
    TradeEvent,
)

BUY, SELL = Side.BUY, Side.SELL
GTC, GTD, FOK, FAK = OrderType.GTC, OrderType.GTD, OrderType.FOK, OrderType.FAK


@pytest.fixture
def kit() -> Kit:
    return make_kit()


def rejected(kit: Kit, fn: str, *args: object, **kw: object) -> str:
    with pytest.raises(OrderRejectedError) as info:
        getattr(kit, fn)(*args, **kw)
    assert kit.ex.check_invariants() == []
    return info.value.message


# --- resting, priority, partial fills ------------------------------------------------------


def test_gtc_rests_reserves_and_shows_in_both_books(kit: Kit) -> None:
    res = kit.buy(ALICE, "0.45", "10")
    assert res.to_wire() == {
        "success": True,
        "errorMsg": "",
        "orderID": res.order_id,
        "status": "live",
        "makingAmount": "",
        "takingAmount": "",
        "transactionsHashes": [],
        "tradeIDs": [],
    }
    acct = kit.ex.account(ALICE.address)
    assert acct.pusd == 1_000 * UNIT and acct.pusd_reserved == 4_500_000
    assert kit.levels(YES) == ([("0.45", "10")], [])
    assert kit.levels(NO) == ([], [("0.55", "10")])  # a YES bid is a NO ask at 1 - p
    view = kit.ex.open_orders(ALICE.owner)[0].to_wire()
    assert view == {
        "id": res.order_id,
        "status": "LIVE",
        "owner": ALICE.owner,
        "maker_address": ALICE.address,
        "market": CID,
        "asset_id": YES,
        "side": "BUY",
        "original_size": "10",
        "size_matched": "0",
        "price": "0.45",
        "outcome": "Yes",
        "expiration": "0",
        "order_type": "GTC",
        "associate_trades": [],
        "created_at": int(T0),
    }


def test_book_snapshot_order_and_formatting(kit: Kit) -> None:
    kit.buy(ALICE, "0.4", "100")
    kit.buy(ALICE, "0.45", "20.5")
    kit.buy(BOB, "0.45", "100")
    kit.ex.split(BOB.address, CID, 500 * UNIT)
    kit.sell(BOB, "0.6", "5")
    kit.sell(BOB, "0.55", "7.25")
    bids, asks = kit.levels(YES)
    assert bids == [("0.4", "100"), ("0.45", "120.5")]  # ascending, best last
    assert asks == [("0.6", "5"), ("0.55", "7.25")]  # descending, best last
    wire = kit.ex.book(YES).to_wire(1_700_000_000_123)
    assert list(wire) == [
        "market",
        "asset_id",
        "timestamp",
        "hash",
        "bids",
        "asks",
        "min_order_size",
        "tick_size",
        "neg_risk",
        "last_trade_price",
    ]
    assert wire["bids"][-1] == {"price": "0.45", "size": "120.5"}
    assert wire["min_order_size"] == "5" and wire["tick_size"] == "0.01"
    assert len(wire["hash"]) == 40


def test_price_then_time_priority(kit: Kit) -> None:
    for t in (ALICE, BOB, CAROL):
        kit.ex.split(t.address, CID, 100 * UNIT)
    first = kit.sell(ALICE, "0.52", "10")
    second = kit.sell(BOB, "0.52", "10")
    better = kit.sell(CAROL, "0.51", "10")
    res = kit.buy(CAROL, "0.52", "15")
    trades = [kit.ex.trade(t) for t in res.trade_ids]
    legs = [(leg.order_id, leg.matched_amount) for t in trades if t for leg in t.maker_legs]
    assert legs == [(better.order_id, 10 * UNIT), (first.order_id, 5 * UNIT)]
    assert [t.price_u for t in trades if t] == [510_000, 520_000]  # one trade per price
    assert [t.bucket_index for t in trades if t] == [0, 1]
    assert kit.ex.order(second.order_id).matched == 0  # type: ignore[union-attr]
    assert kit.ex.order(first.order_id).remaining == 5 * UNIT  # type: ignore[union-attr]


def test_partial_fill_taker_rests_remainder_at_its_price(kit: Kit) -> None:
    kit.ex.split(BOB.address, CID, 100 * UNIT)
    kit.sell(BOB, "0.5", "5")
    res = kit.buy(ALICE, "0.55", "10")
    assert res.status == "matched"
    assert (res.making_amount, res.taking_amount) == (2_500_000, 5 * UNIT)  # at the maker price
    order = kit.ex.order(res.order_id)
    assert order is not None and order.status == "LIVE" and order.matched == 5 * UNIT
    assert kit.levels(YES) == ([("0.55", "5")], [])
    acct = kit.ex.account(ALICE.address)
    assert acct.pusd == 997_500_000 and acct.pusd_reserved == 2_750_000
    assert kit.tokens(ALICE) == 5 * UNIT
    assert kit.pusd(BOB) == 902_500_000  # 1000 - 100 split + 2.5
    assert kit.ex.check_invariants() == []


# --- FOK / FAK / post-only ----------------------------------------------------------------


def test_fok_fills_entirely_or_is_killed_without_side_effects(kit: Kit) -> None:
    kit.ex.split(BOB.address, CID, 100 * UNIT)
    kit.sell(BOB, "0.5", "10")
    before = (kit.pusd(ALICE), kit.levels(YES))
    req = kit.order(ALICE, BUY, "0.5", "10.01", otype=FOK)
    with pytest.raises(OrderRejectedError) as info:
        kit.ex.place_order(req, kit.now)
    assert (
        info.value.message
        == "order couldn't be fully filled. FOK orders are fully filled or killed."
    )
    assert info.value.code == "FOK_ORDER_NOT_FILLED_ERROR"
    assert (kit.pusd(ALICE), kit.levels(YES)) == before
    # nothing recorded: the same id can be sent again once it can fill
    ok = kit.ex.place_order(
        dataclasses.replace(req, maker_amount=5 * UNIT, taker_amount=10 * UNIT),
        kit.now,
    )
    assert ok.status == "matched" and ok.taking_amount == 10 * UNIT
    assert kit.ex.order(ok.order_id).status == "MATCHED"  # type: ignore[union-attr]


def test_fak_fills_what_it_can_and_cancels_the_rest(kit: Kit) -> None:
    kit.ex.split(BOB.address, CID, 100 * UNIT)
    kit.sell(BOB, "0.5", "5")
    kit.ex.drain_events()
    res = kit.buy(ALICE, "0.6", "12", otype=FAK)
    assert res.status == "matched" and res.taking_amount == 5 * UNIT
    order = kit.ex.order(res.order_id)
    assert order is not None and order.status == "CANCELED" and order.remaining == 7 * UNIT
    assert kit.levels(YES) == ([], [])
    assert kit.ex.account(ALICE.address).pusd_reserved == 0
    mine = [
        e for e in kit.ex.drain_events() if isinstance(e, OrderEvent) and e.owners == (ALICE.owner,)
    ]
    assert [(e.kind, e.order["status"], e.order["size_matched"]) for e in mine] == [
        ("PLACEMENT", "LIVE", "5"),
        ("CANCELLATION", "CANCELED", "5"),
    ]
    msg = rejected(kit, "buy", ALICE, "0.6", "10", otype=FAK)
    assert msg == (
        "no orders found to match with FAK order. "
        "FAK orders are partially filled or killed if no match is found."
    )


def test_post_only(kit: Kit) -> None:
    kit.buy(ALICE, "0.5", "10")
    kit.ex.split(BOB.address, CID, 100 * UNIT)
    assert rejected(kit, "sell", BOB, "0.5", "10", post_only=True) == (
        "invalid post-only order: order crosses book"
    )
    for otype in (FOK, FAK):
        assert rejected(kit, "sell", BOB, "0.5", "10", otype=otype, post_only=True) == (
            "invalid post-only order: only GTC and GTD order types are allowed"
        )
    assert kit.sell(BOB, "0.51", "10", post_only=True).status == "live"
    # a NO BUY at 0.5 is a YES ask at 0.5: it crosses the YES bid too
    assert rejected(kit, "buy", CAROL, "0.5", "10", token=NO, post_only=True) == MSG.POST_ONLY_CROSS


# --- validation texts ----------------------------------------------------------------------


def test_tick_size_rule_and_bounds(kit: Kit) -> None:
    req = kit.order(ALICE, BUY, "0.555", "10")
    with pytest.raises(OrderRejectedError) as info:
        kit.ex.place_order(req, kit.now)
    assert info.value.message == (
        f"order {req.order_id} is invalid. Price (0.555) breaks minimum tick size rule: 0.01"
    )
    assert info.value.code == "INVALID_ORDER_MIN_TICK_SIZE"
    for price in ("0.995", "0.001", "0.999"):
        assert "breaks minimum tick size rule: 0.01" in rejected(kit, "buy", ALICE, price, "10")
    assert kit.buy(ALICE, "0.01", "10").status == "live"
    assert kit.buy(ALICE, "0.99", "10").status == "live"


def test_market_buy_with_truncated_amounts_is_accepted(kit: Kit) -> None:
    kit.ex.split(BOB.address, CID, 100 * UNIT)
    kit.sell(BOB, "0.55", "50")
    # market BUY $25 @ 0.55 (§6.4): 25000000 / 45454500 is just above 0.55
    req = OrderRequest(
        "0x" + "ab" * 32, ALICE.owner, ALICE.address, YES, BUY, 25_000_000, 45_454_500, FOK
    )
    res = kit.ex.place_order(req, kit.now)
    assert res.taking_amount == 45_454_500
    assert res.making_amount == 45_454_500 * 550_000 // UNIT == 24_999_975
    assert kit.ex.check_invariants() == []


def test_min_size_applies_to_resting_orders(kit: Kit) -> None:
    req = kit.order(ALICE, BUY, "0.5", "4.99")
    with pytest.raises(OrderRejectedError) as info:
        kit.ex.place_order(req, kit.now)
    assert (
        info.value.message
        == f"order {req.order_id} is invalid. Size (4.99) lower than the minimum: 5"
    )
    kit.ex.split(BOB.address, CID, 100 * UNIT)
    kit.sell(BOB, "0.5", "10")
    assert kit.buy(ALICE, "0.5", "2", otype=FOK).taking_amount == 2 * UNIT  # FOK: $1, no share min


def test_marketable_buy_needs_one_dollar(kit: Kit) -> None:
    kit.ex.split(BOB.address, CID, 100 * UNIT)
    kit.sell(BOB, "0.1", "50")
    assert rejected(kit, "buy", ALICE, "0.1", "5") == (
        "invalid amount for a marketable BUY order ($0.5), min size: $1"
    )
    assert rejected(kit, "buy", ALICE, "0.1", "9", otype=FAK) == (
        "invalid amount for a marketable BUY order ($0.9), min size: $1"
    )
    assert kit.buy(ALICE, "0.09", "5").status == "live"  # $0.45 but not marketable
    assert kit.sell(BOB, "0.09", "5").status == "matched"  # SELLs have no $1 rule


def test_duplicate_order_id(kit: Kit) -> None:
    res = kit.buy(ALICE, "0.5", "10")
    kit.ex.cancel_order(ALICE.owner, res.order_id, kit.now)
    msg = rejected(kit, "buy", ALICE, "0.4", "10", order_id=res.order_id)
    assert msg == f"order {res.order_id} is invalid. Duplicated."


def test_not_enough_balance(kit: Kit) -> None:
    kit.buy(ALICE, "0.5", "1000")  # reserves 500
    msg = rejected(kit, "buy", ALICE, "0.6", "1000")
    assert msg == (
        "not enough balance / allowance: the balance is not enough -> balance: 1000000000, "
        "sum of matched orders: 500000000, order amount (inc. fees): 600000000"
    )
    msg = rejected(kit, "sell", BOB, "0.5", "10")  # holds no tokens
    assert msg.startswith("not enough balance / allowance")
    kit.ex.split(BOB.address, CID, 10 * UNIT)
    kit.sell(BOB, "0.7", "6")
    assert rejected(kit, "sell", BOB, "0.7", "5").endswith(
        "balance: 10000000, sum of matched orders: 6000000, order amount (inc. fees): 5000000"
    )


def test_gtd_expiration_rules_and_expiry(kit: Kit) -> None:
    now = int(kit.now)
    assert rejected(kit, "buy", ALICE, "0.5", "10", otype=GTD, expiration=now + 179) == (
        "invalid expiration"
    )
    assert rejected(kit, "buy", ALICE, "0.5", "10", otype=GTD, expiration=0) == MSG.EXPIRATION
    res = kit.buy(ALICE, "0.5", "10", otype=GTD, expiration=now + 300)
    assert kit.ex.expire(now + 239.0) == []  # treated as expiring 60 s early
    kit.ex.drain_events()
    kit.ex.advance(now + 240.0)
    order = kit.ex.order(res.order_id)
    assert order is not None and order.status == "CANCELED"
    assert kit.ex.account(ALICE.address).pusd_reserved == 0
    kinds = [(type(e).__name__, getattr(e, "kind", "")) for e in kit.ex.drain_events()]
    assert kinds == [("OrderEvent", "CANCELLATION"), ("PriceChangeEvent", "")]


def test_closed_or_unknown_market(kit: Kit) -> None:
    req = OrderRequest(
        "0x" + "01" * 32, ALICE.owner, ALICE.address, token_id(9), BUY, UNIT, 2 * UNIT
    )
    with pytest.raises(OrderRejectedError, match="Invalid token id"):
        kit.ex.place_order(req, kit.now)
    kit.ex.set_accepting_orders(CID, False)
    assert rejected(kit, "buy", ALICE, "0.5", "10") == MSG.NOT_READY


# --- complement matching ------------------------------------------------------------------


def test_buy_yes_against_buy_no_mints_a_complete_set(kit: Kit) -> None:
    no_bid = kit.buy(BOB, "0.4", "10", token=NO)
    assert kit.levels(YES) == ([], [("0.6", "10")])
    res = kit.buy(ALICE, "0.65", "10")
    assert res.status == "matched"
    assert (res.making_amount, res.taking_amount) == (6 * UNIT, 10 * UNIT)  # at the maker price
    assert kit.tokens(ALICE, YES) == 10 * UNIT and kit.tokens(BOB, NO) == 10 * UNIT
    assert kit.pusd(ALICE) == 994 * UNIT and kit.pusd(BOB) == 996 * UNIT
    assert kit.ex.accounts.locked[CID] == 10 * UNIT
    trade = kit.ex.trade(res.trade_ids[0])
    assert trade is not None
    wire = trade.to_wire(BOB.owner)
    assert wire["trader_side"] == "MAKER" and wire["asset_id"] == YES and wire["price"] == "0.6"
    assert wire["maker_orders"] == [
        {
            "order_id": no_bid.order_id,
            "owner": BOB.owner,
            "maker_address": BOB.address,
            "matched_amount": "10",
            "price": "0.4",
            "fee_rate_bps": "0",
            "asset_id": NO,
            "outcome": "No",
            "side": "BUY",
        }
    ]
    assert kit.ex.check_invariants() == []


def test_sell_yes_against_sell_no_merges(kit: Kit) -> None:
    kit.ex.split(ALICE.address, CID, 10 * UNIT)
    kit.ex.split(BOB.address, CID, 10 * UNIT)
    kit.sell(BOB, "0.45", "10", token=NO)  # a YES bid at 0.55
    assert kit.levels(YES) == ([("0.55", "10")], [])
    res = kit.sell(ALICE, "0.5", "10")
    assert (res.making_amount, res.taking_amount) == (10 * UNIT, 5_500_000)
    assert kit.pusd(ALICE) == 995_500_000 and kit.pusd(BOB) == 994_500_000
    assert kit.ex.accounts.locked[CID] == 10 * UNIT  # 20 split, 10 merged back
    assert kit.tokens(ALICE, YES) == 0 and kit.tokens(BOB, NO) == 0
    assert kit.ex.check_invariants() == []


def test_no_token_trades_against_its_own_asks_and_the_yes_bids(kit: Kit) -> None:
    kit.ex.split(BOB.address, CID, 20 * UNIT)
    kit.sell(BOB, "0.42", "5", token=NO)  # NO ask 0.42 (YES bid 0.58)
    kit.buy(CAROL, "0.59", "5")  # YES bid 0.59 = NO ask 0.41
    assert kit.levels(NO) == ([], [("0.42", "5"), ("0.41", "5")])
    res = kit.buy(ALICE, "0.42", "10", token=NO)
    trades = [kit.ex.trade(t) for t in res.trade_ids]
    assert [(t.price_u, t.maker_legs[0].asset_id) for t in trades if t] == [
        (410_000, YES),
        (420_000, NO),
    ]
    assert kit.tokens(ALICE, NO) == 10 * UNIT and kit.tokens(CAROL, YES) == 5 * UNIT
    assert kit.pusd(ALICE) == 1_000 * UNIT - 2_050_000 - 2_100_000
    assert kit.ex.check_invariants() == []


# --- cancels -----------------------------------------------------------------------------


def test_cancel_releases_reservation_and_reports(kit: Kit) -> None:
    a = kit.buy(ALICE, "0.5", "10")
    kit.ex.split(ALICE.address, CID, 10 * UNIT)
    b = kit.sell(ALICE, "0.6", "10")
    acct = kit.ex.account(ALICE.address)
    assert (acct.pusd_reserved, acct.token_reserved(YES)) == (5 * UNIT, 10 * UNIT)
    res = kit.ex.cancel_orders(ALICE.owner, [a.order_id, a.order_id, "0xnope"], kit.now)
    assert res.to_wire() == {
        "canceled": [a.order_id],
        "not_canceled": {"0xnope": "Order not found"},
    }
    assert acct.pusd_reserved == 0
    again = kit.ex.cancel_order(ALICE.owner, a.order_id, kit.now)
    assert again.not_canceled == {a.order_id: "already canceled or matched"}
    assert kit.ex.cancel_order(BOB.owner, b.order_id, kit.now).not_canceled == {
        b.order_id: "Order not found"
    }
    assert kit.ex.cancel_all(ALICE.owner, kit.now).canceled == (b.order_id,)
    assert acct.token_reserved(YES) == 0 and kit.levels(YES) == ([], [])


def test_cancel_market_orders_by_asset(kit: Kit) -> None:
    a = kit.buy(ALICE, "0.5", "10")
    b = kit.buy(ALICE, "0.3", "10", token=NO)
    assert kit.ex.cancel_market_orders(ALICE.owner, kit.now, asset_id=NO).canceled == (b.order_id,)
    assert kit.ex.cancel_market_orders(ALICE.owner, kit.now, market="0xother").canceled == ()
    assert kit.ex.cancel_market_orders(ALICE.owner, kit.now, market=CID).canceled == (a.order_id,)


# --- fees --------------------------------------------------------------------------------


def test_taker_pays_fee_maker_pays_none() -> None:
    kit = make_kit(fees=FeeSchedule(rate=Decimal("0.07")))
    kit.ex.split(BOB.address, CID, 200 * UNIT)
    kit.sell(BOB, "0.4", "100")
    bob_before = kit.pusd(BOB)
    res = kit.buy(ALICE, "0.4", "100")
    fee = 100 * UNIT * 7 // 100 * 24 // 100  # 100 x 0.07 x 0.4 x 0.6 = 1.68
    assert fee == 1_680_000
    assert kit.pusd(ALICE) == 1_000 * UNIT - 40 * UNIT - fee
    assert kit.pusd(BOB) == bob_before + 40 * UNIT
    assert kit.ex.accounts.fee_account.pusd == fee
    trade = kit.ex.trade(res.trade_ids[0])
    assert trade is not None and trade.to_wire()["fee_rate_bps"] == "700"
    # a SELL taker pays the fee out of its proceeds
    kit.buy(CAROL, "0.5", "10")
    kit.sell(ALICE, "0.5", "10")
    assert kit.ex.accounts.fee_account.pusd == fee + 175_000  # 10 x 0.07 x 0.25
    assert kit.ex.check_invariants() == []


def test_fee_counts_in_the_balance_check() -> None:
    kit = make_kit(fees=FeeSchedule(rate=Decimal("0.07")))
    kit.ex.split(BOB.address, CID, 200 * UNIT)
    kit.sell(BOB, "0.5", "100")
    kit.ex.set_balance(ALICE.address, pusd=50 * UNIT)
    msg = rejected(kit, "buy", ALICE, "0.5", "100")
    assert msg.endswith("order amount (inc. fees): 51750000")


# --- resolution --------------------------------------------------------------------------


def test_resolution_cancels_pays_and_closes(kit: Kit) -> None:
    kit.buy(BOB, "0.4", "10", token=NO)
    kit.buy(ALICE, "0.6", "10")  # mint: ALICE 10 YES, BOB 10 NO
    resting = kit.buy(CAROL, "0.3", "10")
    kit.ex.drain_events()
    kit.ex.resolve_market(CID, YES, kit.now)
    order = kit.ex.order(resting.order_id)
    assert order is not None and order.status == "CANCELED_MARKET_RESOLVED"
    assert kit.pusd(ALICE) == 994 * UNIT + 10 * UNIT
    assert kit.pusd(BOB) == 996 * UNIT and kit.tokens(BOB, NO) == 0
    assert kit.ex.account(CAROL.address).pusd_reserved == 0
    events = kit.ex.drain_events()
    resolved = [e for e in events if isinstance(e, MarketResolvedEvent)]
    assert resolved and resolved[0].to_wire()["winning_outcome"] == "Yes"
    assert {e.status for e in events if isinstance(e, TradeEvent)} == {"CONFIRMED"}
    assert rejected(kit, "buy", ALICE, "0.5", "10") == MSG.NOT_READY
    assert kit.ex.check_invariants() == []
    assert kit.ex.accounts.total_pusd() == kit.ex.accounts.pusd_supply


def test_neg_risk_event_picks_one_winner() -> None:
    ex = Exchange(SimConfig(initial_pusd=100 * UNIT))
    specs = [
        MarketSpec(
            condition_id(i),
            token_id(2 * i),
            token_id(2 * i + 1),
            neg_risk=True,
            neg_risk_event_id="ev",
        )
        for i in range(3)
    ]
    for spec in specs:
        ex.add_market(spec)
        ex.split(ALICE.address, spec.condition_id, 10 * UNIT)
    ex.resolve_event("ev", specs[1].condition_id, T0)
    winners = [ex.market(s.condition_id).winner_token_id for s in specs]  # type: ignore[union-attr]
    assert winners == [specs[0].no_token_id, specs[1].yes_token_id, specs[2].no_token_id]
    assert ex.account(ALICE.address).pusd == 100 * UNIT  # 3 x 10 split, 3 x 10 paid back
    with pytest.raises(ValueError):
        ex.resolve_event("ev", condition_id(99), T0)


# --- tick size change --------------------------------------------------------------------


def test_tick_size_change_keeps_resting_orders_and_enforces_new_grid() -> None:
    kit = make_kit(tick=TickSize.T0_001)
    kit.buy(ALICE, "0.505", "10")
    kit.ex.drain_events()
    kit.ex.set_tick_size(CID, TickSize.T0_01, kit.now)
    events = kit.ex.drain_events()
    assert [e.to_wire()["new_tick_size"] for e in events if isinstance(e, TickSizeChangeEvent)] == [
        "0.01",
        "0.01",
    ]
    assert kit.levels(YES)[0] == [("0.505", "10")]
    assert "breaks minimum tick size rule: 0.01" in rejected(kit, "buy", ALICE, "0.505", "10")
    assert kit.ex.book(YES).tick_size == "0.01"


# --- heartbeats --------------------------------------------------------------------------


def test_heartbeat_dead_mans_switch() -> None:
    kit = make_kit(config=SimConfig(initial_pusd=1_000 * UNIT, heartbeat_buffer_s=2.0))
    a = kit.buy(ALICE, "0.5", "10")
    b = kit.buy(BOB, "0.4", "10")
    hb = kit.ex.heartbeat(ALICE.owner, "", T0)
    with pytest.raises(Exception) as info:
        kit.ex.heartbeat(ALICE.owner, "wrong", T0 + 1)
    assert getattr(info.value, "expected_id", None) == hb
    hb = kit.ex.heartbeat(ALICE.owner, hb, T0 + 5)
    kit.ex.advance(T0 + 17)  # 5 + 10 + 2 = 17: not yet
    assert kit.ex.order(a.order_id).status == "LIVE"  # type: ignore[union-attr]
    kit.ex.advance(T0 + 17.01)
    assert kit.ex.order(a.order_id).status == "CANCELED"  # type: ignore[union-attr]
    assert kit.ex.order(b.order_id).status == "LIVE"  # type: ignore[union-attr]  # BOB never started one
    with pytest.raises(Exception) as info:
        kit.ex.heartbeat(ALICE.owner, hb, T0 + 18)
    assert getattr(info.value, "expected_id", None) == ""
    assert kit.ex.heartbeat(ALICE.owner, "", T0 + 18)


# --- trade lifecycle ---------------------------------------------------------------------


def test_trade_status_lifecycle_and_events(kit: Kit) -> None:
    kit.ex.split(BOB.address, CID, 100 * UNIT)
    kit.sell(BOB, "0.5", "10")
    kit.ex.drain_events()
    res = kit.buy(ALICE, "0.5", "10")
    tid = res.trade_ids[0]
    assert res.transaction_hashes[0].startswith("0x") and len(res.transaction_hashes[0]) == 66
    first = [e for e in kit.ex.drain_events() if isinstance(e, TradeEvent)]
    assert [(e.status, e.owners) for e in first] == [("MATCHED", (ALICE.owner, BOB.owner))]
    taker_view, maker_view = first[0].to_wire(ALICE.owner), first[0].to_wire(BOB.owner)
    assert taker_view["trader_side"] == "TAKER" and maker_view["trader_side"] == "MAKER"
    for key in (
        "id",
        "market",
        "asset_id",
        "owner",
        "maker_address",
        "taker_order_id",
        "side",
        "trader_side",
        "price",
        "size",
        "outcome",
        "status",
        "fee_rate_bps",
        "bucket_index",
        "maker_orders",
        "match_time",
        "last_update",
        "event_type",
        "type",
        "timestamp",
    ):
        assert key in taker_view
    kit.ex.advance(T0 + 1.9)
    assert kit.ex.trade(tid).status == "MATCHED"  # type: ignore[union-attr]
    kit.ex.advance(T0 + 100)  # catches up both steps, each at its own due time
    steps = [(e.status, e.last_update) for e in kit.ex.drain_events() if isinstance(e, TradeEvent)]
    assert steps == [("MINED", int(T0) + 2), ("CONFIRMED", int(T0) + 6)]
    assert kit.ex.trades(BOB.owner)[0].to_wire(BOB.owner)["status"] == "CONFIRMED"


def test_failed_trade_reverses_balances_but_not_orders() -> None:
    kit = make_kit(
        fees=FeeSchedule(rate=Decimal("0.05")),
        config=SimConfig(initial_pusd=1_000 * UNIT, failure_rate=1.0),
    )
    kit.ex.split(BOB.address, CID, 100 * UNIT)
    maker = kit.sell(BOB, "0.5", "10")
    kit.buy(CAROL, "0.3", "10", token=NO)  # YES ask at 0.7 for a mint leg
    snapshot = {
        t: (kit.pusd(t), kit.tokens(t, YES), kit.tokens(t, NO)) for t in (ALICE, BOB, CAROL)
    }
    res = kit.buy(ALICE, "0.7", "20")
    assert kit.ex.accounts.fee_account.pusd > 0
    kit.ex.advance(T0 + 2)
    assert {kit.ex.trade(t).status for t in res.trade_ids} == {"RETRYING"}  # type: ignore[union-attr]
    kit.ex.advance(T0 + 8)
    assert {kit.ex.trade(t).status for t in res.trade_ids} == {"FAILED"}  # type: ignore[union-attr]
    after = {t: (kit.pusd(t), kit.tokens(t, YES), kit.tokens(t, NO)) for t in (ALICE, BOB, CAROL)}
    # CAROL's resting order reservation was consumed by the fill; her pUSD comes back
    assert after == snapshot
    assert kit.ex.accounts.fee_account.pusd == 0
    assert kit.ex.accounts.locked[CID] == 100 * UNIT
    assert kit.ex.order(maker.order_id).status == "MATCHED"  # type: ignore[union-attr]
    assert kit.ex.check_invariants() == []


def test_trade_failure_share_is_seeded() -> None:
    def statuses(seed: int) -> list[str]:
        cfg = SimConfig(initial_pusd=10_000 * UNIT, failure_rate=0.5)
        ex = Exchange(cfg, rng=random.Random(seed))
        ex.add_market(MarketSpec(CID, YES, NO))
        kit = Kit(ex)
        ex.split(BOB.address, CID, 1_000 * UNIT)
        for _ in range(20):
            kit.sell(BOB, "0.5", "5")
            kit.buy(ALICE, "0.5", "5")
        ex.advance(T0 + 100)
        return [t.status for t in ex.trades(ALICE.owner)]

    a = statuses(7)
    assert a == statuses(7)
    assert set(a) == {"CONFIRMED", "FAILED"}


# --- market events -----------------------------------------------------------------------


def test_price_change_and_last_trade_events(kit: Kit) -> None:
    kit.buy(ALICE, "0.45", "10")
    events = kit.ex.drain_events()
    change = next(e for e in events if isinstance(e, PriceChangeEvent))
    assert change.to_wire()["price_changes"] == [
        {
            "asset_id": YES,
            "price": "0.45",
            "size": "10",
            "side": "BUY",
            "hash": change.changes[0].hash,
            "best_bid": "0.45",
            "best_ask": "1",
        },
        {
            "asset_id": NO,
            "price": "0.55",
            "size": "10",
            "side": "SELL",
            "hash": change.changes[1].hash,
            "best_bid": "0",
            "best_ask": "0.55",
        },
    ]
    placement = next(e for e in events if isinstance(e, OrderEvent))
    wire = placement.to_wire()
    assert (wire["event_type"], wire["type"], wire["status"]) == ("order", "PLACEMENT", "LIVE")
    assert wire["associate_trades"] is None and wire["created_at"] == str(int(T0))
    kit.ex.split(BOB.address, CID, 10 * UNIT)
    kit.sell(BOB, "0.45", "5.5")
    events = kit.ex.drain_events()
    ltp = [e.to_wire() for e in events if isinstance(e, LastTradePriceEvent)]
    assert [(w["asset_id"], w["price"], w["side"], w["size"]) for w in ltp] == [
        (YES, "0.45", "SELL", "5.5")
    ]
    sizes = [
        (c.asset_id, c.size) for e in events if isinstance(e, PriceChangeEvent) for c in e.changes
    ]
    assert sizes == [(YES, "4.5"), (NO, "4.5")]
    updates = [e for e in events if isinstance(e, OrderEvent) and e.kind == "UPDATE"]
    assert [(e.owners, e.order["size_matched"], e.order["status"]) for e in updates] == [
        ((ALICE.owner,), "5.5", "LIVE")
    ]
    snap = kit.ex.book(YES)
    assert (snap.last_trade_price, snap.last_trade_side) == ("0.45", "SELL")
    assert kit.ex.book(NO).last_trade_price == "0.55"


def test_same_seed_same_ids_and_hashes() -> None:
    def run() -> list[object]:
        kit = make_kit()
        kit.ex.split(BOB.address, CID, 50 * UNIT)
        kit.sell(BOB, "0.5", "10")
        res = kit.buy(ALICE, "0.5", "10")
        hb = kit.ex.heartbeat(ALICE.owner, "", T0)
        return [
            res.trade_ids,
            res.transaction_hashes,
            hb,
            [e.to_wire() for e in kit.ex.drain_events() if not isinstance(e, TradeEvent)],
        ]

    first = run()
    assert first == run()
    trade_id = first[0][0]  # type: ignore[index]
    assert [len(p) for p in trade_id.split("-")] == [8, 4, 4, 4, 12]
