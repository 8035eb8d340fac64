"""OrderManager alone: venue reports (as core events) -> order state, ledger, records."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
from execution_kit import intent, make_manager

from polymarket_bot.core.clock import TestClock
from polymarket_bot.core.errors import InvalidValueError
from polymarket_bot.core.events import (
    MakerFill,
    OrderEventType,
    OrderStatus,
    OrderUpdate,
    TraderSide,
    TradeStatus,
    TradeUpdate,
)
from polymarket_bot.core.intents import MarketInfo, OrderIntent, SizeUnit
from polymarket_bot.core.orders import Order, OrderEvent, OrderEventKind, OrderFill, OrderState
from polymarket_bot.core.types import OrderType, Outcome, Side
from polymarket_bot.engine.execution import MemorySink, OrderManager

INFO = MarketInfo(
    condition_id="0xc1", yes_token="11", no_token="12", name="SIM-1", fee_rate=Decimal("0.02")
)
INFOS = {"11": INFO, "12": INFO}
ME, OTHER = "me-key", "other-key"
MY_ADDRESS = "0x" + "aa" * 20


def _manager() -> tuple[OrderManager, MemorySink, TestClock]:
    sink, clock = MemorySink(), TestClock()
    manager = make_manager(INFOS, starting_cash=Decimal(100), sink=sink, clock=clock)
    manager.set_identity(owner=ME, addresses=[MY_ADDRESS])
    return manager, sink, clock


def _sent(manager: OrderManager, order_id: str, *args: Any, **kwargs: Any) -> Order:
    order = manager.create(intent(INFO, *args, **kwargs))
    manager.register_venue_id(order, order_id)
    manager.mark_submitted(order, source="order_rest")
    return order


def _trade(
    trade_id: str,
    *,
    status: TradeStatus = TradeStatus.MATCHED,
    taker_order_id: str = "0xtaker",
    side: Side = Side.BUY,
    price: str = "0.40",
    size: str = "10",
    owner: str = OTHER,
    trader_side: TraderSide = TraderSide.MAKER,
    makers: tuple[MakerFill, ...] = (),
    asset_id: str = "11",
) -> TradeUpdate:
    return TradeUpdate(
        trade_id=trade_id,
        status=status,
        taker_order_id=taker_order_id,
        market="0xc1",
        asset_id=asset_id,
        side=side,
        price=Decimal(price),
        size=Decimal(size),
        fee_rate_bps=Decimal(200),
        outcome="Yes",
        owner=owner,
        maker_address="0x" + "bb" * 20,
        trader_side=trader_side,
        bucket_index=0,
        match_time_s=1_700_000_000,
        last_update_s=None,
        timestamp_ms=None,
        transaction_hash=None,
        maker_fills=makers,
    )


def _leg(
    order_id: str, size: str, price: str, *, owner: str = ME, side: Side | None = Side.BUY
) -> MakerFill:
    return MakerFill(
        order_id=order_id,
        owner=owner,
        maker_address=MY_ADDRESS if owner == ME else "0x" + "cc" * 20,
        matched_amount=Decimal(size),
        price=Decimal(price),
        fee_rate_bps=None,
        asset_id="11",
        outcome="Yes",
        side=side,
    )


def _update(
    order_id: str, status: OrderStatus | None, kind: OrderEventType, **kw: Any
) -> OrderUpdate:
    return OrderUpdate(
        order_id=order_id,
        status=status,
        event_type=kind,
        market="0xc1",
        asset_id="11",
        side=Side.BUY,
        price=Decimal("0.40"),
        original_size=Decimal(10),
        size_matched=Decimal(0),
        outcome="Yes",
        owner=ME,
        maker_address=MY_ADDRESS,
        order_type=kw.pop("order_type", "GTC"),
        expiration_s=kw.pop("expiration_s", None),
        created_at_s=None,
        timestamp_ms=None,
        status_reason=kw.pop("status_reason", ""),
    )


def test_taker_fill_booked_once_per_trade_whatever_the_channel() -> None:
    manager, sink, _ = _manager()
    order = _sent(manager, "0xo1", Side.BUY, "0.40", "10", order_type=OrderType.FAK)
    trade = _trade("t1", taker_order_id="0xo1", owner=ME, trader_side=TraderSide.TAKER)
    assert manager.apply_trade_update(trade, source="order_ws") == 1
    assert manager.apply_trade_update(trade, source="order_rest") == 0  # same (id, status)
    mined = _trade("t1", status=TradeStatus.MINED, taker_order_id="0xo1", owner=ME)
    assert manager.apply_trade_update(mined, source="order_rest") == 0
    assert manager.trade_book("t1").settlement is TradeStatus.MINED  # type: ignore[union-attr]
    assert order.state is OrderState.FILLED and order.filled_size == 10
    fee = Decimal("0.048")  # 10 x 0.02 x 0.4 x 0.6
    assert order.fees == fee
    assert manager.ledger.cash == Decimal(100) - Decimal(4) - fee
    assert len(sink.trades) == len(sink.fills) == 1
    assert sink.trades[0]["status"] == "filled" and sink.trades[0]["execution_mode"] == "order_ws"
    assert sink.trades[0]["fee"] == fee and sink.trades[0]["external"] is False
    assert [r["event"] for r in sink.orders] == ["submit", "filled"]


def test_a_trade_first_seen_late_is_booked_and_one_first_seen_failed_is_not() -> None:
    manager, sink, _ = _manager()
    late = _sent(manager, "0xo1", Side.BUY, "0.40", "10")
    never = _sent(manager, "0xo2", Side.BUY, "0.40", "10")
    confirmed = _trade("t1", status=TradeStatus.CONFIRMED, makers=(_leg("0xo1", "4", "0.40"),))
    failed = _trade("t2", status=TradeStatus.FAILED, makers=(_leg("0xo2", "4", "0.40"),))
    assert manager.apply_trade_update(confirmed, source="order_rest") == 1
    assert manager.apply_trade_update(failed, source="order_rest") == 0
    matched_later = _trade("t2", makers=(_leg("0xo2", "4", "0.40"),))
    assert manager.apply_trade_update(matched_later, source="order_ws") == 0
    assert late.filled_size == 4 and never.filled_size == 0
    assert len(sink.trades) == 1 and sink.trades[0]["settlement"] == "CONFIRMED"


def test_maker_legs_ours_and_external_and_cross_asset_sides() -> None:
    manager, sink, _ = _manager()
    a = _sent(manager, "0xa", Side.BUY, "0.40", "10")
    b = _sent(manager, "0xb", Side.BUY, "0.41", "10")
    external = _leg("0xmanual", "3", "0.42", side=None)  # placed by hand on our wallet
    foreign = _leg("0xsomeone", "5", "0.40", owner="stranger")
    trade = _trade(
        "t1",
        side=Side.SELL,
        size="20",
        makers=(_leg("0xb", "10", "0.41"), _leg("0xa", "2", "0.40"), external, foreign),
    )
    assert manager.apply_trade_update(trade, source="order_ws") == 3
    assert b.state is OrderState.FILLED and a.state is OrderState.PARTIAL
    ids = [t["fill_id"] for t in sink.trades]
    assert ids == ["t1:0xb", "t1:0xa", "t1:0xmanual"]
    ext = sink.trades[-1]
    # Same asset as the SELL taker: the maker bought.
    assert ext["external"] is True and ext["side"] == "BUY" and ext["order_id"] == "0xmanual"
    assert manager.ledger.external.processed == 1 and manager.ledger.external.opened == 0
    assert manager.ledger.position("0xc1", "yes").shares == 15  # type: ignore[union-attr]
    assert all(t["fee"] == 0 and t["liquidity"] == "maker" for t in sink.trades)


def test_external_taker_fill_of_our_wallet() -> None:
    manager, sink, _ = _manager()
    trade = _trade("t9", taker_order_id="0xmanual", owner=ME, trader_side=TraderSide.TAKER)
    assert manager.apply_trade_update(trade, source="order_ws") == 1
    assert sink.trades[0]["external"] is True and sink.trades[0]["fee"] > 0
    assert manager.ledger.external.opened == 1
    assert sink.orders == []  # no order of ours moved


def test_a_fill_the_order_cannot_take_is_booked_and_reported() -> None:
    manager, sink, _ = _manager()
    seen: list[tuple[Order, str]] = []
    manager.on_discrepancy = lambda order, msg: seen.append((order, msg))
    order = _sent(manager, "0xo1", Side.BUY, "0.40", "5")
    trade = _trade("t1", makers=(_leg("0xo1", "8", "0.40"),))
    assert manager.apply_trade_update(trade, source="order_ws") == 1
    assert order.filled_size == 0  # the order refused it ...
    assert manager.ledger.position("0xc1", "yes").shares == 8  # type: ignore[union-attr]
    assert seen and seen[0][0] is order and "exceeds remaining" in seen[0][1]
    assert manager.status()["discrepancies"] == 1
    assert sink.trades[0]["status"] == "partial"


def test_order_updates_move_state_and_write_records() -> None:
    manager, sink, clock = _manager()
    live = _sent(manager, "0xo1", Side.BUY, "0.40", "10")
    manager.apply_order_update(
        _update("0xo1", OrderStatus.LIVE, OrderEventType.PLACEMENT), source="order_ws"
    )
    assert live.state is OrderState.LIVE
    manager.apply_order_update(
        _update("0xo1", OrderStatus.CANCELED, OrderEventType.CANCELLATION), source="order_ws"
    )
    assert live.state is OrderState.CANCELED
    invalid = _sent(manager, "0xo2", Side.BUY, "0.40", "10")
    manager.apply_order_update(
        _update("0xo2", OrderStatus.INVALID, OrderEventType.CANCELLATION), source="order_ws"
    )
    assert invalid.state is OrderState.REJECTED
    exp = int(clock.time()) + 200
    gtd = _sent(manager, "0xo3", Side.BUY, "0.40", "10", order_type=OrderType.GTD, expiration_s=exp)
    manager.apply_order_update(
        _update("0xo3", OrderStatus.LIVE, OrderEventType.PLACEMENT), source="order_ws"
    )
    clock.advance(141)
    manager.apply_order_update(
        _update("0xo3", OrderStatus.CANCELED, OrderEventType.CANCELLATION), source="order_ws"
    )
    assert gtd.state is OrderState.EXPIRED
    assert (
        manager.apply_order_update(
            _update("0xnope", OrderStatus.LIVE, OrderEventType.PLACEMENT), source="order_ws"
        )
        is None
    )
    assert manager.unmatched_order_updates == 1
    events = [
        (r["client_id"], r["event"], r["status"]) for r in sink.orders if r["event"] != "submit"
    ]
    assert events == [
        (live.client_id, "cancel", "canceled"),
        (invalid.client_id, "reject", "rejected"),
        (gtd.client_id, "expired", "expired"),
    ]
    assert manager.status()["counts"] == {
        "submitted": 3,
        "partial": 0,
        "filled": 0,
        "canceled": 1,
        "expired": 1,
        "rejected": 1,
        "unknown": 0,
    }


def test_sizes_are_venue_shares_and_client_ids_unique() -> None:
    manager, sink, _ = _manager()
    odd = manager.create(intent(INFO, Side.BUY, "0.40", "3.3333"))
    assert odd.size == Decimal("3.33")
    usd = OrderIntent(
        strategy="s",
        market="0xc1",
        outcome=Outcome.YES,
        token_id="11",
        side=Side.BUY,
        size=Decimal("0.003"),
        limit_price=Decimal("0.40"),
        size_unit=SizeUnit.USD,
    )
    tiny = manager.create(usd)
    assert tiny.state is OrderState.REJECTED and sink.orders[-1]["event"] == "reject"
    assert manager.create(intent(INFO, Side.BUY, "0.40", "5"), client_id="mine").client_id == "mine"
    with pytest.raises(InvalidValueError):
        manager.create(intent(INFO, Side.BUY, "0.40", "5"), client_id="mine")
    assert manager.get("mine") is not None and manager.get("nothing") is None


def test_fees_fall_back_to_the_trade_rate_and_sells_are_capped() -> None:
    manager, _, _ = _manager()
    assert manager.taker_fee("99", Decimal("0.5"), Decimal(100), Side.BUY, Decimal(100)) == Decimal(
        "0.25"
    )  # unknown market: 1% from fee_rate_bps
    assert manager.taker_fee("11", Decimal("0.5"), Decimal(100), Side.BUY, None) == Decimal("0.5")
    # The 0.00001 minimum; a SELL's fee is capped at its proceeds (0.000001 here).
    tiny = (Decimal("0.0001"), Decimal("0.01"))
    assert manager.taker_fee("11", *tiny, Side.BUY, None) == Decimal("0.00001")
    assert manager.taker_fee("11", *tiny, Side.SELL, None) == Decimal("0.000001")


def test_resolution_exits_are_flushed_and_status_lists_orders() -> None:
    manager, sink, _ = _manager()
    order = _sent(manager, "0xo1", Side.BUY, "0.40", "10")
    manager.apply_trade_update(
        _trade("t1", makers=(_leg("0xo1", "10", "0.40"),)), source="order_ws"
    )
    pending = _sent(manager, "0xo2", Side.BUY, "0.30", "10")
    manager.apply_event(pending, OrderEventKind.ACCEPTED, source="order_rest")
    manager.ledger.resolve_market("0xc1", "yes", 1)
    exits = manager.flush_exits()
    assert [e.reason.value for e in exits] == ["resolution"]
    assert sink.exits[-1]["pnl"] == Decimal(6) and sink.exits[-1]["market_id"] == "SIM-1"
    status = manager.status()
    assert [o["client_id"] for o in status["pending"]] == [pending.client_id]
    assert [o["client_id"] for o in status["filled"]] == [order.client_id]
    assert status["open_orders"] == 1 and status["partial"] == []


_EVENT_KINDS = [
    OrderEventKind.ACCEPTED,
    OrderEventKind.PARTIAL_FILL,
    OrderEventKind.CANCELED,
    OrderEventKind.REQUEST_CANCEL,
    OrderEventKind.CANCEL_REJECTED,
    OrderEventKind.REJECTED,
    OrderEventKind.EXPIRED,
    OrderEventKind.STATUS_UNKNOWN,
]


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 7), st.integers(1, 400)), max_size=60))
@settings(max_examples=150, deadline=None)
def test_open_order_sums_follow_every_change(steps: list[tuple[int, int, int]]) -> None:
    """The manager's running open-order sums (what the risk engine's portfolio is built from)
    equal a recount over the open orders after any sequence of venue reports."""
    from polymarket_bot.core.portfolio import OpenOrderExposure

    manager, _, clock = _manager()
    orders = [
        _sent(manager, f"0x{i:02x}", side, price, size, outcome=outcome)
        for i, (side, price, size, outcome) in enumerate(
            [
                (Side.BUY, "0.40", "10", Outcome.YES),
                (Side.BUY, "0.35", "7.5", Outcome.YES),
                (Side.SELL, "0.60", "4", Outcome.YES),
                (Side.BUY, "0.20", "12", Outcome.NO),
                (Side.SELL, "0.90", "3", Outcome.NO),
                (Side.BUY, "0.55", "20", Outcome.NO),
            ]
        )
    ]
    for n, (which, kind_index, centi_shares) in enumerate(steps):
        order = orders[which]
        kind = _EVENT_KINDS[kind_index]
        clock.advance(0.001)
        if kind is OrderEventKind.PARTIAL_FILL:
            size = min(Decimal(centi_shares) / 100, order.remaining_size)
            if size <= 0 or not order.can_apply(kind):
                continue
            fill = OrderFill(f"f{n}", order.price, size, Decimal(0), clock.time_ms())
            manager._apply(order, OrderEvent(kind, clock.time_ms(), fill=fill), "test")
        elif kind is OrderEventKind.REQUEST_CANCEL:
            manager.request_cancel(order)
        else:
            manager.apply_event(order, kind, source="test")
        recount = OpenOrderExposure()
        for o in manager.orders():
            recount.add(o)
        assert manager.exposure.buys == recount.buys
        assert manager.exposure.sells == recount.sells
        assert {o.client_id for o in manager.open_orders()} == {
            o.client_id for o in manager.orders() if o.is_open
        }


def test_old_terminal_orders_and_settled_trades_are_forgotten_without_double_booking() -> None:
    """Long runs: memory holds the newest terminal orders and settled trades only. A late
    report about a forgotten order is unmatched, and a forgotten trade seen again books
    nothing (the ledger knows its fill ids)."""
    manager, sink, _ = _manager()
    manager.retain_terminal, manager.retain_settled = 3, 2
    filled = _sent(manager, "0xf0", Side.BUY, "0.40", "10", order_type=OrderType.FAK)
    taker = _trade("t0", taker_order_id="0xf0", owner=ME, trader_side=TraderSide.TAKER)
    assert manager.apply_trade_update(taker, source="order_ws") == 1
    confirmed = _trade(
        "t0", status=TradeStatus.CONFIRMED, taker_order_id="0xf0", owner=ME,
        trader_side=TraderSide.TAKER,
    )  # fmt: skip
    manager.apply_trade_update(confirmed, source="order_ws")
    cash = manager.ledger.cash
    for i in range(1, 6):  # five more orders end (cancelled): the oldest terminal ones go
        order = _sent(manager, f"0xc{i}", Side.BUY, "0.30", "5")
        manager.apply_event(order, OrderEventKind.ACCEPTED, source="order_ws")
        manager.apply_event(order, OrderEventKind.CANCELED, source="order_ws")
    for i in range(1, 4):  # three more trades settle (other accounts'): t0 is forgotten
        manager.apply_trade_update(_trade(f"x{i}", status=TradeStatus.CONFIRMED), source="rest")
    assert len(manager.orders()) == 3 and manager.forgotten_orders == 3
    assert manager.get(filled.client_id) is None and manager.by_venue_id("0xf0") is None
    assert manager.trade_book("t0") is None and manager.forgotten_trades >= 1
    # late reports: nothing breaks, nothing is booked twice
    assert manager.apply_trade_update(taker, source="order_rest") == 0
    assert manager.ledger.cash == cash and len(sink.trades) == 1
    before = manager.unmatched_order_updates
    manager.apply_order_update(
        _update("0xf0", OrderStatus.MATCHED, OrderEventType.UPDATE), source="order_rest"
    )
    assert manager.unmatched_order_updates == before + 1
    status = manager.status()
    assert status["forgotten_orders"] == 3 and status["filled"][0]["client_id"] == filled.client_id
