"""Risk engine: every factor's arithmetic, the seed's audit record, modes, counters, config."""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from polymarket_bot.core.book import OrderBook
from polymarket_bot.core.errors import InvalidValueError
from polymarket_bot.core.intents import MarketInfo, OrderIntent, PositionInfo, SizeUnit
from polymarket_bot.core.ledger import Ledger, LedgerFill
from polymarket_bot.core.orders import Order, OrderState
from polymarket_bot.core.portfolio import Portfolio
from polymarket_bot.core.risk import (
    ALL_FACTORS,
    RiskConfig,
    RiskDecision,
    RiskEngine,
    TradingMode,
    risk_audit_record,
)
from polymarket_bot.core.types import OrderType, Outcome, Side, TickSize

D = Decimal
T = 1_760_350_020.0  # 2025-10-13T10:07:00.000Z
M = MarketInfo("0xm1", "101", "102", name="SIM-1")


def book(
    bids: list[tuple[str, str]], asks: list[tuple[str, str]], tick: TickSize = TickSize.T0_01
) -> OrderBook:
    b = OrderBook("x", tick)
    b.apply_snapshot(bids, asks, 0)
    return b


DEEP = book([("0.49", "5000")], [("0.51", "5000")])


def buy(
    shares: str = "100",
    price: str = "0.5",
    outcome: Outcome = Outcome.YES,
    market: MarketInfo = M,
    **kw: Any,
) -> OrderIntent:
    return OrderIntent(
        "s", market.condition_id, outcome, market.token(outcome), Side.BUY, D(shares), D(price),
        **kw,
    )  # fmt: skip


def sell(shares: str = "10", price: str = "0.5", outcome: Outcome = Outcome.YES) -> OrderIntent:
    return OrderIntent(
        "s", M.condition_id, outcome, M.token(outcome), Side.SELL, D(shares), D(price)
    )


def evaluate(
    engine: RiskEngine,
    intent: OrderIntent,
    *,
    portfolio: Portfolio | None = None,
    market: MarketInfo | None = M,
    book_: OrderBook | None = DEEP,
    age: float | None = 1.0,
    now: float = T,
) -> RiskDecision:
    """The decision with its factors' numbers as `risk_audit.jsonl` writes them (floats); the
    decision's own are raw, money as Decimal (`test_risk_audit.py` pins the written lines)."""
    pf = portfolio or Portfolio(D(10_000), markets={M.condition_id: M})
    decision = engine.evaluate(
        intent, portfolio=pf, market=market, book=book_, feed_age_seconds=age, now=now
    )
    written = risk_audit_record(intent, decision, now)["risk"]["factors"]
    return replace(decision, factors=written)


def only(*factors: str, **cfg: Any) -> RiskEngine:
    return RiskEngine(RiskConfig(factors=factors, **cfg))


def feed_returns(
    engine: RiskEngine, token: str, returns: list[float], t0: float = T - 1000
) -> None:
    mid = 0.5
    engine.observe_mid(token, mid, t0)
    for k, r in enumerate(returns, start=1):
        mid *= 1 + r
        engine.observe_mid(token, mid, t0 + k)


def seed_returns() -> list[float]:
    """20 returns whose 5% quantile (2nd smallest) is -0.013 and population stdev 0.025."""
    lo, hi = 0.0, 0.2
    for _ in range(200):
        c = (lo + hi) / 2
        rs = [-0.06, -0.013] + [c] * 9 + [-0.01] * 9
        lo, hi = (c, hi) if statistics.pstdev(rs) < 0.025 else (lo, c)
    return rs


# -- the seed's example ------------------------------------------------------------------------


