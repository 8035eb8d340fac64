"""Decision-layer throughput: strategy -> rate limits -> risk, next to the bare book update.

Workload: 100 binary markets (200 books, 20 levels a side on a 0.01 grid, NO mirrored from YES),
decoded core `PriceChange` events (one level change each, Decimal price and size). Every
scenario applies the same book updates; the floor is the bare book update in the same run.

* floor: `BookSet.apply_price_changes` only.
* idle: + the three built-ins (market_maker, complement_arb, momentum) on every market, the
  risk feed (`observe_mid`) and the chain; the deltas rest behind the top of book, so every
  strategy early-exits (the quotes were placed during warm-up). Target >= 200,000 events/s.
* mixed: the same with deltas skewed to the top of book (the market maker requotes, momentum
  trades): events/s and intents/event, for reference.
* busy: a strategy that returns one order intent per event, every intent through the rate
  limiter (limits wide open) and all ten risk factors, records built. Target >= 20,000
  intents/s.

Run: .venv/bin/python bench/decide.py [--events N] [--repeat R]
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from polymarket_bot.core.book import BookSet
from polymarket_bot.core.clock import TestClock
from polymarket_bot.core.decisions import DecisionChain, DecisionContext
from polymarket_bot.core.events import PriceChange, PriceLevelChange
from polymarket_bot.core.intents import Intent, MarketInfo, OrderIntent
from polymarket_bot.core.portfolio import Portfolio
from polymarket_bot.core.ratelimit import OrderRateLimiter, RateLimitConfig
from polymarket_bot.core.risk import RiskConfig, RiskEngine
from polymarket_bot.core.types import Outcome, Side
from polymarket_bot.strategies.base import StrategyEvent, StrategyLike
from polymarket_bot.strategies.complement_arb import ComplementArb, ComplementArbParams
from polymarket_bot.strategies.market_maker import MarketMaker, MarketMakerParams
from polymarket_bot.strategies.momentum import Momentum, MomentumParams
from polymarket_bot.strategies.runner import StrategyRunner
from polymarket_bot.strategies.view import StrategyView

N_MARKETS = 100
DEPTH = 20
T0 = 1_760_000_000.0
D = Decimal
PRICES = [D(u) / 100 for u in range(101)]

SETTINGS_TRADING: dict[str, Any] = {
    "order_frequency": {"interval_seconds": 60, "max_orders": 120},
    "strategy_order_frequency": {
        "global": {"interval_seconds": 60, "max_orders": 60},
        "per_strategy": {"default": {"interval_seconds": 60, "max_orders": 20}},
        "per_market_side": {"default": {"interval_seconds": 60, "max_orders": 3}},
    },
}
OPEN_LIMITS: dict[str, Any] = {
    "order_frequency": {"interval_seconds": 60, "max_orders": 10**9},
    "strategy_order_frequency": {
        "global": {"interval_seconds": 60, "max_orders": 10**9},
        "per_strategy": {"default": {"interval_seconds": 60, "max_orders": 10**9}},
        "per_market_side": {"default": {"interval_seconds": 60, "max_orders": 10**9}},
    },
}


def make_markets() -> dict[str, MarketInfo]:
    return {
        f"0xm{i}": MarketInfo(f"0xm{i}", f"{i}1", f"{i}2", name=f"SIM-{i}")
        for i in range(N_MARKETS)
    }


def make_books(markets: dict[str, MarketInfo], seed: int) -> tuple[BookSet, dict[str, int]]:
    """YES centred at a random mid with a 2-tick spread; NO mirrored. Returns mids (units)."""
    rng = random.Random(seed)
    books = BookSet()
    centres: dict[str, int] = {}
    for info in markets.values():
        c = rng.randrange(30, 71)
        centres[info.condition_id] = c
        for token, centre in ((info.yes_token, c), (info.no_token, 100 - c)):
            bids = [(PRICES[centre - 1 - k], D(rng.randint(50, 900))) for k in range(DEPTH)]
            asks = [(PRICES[centre + 1 + k], D(rng.randint(50, 900))) for k in range(DEPTH)]
            books.add(token, market=info.condition_id).apply_snapshot(bids, asks, 0)
    return books, centres


def make_events(
    markets: dict[str, MarketInfo], centres: dict[str, int], n: int, top: bool, seed: int
) -> list[PriceChange]:
    """One level change per event; `top=False` keeps >= 2 ticks behind the best (idle)."""
    rng = random.Random(seed)
    infos = list(markets.values())
    events = []
    for _ in range(n):
        info = rng.choice(infos)
        yes = rng.random() < 0.5
        token = info.yes_token if yes else info.no_token
        centre = centres[info.condition_id] if yes else 100 - centres[info.condition_id]
        is_bid = rng.random() < 0.5
        dist = rng.randint(1, 4) if top else rng.randint(3, DEPTH)
        units = centre - dist if is_bid else centre + dist
        size = D(rng.randint(0, 900)) if top else D(rng.randint(1, 900))
        if top and dist == 1 and size == 0:
            size = D(10)  # keep both sides non-empty
        side = Side.BUY if is_bid else Side.SELL
        change = PriceLevelChange(
            token, info.condition_id, side, PRICES[units], size, None, None, "", 0
        )
        events.append(PriceChange(info.condition_id, (change,), 0))
    return events


class Busy:
    """Returns one BUY YES intent per event (the 'every event yields one' load)."""

    markets: frozenset[str] | None = None

    def __init__(self, markets: dict[str, MarketInfo]) -> None:
        self.name = "busy"
        self._intents = {
            m.condition_id: (
                OrderIntent(
                    "busy", m.condition_id, Outcome.YES, m.yes_token, Side.BUY, D(10), D("0.3")
                ),
            )
            for m in markets.values()
        }

    def on_event(self, event: StrategyEvent, view: StrategyView) -> Sequence[Intent]:
        return self._intents[event.market]

    def on_timer(self, now: float, view: StrategyView) -> Sequence[Intent]:
        return ()

    def on_decision(self, decision: Any, now: float) -> None:
        return None


class Run:
    def __init__(self, strategies: str, limits: dict[str, Any], seed: int) -> None:
        self.markets = make_markets()
        self.books, self.centres = make_books(self.markets, seed)
        self.clock = TestClock(T0)
        strats: list[StrategyLike]
        if strategies == "builtins":
            strats = [
                MarketMaker("mm", MarketMakerParams()),
                ComplementArb("arb", ComplementArbParams()),
                Momentum("mo", MomentumParams()),
            ]
        else:
            strats = [Busy(self.markets)]
        views = {
            s.name: StrategyView(s.name, books=self.books, markets=self.markets, clock=self.clock)
            for s in strats
        }
        self.runner = StrategyRunner(strats, views)
        self.risk = RiskEngine(RiskConfig())
        self.chain = DecisionChain(
            OrderRateLimiter(RateLimitConfig.from_trading(limits)), self.risk, runtime_mode="bench"
        )
        self.ctx = DecisionContext(
            self.books, self.markets, Portfolio(D(10_000), markets=self.markets), 0.5
        )
        self.intents = 0
        self.approved = 0

    def warm_up(self) -> None:
        """One snapshot-like pass: every market evaluated once (the market maker quotes)."""
        for info in self.markets.values():
            self.step_event(
                PriceChange(
                    info.condition_id,
                    (
                        PriceLevelChange(
                            info.yes_token, info.condition_id, Side.BUY,
                            PRICES[self.centres[info.condition_id] - 1], D(500), None, None, "", 0,
                        ),
                    ),
                    0,
                )
            )  # fmt: skip
        self.intents = self.approved = 0

    def step_event(self, event: PriceChange) -> None:
        self.clock.advance(0.001)
        self.books.apply_price_changes(event.changes, 0)
        self._after_book(event)

    def _after_book(self, event: PriceChange) -> None:
        now = self.clock.time()
        token = event.changes[0].asset_id
        book = self.books[token]
        bid, ask = book.best_bid_units(), book.best_ask_units()
        if bid is not None and ask is not None:
            self.risk.observe_mid(token, (bid + ask) / 20_000, now)
        intents = self.runner.on_event(event)
        if intents:
            self.intents += len(intents)
            batch = self.chain.decide(intents, self.ctx, now)
            self.approved += len(batch.approved)
            self.runner.notify(batch.decisions, now)

    def run(self, events: list[PriceChange]) -> float:
        gc.collect()
        gc.disable()
        t0 = time.perf_counter()
        step = self.step_event
        for event in events:
            step(event)
        elapsed = time.perf_counter() - t0
        gc.enable()
        return elapsed


def floor(events: list[PriceChange], seed: int) -> float:
    books, _ = make_books(make_markets(), seed)
    gc.collect()
    gc.disable()
    t0 = time.perf_counter()
    apply = books.apply_price_changes
    for event in events:
        apply(event.changes, 0)
    elapsed = time.perf_counter() - t0
    gc.enable()
    return elapsed


def best_of(fn: Callable[[], float], repeat: int) -> float:
    return min(fn() for _ in range(repeat))


def scenario(
    strategies: str, limits: dict[str, Any], events: list[PriceChange], repeat: int
) -> tuple[float, int, int]:
    """Best time of `repeat` fresh runs (warm-up excluded), with the last run's counts."""
    times, intents, approved = [], 0, 0
    for _ in range(repeat):
        run = Run(strategies, limits, seed=1)
        run.warm_up()
        times.append(run.run(events))
        intents, approved = run.intents, run.approved
    return min(times), intents, approved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n, r = args.events, args.repeat
    markets = make_markets()
    _, centres = make_books(markets, 1)
    deep = make_events(markets, centres, n, top=False, seed=2)
    top = make_events(markets, centres, n, top=True, seed=3)
    busy_n = max(n // 4, 1000)

    t_floor_deep = best_of(lambda: floor(deep, 1), r)
    t_floor_top = best_of(lambda: floor(top, 1), r)
    t_floor_busy = best_of(lambda: floor(deep[:busy_n], 1), r)
    t_idle, idle_intents, _ = scenario("builtins", SETTINGS_TRADING, deep, r)
    t_mixed, mixed_intents, mixed_ok = scenario("builtins", SETTINGS_TRADING, top, r)
    t_busy, busy_intents, busy_ok = scenario("busy", OPEN_LIMITS, deep[:busy_n], r)

    def rate(count: int, seconds: float) -> str:
        return f"{count / seconds:>12,.0f}/s" if seconds > 0 else "         inf"

    print(f"{n} events over {N_MARKETS} markets ({2 * N_MARKETS} books), best of {r}")
    print(f"{'scenario':<48}{'events/s':>15}{'chain only':>15}  notes")
    rows = [
        ("floor: bare book update (deep deltas)", n, t_floor_deep, None, ""),
        (
            "idle: book + 3 built-ins + limits + risk",
            n,
            t_idle,
            t_idle - t_floor_deep,
            f"{idle_intents} intents (target >= 200,000 events/s)",
        ),
        ("floor: bare book update (top deltas)", n, t_floor_top, None, ""),
        (
            "mixed: top-of-book deltas, built-ins",
            n,
            t_mixed,
            t_mixed - t_floor_top,
            f"{mixed_intents / n:.3f} intents/event, {mixed_ok} approved",
        ),
        ("floor: bare book update (busy slice)", busy_n, t_floor_busy, None, ""),
        (
            "busy: 1 intent/event, limits + 10 risk factors",
            busy_n,
            t_busy,
            t_busy - t_floor_busy,
            f"{rate(busy_intents, t_busy).strip()} intents ({busy_ok} approved; "
            "target >= 20,000/s)",
        ),
    ]
    for label, count, seconds, chain_only, note in rows:
        chain = rate(count, chain_only) if chain_only is not None else ""
        print(f"{label:<48}{rate(count, seconds):>15}{chain:>15}  {note}")
    print(
        f"idle chain / floor time: {t_idle / t_floor_deep:.2f}x; "
        f"per event: floor {1e6 * t_floor_deep / n:.2f} us, idle {1e6 * t_idle / n:.2f} us, "
        f"busy {1e6 * t_busy / busy_n:.2f} us"
    )


if __name__ == "__main__":
    main()
