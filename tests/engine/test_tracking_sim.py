"""Order tracking against the simulator: the user channel dies mid-run and REST polling carries
the fills; orders placed outside this process (official SDK, same key) are external fills; a
FAILED settlement seen only through REST voids its fill."""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from execution_kit import admin, infos_by_token, intent, trader, wait_for
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import OrderArgsV2
from tracking_kit import dead_ws_url, key_hex, ledger_matches_venue, make_tracker

from polymarket_bot.core.orders import OrderState
from polymarket_bot.core.types import OrderType, Outcome, Side
from polymarket_bot.engine.execution import MemorySink
from polymarket_bot.sim.exchange import SimConfig
from polymarket_bot.sim.server import SimServer


def _fill_lines(sink: MemorySink) -> list[dict[str, object]]:
    return [r for r in sink.trades if r["status"] in ("partial", "filled")]


async def test_fills_keep_arriving_through_rest_while_the_user_channel_is_down() -> None:
    async with SimServer(n_markets=4, seed=7, with_flow=False) as sim:
        info = infos_by_token(sim)[sim.state.by_name["SIM-1"].yes_token]  # bid 0.76, ask 0.78
        async with (
            trader(sim, "ws-kill", user_ws=False) as us,
            trader(sim, "taker", user_ws=False) as bob,
        ):
            tracker = make_tracker(us)
            await tracker.start()
            try:
                await wait_for(lambda: tracker.orders_ws_status()["status"] == "ok", what="ws ok")
                bid = await us.venue.submit(intent(info, Side.BUY, "0.77", "30"))
                assert bid.state is OrderState.LIVE

                async def take(size: str) -> None:
                    await bob.venue.submit(
                        intent(
                            info,
                            Side.BUY,
                            "0.23",
                            size,
                            outcome=Outcome.NO,
                            order_type=OrderType.FAK,
                        )
                    )

                await take("5")
                await wait_for(lambda: bid.filled_size == 5, what="fill over the user channel")
                sink = us.sink
                assert isinstance(sink, MemorySink)
                assert _fill_lines(sink)[0]["source"] == "order_ws"

                # Kill the user channel: it cannot come back while the URL is dead.
                stream = tracker.stream
                assert stream is not None
                good_url = stream.conn.url
                stream.conn.url = dead_ws_url()
                await admin(
                    sim,
                    "POST",
                    "/admin/faults",
                    {"fault": "ws_disconnect", "params": {"channel": "user"}},
                )
                await wait_for(
                    lambda: tracker.orders_ws_status()["status"] == "degraded", what="degraded"
                )
                await take("7")
                await wait_for(lambda: bid.filled_size == 12, what="fill through REST polling")
                lines = _fill_lines(sink)
                assert lines[1]["source"] == "rest_poll"
                assert lines[1]["execution_mode"] == "order_rest"
                ws = tracker.orders_ws_status()
                assert ws["failures"] >= 1 and ws["last_error"]
                rest = tracker.orders_rest_status()
                assert rest["success"] >= 1 and rest["running"] is True

                # Recovery: the channel comes back and reports ok again.
                stream.conn.url = good_url
                await wait_for(
                    lambda: tracker.orders_ws_status()["status"] == "ok", timeout=15, what="ok"
                )
                await take("6")
                await wait_for(lambda: bid.filled_size == 18, what="third fill")
                # Let settlement finish on both channels, then compare with the venue.
                await wait_for(lambda: ledger_matches_venue(us, sim), what="ledger == venue")
                await asyncio.sleep(0)  # statuses MINED/CONFIRMED keep arriving: none rebooks
                await wait_for(
                    lambda: all(
                        (b := us.manager.trade_book(str(r["trade_id"]))) is not None
                        and b.settlement is not None
                        and b.settlement.value == "CONFIRMED"
                        for r in _fill_lines(sink)
                    ),
                    timeout=20,
                    what="every trade confirmed",
                )
                lines = _fill_lines(sink)
                assert len(lines) == 3  # one line per fill, whichever channel saw it first
                assert len({r["fill_id"] for r in lines}) == 3
                assert sum(Decimal(str(r["filled_shares"])) for r in lines) == 18
                assert ledger_matches_venue(us, sim)
                assert us.manager.ledger.external.processed == 0
            finally:
                await tracker.stop()