def test_reproduces_the_seed_risk_audit_example() -> None:
    engine = only("var", "liquidity")
    feed_returns(engine, M.no_token, seed_returns())
    stats = engine.stats(M.no_token)
    assert (stats.var, stats.volatility, stats.samples) == (-0.013, 0.025, 20)
    intent = buy("300", "0.5", Outcome.NO)  # notional 150
    decision = evaluate(engine, intent, book_=book([("0.49", "2000")], [("0.51", "2000")]))
    record = risk_audit_record(intent, decision, T, market_id="SIM-1")
    assert record == {
        "timestamp": "2025-10-13T10:07:00.000Z",
        "market_id": "SIM-1",
        "action": "no",
        "size": 150.0,
        "approved": False,
        "risk": {
            "timestamp": "2025-10-13T10:07:00.000Z",
            "portfolio_balance": 10000.0,
            "order_size": 150.0,
            "factors": {
                "var": {
                    "approved": True, "var": -0.013, "allowed_loss": 500.0, "potential_loss": 1.95,
                },
                "liquidity": {
                    "approved": False, "max_allocation": 120.0, "volatility_adjustment": 0.8,
                    "balance": 10000.0,
                },
            },
            "approved": False,
            "rejections": ["liquidity"],
        },
    }  # fmt: skip
    assert json.loads(json.dumps(record)) == record  # plain JSON types only
    assert engine.counters.as_dict() == {"approved": 0, "rejected": 1, "reasons": {"liquidity": 1}}


# -- factors one by one ------------------------------------------------------------------------


def test_trading_modes_and_kill_switch() -> None:
    engine = only("trading_mode")
    pf = Portfolio(D(1000), positions={(M.condition_id, "yes"): PositionInfo(D(50), D(20))})
    assert evaluate(engine, buy(), portfolio=pf).approved
    engine.set_kill_switch(True, "file run/KILL")
    d = evaluate(engine, buy(), portfolio=pf)
    assert d.factors["trading_mode"] == {
        "approved": False, "mode": "reduce_only", "kill_switch": True, "reason": "file run/KILL",
    }  # fmt: skip
    assert evaluate(engine, sell("50"), portfolio=pf).approved  # reduces: allowed
    assert not evaluate(engine, sell("51"), portfolio=pf).approved  # more than held
    engine.set_kill_switch(False)
    engine.set_mode(TradingMode.REDUCE_ONLY, "operator")
    assert evaluate(engine, buy(), portfolio=pf).factors["trading_mode"]["reason"] == "operator"
    engine.set_mode(TradingMode.HALTED, "venue halted")
    assert not evaluate(engine, sell("5"), portfolio=pf).approved
    assert engine.effective_mode is TradingMode.HALTED


@pytest.mark.parametrize(
    ("age", "healthy", "snapshot", "reason"),
    [
        (1.0, True, True, None),
        (30.0, True, True, None),
        (30.5, True, True, "market data feed stale"),
        (None, True, True, "no market data feed"),
        (1.0, False, True, "cancel-only"),
        (1.0, True, False, "no book (awaiting snapshot)"),
    ],
)
def test_stale_data(age: float | None, healthy: bool, snapshot: bool, reason: str | None) -> None:
    engine = only("stale_data")
    engine.set_venue_health(healthy, "cancel-only")
    b = DEEP if snapshot else OrderBook("x")
    f = evaluate(engine, buy(), age=age, book_=b).factors["stale_data"]
    assert f["approved"] is (reason is None)
    assert f.get("reason") == reason
    assert (f["max_age_seconds"], f["venue_healthy"]) == (30.0, healthy)


