"""Ledger: hand-computed average-cost examples, resolution, voids, and exact identities."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polymarket_bot.core.errors import InvalidValueError
from polymarket_bot.core.ledger import (
    ExitReason,
    FillClass,
    Ledger,
    LedgerFill,
    PositionKey,
)
from polymarket_bot.core.types import Outcome, Side

D = Decimal
BUY, SELL = Side.BUY, Side.SELL


def f(
    fid: str,
    side: Side,
    size: str,
    price: str,
    fee: str = "0",
    *,
    market: str = "M",
    outcome: str = "yes",
    ts: int = 0,
    external: bool = False,
) -> LedgerFill:
    return LedgerFill(fid, market, outcome, side, D(price), D(size), D(fee), ts, external=external)


def identity_holds(ledger: Ledger, marks: dict[PositionKey, Decimal]) -> bool:
    lhs = ledger.cash + ledger.market_value(marks)
    rhs = (
        ledger.starting_cash + ledger.realized_pnl + ledger.unrealized_pnl(marks) - ledger.fees_paid
    )
    return lhs == rhs


# -- hand-computed example ---------------------------------------------------------------------


def test_average_cost_example_to_the_cent() -> None:
    ledger = Ledger(D(1000))
    assert ledger.apply_fill(f("1", BUY, "100", "0.40", "0.10", ts=1)) is FillClass.OPENED
    assert ledger.cash == D("959.90")
    assert ledger.apply_fill(f("2", BUY, "50", "0.46", ts=2)) is FillClass.APPLIED_SAME_SIDE
    pos = ledger.position("M", "yes")
    assert pos is not None
    assert (pos.shares, pos.cost_basis, pos.avg_cost) == (D(150), D(63), D("0.42"))
    assert ledger.cash == D("936.90")

    assert ledger.apply_fill(f("3", SELL, "60", "0.50", "0.05", ts=3)) is FillClass.REDUCED_OPPOSITE
    # released cost 63*60/150 = 25.2; proceeds 30; entry fees released 0.10*60/150 = 0.04
    assert ledger.cash == D("966.85")
    assert ledger.realized_pnl == D("4.8")
    assert (pos.shares, pos.cost_basis, pos.avg_cost, pos.entry_fees) == (
        D(90),
        D("37.8"),
        D("0.42"),
        D("0.06"),
    )
    marks = {("M", "yes"): D("0.45")}
    assert ledger.unrealized_pnl(marks) == D("2.7")  # 90*(0.45-0.42)
    assert identity_holds(ledger, marks)

    assert ledger.apply_fill(f("4", SELL, "90", "0.30", ts=4)) is FillClass.CLOSED
    assert ledger.cash == D("993.85")
    assert ledger.realized_pnl == D("-6.0")  # 4.8 + (27 - 37.8)
    assert ledger.fees_paid == D("0.15")
    assert (pos.shares, pos.cost_basis, pos.entry_fees, pos.avg_cost) == (D(0), D(0), D(0), None)
    assert ledger.cash == ledger.starting_cash + ledger.realized_pnl - ledger.fees_paid

    exits = ledger.drain_exits()
    assert [(e.shares, e.entry_price, e.exit_price, e.pnl, e.fees, e.net_pnl) for e in exits] == [
        (D(60), D("0.42"), D("0.50"), D("4.8"), D("0.09"), D("4.71")),
        (D(90), D("0.42"), D("0.30"), D("-10.8"), D("0.06"), D("-10.86")),
    ]
    assert all(e.reason is ExitReason.EXIT for e in exits)
    assert [e.fill_id for e in exits] == ["3", "4"] and exits[1].ts_ms == 4
    assert ledger.drain_exits() == []

    s = ledger.summary()
    assert (s.count, s.wins, s.losses) == (2, 1, 1)
    assert s.win_rate == D("0.5")
    assert s.avg_win == D("4.71") and s.avg_loss == D("-10.86")
    assert s.realized_pnl == D("-6.0") and s.fees == D("0.15") and s.net_pnl == D("-6.15")


def test_non_terminating_average_cost_leaves_no_residue() -> None:
    ledger = Ledger(D(10))
    ledger.apply_fill(f("1", BUY, "1", "0.5"))
    ledger.apply_fill(f("2", BUY, "2", "0.6"))  # basis 1.7 for 3 shares: avg 0.5666...
    ledger.apply_fill(f("3", SELL, "1", "0.7"))
    first = ledger.drain_exits()[0]
    assert first.cost == D("0.566666666667")  # rounded half-even to 1e-12
    assert str(first.entry_price) == "0.566666666667"
    assert first.pnl == D("0.133333333333")
    ledger.apply_fill(f("4", SELL, "2", "0.7"))
    second = ledger.drain_exits()[0]
    assert second.cost == D("1.133333333333")  # the whole remaining basis
    assert ledger.realized_pnl == D("0.4")  # 2.1 - 1.7 exactly
    assert ledger.cash == D("10.4")


def test_summary_empty() -> None:
    s = Ledger().summary()
    assert (s.count, s.wins, s.losses) == (0, 0, 0)
    assert (s.win_rate, s.avg_win, s.avg_loss) == (D(0), D(0), D(0))


# -- rejections and keys -----------------------------------------------------------------------


def test_selling_more_than_held_is_refused_and_changes_nothing() -> None:
    ledger = Ledger(D(100))
    with pytest.raises(InvalidValueError):
        ledger.apply_fill(f("s0", SELL, "1", "0.5"))  # nothing held: binary tokens can't short
    assert ledger.position("M", "yes") is None
    ledger.apply_fill(f("1", BUY, "10", "0.5"))
    with pytest.raises(InvalidValueError):
        ledger.apply_fill(f("2", SELL, "10.000001", "0.5"))
    pos = ledger.position("M", "yes")
    assert pos is not None and pos.shares == D(10) and ledger.cash == D(95)
    assert ledger.apply_fill(f("2", SELL, "10", "0.5")) is FillClass.CLOSED  # id not consumed


@pytest.mark.parametrize(
    ("price", "size", "fee"),
    [("1.01", "1", "0"), ("-0.1", "1", "0"), ("0.5", "0", "0"), ("0.5", "1", "-0.01")],
)
def test_invalid_fills(price: str, size: str, fee: str) -> None:
    with pytest.raises(InvalidValueError):
        Ledger().apply_fill(f("x", BUY, size, price, fee))


def test_duplicate_fill_is_a_no_op() -> None:
    ledger = Ledger(D(100))
    ledger.apply_fill(f("1", BUY, "10", "0.5", external=True))
    assert ledger.apply_fill(f("1", BUY, "10", "0.5", external=True)) is FillClass.DUPLICATE
    assert ledger.cash == D(95) and ledger.external.processed == 1


def test_outcome_spellings_share_one_position() -> None:
    ledger = Ledger()
    ledger.apply_fill(f("1", BUY, "1", "0.5", outcome="Yes"))
    ledger.apply_fill(f("2", BUY, "1", "0.5", outcome=Outcome.YES))
    ledger.apply_fill(f("3", BUY, "1", "0.5", outcome="yes"))
    pos = ledger.position("M", Outcome.YES)
    assert pos is not None and pos.shares == D(3) and len(ledger.positions) == 1


def test_external_fill_classification_counts() -> None:
    ledger = Ledger(D(100))
    kinds = [
        ledger.apply_fill(f("1", BUY, "10", "0.5", ts=10, external=True)),
        ledger.apply_fill(f("2", BUY, "5", "0.4", ts=20, external=True)),
        ledger.apply_fill(f("3", SELL, "3", "0.6", ts=15, external=True)),
        ledger.apply_fill(f("4", SELL, "12", "0.6", ts=30, external=False)),
        ledger.apply_fill(f("5", BUY, "1", "0.6", outcome="no", ts=40, external=True)),
        ledger.apply_fill(f("6", SELL, "1", "0.6", outcome="no", ts=41, external=True)),
    ]
    assert kinds == [
        FillClass.OPENED,
        FillClass.APPLIED_SAME_SIDE,
        FillClass.REDUCED_OPPOSITE,
        FillClass.CLOSED,
        FillClass.OPENED,
        FillClass.CLOSED,
    ]
    x = ledger.external
    assert (x.processed, x.opened, x.applied_same_side, x.reduced_opposite, x.closed) == (
        5,
        2,
        1,
        1,
        1,
    )
    assert x.last_seen_ms == 41


# -- resolution --------------------------------------------------------------------------------


def test_resolution_settles_at_one_and_zero() -> None:
    ledger = Ledger(D(100))
    ledger.apply_fill(f("1", BUY, "100", "0.30", "0.5", outcome="yes"))
    ledger.apply_fill(f("2", BUY, "50", "0.60", outcome="no"))
    ledger.apply_fill(f("3", BUY, "10", "0.5", market="OTHER"))
    records = ledger.resolve_market("M", Outcome.YES, ts_ms=99)
    by_outcome = {r.outcome: r for r in records}
    assert by_outcome["yes"].pnl == D(70) and by_outcome["yes"].exit_price == 1
    assert by_outcome["yes"].fees == D("0.5")  # its entry fee
    assert by_outcome["no"].pnl == D(-30) and by_outcome["no"].exit_price == 0
    assert all(r.reason is ExitReason.RESOLUTION and r.ts_ms == 99 for r in records)
    assert ledger.cash == D("100") - D("30.5") - D(30) - D(5) + D(100)
    assert ledger.realized_pnl == D(40)
    assert [p.key for p in ledger.open_positions()] == [("OTHER", "yes")]
    assert ledger.resolve_market("M", "yes", 100) == []  # idempotent
    with pytest.raises(InvalidValueError):
        ledger.apply_fill(f("4", BUY, "1", "0.5", outcome="yes"))
    with pytest.raises(InvalidValueError):  # the whole market is closed, even a token not held
        ledger.apply_fill(f("5", BUY, "1", "0.5", outcome="maybe"))
    assert identity_holds(ledger, {("OTHER", "yes"): D("0.9")})


def test_settle_market_fifty_fifty_and_bad_payouts() -> None:
    ledger = Ledger(D(10))
    ledger.apply_fill(f("1", BUY, "10", "0.4"))
    with pytest.raises(InvalidValueError):
        ledger.settle_market("M", {"no": D("0.5")}, 1)
    with pytest.raises(InvalidValueError):
        ledger.settle_market("M", {"yes": D("1.5")}, 1)
    [record] = ledger.settle_market("M", {"yes": D("0.5"), "no": D("0.5")}, 1)
    assert record.pnl == D(1) and ledger.cash == D(11)


# -- voids -------------------------------------------------------------------------------------


def test_void_restores_average_cost_exactly() -> None:
    ledger = Ledger(D(1000))
    ledger.apply_fill(f("A", BUY, "100", "0.4", "0.2"))
    ledger.apply_fill(f("B", BUY, "100", "0.5", "0.3"))
    ledger.apply_fill(f("S", SELL, "100", "0.6"))  # releases 45 of 90: pnl 15
    assert ledger.realized_pnl == D(15)
    assert ledger.cash == D(1000) - D("40.2") - D("50.3") + D(60)
    ledger.drain_exits()

    [correction] = ledger.void_fill("B", ts_ms=7)  # trade B failed to settle
    pos = ledger.position("M", "yes")
    assert pos is not None and pos.shares == 0 and pos.cost_basis == 0
    assert ledger.realized_pnl == D(20)  # as if only A then S: 60 - 40
    assert ledger.cash == D(1000) - D("40.2") + D(60)
    assert ledger.fees_paid == D("0.2")
    assert correction.reason is ExitReason.VOID and correction.fill_id == "B"
    assert correction.pnl == D(5) and correction.shares == 0
    # S's exit fees were 0.25 (half of A's and B's entry fees); now 0.2 (all of A's)
    assert correction.fees == D("-0.05")
    assert ledger.summary().count == 1 and ledger.summary().fees == D("0.2")
    assert ledger.void_fill("B", 8) == []  # idempotent
    assert ledger.apply_fill(f("B", BUY, "100", "0.5")) is FillClass.DUPLICATE


def test_void_of_open_buy_restores_avg_and_emits_nothing() -> None:
    ledger = Ledger(D(100))
    ledger.apply_fill(f("1", BUY, "10", "0.2"))
    ledger.apply_fill(f("2", BUY, "10", "0.4"))
    assert ledger.void_fill("2", 1) == []
    pos = ledger.position("M", "yes")
    assert pos is not None and pos.avg_cost == D("0.2") and pos.shares == 10
    assert ledger.cash == D(98)


def test_void_that_uncovers_a_sale_is_refused_unless_voided_together() -> None:
    ledger = Ledger(D(100))
    ledger.apply_fill(f("B", BUY, "10", "0.5"))
    ledger.apply_fill(f("S", SELL, "10", "0.7"))
    with pytest.raises(InvalidValueError):
        ledger.void_fill("B", 1)
    assert ledger.realized_pnl == D(2) and ledger.cash == D(102)
    with pytest.raises(InvalidValueError):
        ledger.void_fill("nope", 1)
    records = ledger.void_fills(["S", "B"], 2)
    assert ledger.cash == D(100) and ledger.realized_pnl == 0
    assert [r.pnl for r in records] == [D(-2)]
    assert ledger.summary().count == 0


def test_void_before_resolution_resettles_the_rest() -> None:
    ledger = Ledger(D(100))
    ledger.apply_fill(f("1", BUY, "10", "0.5"))
    ledger.apply_fill(f("2", BUY, "10", "0.3"))
    ledger.resolve_market("M", "yes", 5)
    assert ledger.realized_pnl == D(12)  # 20 - 8
    [correction] = ledger.void_fill("2", 6)
    assert ledger.realized_pnl == D(5)  # 10 - 5
    assert correction.pnl == D(-7)
    assert ledger.cash == D(100) - D(5) + D(10)


# -- properties over random fill sequences -----------------------------------------------------

_MARKETS: list[PositionKey] = [("M1", "yes"), ("M1", "no"), ("M2", "yes")]
_price = st.integers(1, 99).map(lambda i: D(i).scaleb(-2))
_size = st.integers(1, 5_000_000).map(lambda i: D(i).scaleb(-6))  # 6 decimals
_fee = st.integers(0, 20_000).map(lambda i: D(i).scaleb(-6))


@dataclass(frozen=True)
class Buy:
    key: PositionKey
    price: Decimal
    size: Decimal
    fee: Decimal
    external: bool


@dataclass(frozen=True)
class Sell:
    key: PositionKey
    price: Decimal
    fraction: Decimal
    """Of the shares held; above 1 is an oversell that must be refused."""
    fee: Decimal


@dataclass(frozen=True)
class Void:
    pick: int


@dataclass(frozen=True)
class Resolve:
    market: str
    winner: str


_buy = st.builds(Buy, st.sampled_from(_MARKETS), _price, _size, _fee, st.booleans())
_sell = st.builds(
    Sell,
    st.sampled_from(_MARKETS),
    _price,
    st.one_of(
        st.sampled_from([D(1), D("0.5"), D("1.1")]),  # close, halve, oversell
        st.integers(1, 999).map(lambda i: D(i).scaleb(-3)),
    ),
    _fee,
)
_void = st.builds(Void, st.integers(0, 40))
_resolve = st.builds(Resolve, st.sampled_from(["M1", "M2"]), st.sampled_from(["yes", "no"]))
# repeated alternatives weight the mix: mostly trading, some voids, few resolutions
_op = st.one_of(_buy, _buy, _sell, _sell, _sell, _void, _resolve)


def _check_invariants(ledger: Ledger, emitted_pnl: Decimal, emitted_fees: Decimal) -> None:
    marks = {key: D(i + 37).scaleb(-2) for i, key in enumerate(_MARKETS)}
    assert identity_holds(ledger, marks)
    assert identity_holds(ledger, {})
    positions = list(ledger.positions.values())
    assert ledger.cash == ledger.starting_cash + sum((p.cash_flow for p in positions), D(0))
    assert ledger.realized_pnl == sum((p.realized_pnl for p in positions), D(0))
    assert ledger.fees_paid == sum((p.fees_paid for p in positions), D(0))
    # the emitted exit stream (with void corrections) sums to the ledger's totals
    assert emitted_pnl == ledger.realized_pnl
    assert emitted_fees == sum((e.fees for p in positions for e in p.exits), D(0))
    s = ledger.summary()
    assert s.realized_pnl == ledger.realized_pnl
    assert s.count == sum(len(p.exits) for p in positions)
    for p in positions:
        assert p.shares >= 0 and p.cost_basis >= 0 and p.entry_fees >= 0
        if p.shares == 0:
            assert p.cost_basis == 0 and p.entry_fees == 0


@settings(max_examples=250, deadline=None, derandomize=True)
@given(st.lists(_op, max_size=40))
def test_exact_identities_over_random_sequences(ops: list[Buy | Sell | Void | Resolve]) -> None:
    ledger = Ledger(D("1000"))
    applied: list[str] = []
    script: list[LedgerFill | Resolve | str] = []  # what succeeded; a str is a voided fill id
    emitted_pnl = emitted_fees = D(0)
    n = 0
    for op in ops:
        before = (ledger.cash, ledger.realized_pnl, ledger.fees_paid, len(ledger.positions))
        try:
            if isinstance(op, Buy):
                n += 1
                fill = LedgerFill(
                    f"f{n}", *op.key, BUY, op.price, op.size, op.fee, n, external=op.external
                )
                ledger.apply_fill(fill)
                applied.append(fill.fill_id)
                script.append(fill)
            elif isinstance(op, Sell):
                pos = ledger.position(*op.key)
                size = ((pos.shares if pos else D(0)) * op.fraction).quantize(D("0.000001"))
                if size <= 0:
                    continue
                n += 1
                fill = LedgerFill(f"f{n}", *op.key, SELL, op.price, size, op.fee, n)
                ledger.apply_fill(fill)
                applied.append(fill.fill_id)
                script.append(fill)
            elif isinstance(op, Void):
                if not applied:
                    continue
                fid = applied[op.pick % len(applied)]
                ledger.void_fill(fid, n)
                script.append(fid)
            else:
                ledger.resolve_market(op.market, op.winner, n)
                script.append(op)
        except InvalidValueError:
            # refused (oversell, fill after resolution, void uncovering a sale): no change
            after = (ledger.cash, ledger.realized_pnl, ledger.fees_paid, len(ledger.positions))
            assert before == after
        for record in ledger.drain_exits():
            emitted_pnl += record.pnl
            emitted_fees += record.fees
        _check_invariants(ledger, emitted_pnl, emitted_fees)

    # a ledger that never saw the voided fills ends in the same state
    voided = {item for item in script if isinstance(item, str)}
    fresh = Ledger(D("1000"))
    for item in script:
        if isinstance(item, LedgerFill) and item.fill_id not in voided:
            fresh.apply_fill(item)
        elif isinstance(item, Resolve):
            fresh.resolve_market(item.market, item.winner, 0)
    assert fresh.cash == ledger.cash
    assert fresh.realized_pnl == ledger.realized_pnl
    assert fresh.fees_paid == ledger.fees_paid
    for key, pos in ledger.positions.items():
        other = fresh.positions.get(key)
        shares = other.shares if other else D(0)
        basis = other.cost_basis if other else D(0)
        assert (pos.shares, pos.cost_basis) == (shares, basis)
