"""How venue news reaches the manager: the order response (+ trades by id), the user channel, a
re-query after the user channel reconnects; and the heartbeat dead-man switch."""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from execution_kit import admin, infos_by_token, intent, trader, wait_for

from polymarket_bot.core.orders import OrderState
from polymarket_bot.core.types import OrderType, Outcome, Side, to_base_units
from polymarket_bot.sim.exchange import SimConfig
from polymarket_bot.sim.server import SimServer


async def test_fills_arrive_through_the_order_response_alone() -> None:
    async with SimServer(n_markets=4, seed=7, with_flow=False) as sim:
        info = infos_by_token(sim)[sim.state.by_name["SIM-2"].yes_token]
        async with trader(sim, "resp", user_ws=False) as t:
            fak = await t.venue.submit(
                intent(info, Side.BUY, "0.34", "100", order_type=OrderType.FAK)
            )
            # Two price levels: two trades, fetched by the ids the response carried.
            assert fak.state is OrderState.FILLED and fak.filled_size == 100
            trades = t.sink.trades  # type: ignore[attr-defined]
            assert [(x["average_price"], x["filled_shares"], x["source"]) for x in trades] == [
                (Decimal("0.33"), Decimal("57.73"), "order_rest"),
                (Decimal("0.34"), Decimal("42.27"), "order_rest"),
            ]
            assert [x["status"] for x in trades] == ["partial", "filled"]
            acct = sim.state.exchange.account(t.signer.address)
            assert to_base_units(t.manager.ledger.cash) == acct.pusd
            # Asking again books nothing twice.
            ids = [x["trade_id"] for x in trades]
            assert await t.venue.query.fetch_trades(ids) == 0
            assert len(t.sink.trades) == 2  # type: ignore[attr-defined]


async def test_missed_user_events_are_recovered_after_a_reconnect() -> None:
    async with SimServer(n_markets=4, seed=7, with_flow=False) as sim:
        info = infos_by_token(sim)[sim.state.by_name["SIM-1"].yes_token]  # bid 0.76, ask 0.78
        async with trader(sim, "ursula") as u, trader(sim, "bob", user_ws=False) as bob:
            bid = await u.venue.submit(intent(info, Side.BUY, "0.77", "20"))
            assert bid.state is OrderState.LIVE
            drop = {"fault": "user_drop", "params": {"probability": 1}}
            fault = await admin(sim, "POST", "/admin/faults", drop)
            await bob.venue.submit(
                intent(info, Side.BUY, "0.23", "5", outcome=Outcome.NO, order_type=OrderType.FAK)
            )
            assert sim.state.exchange.order(bid.venue_order_id or "").matched > 0  # type: ignore[union-attr]
            assert bid.filled_size == 0  # the user channel dropped the news
            await admin(sim, "DELETE", f"/admin/faults?id={fault['id']}")
            stream = u.venue.user_stream
            assert stream is not None
            connects = stream.conn.connects
            await admin(
                sim,
                "POST",
                "/admin/faults",
                {"fault": "ws_disconnect", "params": {"channel": "user"}},
            )
            await wait_for(lambda: stream.conn.connects > connects, what="user channel reconnect")
            await wait_for(lambda: bid.filled_size == 5, what="fill recovered by a status query")
            assert bid.state is OrderState.PARTIAL
            assert u.sink.trades[0]["source"] == "order_rest"


async def test_heartbeats_keep_orders_alive_and_their_absence_cancels_them() -> None:
    config = SimConfig(seed=7, heartbeat_timeout_s=1.5, heartbeat_buffer_s=0.5)
    async with SimServer(n_markets=4, seed=7, with_flow=False, sim_config=config) as sim:
        info = infos_by_token(sim)[sim.state.by_name["SIM-1"].yes_token]
        async with trader(sim, "hb", user_ws=False, heartbeat_interval_s=0.1) as t:
            order = await t.venue.submit(intent(info, Side.BUY, "0.70", "10"))
            assert order.state is OrderState.LIVE
            heartbeat = t.venue.heartbeat
            assert heartbeat is not None
            await wait_for(lambda: heartbeat.beats >= 25, what="2.5 s of heartbeats")
            assert [o.order_id for o in sim.state.exchange.open_orders(t.api_key)] == [
                order.venue_order_id
            ]
            # A stale id is answered with the right one, which is sent at once.
            heartbeat.heartbeat_id = "stale"
            assert await heartbeat.beat()
            assert t.venue.status()["venue"]["heartbeat"]["errors"] == 0
            assert t.venue.status()["venue"]["heartbeat"]["running"]
            await t.venue.stop(cancel_open=False)  # no more beats: the venue cancels
            await wait_for(
                lambda: not sim.state.exchange.open_orders(t.api_key), what="dead-man cancel"
            )
            # The next status query learns that the order is gone.
            assert await t.venue.refresh_order(order)
            assert order.state is OrderState.CANCELED


async def test_a_cancel_sent_while_the_post_is_in_flight_is_honoured() -> None:
    async with SimServer(n_markets=4, seed=7, with_flow=False) as sim:
        info = infos_by_token(sim)[sim.state.by_name["SIM-1"].yes_token]
        async with trader(sim, "slow", user_ws=False) as t:
            fault = {"delay_ms": 500, "paths": ["/order"], "methods": ["POST"], "count": 1}
            await admin(sim, "POST", "/admin/faults", {"fault": "rest_delay", "params": fault})
            submitting = asyncio.create_task(t.venue.submit(intent(info, Side.BUY, "0.70", "10")))
            order = await wait_for(lambda: next(iter(t.manager.orders()), None), what="submit")
            assert order.state is OrderState.SUBMITTED
            await t.venue.cancel(order.client_id)  # the venue does not know it yet
            assert order.state is OrderState.SUBMITTED
            assert await submitting is order
            await wait_for(lambda: order.state is OrderState.CANCELED, what="the deferred cancel")
            assert sim.state.exchange.open_orders(t.api_key) == []
            cancels = sim.state.counters.cancel_requests[t.api_key]
            assert cancels == 2  # once too early, once after the acknowledgement