def test_order_limits() -> None:
    engine = only("order_limits", min_order_notional=D(1), max_order_notional=D(500))
    pf = Portfolio(D(1000), positions={(M.condition_id, "yes"): PositionInfo(D(50), D(20))})
    assert not evaluate(engine, buy("1", "0.5")).approved  # $0.50 entry
    assert evaluate(engine, sell("1", "0.5"), portfolio=pf).approved  # exits have no minimum
    assert evaluate(engine, buy("1000", "0.5")).approved  # exactly 500
    d = evaluate(engine, buy("1000.02", "0.5"))
    assert d.factors["order_limits"] == {
        "approved": False, "notional": 500.01, "min_notional": 1.0, "max_notional": 500.0,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("intent", "market", "reason"),
    [
        (buy("10", "0.5"), M, None),
        (buy("10", "0.505"), M, "price off the tick grid"),
        (buy("10", "0.995", market=MarketInfo("0xm1", "101", "102", TickSize.T0_001)), None,
         "unknown market"),
        (buy("4", "0.5"), M, "size below the market minimum"),
        (buy("5.555", "0.5"), M, "shares not a positive multiple of 0.01"),
        (buy("5", "0.1", order_type=OrderType.FOK), M, "marketable BUY below $1"),
        (buy("10", "0.51", post_only=True), M, "post-only order would cross"),
        (OrderIntent("s", "0xm1", Outcome.YES, "102", Side.BUY, D(10), D("0.5")), M,
         "token is not the market's outcome token"),
    ],
)  # fmt: skip
def test_venue_rules(intent: OrderIntent, market: MarketInfo | None, reason: str | None) -> None:
    f = evaluate(only("venue_rules"), intent, market=market).factors["venue_rules"]
    assert f.get("reason") == reason and f["approved"] is (reason is None)


def test_venue_rules_crossing_gtc_buy_is_marketable() -> None:
    small = MarketInfo("0xm1", "101", "102", min_order_size=D(1))
    f = evaluate(only("venue_rules"), buy("1.5", "0.51"), market=small).factors["venue_rules"]
    assert (f["marketable"], f["reason"]) == (True, "marketable BUY below $1")  # 0.765 < $1
    assert evaluate(only("venue_rules"), buy("1.5", "0.50"), market=small).approved  # rests


def test_venue_rules_tick_from_the_live_book() -> None:
    fine = book([("0.499", "100")], [("0.511", "100")], TickSize.T0_001)
    assert evaluate(only("venue_rules"), buy("10", "0.505"), book_=fine).approved
    f = evaluate(only("venue_rules"), buy("10", "0.5"), book_=fine).factors["venue_rules"]
    assert (f["tick"], f["min_size"], f["marketable"]) == (0.001, 5.0, False)


def test_balance_includes_taker_fee_when_marketable() -> None:
    fee_market = MarketInfo("0xm1", "101", "102", fee_rate=D("0.04"), name="SIM-1")
    engine = only("balance")
    pf = Portfolio(D("50.48"))
    # FOK: 100 x 0.5 + fee 100 x 0.04 x 0.5 x 0.5 = 51.00 > 50.48
    fok = buy("100", "0.5", order_type=OrderType.FOK)
    f = evaluate(engine, fok, portfolio=pf, market=fee_market).factors["balance"]
    assert f == {"approved": False, "balance": 50.48, "required": 51.0}
    # a GTC through the 0.51 ask is marketable too: 51 + 100 x 0.04 x 0.51 x 0.49
    f = evaluate(engine, buy("100", "0.51"), portfolio=pf, market=fee_market).factors["balance"]
    assert f["required"] == 51.9996
    # resting (not marketable): no fee
    ok = evaluate(engine, buy("100", "0.5"), portfolio=pf, market=fee_market).factors["balance"]
    assert ok == {"approved": True, "balance": 50.48, "required": 50.0}
    pf2 = Portfolio(D(0), positions={(M.condition_id, "yes"): PositionInfo(D(5), D(2))})
    assert evaluate(engine, sell("5"), portfolio=pf2).approved
    assert evaluate(engine, sell("5.01"), portfolio=pf2).factors["balance"] == {
        "approved": False, "shares": 5.01, "sellable": 5.0,
    }  # fmt: skip


