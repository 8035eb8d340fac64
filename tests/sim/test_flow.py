"""MarketFlow: determinism, realistic traffic, solvency, and fills of a bot's resting order."""

from __future__ import annotations

import hashlib
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from polymarket_bot.core.types import OrderType, Side, TickSize
from polymarket_bot.protocol.amounts import limit_order_amounts
from polymarket_bot.sim.exchange import Exchange
from polymarket_bot.sim.flow import FlowConfig, MarketFlow, background_account
from polymarket_bot.sim.model import (
    LIVE,
    MATCHED,
    LastTradePriceEvent,
    OrderRequest,
    PriceChangeEvent,
    TradeEvent,
)
from polymarket_bot.sim.universe import SimUniverse, build_universe

T0 = 1_700_000_000.0
UNIT = 10**6
BOT_OWNER = "11111111-2222-4333-8444-555555555555"
BOT_ADDRESS = "0xB07B07B07B07B07B07B07B07B07B07B07B07B07B"


def run(u: SimUniverse, steps: int, *, start: int = 1, dt: float = 0.25) -> list[Any]:
    """Drive the universe and return every drained event."""
    events: list[Any] = []
    for i in range(start, start + steps):
        u.step(T0 + i * dt)
        events += u.exchange.drain_events()
    return events


def wire(events: list[Any]) -> list[dict[str, Any]]:
    return [e.to_wire() for e in events]


def test_same_seed_same_now_sequence_gives_identical_events() -> None:
    a = build_universe(4, seed=21, start_ts=T0)
    b = build_universe(4, seed=21, start_ts=T0)
    # An irregular but shared sequence of `now` values.
    nows = [T0 + 0.25 * i + (0.1 if i % 7 == 0 else 0.0) for i in range(1, 400)]
    ev_a: list[Any] = []
    ev_b: list[Any] = []
    for now in nows:
        a.step(now)
        ev_a += a.exchange.drain_events()
        b.step(now)
        ev_b += b.exchange.drain_events()
    assert len(ev_a) > 100
    assert wire(ev_a) == wire(ev_b)
    assert a.flow is not None and b.flow is not None
    assert a.flow.stats() == b.flow.stats()

    c = build_universe(4, seed=22, start_ts=T0)
    ev_c: list[Any] = []
    for now in nows:
        c.step(now)
        ev_c += c.exchange.drain_events()
    assert wire(ev_c) != wire(ev_a)


def test_flow_produces_trades_and_price_changes_over_minutes() -> None:
    u = build_universe(8, seed=7, start_ts=T0)
    events = run(u, 4 * 180)  # three simulated minutes
    kinds = Counter(type(e).__name__ for e in events)
    assert kinds["PriceChangeEvent"] > 100
    assert kinds["LastTradePriceEvent"] > 20
    assert kinds["TradeEvent"] >= kinds["LastTradePriceEvent"]
    assert u.flow is not None
    stats = u.flow.stats()
    assert stats["trades"] == kinds["LastTradePriceEvent"]
    assert stats["steps"] == 4 * 180 + 1
    assert stats["orders_placed"] > stats["taker_orders"] > 0
    assert stats["cancels"] > 0
    traded_markets = {e.market for e in events if isinstance(e, LastTradePriceEvent)}
    assert len(traded_markets) >= 6
    # Takers use both tokens of a market, so NO-token prints happen too.
    no_tokens = {m.no_token for m in u.markets}
    assert any(e.asset_id in no_tokens for e in events if isinstance(e, LastTradePriceEvent))
    # Trades reach MINED/CONFIRMED because the universe also advances the exchange.
    statuses = Counter(e.status for e in events if isinstance(e, TradeEvent))
    assert statuses["CONFIRMED"] > 0
    # Books stay two-sided and near the (moved) fair value.
    for m in u.markets:
        book = u.exchange.book(m.yes_token)
        assert len(book.bids) >= 3 and len(book.asks) >= 3
        mid = (Decimal(book.best_bid or 0) + Decimal(book.best_ask or 1)) / 2
        assert abs(mid - Decimal(str(m.fair_value))) < Decimal("0.03"), m.name


