"""risk_audit.jsonl pinned: the exact JSON line of a representative set of risk decisions.

The factors report their numbers raw (money as Decimal) and `risk_audit_record` renders them
after the order is sent; these lines were produced by the code that rendered them on the spot,
so a change of key, key order, float value or type in the written record fails here.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from polymarket_bot.core.book import OrderBook
from polymarket_bot.core.intents import MarketInfo, OrderIntent, PositionInfo, SizeUnit
from polymarket_bot.core.portfolio import Portfolio
from polymarket_bot.core.risk import (
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
FEE = MarketInfo("0xm2", "201", "202", fee_rate=D("0.04"), name="SIM-2")
E1 = MarketInfo("0xe1", "11", "12", neg_risk=True, event_id="E", end_date_s=T + 3600, name="E-1")
E2 = MarketInfo("0xe2", "21", "22", neg_risk=True, event_id="E", end_date_s=T + 3600, name="E-2")
MARKETS = {m.condition_id: m for m in (M, FEE, E1, E2)}


def book(
    asset: str,
    bids: list[tuple[str, str]],
    asks: list[tuple[str, str]],
    tick: TickSize = TickSize.T0_01,
) -> OrderBook:
    b = OrderBook(asset, tick)
    b.apply_snapshot(bids, asks, 0)
    return b


def ladder(asset: str, bid: int, ask: int, size: str = "500") -> OrderBook:
    """Ten levels a side from `bid` / `ask` (in cents) outwards."""
    return book(
        asset,
        [(f"0.{bid - k:02d}", size) for k in range(10)],
        [(f"0.{ask + k:02d}", size) for k in range(10)],
    )


def intent(
    market: MarketInfo,
    side: Side,
    shares: str,
    price: str,
    outcome: Outcome = Outcome.YES,
    **kw: Any,
) -> OrderIntent:
    return OrderIntent(
        "s", market.condition_id, outcome, market.token(outcome), side, D(shares), D(price), **kw
    )


def engine() -> RiskEngine:
    """All default factors; history on M's YES (volatility ~0.025: adjustment ~0.8), equity
    310.125 below the day's start and 810.375 below the peak (both within the stops)."""
    eng = RiskEngine(RiskConfig())
    mid = 0.5
    eng.observe_mid(M.yes_token, mid, T - 100)
    for k in range(1, 21):
        mid *= 1.025 if k % 2 else 1 / 1.025
        eng.observe_mid(M.yes_token, mid, T - 100 + k)
    eng.update_equity(D("10800.50"), T - 86_400)  # yesterday's peak
    eng.update_equity(D("10300.25"), T - 3600)  # today's baseline
    eng.update_equity(D("9990.125"), T - 60)
    return eng


def portfolio() -> Portfolio:
    return Portfolio(
        D("9876.54"),
        positions={
            ("0xm1", "yes"): PositionInfo(D(120), D("55.20")),
            ("0xe1", "no"): PositionInfo(D(100), D(70)),
            ("0xe2", "yes"): PositionInfo(D(40), D("12.40")),
        },
        markets=MARKETS,
    )


BOOKS = {
    "101": ladder("101", 49, 51),
    "102": ladder("102", 49, 51),
    "201": ladder("201", 49, 51, "37.5"),
    "11": ladder("11", 34, 36),
    "21": ladder("21", 29, 31),
}
WIDE = book("101", [("0.40", "900")], [("0.47", "900")])  # spread 0.07: adjustment 5/7


def decide(
    eng: RiskEngine,
    order: OrderIntent,
    *,
    unknown: bool = False,
    bk: OrderBook | None = None,
    age: float | None = 1.234567,
    pf: Portfolio | None = None,
) -> RiskDecision:
    info = None if unknown else MARKETS[order.market]
    return eng.evaluate(
        order,
        portfolio=pf or portfolio(),
        market=info,
        book=bk if bk is not None else BOOKS.get(order.token_id),
        feed_age_seconds=age,
        now=T,
    )


def cases() -> list[tuple[str, OrderIntent, RiskDecision]]:
    out: list[tuple[str, OrderIntent, RiskDecision]] = []

    def add(name: str, eng: RiskEngine, order: OrderIntent, **kw: Any) -> None:
        out.append((name, order, decide(eng, order, **kw)))

    eng = engine()
    add("typical_buy", eng, intent(M, Side.BUY, "100", "0.5"))
    add("buy_no_token_no_history", eng, intent(M, Side.BUY, "33.33", "0.49", Outcome.NO))
    add("usd_sized", eng, intent(M, Side.BUY, "25", "0.3", size_unit=SizeUnit.USD))
    add("wide_spread", eng, intent(M, Side.BUY, "100", "0.41"), bk=WIDE)
    add("stale_off_tick_too_big", eng, intent(M, Side.BUY, "1200.5", "0.505"), age=45.0)
    add("no_feed_unknown_market", eng, intent(M, Side.BUY, "10", "0.5"), age=None, unknown=True)
    add(
        "fok_with_fee_below_balance",
        eng,
        intent(FEE, Side.BUY, "100", "0.51", order_type=OrderType.FOK),
        pf=Portfolio(D("50.5"), markets=MARKETS),
    )
    add("post_only_cross", eng, intent(M, Side.BUY, "10", "0.51", post_only=True))
    add(
        "marketable_below_one_dollar",
        eng,
        intent(FEE, Side.BUY, "5", "0.13", order_type=OrderType.FAK),
    )
    add("sell_more_than_held", eng, intent(M, Side.SELL, "120.01", "0.49"))
    heavy = Portfolio(D(10_000), positions={("0xm1", "yes"): PositionInfo(D(1800), D(900))})
    add("exposure_cap", eng, intent(M, Side.BUY, "400", "0.5"), pf=heavy)
    add("neg_risk_resolution", eng, intent(E2, Side.BUY, "1500", "0.31"))
    add("neg_risk_other_leg", eng, intent(E1, Side.BUY, "20", "0.36"))
    eng.set_kill_switch(True, "operator kill switch")
    add("kill_switch_reducing_sell", eng, intent(M, Side.SELL, "60", "0.49"))
    add("kill_switch_buy", eng, intent(M, Side.BUY, "10", "0.5"))
    eng.set_kill_switch(False)
    eng.update_equity(D("8990.001"), T - 30)  # past the daily-loss and drawdown stops
    eng.set_venue_health(False, "cancel-only")
    add("stops_and_venue", eng, intent(M, Side.BUY, "10", "0.5"))
    eng.set_venue_health(True)
    add("stops_buy", eng, intent(M, Side.BUY, "10", "0.5"))
    add("stops_reducing_sell", eng, intent(M, Side.SELL, "120", "0.5"))
    eng.set_mode(TradingMode.HALTED, "venue halted")
    add("halted_sell", eng, intent(M, Side.SELL, "10", "0.5"))
    return out