def test_exposure_caps_market_event_total() -> None:
    e1 = MarketInfo("0xe1", "11", "12", neg_risk=True, event_id="E")
    e2 = MarketInfo("0xe2", "21", "22", neg_risk=True, event_id="E")
    markets = {m.condition_id: m for m in (M, e1, e2)}
    pf = Portfolio(
        D(10_000),
        positions={
            ("0xm1", "yes"): PositionInfo(D(1900), D(950)),
            ("0xe1", "yes"): PositionInfo(D(1000), D(900)),
            ("0xe2", "no"): PositionInfo(D(1000), D(900)),
        },
        markets=markets,
    )
    engine = only("exposure", max_total_exposure=D(5000))
    assert evaluate(engine, buy("100", "0.5"), portfolio=pf).approved  # 950 + 50 = 1000
    f = evaluate(engine, buy("102", "0.5"), portfolio=pf).factors["exposure"]
    assert f == {
        "approved": False, "market_exposure": 1001.0, "max_market": 1000.0,
        "total_exposure": 2801.0, "max_total": 5000.0,
    }  # fmt: skip
    f = evaluate(engine, buy("500", "0.41", market=e1), portfolio=pf, market=e1).factors["exposure"]
    assert (f["approved"], f["event_exposure"], f["max_event"]) == (False, 2005.0, 2000.0)
    small_total = only("exposure", max_total_exposure=D(2750))
    assert not evaluate(small_total, buy("2", "0.5"), portfolio=pf).approved  # 2751 total
    assert evaluate(small_total, sell("10"), portfolio=pf).approved  # a sell never adds


def test_daily_loss_and_drawdown_stops() -> None:
    engine = only("daily_loss", "drawdown", daily_loss_stop=D(500), drawdown_stop=D(1000))
    day = 86_400.0
    t0 = 20_000 * day
    engine.update_equity(D(12_000), t0 - 10)  # previous day's peak
    engine.update_equity(D(10_300), t0 + 5)  # first update of the day: baseline
    engine.update_equity(D(9_900), t0 + 100)
    d = evaluate(engine, buy(), now=t0 + 100)
    assert d.factors["daily_loss"] == {"approved": True, "daily_loss": 400.0, "limit": 500.0}
    assert d.factors["drawdown"] == {
        "approved": False, "drawdown": 2100.0, "limit": 1000.0, "peak_equity": 12000.0,
    }  # fmt: skip
    engine.update_equity(D(9_800), t0 + 200)
    assert evaluate(engine, buy(), now=t0 + 200).rejections == ("daily_loss", "drawdown")
    pf = Portfolio(D(1000), positions={(M.condition_id, "yes"): PositionInfo(D(50), D(20))})
    assert evaluate(engine, sell("10"), portfolio=pf).approved  # exits still allowed
    engine.update_equity(D(11_500), t0 + day)  # a new UTC day, recovered
    assert evaluate(engine, buy(), now=t0 + day).approved


def test_var_historical_and_fallback() -> None:
    engine = only("var", var_allowed_loss=D(10), var_min_samples=10)
    d = evaluate(engine, buy("400", "0.5"))  # no history: fallback -0.05 x 200 = 10
    assert d.factors["var"] == {
        "approved": True, "var": -0.05, "allowed_loss": 10.0, "potential_loss": 10.0,
    }  # fmt: skip
    assert not evaluate(engine, buy("402", "0.5")).approved  # 10.05 > 10
    feed_returns(engine, M.yes_token, [0.01, -0.02] * 10)  # 5% quantile = -0.02
    d = evaluate(engine, buy("1000", "0.5"))
    assert (d.factors["var"]["var"], d.factors["var"]["potential_loss"]) == (-0.02, 10.0)
    gains = only("var")
    feed_returns(gains, M.yes_token, [0.01] * 20)  # only gains: nothing at risk
    assert evaluate(gains, buy("4000", "0.5")).factors["var"]["potential_loss"] == 0.0


