"""Each built-in strategy trades in OFFLINE mode against the simulator, and its decisions show up
in orders.jsonl and risk_audit.jsonl with reasons."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polymarket_bot.config import build_settings
from polymarket_bot.core.types import OrderType, Side, to_base_units
from polymarket_bot.engine.trader import Trader, TraderOptions
from polymarket_bot.protocol.amounts import limit_order_amounts
from polymarket_bot.sim.flow import FlowConfig, background_account
from polymarket_bot.sim.model import OrderRequest
from polymarket_bot.sim.server import SimServer
from polymarket_bot.sim.universe import build_universe

ALL = ("market_maker", "complement_arb", "momentum")


async def eventually(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def settings_for(sim: SimServer, tmp: Path, strategy: str, params: dict[str, Any]) -> Any:
    overrides: dict[str, Any] = {
        "mode.offline_mode": True,
        "venue.clob_rest_url": sim.rest_url,
        "venue.clob_ws_url": sim.ws_url,
        "venue.gamma_api_url": sim.gamma_url,
        "paths.reports_dir": str(tmp / "reports"),
        "paths.run_dir": str(tmp / "run"),
        "paths.logs_dir": str(tmp / "logs"),
    }
    for name in ALL:
        overrides[f"strategies.{name}.enabled"] = name == strategy
    overrides[f"strategies.{strategy}.params"] = params
    return build_settings(overrides, base_dir=tmp)


async def run_until_submitted(trader: Trader, strategy: str, reports: Path) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(trader.run(stop))

    def submitted() -> bool:
        return any(
            r.get("event") == "submit" and r.get("strategy") == strategy
            for r in records(reports / "orders.jsonl")
        )

    try:
        await eventually(submitted, 60, f"an order of {strategy}")
    finally:
        stop.set()
        await task


def check_audit(reports: Path, strategy: str) -> None:
    orders = [r for r in records(reports / "orders.jsonl") if r.get("strategy") == strategy]
    assert all(r["reason"] for r in orders if r["event"] == "submit"), "submits carry a reason"
    audit = records(reports / "risk_audit.jsonl")
    assert audit, "risk decisions are audited"
    first = audit[0]
    assert set(first) >= {"timestamp", "market_id", "action", "size", "approved", "risk"}
    assert set(first["risk"]) >= {"portfolio_balance", "order_size", "factors", "rejections"}
    assert any(a["approved"] for a in audit)


@pytest.mark.parametrize(
    ("strategy", "params"),
    [
        ("market_maker", {}),
        ("momentum", {"window_seconds": 2, "entry_threshold": 0.004, "cooldown_seconds": 1}),
    ],
)
async def test_strategy_trades_on_the_simulator(
    strategy: str, params: dict[str, Any], tmp_path: Path
) -> None:
    flow = FlowConfig(taker_rate=4.0, volatility=0.05)
    async with SimServer(n_markets=4, seed=5, flow_config=flow) as sim:
        trader = Trader(
            settings_for(sim, tmp_path, strategy, params),
            options=TraderOptions(interval=1.0, status_interval=1.0),
        )
        await run_until_submitted(trader, strategy, tmp_path / "reports")
    check_audit(tmp_path / "reports", strategy)


async def test_complement_arb_buys_a_mispriced_neg_risk_event(tmp_path: Path) -> None:
    # A still market: the ladders are cancelled and one seller offers every outcome's YES of a
    # neg-risk event at 0.20, so the YES asks sum to 0.80 < 1: buying all of them locks a profit.
    universe = build_universe(6, seed=11, start_ts=time.time(), with_flow=False)
    ex = universe.exchange
    now = time.time()
    for i in (1, 2):
        ex.cancel_all(background_account(f"LP{i}", "lp").owner, now)
    ex.drain_events()
    event = next(e for e in universe.events if e.neg_risk)
    seller = "0x" + "5e" * 20
    for n, name in enumerate(event.market_names):
        m = universe.by_name[name]
        ex.split(seller, m.condition_id, to_base_units(Decimal(200)))
        amounts = limit_order_amounts(
            Side.SELL, price=Decimal("0.20"), size=Decimal(100), tick_size=m.tick_size
        )
        ex.place_order(
            OrderRequest(
                order_id="0x" + f"{n + 1:064x}",
                owner="00000000-0000-4000-8000-0000000005e1",
                maker_address=seller,
                token_id=m.yes_token,
                side=Side.SELL,
                maker_amount=amounts.maker_amount,
                taker_amount=amounts.taker_amount,
                order_type=OrderType.GTC,
            ),
            now,
        )
    ex.drain_events()
    async with SimServer(universe) as sim:
        trader = Trader(
            settings_for(sim, tmp_path, "complement_arb", {"order_type": "FAK", "max_shares": 10}),
            options=TraderOptions(interval=1.0, status_interval=1.0),
        )
        await run_until_submitted(trader, "complement_arb", tmp_path / "reports")
    submits = [
        r
        for r in records(tmp_path / "reports" / "orders.jsonl")
        if r.get("strategy") == "complement_arb" and r["event"] == "submit"
    ]
    assert {r["side"] for r in submits} == {"BUY"}
    assert {r["market_id"] for r in submits} <= set(event.market_names)
    check_audit(tmp_path / "reports", "complement_arb")