# Produced by the code that converted the numbers inside the factors (before the change):
# `json.dumps` of each record, as one string.
EXPECTED: dict[str, str] = {
    "typical_buy": (
        '{"timestamp": "2025-10-13T10:07:00.000Z", "market_id": "label-typical_buy",'
        ' "action": "yes", "size": 50.0, "approved": true,'
        ' "risk": {"timestamp": "2025-10-13T10:07:00.000Z", "portfolio_balance": 9876.54,'
        ' "order_size": 50.0, "factors": {"trading_mode": {"approved": true, "mode": "normal",'
        ' "kill_switch": false}, "stale_data": {"approved": true, "feed_age_seconds": 1.235,'
        ' "max_age_seconds": 30.0, "venue_healthy": true}, "order_limits": {"approved": true,'
        ' "notional": 50.0, "min_notional": 1.0, "max_notional": 500.0},'
        ' "venue_rules": {"approved": true, "price": 0.5, "tick": 0.01, "shares": 100.0,'
        ' "min_size": 5.0, "marketable": false}, "balance": {"approved": true,'
        ' "balance": 9876.54, "required": 50.0}, "exposure": {"approved": true,'
        ' "market_exposure": 105.2, "max_market": 1000.0, "total_exposure": 187.6,'
        ' "max_total": 5000.0}, "daily_loss": {"approved": true, "daily_loss": 310.125,'
        ' "limit": 500.0}, "drawdown": {"approved": true, "drawdown": 810.375,'
        ' "limit": 1000.0, "peak_equity": 10800.5}, "var": {"approved": true, "var": -0.02439,'
        ' "allowed_loss": 500.0, "potential_loss": 1.2195}, "liquidity": {"approved": true,'
        ' "max_allocation": 119.9823313761, "volatility_adjustment": 0.809881,'
        ' "balance": 9876.54}}, "approved": true, "rejections": []}}'
    ),
    "buy_no_token_no_history": (
        '{"timestamp": "2025-10-13T10:07:00.000Z",'
        ' "market_id": "label-buy_no_token_no_history", "action": "no", "size": 16.3317,'
        ' "approved": true, "risk": {"timestamp": "2025-10-13T10:07:00.000Z",'
        ' "portfolio_balance": 9876.54, "order_size": 16.3317,'
        ' "factors": {"trading_mode": {"approved": true, "mode": "normal",'
        ' "kill_switch": false}, "stale_data": {"approved": true, "feed_age_seconds": 1.235,'
        ' "max_age_seconds": 30.0, "venue_healthy": true}, "order_limits": {"approved": true,'
        ' "notional": 16.3317, "min_notional": 1.0, "max_notional": 500.0},'
        ' "venue_rules": {"approved": true, "price": 0.49, "tick": 0.01, "shares": 33.33,'
        ' "min_size": 5.0, "marketable": false}, "balance": {"approved": true,'
        ' "balance": 9876.54, "required": 16.3317}, "exposure": {"approved": true,'
        ' "market_exposure": 71.5317, "max_market": 1000.0, "total_exposure": 153.9317,'
        ' "max_total": 5000.0}, "daily_loss": {"approved": true, "daily_loss": 310.125,'
        ' "limit": 500.0}, "drawdown": {"approved": true, "drawdown": 810.375,'
        ' "limit": 1000.0, "peak_equity": 10800.5}, "var": {"approved": true, "var": -0.05,'
        ' "allowed_loss": 500.0, "potential_loss": 0.816585}, "liquidity": {"approved": true,'
        ' "max_allocation": 74.07405, "volatility_adjustment": 0.5, "balance": 9876.54}},'
        ' "approved": true, "rejections": []}}'
    ),
    "usd_sized": (
        '{"timestamp": "2025-10-13T10:07:00.000Z", "market_id": "label-usd_sized",'
        ' "action": "yes", "size": 25.0, "approved": true,'
        ' "risk": {"timestamp": "2025-10-13T10:07:00.000Z", "portfolio_balance": 9876.54,'
        ' "order_size": 25.0, "factors": {"trading_mode": {"approved": true, "mode": "normal",'
        ' "kill_switch": false}, "stale_data": {"approved": true, "feed_age_seconds": 1.235,'
        ' "max_age_seconds": 30.0, "venue_healthy": true}, "order_limits": {"approved": true,'
        ' "notional": 25.0, "min_notional": 1.0, "max_notional": 500.0},'
        ' "venue_rules": {"approved": true, "price": 0.3, "tick": 0.01, "shares": 83.33,'
        ' "min_size": 5.0, "marketable": false}, "balance": {"approved": true,'
        ' "balance": 9876.54, "required": 25.0}, "exposure": {"approved": true,'
        ' "market_exposure": 80.2, "max_market": 1000.0, "total_exposure": 162.6,'
        ' "max_total": 5000.0}, "daily_loss": {"approved": true, "daily_loss": 310.125,'
        ' "limit": 500.0}, "drawdown": {"approved": true, "drawdown": 810.375,'
        ' "limit": 1000.0, "peak_equity": 10800.5}, "var": {"approved": true, "var": -0.02439,'
        ' "allowed_loss": 500.0, "potential_loss": 0.60975}, "liquidity": {"approved": true,'
        ' "max_allocation": 119.9823313761, "volatility_adjustment": 0.809881,'
        ' "balance": 9876.54}}, "approved": true, "rejections": []}}'
    ),
    "wide_spread": (
        '{"timestamp": "2025-10-13T10:07:00.000Z", "market_id": "label-wide_spread",'
        ' "action": "yes", "size": 41.0, "approved": true,'
        ' "risk": {"timestamp": "2025-10-13T10:07:00.000Z", "portfolio_balance": 9876.54,'
        ' "order_size": 41.0, "factors": {"trading_mode": {"approved": true, "mode": "normal",'
        ' "kill_switch": false}, "stale_data": {"approved": true, "feed_age_seconds": 1.235,'
        ' "max_age_seconds": 30.0, "venue_healthy": true}, "order_limits": {"approved": true,'
        ' "notional": 41.0, "min_notional": 1.0, "max_notional": 500.0},'
        ' "venue_rules": {"approved": true, "price": 0.41, "tick": 0.01, "shares": 100.0,'
        ' "min_size": 5.0, "marketable": false}, "balance": {"approved": true,'
        ' "balance": 9876.54, "required": 41.0}, "exposure": {"approved": true,'
        ' "market_exposure": 96.2, "max_market": 1000.0, "total_exposure": 178.6,'
        ' "max_total": 5000.0}, "daily_loss": {"approved": true, "daily_loss": 310.125,'
        ' "limit": 500.0}, "drawdown": {"approved": true, "drawdown": 810.375,'
        ' "limit": 1000.0, "peak_equity": 10800.5}, "var": {"approved": true, "var": -0.02439,'
        ' "allowed_loss": 500.0, "potential_loss": 0.99999}, "liquidity": {"approved": true,'
        ' "max_allocation": 61.17493982142857, "volatility_adjustment": 0.809881,'
        ' "balance": 9876.54, "depth_allocation": 105.75, "spread_adjustment": 0.714286}},'
        ' "approved": true, "rejections": []}}'
    ),
    "stale_off_tick_too_big": (
        '{"timestamp": "2025-10-13T10:07:00.000Z",'
        ' "market_id": "label-stale_off_tick_too_big", "action": "yes", "size": 606.2525,'
        ' "approved": false, "risk": {"timestamp": "2025-10-13T10:07:00.000Z",'
        ' "portfolio_balance": 9876.54, "order_size": 606.2525,'
        ' "factors": {"trading_mode": {"approved": true, "mode": "normal",'
        ' "kill_switch": false}, "stale_data": {"approved": false, "feed_age_seconds": 45.0,'
        ' "max_age_seconds": 30.0, "venue_healthy": true, "reason": "market data feed stale"},'
        ' "order_limits": {"approved": false, "notional": 606.2525, "min_notional": 1.0,'
        ' "max_notional": 500.0}, "venue_rules": {"approved": false, "price": 0.505,'
        ' "tick": 0.01, "shares": 1200.5, "min_size": 5.0, "marketable": false,'
        ' "reason": "price off the tick grid"}, "balance": {"approved": true,'
        ' "balance": 9876.54, "required": 606.2525}, "exposure": {"approved": true,'
        ' "market_exposure": 661.4525, "max_market": 1000.0, "total_exposure": 743.8525,'
        ' "max_total": 5000.0}, "daily_loss": {"approved": true, "daily_loss": 310.125,'
        ' "limit": 500.0}, "drawdown": {"approved": true, "drawdown": 810.375,'
        ' "limit": 1000.0, "peak_equity": 10800.5}, "var": {"approved": true, "var": -0.02439,'
        ' "allowed_loss": 500.0, "potential_loss": 14.786498475},'
        ' "liquidity": {"approved": false, "max_allocation": 119.9823313761,'
        ' "volatility_adjustment": 0.809881, "balance": 9876.54}}, "approved": false,'
        ' "rejections": ["stale_data", "order_limits", "venue_rules", "liquidity"]}}'
    ),
    "no_feed_unknown_market": (
        '{"timestamp": "2025-10-13T10:07:00.000Z",'
        ' "market_id": "label-no_feed_unknown_market", "action": "yes", "size": 5.0,'
        ' "approved": false, "risk": {"timestamp": "2025-10-13T10:07:00.000Z",'
        ' "portfolio_balance": 9876.54, "order_size": 5.0,'
        ' "factors": {"trading_mode": {"approved": true, "mode": "normal",'
        ' "kill_switch": false}, "stale_data": {"approved": false, "feed_age_seconds": null,'
        ' "max_age_seconds": 30.0, "venue_healthy": true, "reason": "no market data feed"},'
        ' "order_limits": {"approved": true, "notional": 5.0, "min_notional": 1.0,'
        ' "max_notional": 500.0}, "venue_rules": {"approved": false, "price": 0.5,'
        ' "tick": 0.01, "shares": 10.0, "min_size": 0.0, "marketable": false,'
        ' "reason": "unknown market"}, "balance": {"approved": true, "balance": 9876.54,'
        ' "required": 5.0}, "exposure": {"approved": true, "market_exposure": 60.2,'
        ' "max_market": 1000.0, "total_exposure": 142.6, "max_total": 5000.0},'
        ' "daily_loss": {"approved": true, "daily_loss": 310.125, "limit": 500.0},'
        ' "drawdown": {"approved": true, "drawdown": 810.375, "limit": 1000.0,'
        ' "peak_equity": 10800.5}, "var": {"approved": true, "var": -0.02439,'
        ' "allowed_loss": 500.0, "potential_loss": 0.12195}, "liquidity": {"approved": true,'
        ' "max_allocation": 119.9823313761, "volatility_adjustment": 0.809881,'
        ' "balance": 9876.54}}, "approved": false, "rejections": ["stale_data",'
        ' "venue_rules"]}}'
    ),
    "fok_with_fee_below_balance": (
        '{"timestamp": "2025-10-13T10:07:00.000Z",'
        ' "market_id": "label-fok_with_fee_below_balance", "action": "yes", "size": 51.0,'
        ' "approved": false, "risk": {"timestamp": "2025-10-13T10:07:00.000Z",'
        ' "portfolio_balance": 50.5, "order_size": 51.0,'
        ' "factors": {"trading_mode": {"approved": true, "mode": "normal",'
        ' "kill_switch": false}, "stale_data": {"approved": true, "feed_age_seconds": 1.235,'
        ' "max_age_seconds": 30.0, "venue_healthy": true}, "order_limits": {"approved": true,'
        ' "notional": 51.0, "min_notional": 1.0, "max_notional": 500.0},'
        ' "venue_rules": {"approved": true, "price": 0.51, "tick": 0.01, "shares": 100.0,'
        ' "min_size": 5.0, "marketable": true}, "balance": {"approved": false,'
        ' "balance": 50.5, "required": 51.9996}, "exposure": {"approved": true,'
        ' "market_exposure": 51.0, "max_market": 1000.0, "total_exposure": 51.0,'
        ' "max_total": 5000.0}, "daily_loss": {"approved": true, "daily_loss": 310.125,'
        ' "limit": 500.0}, "drawdown": {"approved": true, "drawdown": 810.375,'
        ' "limit": 1000.0, "peak_equity": 10800.5}, "var": {"approved": true, "var": -0.05,'
        ' "allowed_loss": 500.0, "potential_loss": 2.55}, "liquidity": {"approved": false,'
        ' "max_allocation": 0.37875, "volatility_adjustment": 0.5, "balance": 50.5}},'
        ' "approved": false, "rejections": ["balance", "liquidity"]}}'
    ),
    "post_only_cross": (
        '{"timestamp": "2025-10-13T10:07:00.000Z", "market_id": "label-post_only_cross",'
        ' "action": "yes", "size": 5.1, "approved": false,'
        ' "risk": {"timestamp": "2025-10-13T10:07:00.000Z", "portfolio_balance": 9876.54,'
        ' "order_size": 5.1, "factors": {"trading_mode": {"approved": true, "mode": "normal",'
        ' "kill_switch": false}, "stale_data": {"approved": true, "feed_age_seconds": 1.235,'
        ' "max_age_seconds": 30.0, "venue_healthy": true}, "order_limits": {"approved": true,'
        ' "notional": 5.1, "min_notional": 1.0, "max_notional": 500.0},'
        ' "venue_rules": {"approved": false, "price": 0.51, "tick": 0.01, "shares": 10.0,'
        ' "min_size": 5.0, "marketable": true, "reason": "post-only order would cross"},'
        ' "balance": {"approved": true, "balance": 9876.54, "required": 5.1},'
        ' "exposure": {"approved": true, "market_exposure": 60.3, "max_market": 1000.0,'
        ' "total_exposure": 142.7, "max_total": 5000.0}, "daily_loss": {"approved": true,'
        ' "daily_loss": 310.125, "limit": 500.0}, "drawdown": {"approved": true,'
        ' "drawdown": 810.375, "limit": 1000.0, "peak_equity": 10800.5},'
        ' "var": {"approved": true, "var": -0.02439, "allowed_loss": 500.0,'
        ' "potential_loss": 0.124389}, "liquidity": {"approved": true,'
        ' "max_allocation": 119.9823313761, "volatility_adjustment": 0.809881,'
        ' "balance": 9876.54}}, "approved": false, "rejections": ["venue_rules"]}}'
    ),
    "marketable_below_one_dollar": (
        '{"timestamp": "2025-10-13T10:07:00.000Z",'
        ' "market_id": "label-marketable_below_one_dollar", "action": "yes", "size": 0.65,'
        ' "approved": false, "risk": {"timestamp": "2025-10-13T10:07:00.000Z",'
        ' "portfolio_balance": 9876.54, "order_size": 0.65,'
        ' "factors": {"trading_mode": {"approved": true, "mode": "normal",'
        ' "kill_switch": false}, "stale_data": {"approved": true, "feed_age_seconds": 1.235,'
        ' "max_age_seconds": 30.0, "venue_healthy": true}, "order_limits": {"approved": false,'
        ' "notional": 0.65, "min_notional": 1.0, "max_notional": 500.0},'
        ' "venue_rules": {"approved": false, "price": 0.13, "tick": 0.01, "shares": 5.0,'
        ' "min_size": 5.0, "marketable": true, "reason": "marketable BUY below $1"},'
        ' "balance": {"approved": true, "balance": 9876.54, "required": 0.67262},'
        ' "exposure": {"approved": true, "market_exposure": 0.65, "max_market": 1000.0,'
        ' "total_exposure": 138.25, "max_total": 5000.0}, "daily_loss": {"approved": true,'
        ' "daily_loss": 310.125, "limit": 500.0}, "drawdown": {"approved": true,'
        ' "drawdown": 810.375, "limit": 1000.0, "peak_equity": 10800.5},'
        ' "var": {"approved": true, "var": -0.05, "allowed_loss": 500.0,'
        ' "potential_loss": 0.0325}, "liquidity": {"approved": true,'
        ' "max_allocation": 15.046875, "volatility_adjustment": 0.5, "balance": 9876.54,'
        ' "depth_allocation": 30.09375}}, "approved": false, "rejections": ["order_limits",'
        ' "venue_rules"]}}'
    ),
    "sell_more_than_held": (
        '{"timestamp": "2025-10-13T10:07:00.000Z", "market_id": "label-sell_more_than_held",'
        ' "action": "yes", "size": 58.8049, "approved": false,'
        ' "risk": {"timestamp": "2025-10-13T10:07:00.000Z", "portfolio_balance": 9876.54,'
        ' "order_size": 58.8049, "factors": {"trading_mode": {"approved": true,'
        ' "mode": "normal", "kill_switch": false}, "stale_data": {"approved": true,'
        ' "feed_age_seconds": 1.235, "max_age_seconds": 30.0, "venue_healthy": true},'
        ' "order_limits": {"approved": true, "notional": 58.8049, "min_notional": 1.0,'
        ' "max_notional": 500.0}, "venue_rules": {"approved": true, "price": 0.49,'
        ' "tick": 0.01, "shares": 120.01, "min_size": 5.0, "marketable": true},'
        ' "balance": {"approved": false, "shares": 120.01, "sellable": 120.0},'
        ' "exposure": {"approved": true, "market_exposure": 55.2, "max_market": 1000.0,'
        ' "total_exposure": 137.6, "max_total": 5000.0}, "daily_loss": {"approved": true,'
        ' "daily_loss": 310.125, "limit": 500.0}, "drawdown": {"approved": true,'
        ' "drawdown": 810.375, "limit": 1000.0, "peak_equity": 10800.5},'
        ' "var": {"approved": true, "var": -0.02439, "allowed_loss": 500.0,'
        ' "potential_loss": 0.0}, "liquidity": {"approved": true,'
        ' "max_allocation": 119.9823313761, "volatility_adjustment": 0.809881,'
        ' "balance": 9876.54}}, "approved": false, "rejections": ["balance"]}}'
    ),
    "exposure_cap": (
        '{"timestamp": "2025-10-13T10:07:00.000Z", "market_id": "label-exposure_cap",'
        ' "action": "yes", "size": 200.0, "approved": false,'
        ' "risk": {"timestamp": "2025-10-13T10:07:00.000Z", "portfolio_balance": 10000.0,'
        ' "order_size": 200.0, "factors": {"trading_mode": {"approved": true,'
        ' "mode": "normal", "kill_switch": false}, "stale_data": {"approved": true,'
        ' "feed_age_seconds": 1.235, "max_age_seconds": 30.0, "venue_healthy": true},'
        ' "order_limits": {"approved": true, "notional": 200.0, "min_notional": 1.0,'
        ' "max_notional": 500.0}, "venue_rules": {"approved": true, "price": 0.5,'
        ' "tick": 0.01, "shares": 400.0, "min_size": 5.0, "marketable": false},'
        ' "balance": {"approved": true, "balance": 10000.0, "required": 200.0},'
        ' "exposure": {"approved": false, "market_exposure": 1100.0, "max_market": 1000.0,'
        ' "total_exposure": 1100.0, "max_total": 5000.0}, "daily_loss": {"approved": true,'
        ' "daily_loss": 310.125, "limit": 500.0}, "drawdown": {"approved": true,'
        ' "drawdown": 810.375, "limit": 1000.0, "peak_equity": 10800.5},'
        ' "var": {"approved": true, "var": -0.02439, "allowed_loss": 500.0,'
        ' "potential_loss": 4.878}, "liquidity": {"approved": false,'
        ' "max_allocation": 121.48215, "volatility_adjustment": 0.809881,'
        ' "balance": 10000.0}}, "approved": false, "rejections": ["exposure", "liquidity"]}}'
    ),
    "neg_risk_resolution": (
        '{"timestamp": "2025-10-13T10:07:00.000Z", "market_id": "label-neg_risk_resolution",'
        ' "action": "yes", "size": 465.0, "approved": false,'
        ' "risk": {"timestamp": "2025-10-13T10:07:00.000Z", "portfolio_balance": 9876.54,'
        ' "order_size": 465.0, "factors": {"trading_mode": {"approved": true,'
        ' "mode": "normal", "kill_switch": false}, "stale_data": {"approved": true,'
        ' "feed_age_seconds": 1.235, "max_age_seconds": 30.0, "venue_healthy": true},'
        ' "order_limits": {"approved": true, "notional": 465.0, "min_notional": 1.0,'
        ' "max_notional": 500.0}, "venue_rules": {"approved": true, "price": 0.31,'
        ' "tick": 0.01, "shares": 1500.0, "min_size": 5.0, "marketable": true},'
        ' "balance": {"approved": true, "balance": 9876.54, "required": 465.0},'
        ' "exposure": {"approved": true, "market_exposure": 477.4, "max_market": 1000.0,'
        ' "total_exposure": 602.6, "max_total": 5000.0, "event_exposure": 547.4,'
        ' "max_event": 2000.0}, "daily_loss": {"approved": true, "daily_loss": 310.125,'
        ' "limit": 500.0}, "drawdown": {"approved": true, "drawdown": 810.375,'
        ' "limit": 1000.0, "peak_equity": 10800.5}, "var": {"approved": false, "var": -0.05,'
        ' "allowed_loss": 500.0, "resolution_loss": 547.4, "potential_loss": 547.4},'
        ' "liquidity": {"approved": false, "max_allocation": 74.07405,'
        ' "volatility_adjustment": 0.5, "balance": 9876.54}}, "approved": false,'
        ' "rejections": ["var", "liquidity"]}}'
    ),
    "neg_risk_other_leg": (
        '{"timestamp": "2025-10-13T10:07:00.000Z", "market_id": "label-neg_risk_other_leg",'
        ' "action": "yes", "size": 7.2, "approved": true,'
        ' "risk": {"timestamp": "2025-10-13T10:07:00.000Z", "portfolio_balance": 9876.54,'
        ' "order_size": 7.2, "factors": {"trading_mode": {"approved": true, "mode": "normal",'
        ' "kill_switch": false}, "stale_data": {"approved": true, "feed_age_seconds": 1.235,'
        ' "max_age_seconds": 30.0, "venue_healthy": true}, "order_limits": {"approved": true,'
        ' "notional": 7.2, "min_notional": 1.0, "max_notional": 500.0},'
        ' "venue_rules": {"approved": true, "price": 0.36, "tick": 0.01, "shares": 20.0,'
        ' "min_size": 5.0, "marketable": true}, "balance": {"approved": true,'
        ' "balance": 9876.54, "required": 7.2}, "exposure": {"approved": true,'
        ' "market_exposure": 77.2, "max_market": 1000.0, "total_exposure": 144.8,'
        ' "max_total": 5000.0, "event_exposure": 89.6, "max_event": 2000.0},'
        ' "daily_loss": {"approved": true, "daily_loss": 310.125, "limit": 500.0},'
        ' "drawdown": {"approved": true, "drawdown": 810.375, "limit": 1000.0,'
        ' "peak_equity": 10800.5}, "var": {"approved": true, "var": -0.05,'
        ' "allowed_loss": 500.0, "resolution_loss": 69.6, "potential_loss": 69.6},'
        ' "liquidity": {"approved": true, "max_allocation": 74.07405,'
        ' "volatility_adjustment": 0.5, "balance": 9876.54}}, "approved": true,'
        ' "rejections": []}}'
    ),
    "kill_switch_reducing_sell": (
        '{"timestamp": "2025-10-13T10:07:00.000Z",'
        ' "market_id": "label-kill_switch_reducing_sell", "action": "yes", "size": 29.4,'
        ' "approved": true, "risk": {"timestamp": "2025-10-13T10:07:00.000Z",'
        ' "portfolio_balance": 9876.54, "order_size": 29.4,'
        ' "factors": {"trading_mode": {"approved": true, "mode": "reduce_only",'
        ' "kill_switch": true}, "stale_data": {"approved": true, "feed_age_seconds": 1.235,'
        ' "max_age_seconds": 30.0, "venue_healthy": true}, "order_limits": {"approved": true,'
        ' "notional": 29.4, "min_notional": 1.0, "max_notional": 500.0},'
        ' "venue_rules": {"approved": true, "price": 0.49, "tick": 0.01, "shares": 60.0,'
        ' "min_size": 5.0, "marketable": true}, "balance": {"approved": true, "shares": 60.0,'
        ' "sellable": 120.0}, "exposure": {"approved": true, "market_exposure": 55.2,'
        ' "max_market": 1000.0, "total_exposure": 137.6, "max_total": 5000.0},'
        ' "daily_loss": {"approved": true, "daily_loss": 310.125, "limit": 500.0},'
        ' "drawdown": {"approved": true, "drawdown": 810.375, "limit": 1000.0,'
        ' "peak_equity": 10800.5}, "var": {"approved": true, "var": -0.02439,'
        ' "allowed_loss": 500.0, "potential_loss": 0.0}, "liquidity": {"approved": true,'
        ' "max_allocation": 119.9823313761, "volatility_adjustment": 0.809881,'
        ' "balance": 9876.54}}, "approved": true, "rejections": []}}'
    ),
    "kill_switch_buy": (
        '{"timestamp": "2025-10-13T10:07:00.000Z", "market_id": "label-kill_switch_buy",'
        ' "action": "yes", "size": 5.0, "approved": false,'
        ' "risk": {"timestamp": "2025-10-13T10:07:00.000Z", "portfolio_balance": 9876.54,'
        ' "order_size": 5.0, "factors": {"trading_mode": {"approved": false,'
        ' "mode": "reduce_only", "kill_switch": true, "reason": "operator kill switch"},'
        ' "stale_data": {"approved": true, "feed_age_seconds": 1.235, "max_age_seconds": 30.0,'
        ' "venue_healthy": true}, "order_limits": {"approved": true, "notional": 5.0,'
        ' "min_notional": 1.0, "max_notional": 500.0}, "venue_rules": {"approved": true,'
        ' "price": 0.5, "tick": 0.01, "shares": 10.0, "min_size": 5.0, "marketable": false},'
        ' "balance": {"approved": true, "balance": 9876.54, "required": 5.0},'
        ' "exposure": {"approved": true, "market_exposure": 60.2, "max_market": 1000.0,'
        ' "total_exposure": 142.6, "max_total": 5000.0}, "daily_loss": {"approved": true,'
        ' "daily_loss": 310.125, "limit": 500.0}, "drawdown": {"approved": true,'
        ' "drawdown": 810.375, "limit": 1000.0, "peak_equity": 10800.5},'
        ' "var": {"approved": true, "var": -0.02439, "allowed_loss": 500.0,'
        ' "potential_loss": 0.12195}, "liquidity": {"approved": true,'
        ' "max_allocation": 119.9823313761, "volatility_adjustment": 0.809881,'
        ' "balance": 9876.54}}, "approved": false, "rejections": ["trading_mode"]}}'
    ),
    "stops_and_venue": (
        '{"timestamp": "2025-10-13T10:07:00.000Z", "market_id": "label-stops_and_venue",'
        ' "action": "yes", "size": 5.0, "approved": false,'
        ' "risk": {"timestamp": "2025-10-13T10:07:00.000Z", "portfolio_balance": 9876.54,'
        ' "order_size": 5.0, "factors": {"trading_mode": {"approved": true, "mode": "normal",'
        ' "kill_switch": false}, "stale_data": {"approved": false, "feed_age_seconds": 1.235,'
        ' "max_age_seconds": 30.0, "venue_healthy": false, "reason": "cancel-only"},'
        ' "order_limits": {"approved": true, "notional": 5.0, "min_notional": 1.0,'
        ' "max_notional": 500.0}, "venue_rules": {"approved": true, "price": 0.5,'
        ' "tick": 0.01, "shares": 10.0, "min_size": 5.0, "marketable": false},'
        ' "balance": {"approved": true, "balance": 9876.54, "required": 5.0},'
        ' "exposure": {"approved": true, "market_exposure": 60.2, "max_market": 1000.0,'
        ' "total_exposure": 142.6, "max_total": 5000.0}, "daily_loss": {"approved": false,'
        ' "daily_loss": 1310.249, "limit": 500.0}, "drawdown": {"approved": false,'
        ' "drawdown": 1810.499, "limit": 1000.0, "peak_equity": 10800.5},'
        ' "var": {"approved": true, "var": -0.02439, "allowed_loss": 500.0,'
        ' "potential_loss": 0.12195}, "liquidity": {"approved": true,'
        ' "max_allocation": 119.9823313761, "volatility_adjustment": 0.809881,'
        ' "balance": 9876.54}}, "approved": false, "rejections": ["stale_data", "daily_loss",'
        ' "drawdown"]}}'
    ),
    "stops_buy": (
        '{"timestamp": "2025-10-13T10:07:00.000Z", "market_id": "label-stops_buy",'
        ' "action": "yes", "size": 5.0, "approved": false,'
        ' "risk": {"timestamp": "2025-10-13T10:07:00.000Z", "portfolio_balance": 9876.54,'
        ' "order_size": 5.0, "factors": {"trading_mode": {"approved": true, "mode": "normal",'
        ' "kill_switch": false}, "stale_data": {"approved": true, "feed_age_seconds": 1.235,'
        ' "max_age_seconds": 30.0, "venue_healthy": true}, "order_limits": {"approved": true,'
        ' "notional": 5.0, "min_notional": 1.0, "max_notional": 500.0},'
        ' "venue_rules": {"approved": true, "price": 0.5, "tick": 0.01, "shares": 10.0,'
        ' "min_size": 5.0, "marketable": false}, "balance": {"approved": true,'
        ' "balance": 9876.54, "required": 5.0}, "exposure": {"approved": true,'
        ' "market_exposure": 60.2, "max_market": 1000.0, "total_exposure": 142.6,'
        ' "max_total": 5000.0}, "daily_loss": {"approved": false, "daily_loss": 1310.249,'
        ' "limit": 500.0}, "drawdown": {"approved": false, "drawdown": 1810.499,'
        ' "limit": 1000.0, "peak_equity": 10800.5}, "var": {"approved": true, "var": -0.02439,'
        ' "allowed_loss": 500.0, "potential_loss": 0.12195}, "liquidity": {"approved": true,'
        ' "max_allocation": 119.9823313761, "volatility_adjustment": 0.809881,'
        ' "balance": 9876.54}}, "approved": false, "rejections": ["daily_loss", "drawdown"]}}'
    ),
    "stops_reducing_sell": (
        '{"timestamp": "2025-10-13T10:07:00.000Z", "market_id": "label-stops_reducing_sell",'
        ' "action": "yes", "size": 60.0, "approved": true,'
        ' "risk": {"timestamp": "2025-10-13T10:07:00.000Z", "portfolio_balance": 9876.54,'
        ' "order_size": 60.0, "factors": {"trading_mode": {"approved": true, "mode": "normal",'
        ' "kill_switch": false}, "stale_data": {"approved": true, "feed_age_seconds": 1.235,'
        ' "max_age_seconds": 30.0, "venue_healthy": true}, "order_limits": {"approved": true,'
        ' "notional": 60.0, "min_notional": 1.0, "max_notional": 500.0},'
        ' "venue_rules": {"approved": true, "price": 0.5, "tick": 0.01, "shares": 120.0,'
        ' "min_size": 5.0, "marketable": false}, "balance": {"approved": true,'
        ' "shares": 120.0, "sellable": 120.0}, "exposure": {"approved": true,'
        ' "market_exposure": 55.2, "max_market": 1000.0, "total_exposure": 137.6,'
        ' "max_total": 5000.0}, "daily_loss": {"approved": true, "daily_loss": 1310.249,'
        ' "limit": 500.0}, "drawdown": {"approved": true, "drawdown": 1810.499,'
        ' "limit": 1000.0, "peak_equity": 10800.5}, "var": {"approved": true, "var": -0.02439,'
        ' "allowed_loss": 500.0, "potential_loss": 0.0}, "liquidity": {"approved": true,'
        ' "max_allocation": 119.9823313761, "volatility_adjustment": 0.809881,'
        ' "balance": 9876.54}}, "approved": true, "rejections": []}}'
    ),
    "halted_sell": (
        '{"timestamp": "2025-10-13T10:07:00.000Z", "market_id": "label-halted_sell",'
        ' "action": "yes", "size": 5.0, "approved": false,'
        ' "risk": {"timestamp": "2025-10-13T10:07:00.000Z", "portfolio_balance": 9876.54,'
        ' "order_size": 5.0, "factors": {"trading_mode": {"approved": false, "mode": "halted",'
        ' "kill_switch": false, "reason": "venue halted"}, "stale_data": {"approved": true,'
        ' "feed_age_seconds": 1.235, "max_age_seconds": 30.0, "venue_healthy": true},'
        ' "order_limits": {"approved": true, "notional": 5.0, "min_notional": 1.0,'
        ' "max_notional": 500.0}, "venue_rules": {"approved": true, "price": 0.5,'
        ' "tick": 0.01, "shares": 10.0, "min_size": 5.0, "marketable": false},'
        ' "balance": {"approved": true, "shares": 10.0, "sellable": 120.0},'
        ' "exposure": {"approved": true, "market_exposure": 55.2, "max_market": 1000.0,'
        ' "total_exposure": 137.6, "max_total": 5000.0}, "daily_loss": {"approved": true,'
        ' "daily_loss": 1310.249, "limit": 500.0}, "drawdown": {"approved": true,'
        ' "drawdown": 1810.499, "limit": 1000.0, "peak_equity": 10800.5},'
        ' "var": {"approved": true, "var": -0.02439, "allowed_loss": 500.0,'
        ' "potential_loss": 0.0}, "liquidity": {"approved": true,'
        ' "max_allocation": 119.9823313761, "volatility_adjustment": 0.809881,'
        ' "balance": 9876.54}}, "approved": false, "rejections": ["trading_mode"]}}'
    ),
}