def test_var_samples_are_bucketed_and_bounded() -> None:
    engine = RiskEngine(RiskConfig(var_window=5, var_sample_seconds=1.0))
    for k in range(10):
        engine.observe_mid("t", 0.5 + k / 100, 100 + k * 0.25)  # 4 per second: one bucket each
    assert engine.stats("t").samples == 2  # 3 buckets -> 2 returns
    for k in range(50):
        engine.observe_mid("t", 0.5, 200 + k)
    assert engine.stats("t").samples == 5  # window 5 returns
    engine.forget("t")
    assert engine.stats("t").samples == 0


def test_var_resolution_scenarios_binary() -> None:
    end_soon = MarketInfo("0xm1", "101", "102", end_date_s=T + 3600, name="SIM-1")
    engine = only("var", var_allowed_loss=D(30))
    pf = Portfolio(D(1000), positions={("0xm1", "yes"): PositionInfo(D(100), D(60))})
    # after buying 50 NO at 0.5: cost 85; YES wins pays 100 (gain), NO wins pays 50: loss 35
    d = evaluate(
        engine, buy("50", "0.5", Outcome.NO, market=end_soon), portfolio=pf, market=end_soon
    )
    assert d.factors["var"] == {
        "approved": False, "var": -0.05, "allowed_loss": 30.0, "resolution_loss": 35.0,
        "potential_loss": 35.0,
    }  # fmt: skip
    far = MarketInfo("0xm1", "101", "102", end_date_s=T + 10 * 86_400)
    assert "resolution_loss" not in evaluate(engine, buy(), portfolio=pf, market=far).factors["var"]
    always = only("var", var_resolution_horizon_seconds=-1.0)
    # 200 YES for 110 in total: NO winning loses all of it
    f = evaluate(always, buy(), portfolio=pf, market=far).factors["var"]
    assert f["resolution_loss"] == 110.0
    never = only("var", var_resolution_horizon_seconds=0.0)
    f = evaluate(never, buy(), portfolio=pf, market=end_soon).factors["var"]
    assert "resolution_loss" not in f


def test_var_resolution_scenarios_neg_risk_exactly_one_winner() -> None:
    def ev(n: int, count: int | None) -> MarketInfo:
        return MarketInfo(
            f"0xe{n}", f"{n}1", f"{n}2", neg_risk=True, event_id="E", end_date_s=T + 60,
            event_market_count=count,
        )  # fmt: skip

    engine = only("var", var_allowed_loss=D(50))
    for count, expected in ((3, 0.0), (None, 95.0)):
        ms = [ev(n, count) for n in (1, 2, 3)]
        pf = Portfolio(
            D(1000),
            positions={("0xe1", "yes"): PositionInfo(D(100), D(30)),
                       ("0xe2", "yes"): PositionInfo(D(100), D(30))},
            markets={m.condition_id: m for m in ms},
        )  # fmt: skip
        # buying the third outcome completes the set: every scenario pays 100 for 95 of cost;
        # with an open outcome set, "none of them wins" loses all 95
        d = evaluate(engine, buy("100", "0.35", market=ms[2]), portfolio=pf, market=ms[2])
        assert d.factors["var"]["resolution_loss"] == expected
    ms = [ev(n, 3) for n in (1, 2, 3)]
    pf = Portfolio(D(1000), positions={("0xe1", "no"): PositionInfo(D(100), D(70))},
                   markets={m.condition_id: m for m in ms})  # fmt: skip
    # NO of market 1 loses only when market 1 wins: 70 + the new 10 of YES on market 2
    d = evaluate(engine, buy("20", "0.5", market=ms[1]), portfolio=pf, market=ms[1])
    assert d.factors["var"]["resolution_loss"] == 80.0 and not d.approved


