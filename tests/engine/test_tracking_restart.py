"""The trader is SIGKILLed while orders rest and fills happen; restarted with the same key, its
start-up reconciliation brings orders, fills and positions back to the simulator's truth, and the
reports say what was reconciled. The trader runs as a subprocess (`python -m polymarket_bot
trade`) against a simulator this test serves on loopback."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polymarket_bot.core.types import from_base_units
from polymarket_bot.protocol.eip712 import PrivateKeySigner
from polymarket_bot.sim.flow import FlowConfig
from polymarket_bot.sim.server import SimServer

KEY = "0x" + hashlib.sha256(b"tracking-restart-test").hexdigest()


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue  # a torn last line (SIGKILL mid-write)
    return out


async def _until(cond: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def _spawn(sim: SimServer, tmp: Path, log: Path) -> asyncio.subprocess.Process:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("POLY", "CLOB_", "GAMMA_"))},
        "POLY_OFFLINE_MODE": "true",
        "POLY_PRIVATE_KEY": KEY,
        "CLOB_REST_URL": sim.rest_url,
        "CLOB_WS_URL": sim.ws_url,
        "GAMMA_API_URL": sim.gamma_url,
        "POLY_REPORTS_DIR": str(tmp / "reports"),
        "POLY_RUN_DIR": str(tmp / "run"),
        "POLY_LOGS_DIR": str(tmp / "logs"),
        "POLY_CONFIG_DIR": str(tmp / "config"),
        "POLY__TRADING__CANCEL_ON_STOP": "true",
        "ORDER_REST_POLL_SECONDS": "1",
    }
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "polymarket_bot",
            "trade",
            "--interval",
            "1",
            cwd=str(tmp),
            env=env,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )


@pytest.mark.timeout(240)
async def test_a_killed_trader_reconciles_with_the_venue_on_restart(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    reports = tmp_path / "reports"
    address = PrivateKeySigner(KEY).address
    flow = FlowConfig(taker_rate=3.0, taker_size=(5, 60))
    async with SimServer(n_markets=4, seed=3, flow_config=flow) as sim:
        log = tmp_path / "trader.log"
        first = await _spawn(sim, tmp_path, log)
        try:

            def filled_and_resting() -> bool:
                events = [r.get("event") for r in _jsonl(reports / "orders.jsonl")]
                owners = sim.state.keys.keys_of(address)
                live = sim.state.exchange.open_orders(owners[0]) if owners else []
                return events.count("filled") + events.count("partial") >= 2 and bool(live)

            await _until(filled_and_resting, 120, "fills and resting orders")
        finally:
            first.send_signal(signal.SIGKILL)
            await first.wait()
        acct = sim.state.exchange.account(address)
        held_at_kill = {t: b for t, b in acct.tokens.items() if b}
        owner = sim.state.keys.keys_of(address)[0]
        orphans = [o.order_id for o in sim.state.exchange.open_orders(owner)]
        assert orphans, "the killed trader left resting orders"

        killed_at = time.time()
        second = await _spawn(sim, tmp_path, log)
        try:

            def reconciled() -> Any:
                status = _read_json(reports / "pipeline_status.json") or {}
                started = (status.get("trader") or {}).get("started_epoch") or 0
                rec = status.get("reconcile") or {}
                fresh = started > killed_at and (rec.get("startup") or {}).get("at")
                return rec if fresh and rec.get("runs", 0) >= 2 else None

            rec = await _until(reconciled, 60, "the start-up reconciliation in the status")
        finally:
            second.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(second.wait(), 60) == 0, log.read_text()[-3000:]
        acct = sim.state.exchange.account(address)
        assert acct.pusd_reserved == 0  # every order cancelled (orphans at start, the rest at stop)
        for oid in orphans:
            order = sim.state.exchange.order(oid)
            assert order is not None and order.status != "LIVE"

        # The restarted trader's books equal the venue: cash and every position.
        positions = _read_json(reports / "open_positions.json")
        assert positions is not None
        assert Decimal(str(positions["cash"])) == from_base_units(acct.pusd)
        held = {p["token_id"]: Decimal(str(p["shares"])) for p in positions["positions"]}
        for m in sim.state.markets:
            for token in m.token_ids:
                venue = from_base_units(acct.token_balance(token))
                assert held.get(token, Decimal(0)) == venue, token

        # The reports say what was reconciled.
        corrections = rec["corrections"]
        startup = rec["startup"]
        assert startup["prior_orders"] >= len(orphans)
        assert startup["trades_preloaded"] >= 2
        records = [r for r in _jsonl(reports / "orders.jsonl") if r.get("event") == "reconcile"]
        kinds = {r["metadata"]["kind"] for r in records if r.get("source") == "reconcile"}
        assert "orphan_canceled" in kinds
        assert corrections["orphans_canceled"] >= 1
        seeded = [r for r in records if r["metadata"].get("kind") == "position_seeded"]
        assert len(seeded) == corrections["positions_seeded"] == startup["positions_seeded"]
        assert held_at_kill == {} or seeded