def test_cases_cover_the_factors_branches() -> None:
    decisions = [d for _, _, d in cases()]
    rejected = {name for d in decisions for name in d.rejections}
    assert rejected >= {
        "trading_mode", "stale_data", "order_limits", "venue_rules", "balance", "exposure",
        "daily_loss", "drawdown", "var", "liquidity",
    }  # fmt: skip
    assert any(d.approved for d in decisions)
    assert any(d.reduces_position and d.approved for d in decisions)
    assert any("resolution_loss" in d.factors["var"] for d in decisions)
    assert any("spread_adjustment" in d.factors["liquidity"] for d in decisions)
    assert any("event_exposure" in d.factors["exposure"] for d in decisions)


@pytest.mark.parametrize("name", [name for name, _, _ in cases()])
def test_audit_record_json_is_pinned(name: str) -> None:
    order, decision = next((o, d) for n, o, d in cases() if n == name)
    record = risk_audit_record(order, decision, T, market_id=f"label-{name}")
    # the exact line: key order, float repr and types (1.0 vs 1) all count
    assert json.dumps(record) == EXPECTED[name]
    assert json.loads(json.dumps(record)) == record  # plain JSON types only


def test_factors_keep_money_exact_until_the_record() -> None:
    eng = engine()
    order = intent(M, Side.BUY, "100", "0.5")
    decision = decide(eng, order, bk=WIDE)
    f = decision.factors
    assert f["order_limits"]["notional"] == D("50.0") and isinstance(f["balance"]["balance"], D)
    assert f["liquidity"]["spread_adjustment"] == D(5) / D(7)
    assert f["stale_data"]["feed_age_seconds"] == 1.234567
    record = risk_audit_record(order, decision, T)["risk"]["factors"]
    assert record["liquidity"]["spread_adjustment"] == 0.714286
    assert record["stale_data"]["feed_age_seconds"] == 1.235
    assert decision.factors is f and f["order_limits"]["notional"] == D("50.0")  # not mutated


def test_an_unlisted_money_key_is_still_written_as_a_float() -> None:
    """A factor that adds a Decimal under a key `audit_factors` does not list still gets a JSON
    float in the record (never a Decimal with all its digits)."""
    from polymarket_bot.core.risk_factors import audit_factors

    rows = audit_factors({"exposure": {"approved": True, "new_cap": D("12.345"), "n": 3}})
    assert rows == {"exposure": {"approved": True, "new_cap": 12.345, "n": 3}}
    assert type(rows["exposure"]["new_cap"]) is float and type(rows["exposure"]["n"]) is int