def test_liquidity_depth_spread_and_volatility() -> None:
    engine = only("liquidity")
    pf = Portfolio(D(10_000))
    thin = book([("0.49", "1000")], [("0.51", "100"), ("0.53", "100"), ("0.60", "1000")])
    # depth within 5 ticks of 0.51: 0.51 x 100 + 0.53 x 100 = 104 -> x 0.25 = 26; no history:
    # volatility floor 0.5 -> 13
    f = evaluate(engine, buy("20", "0.5"), portfolio=pf, book_=thin).factors["liquidity"]
    assert f == {
        "approved": True, "max_allocation": 13.0, "volatility_adjustment": 0.5,
        "balance": 10000.0, "depth_allocation": 26.0,
    }  # fmt: skip
    wide = book([("0.30", "10000")], [("0.50", "10000")])
    feed_returns(engine, M.yes_token, [0.001, -0.001] * 10)  # volatility 0.001 -> adjustment 1
    f = evaluate(engine, buy("100", "0.5"), portfolio=pf, book_=wide).factors["liquidity"]
    # 150 x 1 x (0.05 / 0.20 = 0.25) = 37.5
    assert f == {
        "approved": False, "max_allocation": 37.5, "volatility_adjustment": 1.0,
        "balance": 10000.0, "spread_adjustment": 0.25,
    }  # fmt: skip
    choppy = only("liquidity")
    feed_returns(choppy, M.yes_token, [0.1, -0.1] * 10)  # volatility 0.1 -> 0.2 -> floor 0.5
    assert evaluate(choppy, buy(), book_=DEEP).factors["liquidity"]["volatility_adjustment"] == 0.5
    mild = only("liquidity")
    feed_returns(mild, M.yes_token, [0.025, -0.025] * 10)  # 0.02 / 0.025 = 0.8
    f = evaluate(mild, buy(), book_=DEEP).factors["liquidity"]
    assert (f["volatility_adjustment"], f["max_allocation"]) == (0.8, 120.0)
    assert not evaluate(engine, buy(), book_=None).approved  # no book: no visible depth


def test_all_factors_run_even_after_a_rejection_and_counters() -> None:
    engine = RiskEngine()
    d = evaluate(engine, buy("4", "0.505"), age=None)
    assert list(d.factors) == list(ALL_FACTORS)
    assert d.rejections == ("stale_data", "venue_rules")
    assert all(f["approved"] for name, f in d.factors.items() if name not in d.rejections)
    assert evaluate(engine, buy("20", "0.5")).approved
    evaluate(engine, buy("20", "0.5"), age=99.0)
    assert engine.counters.as_dict() == {
        "approved": 1, "rejected": 2, "reasons": {"stale_data": 2, "venue_rules": 1},
    }  # fmt: skip
    assert engine.counters.top_rejections(1) == [("stale_data", 2)]


def test_usd_sized_intent_is_weighed_by_notional() -> None:
    i = OrderIntent("s", "0xm1", Outcome.YES, "101", Side.BUY, D(25), D("0.3"), SizeUnit.USD)
    d = evaluate(only("order_limits", "venue_rules"), i)
    assert d.order_size == D(25) and d.factors["venue_rules"]["shares"] == 83.33


# -- configuration -----------------------------------------------------------------------------


def test_config_from_settings_defaults() -> None:
    from polymarket_bot.config.settings import DEFAULT_RUNTIME

    cfg = RiskConfig.from_dict(DEFAULT_RUNTIME["risk"])
    assert cfg == RiskConfig()  # the documented defaults are the shipped ones
    assert RiskConfig.from_dict({"factors": ["var"], "var_window": 20.0}).factors == ("var",)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"var_alowed_loss": 1}, "var_alowed_loss"),
        ({"var_confidence": 1.5}, "var_confidence"),
        ({"max_order_notional": "lots"}, "max_order_notional"),
        ({"var_window": 2.5}, "var_window"),
        ({"factors": ["var", "vibes"]}, "factors"),
        ({"min_order_notional": 10, "max_order_notional": 5}, "min_order_notional"),
        ({"drawdown_stop": -1}, "drawdown_stop"),
    ],
)
def test_config_errors_name_the_key(raw: dict[str, Any], key: str) -> None:
    with pytest.raises(InvalidValueError, match=rf"risk\.{key}"):
        RiskConfig.from_dict(raw)