def test_price_changes_are_incremental_not_full_rewrites() -> None:
    """Most resting LP orders survive from one step to the next (persistent depth)."""
    u = build_universe(8, seed=9, start_ts=T0)
    run(u, 40)

    def resting() -> set[str]:
        return {o.order_id for state in u.exchange.markets() for o in state.book.orders()}

    survived = total = 0
    for i in range(41, 201):
        before = resting()
        u.step(T0 + i * 0.25)
        total += len(before)
        survived += len(before & resting())
    assert survived / total > 0.97
    changes = [e for e in u.exchange.drain_events() if isinstance(e, PriceChangeEvent)]
    assert changes
    # A typical change touches a level or two (mirrored on both tokens), not the whole book.
    sizes = sorted(len(e.changes) for e in changes)
    assert sizes[len(sizes) // 2] <= 4


def test_accounts_stay_solvent_and_invariants_hold() -> None:
    cfg = FlowConfig(taker_rate=2.0, taker_pusd=50, lp_pusd=2_000, inventory_shares=200)
    u = build_universe(4, seed=5, start_ts=T0, flow_config=cfg)
    ex = u.exchange
    for block in range(10):
        run(u, 240, start=1 + block * 240)
        assert ex.check_invariants() == []
        assert u.flow is not None
        for acct in u.flow.accounts:
            a = ex.account(acct.address)
            assert a.pusd >= 0 and a.available_pusd >= 0, acct
            assert all(v >= 0 for v in a.tokens.values()), acct
    assert u.flow is not None
    stats = u.flow.stats()
    assert stats["top_ups"] > 0, "small budgets must have needed refills"
    assert stats["orders_rejected"] < stats["orders_placed"] // 20


def bot_bid(ex: Exchange, token: str, price: Decimal, size: str, oid: str) -> OrderRequest:
    amounts = limit_order_amounts(Side.BUY, price=price, size=size, tick_size=TickSize.T0_01)
    return OrderRequest(
        order_id=oid,
        owner=BOT_OWNER,
        maker_address=BOT_ADDRESS,
        token_id=token,
        side=Side.BUY,
        maker_amount=amounts.maker_amount,
        taker_amount=amounts.taker_amount,
        order_type=OrderType.GTC,
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("outcome", [0, 1])
def test_bot_order_at_best_bid_gets_filled_by_flow(seed: int, outcome: int) -> None:
    u = build_universe(1, seed=seed, start_ts=T0)
    ex = u.exchange
    m = u.markets[0]
    token = m.token_ids[outcome]
    best = ex.book(token).best_bid
    assert best is not None
    oid = "0x" + hashlib.sha256(f"bot{seed}{outcome}".encode()).hexdigest()
    res = ex.place_order(bot_bid(ex, token, Decimal(best), "10", oid), T0 + 0.1)
    assert res.status == "live"
    filled_at = None
    for i in range(1, 4 * 600 + 1):  # poll for up to ten simulated minutes
        u.step(T0 + i * 0.25)
        order = ex.order(oid)
        assert order is not None
        if order.matched > 0:
            filled_at = i
            break
    assert filled_at is not None, "flow never traded with the bot's top-of-book bid"
    events = ex.drain_events()
    bot_trades = [e for e in events if isinstance(e, TradeEvent) and BOT_OWNER in e.owners]
    assert bot_trades and bot_trades[0].to_wire(BOT_OWNER)["trader_side"] == "MAKER"
    assert ex.account(BOT_ADDRESS).token_balance(token) > 0
    assert ex.check_invariants() == []


def test_bot_order_behind_the_book_is_left_alone() -> None:
    u = build_universe(1, seed=4, start_ts=T0)
    ex = u.exchange
    m = u.markets[0]
    oid = "0x" + "ab" * 32
    ex.place_order(bot_bid(ex, m.yes_token, Decimal("0.01"), "50", oid), T0)
    run(u, 4 * 60)
    order = ex.order(oid)
    assert order is not None and order.status == LIVE and order.matched == 0


def test_flow_skips_resolved_and_halted_markets_and_follows_tick_changes() -> None:
    u = build_universe(8, seed=13, start_ts=T0)
    ex = u.exchange
    run(u, 40)
    standalone = next(m for m in u.markets if not m.neg_risk)
    ex.resolve_market(standalone.condition_id, standalone.yes_token, T0 + 10.1)
    event = next(e for e in u.events if e.neg_risk)
    ex.resolve_event(event.event_id, u.by_name[event.market_names[0]].condition_id, T0 + 10.1)
    halted = next(m for m in u.markets if not m.neg_risk and m is not standalone)
    ex.set_accepting_orders(halted.condition_id, False)
    finer = next(m for m in u.markets if not m.neg_risk and m not in (standalone, halted))
    ex.set_tick_size(finer.condition_id, TickSize.T0_001, T0 + 10.1)
    halted_book = ex.book(halted.yes_token)
    ex.drain_events()

    events = run(u, 240, start=41)
    dead = {standalone.condition_id, halted.condition_id} | {
        u.by_name[n].condition_id for n in event.market_names
    }
    # Nothing new happens there (earlier trades may still confirm: TradeEvent is excluded).
    assert not [
        e for e in events if not isinstance(e, TradeEvent) and getattr(e, "market", None) in dead
    ]
    assert ex.book(halted.yes_token) == halted_book
    assert ex.check_invariants() == []
    # The ladder of the re-ticked market moved onto the 0.001 grid around its fair value.
    book = ex.book(finer.yes_token)
    assert book.tick_size == "0.001"
    bid, ask = Decimal(book.best_bid or 0), Decimal(book.best_ask or 1)
    assert ask - bid <= Decimal("0.005")
    assert bid < Decimal(str(finer.fair_value)) < ask


def test_background_accounts_and_config_validation() -> None:
    lp1 = background_account("LP1", "lp")
    assert lp1.address == "0x" + "0" * 34 + "4c5031"  # "LP1" in ASCII hex
    assert len(lp1.owner) == 36 and lp1.owner[14] == "4"
    assert background_account("LP1", "lp") == lp1
    assert background_account("TK1", "taker").owner != lp1.owner

    u = build_universe(2, seed=1, start_ts=T0)
    assert u.flow is not None
    assert [a.label for a in u.flow.accounts] == ["LP1", "LP2", "TK1", "TK2"]
    assert u.flow.is_background(lp1.owner) and not u.flow.is_background(BOT_OWNER)
    assert set(u.flow.fair_values()) == set(u.by_condition)
    for bad in (
        {"step_interval_s": 0},
        {"takers": 0},
        {"quote_size": (0, 5)},
        {"taker_size": (10, 5)},
        {"taker_rate": -1.0},
        {"lp_spread_ticks": 0},
    ):
        with pytest.raises(ValueError):
            FlowConfig(**bad)
    other = Exchange()
    with pytest.raises(ValueError, match="not on the exchange"):
        MarketFlow(other, u.markets, u.events, FlowConfig(), seed=1)


def test_step_ignores_time_going_backwards() -> None:
    u = build_universe(2, seed=8, start_ts=T0)
    run(u, 20)
    assert u.flow is not None
    before = u.flow.stats()
    u.flow.step(T0 + 1.0)  # earlier than the last step
    u.flow.step(T0 + 5.0)  # equal to the last step
    assert u.flow.stats() == before
    assert u.exchange.drain_events() == []


def test_fak_takers_leave_nothing_resting() -> None:
    u = build_universe(3, seed=17, start_ts=T0)
    run(u, 400)
    assert u.flow is not None
    taker_owners = {a.owner for a in u.flow.takers}
    for owner in taker_owners:
        assert u.exchange.open_orders(owner) == []
    matched = [
        o
        for state in u.exchange.markets()
        for o in state.book.orders()
        if o.owner in taker_owners or o.status == MATCHED
    ]
    assert matched == []
