"""`orders-ws` as its own process (in-process here): it writes only its own status sections,
its records go to `reports/orders_ws/`, and fills of the trader's orders (known from the
trader's orders.jsonl `submit` records) are not external while fills of other orders are."""

from __future__ import annotations

import asyncio
import json
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from execution_kit import infos_by_token, intent, trader, wait_for
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import OrderArgsV2
from tracking_kit import key_hex

from polymarket_bot.config import build_settings
from polymarket_bot.core.types import OrderType, Outcome, Side
from polymarket_bot.engine.tracking.standalone import STANDALONE_SECTIONS, StandaloneTracker
from polymarket_bot.sim.server import SimServer
from polymarket_bot.storage.sink import ReportSink


async def test_the_standalone_tracker_keeps_its_sections_and_counts_only_external_fills(
    tmp_path: Path,
) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    status_path = reports / "pipeline_status.json"
    status_path.write_text(json.dumps({"execution": {"owner": "trader"}, "fetch_info": {"x": 1}}))
    async with SimServer(n_markets=4, seed=7, with_flow=False) as sim:
        info = infos_by_token(sim)[sim.state.by_name["SIM-1"].yes_token]
        settings = build_settings(
            {
                "mode.offline_mode": True,
                "venue.clob_rest_url": sim.rest_url,
                "venue.clob_ws_url": sim.ws_url,
                "venue.gamma_api_url": sim.gamma_url,
                "credentials.private_key": key_hex("solo"),
                "service.order_rest_poll_seconds": 0.5,
                "paths.reports_dir": str(reports),
                "paths.run_dir": str(tmp_path / "run"),
                "paths.logs_dir": str(tmp_path / "logs"),
            },
            base_dir=tmp_path,
        )
        trader_sink = ReportSink(reports, sql=False)
        async with (
            trader(sim, "solo", sink=trader_sink) as us,
            trader(sim, "solo-taker", user_ws=False) as bob,
        ):
            proc = StandaloneTracker(settings, limit=20)
            await proc.start()
            try:
                assert proc.tracker is not None and proc.manager is not None
                await wait_for(lambda: proc.tracker is not None and proc.tracker.ws_healthy())
                # The trader's order (its submit record is in reports/orders.jsonl) ...
                bid = await us.venue.submit(intent(info, Side.BUY, "0.77", "10"))
                await bob.venue.submit(
                    intent(
                        info, Side.BUY, "0.23", "10", outcome=Outcome.NO, order_type=OrderType.FAK
                    )
                )
                await wait_for(lambda: bid.filled_size == 10, what="the trader's fill")
                ledger = proc.manager.ledger

                def shares() -> Decimal:
                    p = ledger.position(info.condition_id, "yes")
                    return p.shares if p is not None else Decimal(0)

                await wait_for(
                    lambda: shares() == 10,
                    what="the mirror ledger sees the fill",
                )
                assert ledger.external.processed == 0  # ... is not external
                # The trader's taker sell is known from its submit record too.
                sell = await us.venue.submit(
                    intent(info, Side.SELL, "0.76", "4", order_type=OrderType.FAK)
                )
                assert sell.filled_size == 4
                await wait_for(lambda: shares() == 6, what="sell")
                assert ledger.external.processed == 0
                # An order placed outside the trader (official SDK, same key) is external.
                sdk = ClobClient(
                    sim.rest_url, chain_id=sim.state.config.chain_id, key=key_hex("solo")
                )
                sdk.set_api_creds(await asyncio.to_thread(sdk.create_or_derive_api_key))
                posted = await asyncio.to_thread(
                    sdk.create_and_post_order,
                    OrderArgsV2(token_id=info.yes_token, price=0.76, size=6, side="SELL"),
                )
                assert posted["success"] is True
                await wait_for(lambda: ledger.external.processed == 1, what="external fill")
                assert ledger.external.closed == 1
                proc.write_status()
                status = json.loads(status_path.read_text())
                assert status["execution"] == {"owner": "trader"}  # others' sections kept
                assert status["fetch_info"]["x"] == 1
                assert status["fetch_info"]["orders_ws"]["status"] == "ok"
                assert status["fetch_info"]["orders_rest"]["limit"] == 20
                assert status["external_fills"]["processed"] == 1
                assert status["external_fills"]["closed"] == 1
                assert len(status["external_fills_trend"]) == 60
                assert "reconcile" not in status  # not one of the standalone's sections
                assert set(proc.sections()) == set(STANDALONE_SECTIONS)
            finally:
                await proc.stop()
                trader_sink.close()
        own = [
            json.loads(x) for x in (reports / "orders_ws" / "trades.jsonl").read_text().splitlines()
        ]
        assert {r["source"] for r in own} <= {"order_ws", "rest_poll"} and len(own) >= 2
        main = [json.loads(x) for x in (reports / "trades.jsonl").read_text().splitlines()]
        assert all(r["source"] != "rest_poll" for r in main)  # nothing written into the trader's