def test_hot_reload_keeps_history() -> None:
    engine = RiskEngine()
    feed_returns(engine, "t", [0.01, -0.02] * 10)
    engine.update_config(RiskConfig(var_confidence=0.5, var_window=10))
    s = engine.stats("t")
    # the last 10 returns, alternating: the 50% quantile (index 5 of 10 sorted) is +0.01
    assert s.samples == 10 and s.var == 0.01 and math.isclose(s.volatility, 0.015)


# -- portfolio ---------------------------------------------------------------------------------


def test_portfolio_from_ledger_and_open_orders() -> None:
    ledger = Ledger(D(1000))
    ledger.apply_fill(LedgerFill("f1", "0xm1", "Yes", Side.BUY, D("0.4"), D(100)))
    buy_order = Order(
        "c1", "0xm1", "101", Outcome.YES, Side.BUY, D("0.3"), D(50), state=OrderState.LIVE
    )
    sell_order = Order(
        "c2", "0xm1", "101", Outcome.YES, Side.SELL, D("0.6"), D(30), state=OrderState.LIVE
    )
    done = Order(
        "c3", "0xm1", "101", Outcome.YES, Side.BUY, D("0.3"), D(50), state=OrderState.CANCELED
    )
    pf = Portfolio.from_ledger(
        ledger, markets={"0xm1": M}, open_orders=[buy_order, sell_order, done]
    )
    assert pf.balance == D(1000) - D(40) - D(15)
    assert pf.position("0xm1", "yes") == PositionInfo(D(100), D("40.0"))
    assert pf.sellable("0xm1", Outcome.YES) == D(70)
    assert pf.market_exposure("0xm1") == D(55) and pf.total_exposure == D(55)
    assert pf.scenario_position("0xm1", "yes") == PositionInfo(D(150), D(55))
    pf.reserve(buy("10", "0.5"))
    pf.reserve(sell("70"))
    assert (pf.balance, pf.market_exposure("0xm1"), pf.sellable("0xm1", "yes")) == (
        D(940),
        D(60),
        D(0),
    )


def test_portfolio_copy_is_independent() -> None:
    ledger = Ledger(D(1000))
    ledger.apply_fill(LedgerFill("f1", "0xm1", "Yes", Side.BUY, D("0.4"), D(100)))
    order = Order(
        "c1", "0xm1", "101", Outcome.YES, Side.BUY, D("0.3"), D(50), state=OrderState.LIVE
    )
    base = Portfolio.from_ledger(ledger, markets={"0xm1": M}, open_orders=[order])
    twin = base.copy()
    twin.reserve(buy("10", "0.5"))
    twin.reserve(sell("70"))
    assert ledger.cash == D(960)
    assert (base.balance, base.market_exposure("0xm1"), base.sellable("0xm1", "yes")) == (
        D(945),
        D(55),
        D(100),
    )
    assert (twin.balance, twin.market_exposure("0xm1"), twin.sellable("0xm1", "yes")) == (
        D(940),
        D(60),
        D(30),
    )


def test_depth_is_recomputed_when_the_book_changes() -> None:
    engine = only("liquidity")
    b = book([("0.49", "1000")], [("0.51", "100")])
    first = evaluate(engine, buy("10", "0.5"), book_=b).factors["liquidity"]
    assert first["depth_allocation"] == 12.75  # 0.51 x 100 x 0.25
    b.apply_level_decimal(False, D("0.52"), D("100"), 1)
    second = evaluate(engine, buy("10", "0.5"), book_=b).factors["liquidity"]
    assert second["depth_allocation"] == 25.75  # + 0.52 x 100 x 0.25
    other = book([("0.49", "1000")], [("0.51", "400")])  # same asset id, same counters
    assert (
        evaluate(engine, buy("10", "0.5"), book_=other).factors["liquidity"]["depth_allocation"]
        == 51.0
    )
