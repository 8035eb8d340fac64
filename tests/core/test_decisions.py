"""The decision chain: limits before risk, records, batch reservation, deterministic replay."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from typing import Any

from polymarket_bot.core.book import BookSet
from polymarket_bot.core.clock import TestClock
from polymarket_bot.core.decisions import DecisionChain, DecisionContext, Stage
from polymarket_bot.core.events import BookSnapshot, PriceChange, PriceLevelChange
from polymarket_bot.core.intents import CancelIntent, Intent, MarketInfo, OrderIntent
from polymarket_bot.core.orders import Order, OrderEvent, OrderEventKind, OrderState
from polymarket_bot.core.portfolio import Portfolio
from polymarket_bot.core.ratelimit import OrderRateLimiter, RateLimitConfig
from polymarket_bot.core.risk import RiskConfig, RiskEngine
from polymarket_bot.core.types import Outcome, Side
from polymarket_bot.strategies.base import StrategyLike
from polymarket_bot.strategies.complement_arb import ComplementArb, ComplementArbParams
from polymarket_bot.strategies.market_maker import MarketMaker, MarketMakerParams
from polymarket_bot.strategies.momentum import Momentum, MomentumParams
from polymarket_bot.strategies.runner import StrategyRunner
from polymarket_bot.strategies.view import StrategyView

D = Decimal
T0 = 1_760_349_912.345
M1 = MarketInfo("0xm1", "101", "102", name="SIM-1")
MARKETS = {M1.condition_id: M1}
TRADING: dict[str, Any] = {
    "order_frequency": {"interval_seconds": 60, "max_orders": 1000},
    "strategy_order_frequency": {
        "global": {"interval_seconds": 60, "max_orders": 1000},
        "per_strategy": {"default": {"interval_seconds": 60, "max_orders": 1000}},
        "per_market_side": {"default": {"interval_seconds": 60, "max_orders": 2}},
    },
}


def books() -> BookSet:
    bs = BookSet()
    for token in (M1.yes_token, M1.no_token):
        bs.add(token, market=M1.condition_id).apply_snapshot(
            [("0.49", "5000")], [("0.51", "5000")], 0
        )
    return bs


def chain(**kw: Any) -> DecisionChain:
    return DecisionChain(
        OrderRateLimiter(RateLimitConfig.from_trading(TRADING)),
        RiskEngine(RiskConfig(**kw)),
        runtime_mode="offline",
    )


def ctx(balance: str = "10000") -> DecisionContext:
    return DecisionContext(books(), MARKETS, Portfolio(D(balance), markets=MARKETS), 1.0)


def order(shares: str = "10", price: str = "0.5", strategy: str = "s") -> OrderIntent:
    return OrderIntent(strategy, "0xm1", Outcome.YES, "101", Side.BUY, D(shares), D(price))


def test_limits_then_risk_with_records() -> None:
    c = chain()
    context = ctx()
    intents: list[Intent] = [
        CancelIntent("s", "0xm1", "c9"),
        order(),
        order(),
        order(),  # third of this market x side within 60 s: rate-limited
        order("4"),  # below the minimum size: risk rejects
    ]
    batch = c.decide(intents, context, T0)
    assert [d.stage for d in batch.decisions] == [
        Stage.CANCEL, Stage.RISK, Stage.RISK, Stage.RATE_LIMIT, Stage.RATE_LIMIT,
    ]  # fmt: skip
    assert [d.approved for d in batch.decisions] == [True, True, True, False, False]
    assert batch.approved == intents[:3]
    assert [r["reason"] for r in batch.order_records] == ["strategy_rate_limit"] * 2
    assert batch.order_records[0]["market_id"] == "SIM-1"
    assert batch.order_records[0]["metadata"] == {
        "interval_seconds": 60, "max_orders": 2, "current_window": 2,
    }  # fmt: skip
    assert [r["approved"] for r in batch.audit_records] == [True, True]
    assert context.portfolio.market_exposure("0xm1") == D(10)  # two approved BUYs reserved
    # risk rejections are audited and do not count against the rate limit
    batch = c.decide([order("4", strategy="t"), order(strategy="t")], context, T0 + 1)
    assert [d.reason for d in batch.decisions] == ["venue_rules", ""]
    assert [r["approved"] for r in batch.audit_records] == [False, True]
    assert c.risk.counters.as_dict() == {
        "approved": 3, "rejected": 1, "reasons": {"venue_rules": 1},
    }  # fmt: skip


def test_reservation_is_seen_by_the_next_intent_of_the_batch() -> None:
    c = chain(factors=("balance",))
    batch = c.decide([order("100"), order("100", strategy="t")], ctx("60"), T0)
    assert [d.approved for d in batch.decisions] == [True, False]
    assert batch.decisions[1].reason == "balance"
    assert batch.audit_records[1]["risk"]["factors"]["balance"] == {
        "approved": False, "balance": 10.0, "required": 50.0,
    }  # fmt: skip


def test_scaling_to_max_intent_notional() -> None:
    c = chain(factors=("order_limits",))
    c.max_intent_notional = D(100)
    batch = c.decide([order("1000", "0.3")], ctx(), T0)
    (approved,) = batch.approved
    assert isinstance(approved, OrderIntent) and approved.size == D("333.33")
    assert batch.audit_records[0]["size"] == 99.999


def test_empty_batch() -> None:
    batch = chain().decide([], ctx(), T0)
    assert (batch.approved, batch.decisions, batch.audit_records) == ([], [], [])


# -- replay ------------------------------------------------------------------------------------


def synthetic_stream(seed: int, n: int) -> list[tuple[float, BookSnapshot | PriceChange]]:
    """A recorded-shape stream: snapshots then price changes on two binary markets."""
    rng = random.Random(seed)
    out: list[tuple[float, BookSnapshot | PriceChange]] = []
    t = 0.0
    mids = {"0xm1": 50, "0xm2": 40}
    for market, mid in mids.items():
        for k, token in enumerate(tokens(market)):
            m = mid if k == 0 else 100 - mid
            out.append((t, BookSnapshot(
                token, market,
                tuple((D(m - i) / 100, D(rng.randint(50, 500))) for i in range(1, 6)),
                tuple((D(m + i) / 100, D(rng.randint(50, 500))) for i in range(1, 6)),
                None,
            )))  # fmt: skip
    for _ in range(n):
        t += rng.choice((0.2, 0.5, 1.0, 3.0))
        market = rng.choice(list(mids))
        mids[market] = max(5, min(95, mids[market] + rng.choice((-1, 0, 0, 1))))
        mid = mids[market]
        changes = []
        for k, token in enumerate(tokens(market)):
            m = mid if k == 0 else 100 - mid
            for side, price in ((Side.BUY, m - 1), (Side.SELL, m + 1)):
                size = D(rng.randint(0, 3) * 100)
                changes.append(
                    PriceLevelChange(token, market, side, D(price) / 100, size or D(10),
                                     None, None, "", 0)
                )  # fmt: skip
            # clear the crossed remnant one tick inside on each side
            changes.append(
                PriceLevelChange(token, market, Side.BUY, D(m) / 100, D(0), None, None, "", 0)
            )
            changes.append(
                PriceLevelChange(token, market, Side.SELL, D(m) / 100, D(0), None, None, "", 0)
            )
        out.append((t, PriceChange(market, tuple(changes), 0)))
    return out


def tokens(market: str) -> tuple[str, str]:
    n = market[-1]
    return (f"{n}01", f"{n}02")


def replay(seed: int) -> dict[str, Any]:
    markets = {
        f"0xm{n}": MarketInfo(f"0xm{n}", f"{n}01", f"{n}02", name=f"SIM-{n}") for n in (1, 2)
    }
    clock = TestClock(T0)
    bs = BookSet()
    for info in markets.values():
        for token in (info.yes_token, info.no_token):
            bs.add(token, market=info.condition_id)
    orders: dict[str, dict[str, Order]] = {"mm": {}, "arb": {}, "mo": {}}
    strategies: list[StrategyLike] = [
        MarketMaker("mm", MarketMakerParams(requote_ticks=1)),
        ComplementArb("arb", ComplementArbParams()),
        Momentum("mo", MomentumParams(window_seconds=5, entry_threshold=D("0.01"))),
    ]
    views = {
        s.name: StrategyView(s.name, books=bs, markets=markets, clock=clock, orders=orders[s.name])
        for s in strategies
    }
    runner = StrategyRunner(strategies, views)
    risk = RiskEngine(RiskConfig(max_exposure_per_market=D(40)))
    c = DecisionChain(
        OrderRateLimiter(RateLimitConfig.from_trading(TRADING)), risk, runtime_mode="offline"
    )
    portfolio = Portfolio(D(1000), markets=markets)
    audit: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    approved: list[str] = []
    next_id = 0
    for t, event in synthetic_stream(seed, 400):
        clock.set(T0 + t)
        now = clock.time()
        if isinstance(event, BookSnapshot):
            bs.apply_snapshot(event)
        else:
            bs.apply_price_changes(event.changes, 0)
        for token in tokens(event.market):
            mid = bs[token].mid()
            if mid is not None:
                risk.observe_mid(token, mid, now)
        batch = c.decide(runner.on_event(event), DecisionContext(bs, markets, portfolio, 0.5), now)
        runner.notify(batch.decisions, now)
        for intent in batch.approved:  # stand-in execution: orders rest, cancels cancel
            approved.append(repr(intent))
            book_of = orders[intent.strategy]
            if isinstance(intent, OrderIntent):
                next_id += 1
                o = Order(
                    f"o{next_id}", intent.market, intent.token_id, intent.outcome, intent.side,
                    intent.limit_price, intent.shares, strategy=intent.strategy,
                )  # fmt: skip
                o.apply(OrderEvent(OrderEventKind.SUBMIT, 0))
                o.apply(OrderEvent(OrderEventKind.ACCEPTED, 0))
                book_of[o.client_id] = o
            elif intent.order_id in book_of:
                book_of[intent.order_id].state = OrderState.CANCELED
        audit.extend(batch.audit_records)
        rejects.extend(batch.order_records)
    return {
        "audit": json.dumps(audit, sort_keys=True),
        "rejects": json.dumps(rejects, sort_keys=True),
        "approved": approved,
        "counters": risk.counters.as_dict(),
        "n_audit": len(audit),
        "n_rejects": len(rejects),
    }


def test_replay_is_deterministic_and_exercises_every_path() -> None:
    first = replay(11)
    second = replay(11)
    assert first == second
    # the stream really went through limits and risk both ways
    assert first["n_audit"] > 20 and first["n_rejects"] > 0
    assert first["counters"]["approved"] > 0 and first["counters"]["rejected"] > 0
    assert replay(12)["audit"] != first["audit"]


def test_unknown_market_is_rejected_by_risk_and_labelled_by_condition_id() -> None:
    stray = OrderIntent("s", "0xother", Outcome.NO, "999", Side.BUY, D(10), D("0.5"))
    batch = chain(factors=("venue_rules",)).decide([stray], ctx(), T0)
    (record,) = batch.audit_records
    assert record["market_id"] == "0xother" and record["action"] == "no"
    assert record["risk"]["factors"]["venue_rules"]["reason"] == "unknown market"
    assert batch.approved == []