async def test_orders_placed_through_the_sdk_are_external_fills() -> None:
    async with SimServer(n_markets=4, seed=7, with_flow=False) as sim:
        info = infos_by_token(sim)[sim.state.by_name["SIM-1"].yes_token]
        async with (
            trader(sim, "ext", user_ws=False) as us,
            trader(sim, "ext-taker", user_ws=False) as bob,
        ):
            tracker = make_tracker(us)
            await tracker.start()
            try:
                await wait_for(lambda: tracker.ws_healthy(), what="ws ok")
                sdk = ClobClient(
                    sim.rest_url, chain_id=sim.state.config.chain_id, key=key_hex("ext")
                )
                creds = await asyncio.to_thread(sdk.create_or_derive_api_key)
                assert creds.api_key == us.api_key  # same key -> same account
                sdk.set_api_creds(creds)
                posted = await asyncio.to_thread(
                    sdk.create_and_post_order,
                    OrderArgsV2(token_id=info.yes_token, price=0.77, size=14, side="BUY"),
                )
                assert posted["success"] is True
                # Bob takes 8 (opens a position), then 6 more (same side).
                for size in ("8", "6"):
                    await bob.venue.submit(
                        intent(
                            info,
                            Side.BUY,
                            "0.23",
                            size,
                            outcome=Outcome.NO,
                            order_type=OrderType.FAK,
                        )
                    )
                ext = us.manager.ledger.external
                await wait_for(lambda: ext.processed == 2, what="two external fills")
                assert (ext.opened, ext.applied_same_side) == (1, 1)
                # An external SELL of all 14 closes the position.
                sold = await asyncio.to_thread(
                    sdk.create_and_post_order,
                    OrderArgsV2(token_id=info.yes_token, price=0.70, size=14, side="SELL"),
                )
                assert sold["success"] is True
                await wait_for(lambda: ext.processed == 3, what="the closing fill")
                assert (ext.opened, ext.applied_same_side, ext.reduced_opposite, ext.closed) == (
                    1,
                    1,
                    0,
                    1,
                )
                assert ext.last_seen_ms is not None
                sections = tracker.status_sections()
                assert sections["external_fills"]["processed"] == 3
                assert sections["external_fills"]["windows"]["5"] == 3
                trend = sections["external_fills_trend"]
                assert len(trend) == 60 and sum(p["count"] for p in trend) == 3
                sink = us.sink
                assert isinstance(sink, MemorySink)
                assert all(r["external"] for r in _fill_lines(sink))
                await wait_for(lambda: ledger_matches_venue(us, sim), what="ledger == venue")
            finally:
                await tracker.stop()


async def test_a_failed_settlement_seen_only_through_rest_voids_the_fill() -> None:
    config = SimConfig(seed=7, failure_rate=1.0, mined_delay_s=0.2, retry_delay_s=0.4)
    async with SimServer(n_markets=4, seed=7, with_flow=False, sim_config=config) as sim:
        info = infos_by_token(sim)[sim.state.by_name["SIM-1"].yes_token]
        async with (
            trader(sim, "fail", user_ws=False) as us,
            trader(sim, "fail-taker", user_ws=False) as bob,
        ):
            tracker = make_tracker(us, use_order_ws=False)
            assert tracker.orders_ws_status()["status"] == "disabled"
            assert "SERVICE_USE_ORDER_WS" in tracker.orders_ws_status()["reason"]
            await tracker.start()
            try:
                bid = await us.venue.submit(intent(info, Side.BUY, "0.77", "10"))
                await bob.venue.submit(
                    intent(
                        info, Side.BUY, "0.23", "10", outcome=Outcome.NO, order_type=OrderType.FAK
                    )
                )
                await wait_for(lambda: bid.filled_size == 10, what="fill through REST")
                ledger = us.manager.ledger
                pos = ledger.position(info.condition_id, "yes")
                assert pos is not None and pos.shares == 10
                sink = us.sink
                assert isinstance(sink, MemorySink)
                await wait_for(
                    lambda: any(r["status"] == "void" for r in sink.trades), what="void record"
                )
                void = next(r for r in sink.trades if r["status"] == "void")
                assert void["source"] == "rest_poll" and void["execution_mode"] == "order_rest"
                pos = ledger.position(info.condition_id, "yes")
                assert pos is None or pos.shares == 0
                await wait_for(lambda: ledger_matches_venue(us, sim), what="ledger == venue")
            finally:
                await tracker.stop()
