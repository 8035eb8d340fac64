"""DRY-RUN: real market data from the venue (the simulator stands in for Polymarket), fills from
the local fill model; no order of the bot ever reaches the venue."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from polymarket_bot.config import build_settings
from polymarket_bot.engine.trader import Trader, TraderOptions
from polymarket_bot.sim.flow import FlowConfig
from polymarket_bot.sim.server import SimServer


async def eventually(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_dry_run_fills_locally_and_sends_nothing(tmp_path: Path) -> None:
    flow = FlowConfig(taker_rate=4.0, taker_size=(5, 60))
    async with SimServer(n_markets=4, seed=3, flow_config=flow) as sim:
        settings = build_settings(
            {
                "mode.dry_run": True,
                "venue.clob_rest_url": sim.rest_url,
                "venue.clob_ws_url": sim.ws_url,
                "venue.gamma_api_url": sim.gamma_url,
                "paths.reports_dir": str(tmp_path / "reports"),
                "paths.run_dir": str(tmp_path / "run"),
                "paths.logs_dir": str(tmp_path / "logs"),
                "trading.paper_balance": "1000",
            },
            base_dir=tmp_path,
        )
        trader = Trader(settings, options=TraderOptions(interval=1.0, status_interval=1.0))
        assert trader.mode.value == "dry-run"
        stop = asyncio.Event()
        run = asyncio.create_task(trader.run(stop))
        try:
            await eventually(lambda: trader.manager is not None, 30, "the trader to start")
            assert trader.manager is not None
            manager = trader.manager
            await eventually(lambda: manager.counts["filled"] >= 2, 90, "two local fills")
        finally:
            stop.set()
            await run
        async with httpx.AsyncClient() as client:
            state = (await client.get(f"{sim.rest_url}/admin/state")).json()
    assert state["counters"]["orders_received_total"] == 0
    assert not state["counters"]["cancel_requests"]
    reports = tmp_path / "reports"
    trades = [json.loads(x) for x in (reports / "trades.jsonl").read_text().splitlines()]
    assert trades and {t["runtime_mode"] for t in trades} == {"dry-run"}
    fills = [json.loads(x) for x in (reports / "fills.jsonl").read_text().splitlines()]
    assert fills and {f["execution_mode"] for f in fills} == {"dry-run"}
    ledger = trader.ledger
    assert ledger is not None
    marks = trader.marks()
    lhs = ledger.cash + ledger.market_value(marks)
    rhs = (
        trader.ledger_start + ledger.realized_pnl + ledger.unrealized_pnl(marks) - ledger.fees_paid
    )
    assert abs(lhs - rhs) < 0.01
