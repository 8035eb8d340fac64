"""Order state machine: the table, each documented rule, fill accounting, and properties."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polymarket_bot.core.errors import IllegalTransitionError, InvalidValueError, VenueStateError
from polymarket_bot.core.orders import (
    DUST,
    LOCAL_COMMANDS,
    TRANSITIONS,
    Order,
    OrderEvent,
    OrderEventKind,
    OrderFill,
    OrderState,
)
from polymarket_bot.core.types import OrderType, Outcome, Side

D = Decimal
S = OrderState
E = OrderEventKind
HASH = "0x" + "ab" * 32


def new_order(size: str = "10", price: str = "0.5") -> Order:
    return Order(
        client_id="c1",
        market="0xm",
        asset_id="123",
        outcome=Outcome.YES,
        side=Side.BUY,
        price=D(price),
        size=D(size),
        order_type=OrderType.GTC,
        venue_order_id=HASH,
        created_ms=1_000,
    )


def ev(kind: OrderEventKind, ts: int = 2_000, **kw: object) -> OrderEvent:
    return OrderEvent(kind, ts, **kw)  # type: ignore[arg-type]


def fill(fill_id: str, size: str, price: str = "0.5", fee: str = "0") -> OrderEvent:
    return OrderEvent(E.FILL, 3_000, fill=OrderFill(fill_id, D(price), D(size), D(fee), 3_000))


def partial(fill_id: str, size: str, price: str = "0.5") -> OrderEvent:
    return OrderEvent(E.PARTIAL_FILL, 3_000, fill=OrderFill(fill_id, D(price), D(size)))


# A legal path into every state (fills of 4 of 10 where a fill is needed).
PATHS: dict[OrderState, list[OrderEvent]] = {
    S.NEW: [],
    S.SUBMITTED: [ev(E.SUBMIT)],
    S.UNKNOWN: [ev(E.SUBMIT), ev(E.STATUS_UNKNOWN)],
    S.LIVE: [ev(E.SUBMIT), ev(E.ACCEPTED)],
    S.PARTIAL: [ev(E.SUBMIT), ev(E.ACCEPTED), partial("f0", "4")],
    S.CANCEL_PENDING: [ev(E.SUBMIT), ev(E.ACCEPTED), ev(E.REQUEST_CANCEL)],
    S.FILLED: [ev(E.SUBMIT), ev(E.ACCEPTED), fill("f0", "10")],
    S.CANCELED: [ev(E.SUBMIT), ev(E.ACCEPTED), ev(E.CANCELED)],
    S.REJECTED: [ev(E.SUBMIT), ev(E.REJECTED)],
    S.EXPIRED: [ev(E.SUBMIT), ev(E.ACCEPTED), ev(E.EXPIRED)],
}


def order_in(state: OrderState) -> Order:
    order = new_order()
    for event in PATHS[state]:
        order.apply(event)
    assert order.state is state
    return order


def event_for(kind: OrderEventKind) -> OrderEvent:
    if kind in (E.FILL, E.PARTIAL_FILL):
        return OrderEvent(kind, 5_000, fill=OrderFill("fx", D("0.5"), D("1")))
    return ev(kind, 5_000)


def _snapshot(order: Order) -> tuple[object, ...]:
    return (
        order.state,
        order.filled_size,
        order.filled_notional,
        order.fees,
        dict(order.fills),
        list(order.history),
        order.updated_ms,
        order.venue_order_id,
    )


# -- the table ---------------------------------------------------------------------------------


def test_table_covers_every_state_and_targets_are_states() -> None:
    assert set(TRANSITIONS) == set(OrderState)
    for row in TRANSITIONS.values():
        assert all(
            isinstance(k, OrderEventKind) and isinstance(v, OrderState) for k, v in row.items()
        )
    assert {E.SUBMIT, E.REQUEST_CANCEL, E.REJECT_LOCALLY} == LOCAL_COMMANDS


@pytest.mark.parametrize("state", list(OrderState))
@pytest.mark.parametrize("kind", list(OrderEventKind))
def test_every_missing_pair_raises_the_right_error_and_changes_nothing(
    state: OrderState, kind: OrderEventKind
) -> None:
    order = order_in(state)
    legal = kind in TRANSITIONS[state]
    if kind in (E.FILL, E.PARTIAL_FILL):
        # sizes decide which of the two applies; a 1-share fill of the remaining 10/6 is partial
        legal = E.PARTIAL_FILL in TRANSITIONS[state] and order.remaining_size > 1
    before = _snapshot(order)
    if legal:
        order.apply(event_for(kind))
        assert order.state in TRANSITIONS[state].values() or order.state is S.PARTIAL
        return
    expected = IllegalTransitionError if kind.is_local else VenueStateError
    with pytest.raises(expected):
        order.apply(event_for(kind))
    assert _snapshot(order) == before


def test_terminal_states() -> None:
    assert {s for s in S if s.is_terminal} == {S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED}
    assert not new_order().is_open and order_in(S.UNKNOWN).is_open
    assert order_in(S.FILLED).is_terminal and not order_in(S.FILLED).is_open


# -- lifecycle and accounting ------------------------------------------------------------------


def test_happy_path_with_exact_average_price_and_fees() -> None:
    order = new_order(size="10", price="0.52")
    order.apply(ev(E.SUBMIT, 1_100))
    order.apply(ev(E.ACCEPTED, 1_200, venue_order_id=HASH))
    t = order.apply(OrderEvent(E.FILL, 1_300, fill=OrderFill("t1", D("0.52"), D(3), D("0.01"))))
    assert t.event is E.PARTIAL_FILL and t.to_state is S.PARTIAL  # sizes decide, not the label
    order.apply(OrderEvent(E.FILL, 1_400, fill=OrderFill("t2", D("0.50"), D(7), D("0.02"))))
    assert order.state is S.FILLED
    assert order.filled_size == D(10) and order.remaining_size == 0
    assert order.filled_notional == D("5.06")  # 3*0.52 + 7*0.50
    assert order.avg_fill_price == D("0.506")
    assert order.fees == D("0.03")
    assert [h.to_state for h in order.history] == [S.SUBMITTED, S.LIVE, S.PARTIAL, S.FILLED]
    assert order.updated_ms == 1_400
    assert new_order().avg_fill_price is None


def test_partial_label_completing_the_order_is_a_fill() -> None:
    order = order_in(S.LIVE)
    t = order.apply(partial("t1", "10"))
    assert t.event is E.FILL and order.state is S.FILLED


def test_duplicate_fill_id_is_counted_once() -> None:
    order = order_in(S.LIVE)
    order.apply(partial("t1", "4"))
    n = len(order.history)
    t = order.apply(partial("t1", "4"))
    assert t.note == "duplicate" and t.from_state is t.to_state is S.PARTIAL
    assert order.filled_size == D(4) and len(order.history) == n


def test_overfill_beyond_dust_is_a_venue_error() -> None:
    order = order_in(S.LIVE)
    order.apply(partial("t1", "4"))
    before = _snapshot(order)
    with pytest.raises(VenueStateError):
        order.apply(fill("t2", "6.01"))
    assert _snapshot(order) == before


def test_overfill_within_dust_is_snapped() -> None:
    order = order_in(S.LIVE)
    order.apply(partial("t1", "4"))
    t = order.apply(fill("t2", "6.009999"))
    assert t.note == "dust snapped" and order.state is S.FILLED
    assert order.filled_size == D(10) and order.fills["t2"].size == D(6)
    assert order.filled_notional == D(5)
    assert D("0.009999") < DUST


def test_fill_on_filled_order_is_a_venue_error() -> None:
    order = order_in(S.FILLED)
    with pytest.raises(VenueStateError):
        order.apply(fill("t9", "0.001"))


@pytest.mark.parametrize("size", ["0", "-1"])
def test_non_positive_fill_is_a_venue_error(size: str) -> None:
    with pytest.raises(VenueStateError):
        order_in(S.LIVE).apply(fill("t1", size))


def test_fill_event_without_fill_is_invalid() -> None:
    with pytest.raises(InvalidValueError):
        order_in(S.LIVE).apply(ev(E.FILL))


# -- documented rules, one by one --------------------------------------------------------------


def test_unknown_keeps_hash_and_is_never_resubmitted() -> None:
    order = order_in(S.UNKNOWN)
    assert order.venue_order_id == HASH
    with pytest.raises(IllegalTransitionError):
        order.apply(ev(E.SUBMIT))
    with pytest.raises(IllegalTransitionError):
        order.apply(ev(E.REQUEST_CANCEL))  # resolve by status query first


@pytest.mark.parametrize(
    ("report", "expected"),
    [
        (ev(E.ACCEPTED), S.LIVE),
        (partial("t1", "2"), S.PARTIAL),
        (fill("t1", "10"), S.FILLED),
        (ev(E.CANCELED), S.CANCELED),
        (ev(E.EXPIRED), S.EXPIRED),
        (ev(E.REJECTED), S.REJECTED),
        (ev(E.NOT_FOUND), S.REJECTED),
        (ev(E.STATUS_UNKNOWN), S.UNKNOWN),
    ],
)
def test_unknown_resolves_by_venue_reports(report: OrderEvent, expected: OrderState) -> None:
    order = order_in(S.UNKNOWN)
    order.apply(report)
    assert order.state is expected


def state_after(order: Order, *events: OrderEvent) -> OrderState:
    for event in events:
        order.apply(event)
    return order.state


def test_late_fills_after_cancel_request() -> None:
    order = order_in(S.CANCEL_PENDING)
    # the cancel is still in flight
    assert state_after(order, partial("t1", "3")) is S.CANCEL_PENDING
    assert state_after(order, ev(E.CANCELED)) is S.CANCELED and order.filled_size == D(3)

    order = order_in(S.CANCEL_PENDING)
    order.apply(partial("t1", "3"))
    order.apply(fill("t2", "7"))
    assert order.state is S.FILLED
    t = order.apply(ev(E.CANCELED))  # cancel ack lost the race: ignored, recorded
    assert order.state is S.FILLED and t.from_state is t.to_state is S.FILLED


def test_trade_message_trailing_the_cancel_ack() -> None:
    order = order_in(S.CANCELED)
    assert state_after(order, partial("t1", "4")) is S.CANCELED and order.filled_size == D(4)
    # the whole size traded: the cancel did nothing
    assert state_after(order, fill("t2", "6")) is S.FILLED


def test_cancel_rejected_returns_to_resting_state() -> None:
    order = order_in(S.CANCEL_PENDING)
    order.apply(ev(E.CANCEL_REJECTED, reason="order already matched"))
    assert order.state is S.LIVE and order.history[-1].note == "order already matched"
    order = order_in(S.CANCEL_PENDING)
    order.apply(partial("t1", "1"))
    order.apply(ev(E.CANCEL_REJECTED))
    assert order.state is S.PARTIAL  # state-triggered: LIVE with fills is PARTIAL


def test_accepted_after_fill_before_ack() -> None:
    order = order_in(S.SUBMITTED)
    order.apply(partial("t1", "2"))  # the trade beat the POST response
    order.apply(ev(E.ACCEPTED))
    assert order.state is S.PARTIAL


def test_rejected_after_fills_is_impossible() -> None:
    order = order_in(S.SUBMITTED)
    order.apply(ev(E.REQUEST_CANCEL))
    order.apply(partial("t1", "2"))
    with pytest.raises(VenueStateError):
        order.apply(ev(E.REJECTED))
    order = order_in(S.SUBMITTED)
    order.apply(ev(E.REQUEST_CANCEL))
    order.apply(ev(E.REJECTED))
    assert order.state is S.REJECTED


def test_local_commands() -> None:
    order = new_order()
    order.apply(ev(E.REQUEST_CANCEL))
    assert order.state is S.CANCELED  # never sent
    order = new_order()
    order.apply(ev(E.REJECT_LOCALLY, reason="strategy_rate_limit"))
    assert order.state is S.REJECTED and order.history[-1].note == "strategy_rate_limit"
    order = order_in(S.CANCEL_PENDING)
    order.apply(ev(E.REQUEST_CANCEL))  # retry is fine
    assert order.state is S.CANCEL_PENDING
    for terminal in (S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED):
        with pytest.raises(IllegalTransitionError):
            order_in(terminal).apply(ev(E.REQUEST_CANCEL))


def test_venue_order_id_must_match() -> None:
    order = order_in(S.SUBMITTED)
    with pytest.raises(VenueStateError):
        order.apply(ev(E.ACCEPTED, venue_order_id="0xother"))
    assert order.state is S.SUBMITTED
    anon = Order("c2", "0xm", "1", Outcome.NO, Side.SELL, D("0.3"), D(5))
    with pytest.raises(VenueStateError):  # refused events leave the id alone too
        anon.apply(ev(E.ACCEPTED, venue_order_id=HASH))
    assert anon.venue_order_id is None
    anon.apply(ev(E.SUBMIT, venue_order_id=HASH))
    assert anon.venue_order_id == HASH


@pytest.mark.parametrize(("price", "size"), [("0", "1"), ("1", "1"), ("0.5", "0"), ("0.5", "-1")])
def test_order_validation(price: str, size: str) -> None:
    with pytest.raises(InvalidValueError):
        new_order(size=size, price=price)


# -- property: any sequence keeps the invariants; refused events change nothing ----------------

_EVENT = st.one_of(
    st.sampled_from([k for k in E if k not in (E.FILL, E.PARTIAL_FILL)]).map(lambda k: ev(k)),
    st.builds(
        lambda i, size: OrderEvent(
            E.FILL, 9, fill=OrderFill(f"t{i}", D("0.5"), D(size).scaleb(-2))
        ),
        st.integers(0, 6),
        st.integers(1, 700),
    ),
)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.lists(_EVENT, max_size=25))
def test_invariants_under_any_event_sequence(events: list[OrderEvent]) -> None:
    order = new_order(size="10")
    for event in events:
        before = copy.deepcopy(_snapshot(order))
        try:
            t = order.apply(event)
        except (IllegalTransitionError, VenueStateError):
            assert _snapshot(order) == before
            continue
        assert t.from_state is before[0] and t.to_state is order.state
        assert order.filled_size <= order.size
        assert order.filled_size == sum((f.size for f in order.fills.values()), D(0))
        assert order.filled_notional == sum((f.price * f.size for f in order.fills.values()), D(0))
        assert (order.state is S.FILLED) == (order.filled_size == order.size)
        if order.filled_size > 0:
            assert order.state not in (S.NEW, S.SUBMITTED, S.LIVE, S.REJECTED, S.UNKNOWN)
