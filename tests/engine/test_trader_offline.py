"""The trader end to end in OFFLINE mode against the simulator on loopback.

Every fill reaches the ledger, the ledger equals the simulator's own account state, and the
accounting identity holds to the cent. The simulator runs here (with brisk background takers) and
the trader is pointed at it by URL, the path `CLOB_REST_URL` takes in production.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import httpx

from polymarket_bot.config import build_settings
from polymarket_bot.core.types import from_base_units
from polymarket_bot.engine.trader import Trader, TraderOptions
from polymarket_bot.sim.flow import FlowConfig
from polymarket_bot.sim.server import SimServer


async def eventually(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def offline_settings(sim: SimServer, tmp: Path, **extra: object):  # type: ignore[no-untyped-def]
    return build_settings(
        {
            "mode.offline_mode": True,
            "venue.clob_rest_url": sim.rest_url,
            "venue.clob_ws_url": sim.ws_url,
            "venue.gamma_api_url": sim.gamma_url,
            "paths.reports_dir": str(tmp / "reports"),
            "paths.run_dir": str(tmp / "run"),
            "paths.logs_dir": str(tmp / "logs"),
            "trading.cancel_on_stop": True,
            **extra,
        },
        base_dir=tmp,
    )


def read_jsonl(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def test_offline_run_keeps_ledger_equal_to_the_venue(tmp_path: Path) -> None:
    flow = FlowConfig(taker_rate=3.0, taker_size=(5, 60))
    async with SimServer(n_markets=4, seed=3, flow_config=flow) as sim:
        trader = Trader(
            offline_settings(sim, tmp_path),
            options=TraderOptions(interval=1.0, status_interval=1.0),
        )
        stop = asyncio.Event()
        run = asyncio.create_task(trader.run(stop))
        try:
            await eventually(lambda: trader.manager is not None, 30, "the trader to start")
            assert trader.manager is not None
            manager = trader.manager
            await eventually(lambda: manager.counts["filled"] >= 3, 90, "three filled orders")
            # Freeze the market, then let every fill already made reach the ledger: fills racing
            # the stop are the order tracker's business, not this test's.
            async with httpx.AsyncClient() as client:
                await client.post(f"{sim.rest_url}/admin/pause", json={"paused": True})
            assert trader.identity is not None and trader.ledger is not None
            account = sim.state.exchange.account(trader.identity.signer.address)
            ledger_ = trader.ledger
            await eventually(
                lambda: ledger_.cash == from_base_units(account.pusd), 30, "the ledger to settle"
            )
        finally:
            stop.set()
            await run
        ledger = trader.ledger
        assert ledger is not None and trader.identity is not None
        # Settlement of the last trades may still be in flight at the venue: let it finish.
        account = sim.state.exchange.account(trader.identity.signer.address)
        assert account.pusd_reserved == 0  # every resting order was cancelled on stop
        assert ledger.cash == from_base_units(account.pusd)
        held = {key: p.shares for key, p in ledger.positions.items() if p.shares}
        for (market, outcome), shares in held.items():
            info = trader.markets[market]
            token = info.yes_token if outcome == "yes" else info.no_token
            assert shares == from_base_units(account.token_balance(token)), (market, outcome)
        for info in trader.markets.values():
            for outcome, token in (("yes", info.yes_token), ("no", info.no_token)):
                venue = from_base_units(account.token_balance(token))
                assert venue == held.get((info.condition_id, outcome), Decimal(0))
        open_venue = sim.state.exchange.open_orders(trader.identity.creds.api_key)
        assert open_venue == [] and trader.execution is not None
        assert trader.execution.open_orders() == []

        # Every fill in trades.jsonl is in the ledger: the increments add up to the positions.
        reports = tmp_path / "reports"
        trades = read_jsonl(reports / "trades.jsonl")
        assert trades, "fills were reported"
        net: dict[tuple[str, str], Decimal] = {}
        for t in trades:
            if t["status"] not in ("partial", "filled", "void"):
                continue  # settlement progress lines carry no new shares
            key = (trader.token_market[str(t["token_id"])].condition_id, str(t["action"]))
            sign = 1 if t["side"] == "BUY" else -1
            net[key] = net.get(key, Decimal(0)) + sign * Decimal(str(t["filled_shares"]))
        assert {k: v for k, v in net.items() if v} == held

        # cash + positions at mark == start + realized + unrealized - fees, to the cent.
        marks = trader.marks()
        start = trader.ledger_start
        lhs = ledger.cash + ledger.market_value(marks)
        rhs = start + ledger.realized_pnl + ledger.unrealized_pnl(marks) - ledger.fees_paid
        assert abs(lhs - rhs) < Decimal("0.01")

        status = json.loads((reports / "pipeline_status.json").read_text())
        assert status["runtime_mode"] == "offline"
        assert status["fetch_info"]["current_source"] in {"ws_live", "ws_stale", "rest_only"}
        assert status["execution"]["counts"]["filled"] >= 3
        for name in ("orders.jsonl", "risk_audit.jsonl", "fills.jsonl", "open_positions.json"):
            assert (reports / name).exists(), name
