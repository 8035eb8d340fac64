"""build_universe: synthetic markets listed on the exchange with realistic seeded books."""

from __future__ import annotations

from decimal import Decimal

import pytest

from polymarket_bot.core.types import TickSize, is_on_tick
from polymarket_bot.sim.exchange import SimConfig
from polymarket_bot.sim.fees import FeeSchedule
from polymarket_bot.sim.markets import generate_markets
from polymarket_bot.sim.universe import SimUniverse, build_universe

T0 = 1_700_000_000.0


@pytest.fixture(scope="module")
def universe() -> SimUniverse:
    return build_universe(8, seed=7, start_ts=T0)


def test_builds_n_markets_indexed_every_way(universe: SimUniverse) -> None:
    assert [m.name for m in universe.markets] == [f"SIM-{i}" for i in range(1, 9)]
    assert set(universe.by_name) == {m.name for m in universe.markets}
    assert len(universe.by_token) == 16
    assert len(universe.by_condition) == 8
    ex = universe.exchange
    for m in universe.markets:
        assert universe.market(m.name) is m
        assert universe.market(m.condition_id) is m
        assert universe.market(m.no_token) is m
        state = ex.market(m.condition_id)
        assert state is not None
        assert state.token_ids == m.token_ids
        assert state.spec.neg_risk is m.neg_risk
        assert state.spec.neg_risk_event_id == (m.event_id if m.neg_risk else None)
        assert state.spec.fees == m.fees
        assert state.spec.min_order_size == Decimal(5)
        assert len(m.condition_id) == 66 and len(m.yes_token) >= 70


def test_books_are_two_sided_on_tick_and_around_fair_value(universe: SimUniverse) -> None:
    ex = universe.exchange
    for m in universe.markets:
        for token in m.token_ids:
            book = ex.book(token)
            assert len(book.bids) >= 3 and len(book.asks) >= 3, (m.name, book)
            for price, size in (*book.bids, *book.asks):
                assert is_on_tick(Decimal(price), TickSize.T0_01.decimal)
                assert Decimal(10) <= Decimal(size) <= Decimal(500), (m.name, price, size)
            bids = [Decimal(p) for p, _ in book.bids]
            asks = [Decimal(p) for p, _ in book.asks]
            assert bids == sorted(bids) and asks == sorted(asks, reverse=True)  # best last
            assert bids[-1] < asks[-1]
            assert book.best_bid == book.bids[-1][0] and book.best_ask == book.asks[-1][0]
        yes = ex.book(m.yes_token)
        fair = Decimal(str(m.fair_value))
        assert Decimal(yes.bids[-1][0]) < fair < Decimal(yes.asks[-1][0])
        assert Decimal(yes.asks[-1][0]) - Decimal(yes.bids[-1][0]) <= Decimal("0.03")
        # The NO book mirrors the YES book.
        no = ex.book(m.no_token)
        assert Decimal(no.best_bid or "0") == 1 - Decimal(yes.best_ask or "0")


def test_no_stale_events_and_invariants_hold_after_build(universe: SimUniverse) -> None:
    assert universe.exchange.drain_events() == []
    assert universe.exchange.check_invariants() == []


def test_neg_risk_events_sum_to_one_and_are_real_groups(universe: SimUniverse) -> None:
    neg = [e for e in universe.events if e.neg_risk]
    assert neg, "8 markets should include a neg-risk event"
    for event in neg:
        members = [universe.by_name[n] for n in event.market_names]
        assert len(members) >= 2
        assert all(m.neg_risk and m.event_id == event.event_id for m in members)
        assert sum(m.fair_value for m in members) == pytest.approx(1.0, abs=1e-9)
        assert all(m.fees == FeeSchedule(rate=Decimal(0)) for m in members)
    standalone = [m for m in universe.markets if not m.neg_risk]
    assert standalone and all(m.fees.rate == Decimal("0.02") for m in standalone)


def test_neg_risk_fair_values_keep_summing_to_one_while_flowing() -> None:
    u = build_universe(6, seed=3, start_ts=T0)
    for i in range(1, 241):
        u.step(T0 + i * 0.25)
    for event in (e for e in u.events if e.neg_risk):
        values = [u.by_name[n].fair_value for n in event.market_names]
        assert sum(values) == pytest.approx(1.0, abs=1e-9)
    moved = [
        m
        for m in u.markets
        if m.fair_value != build_universe(6, seed=3, start_ts=T0).by_name[m.name].fair_value
    ]
    assert moved, "fair values should move over a simulated minute"


@pytest.mark.parametrize(
    ("n", "groups"),
    [(1, []), (2, []), (3, []), (4, [2]), (5, [2]), (8, [4]), (9, [4]), (10, [3, 2]), (12, [3, 3])],
)
def test_generate_markets_never_makes_single_outcome_events(n: int, groups: list[int]) -> None:
    markets, events = generate_markets(n, seed=1, start_ts=T0)
    assert len(markets) == n
    assert [len(e.market_names) for e in events if e.neg_risk] == groups
    assert sum(1 for m in markets if not m.neg_risk) == n - sum(groups)
    assert len({m.condition_id for m in markets}) == n
    assert len({t for m in markets for t in m.token_ids}) == 2 * n


def test_static_universe_keeps_its_seeded_books() -> None:
    u = build_universe(2, seed=5, start_ts=T0, with_flow=False)
    assert u.flow is None
    before = [u.exchange.book(m.yes_token) for m in u.markets]
    assert all(b.bids and b.asks for b in before)
    for i in range(1, 41):
        u.step(T0 + i)
    assert [u.exchange.book(m.yes_token) for m in u.markets] == before
    assert u.exchange.drain_events() == []


def test_sim_config_is_used_and_same_seed_same_markets() -> None:
    a = build_universe(3, seed=11, start_ts=T0, sim_config=SimConfig(initial_pusd=123))
    b = build_universe(3, seed=11, start_ts=T0)
    c = build_universe(3, seed=12, start_ts=T0)
    assert a.exchange.config.initial_pusd == 123
    assert a.exchange.account("0x" + "ab" * 20).pusd == 123
    assert [m.condition_id for m in a.markets] == [m.condition_id for m in b.markets]
    assert [m.condition_id for m in a.markets] != [m.condition_id for m in c.markets]
    assert [a.exchange.book(m.yes_token) for m in a.markets] == [
        b.exchange.book(m.yes_token) for m in b.markets
    ]
