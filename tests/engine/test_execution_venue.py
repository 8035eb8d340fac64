"""VenueExecution against the simulator on loopback (OFFLINE-style): signed orders, fills through
the order response and the user channel, the ledger against the venue's own accounts."""

from __future__ import annotations

import copy
import sys
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from execution_kit import admin, infos_by_token, intent, trader, wait_for

from polymarket_bot.core.ledger import LedgerFill
from polymarket_bot.core.orders import OrderState
from polymarket_bot.core.types import (
    OrderType,
    Outcome,
    Side,
    TickSize,
    from_base_units,
    to_base_units,
)
from polymarket_bot.sim.exchange import SimConfig
from polymarket_bot.sim.server import SimServer
from polymarket_bot.storage import ReportSink, iter_jsonl

CENT = Decimal("0.01")


def _venue_open_ids(sim: SimServer, api_key: str) -> set[str]:
    return {o.order_id for o in sim.state.exchange.open_orders(api_key)}


async def test_orders_fills_and_ledger_match_the_venue(tmp_path: Path) -> None:
    async with SimServer(n_markets=4, seed=7, with_flow=False) as sim:
        infos = infos_by_token(sim)
        one = infos[sim.state.by_name["SIM-1"].yes_token]  # bid 0.76, ask 0.78
        two = infos[sim.state.by_name["SIM-2"].yes_token]  # bid 0.31 x 86.45, ask 0.33 x 57.73
        sink = ReportSink(tmp_path, sql=False, runtime_mode="offline")
        async with trader(sim, "alice", sink=sink) as alice, trader(sim, "bob") as bob:
            # A resting bid inside the spread, hit for 10 by bob buying NO (a mint).
            rest = await alice.venue.submit(intent(one, Side.BUY, "0.77", "20"))
            assert rest.state is OrderState.LIVE
            assert rest.venue_order_id in _venue_open_ids(sim, alice.api_key)
            hit = await bob.venue.submit(
                intent(one, Side.BUY, "0.23", "10", outcome=Outcome.NO, order_type=OrderType.FAK)
            )
            assert hit.state is OrderState.FILLED
            await wait_for(lambda: rest.filled_size == 10, what="maker fill via the user channel")
            assert rest.state is OrderState.PARTIAL

            # A marketable FAK: takes the whole ask level, the remainder is killed.
            fak = await alice.venue.submit(
                intent(two, Side.BUY, "0.33", "80", order_type=OrderType.FAK)
            )
            assert fak.state is OrderState.CANCELED
            assert fak.filled_size == Decimal("57.73")
            assert fak.fees > 0  # taker fee of the V2 curve

            # An exit: sell 30 into the bid.
            sell = await alice.venue.submit(
                intent(two, Side.SELL, "0.31", "30", order_type=OrderType.FAK)
            )
            assert sell.state is OrderState.FILLED

            manager, ledger = alice.manager, alice.manager.ledger
            stream = alice.venue.user_stream
            assert stream is not None
            await wait_for(lambda: stream.events >= 8, what="user channel events")
            # Ledger == the venue's account, to the micro-dollar and the micro-share.
            acct = sim.state.exchange.account(alice.signer.address)
            assert to_base_units(ledger.cash) == acct.pusd
            for info in (one, two):
                for token in (info.yes_token, info.no_token):
                    pos = ledger.position(info.condition_id, info.outcome_of(token) or "")
                    shares = pos.shares if pos is not None else Decimal(0)
                    assert to_base_units(shares) == acct.token_balance(token)
            assert ledger.position(two.condition_id, "yes").shares == Decimal("27.73")
            assert ledger.position(one.condition_id, "yes").shares == Decimal(10)
            open_ids = _venue_open_ids(sim, alice.api_key)
            assert {o.venue_order_id for o in manager.open_orders()} == open_ids
            assert open_ids == {rest.venue_order_id}
            # cash + positions at mark == start + realized + unrealized - fees (to the cent).
            marks = {}
            for info in (one, two):
                mid = sim.state.midpoint(sim.state.exchange.book(info.yes_token))
                assert mid is not None
                marks[(info.condition_id, "yes")] = mid
            lhs = ledger.cash + ledger.market_value(marks)
            rhs = (
                alice.start_cash
                + ledger.realized_pnl
                + ledger.unrealized_pnl(marks)
                - ledger.fees_paid
            )
            assert abs(lhs - rhs) < CENT
            assert ledger.realized_pnl != 0 and ledger.fees_paid > 0

            sink.flush()
            trades = list(iter_jsonl(tmp_path / "trades.jsonl"))
            orders = list(iter_jsonl(tmp_path / "orders.jsonl"))
            fills = list(iter_jsonl(tmp_path / "fills.jsonl"))
            exits = list(iter_jsonl(tmp_path / "realized_exits.jsonl"))
            # Every fill in trades.jsonl is in the ledger, once; their sums are the ledger's.
            assert len({t["fill_id"] for t in trades}) == len(trades) == 3
            probe = copy.deepcopy(ledger)
            markets = {"SIM-1": one.condition_id, "SIM-2": two.condition_id}
            for t in trades:
                again = LedgerFill(
                    t["fill_id"],
                    markets[t["market_id"]],
                    t["action"],
                    Side(t["side"]),
                    Decimal(str(t["average_price"])),
                    Decimal(str(t["filled_shares"])),
                )
                assert probe.apply_fill(again).value == "duplicate"
            cash = sum(
                (
                    -(Decimal(str(t["notional"])) + Decimal(str(t["fee"])))
                    if t["side"] == "BUY"
                    else Decimal(str(t["notional"])) - Decimal(str(t["fee"]))
                    for t in trades
                ),
                Decimal(0),
            )
            assert alice.start_cash + cash == ledger.cash
            assert {t["execution_mode"] for t in trades} <= {"order_ws", "order_rest"}
            assert all(t["action"] == "yes" and t["runtime_mode"] == "offline" for t in trades)
            statuses = {(t["order_id"], t["status"], t["liquidity"]) for t in trades}
            assert statuses == {
                (rest.venue_order_id, "partial", "maker"),
                (fak.venue_order_id, "partial", "taker"),
                (sell.venue_order_id, "filled", "taker"),
            }
            events = [(o["client_id"], o["event"]) for o in orders]
            assert events.count((rest.client_id, "submit")) == 1
            assert (rest.client_id, "partial") in events
            assert (fak.client_id, "cancel") in events
            assert (sell.client_id, "filled") in events
            assert all(o["runtime_mode"] == "offline" and o["order_id"] for o in orders)
            assert [f["event"] for f in fills] == ["entry", "entry", "exit"]
            sell_fill = fills[-1]
            assert sell_fill["fill_price"] == Decimal("0.31") and sell_fill["shares"] == 30
            assert sell_fill["execution_mode"] == "simulation" and sell_fill["side"] == "yes"
            assert sum(Decimal(str(e["pnl"])) for e in exits) == ledger.realized_pnl

            status = alice.venue.status()
            assert status["counts"]["submitted"] == 3 and status["counts"]["filled"] == 1
            assert [o["client_id"] for o in status["partial"]] == [rest.client_id]
            assert status["filled"][0]["client_id"] == sell.client_id
            assert status["venue"]["orders_ws"]["status"] == "ok"
            assert alice.venue.heartbeat is not None
            await wait_for(lambda: alice.venue.heartbeat.beats >= 1, what="a heartbeat")

            await alice.venue.stop(cancel_open=True)
            assert rest.state is OrderState.CANCELED
            assert _venue_open_ids(sim, alice.api_key) == set()
        sink.close()


async def test_rejections_carry_the_venue_text_and_refresh_the_tick(tmp_path: Path) -> None:
    async with SimServer(n_markets=4, seed=7, with_flow=False) as sim:
        infos = infos_by_token(sim)
        market = sim.state.by_name["SIM-2"]
        info = infos[market.yes_token]
        # Our view of the tick is stale: the venue trades 0.01, we think 0.001.
        stale = dict(infos)
        stale_info = replace(info, tick_size=TickSize.T0_001)
        stale[market.yes_token] = stale[market.no_token] = stale_info
        seen: list[tuple[str, TickSize]] = []
        async with trader(sim, "carol", infos=stale, user_ws=False) as carol:
            carol.venue.on_tick_size = lambda token, tick: seen.append((token, tick))
            small = await carol.venue.submit(intent(info, Side.BUY, "0.30", "1"))
            assert small.state is OrderState.REJECTED
            off = await carol.venue.submit(intent(info, Side.BUY, "0.305", "10"))
            assert off.state is OrderState.REJECTED
            assert carol.venue.tick_size(market.yes_token) is TickSize.T0_01
            assert seen == [(market.yes_token, TickSize.T0_01)]
            # Signed on the venue's grid now: an off-grid price is refused before sending.
            again = await carol.venue.submit(intent(info, Side.BUY, "0.305", "10"))
            assert again.state is OrderState.REJECTED
            rejects = [r for r in carol.sink.orders if r["event"] == "reject"]  # type: ignore[attr-defined]
            assert [r["client_id"] for r in rejects] == [
                small.client_id,
                off.client_id,
                again.client_id,
            ]
            assert rejects[0]["reason"] == (
                f"order {small.venue_order_id} is invalid. Size (1) lower than the minimum: 5"
            )
            assert rejects[1]["reason"] == (
                f"order {off.venue_order_id} is invalid. Price (0.305) breaks minimum tick size "
                "rule: 0.01"
            )
            assert rejects[2]["source"] == "local" and "0.305" in rejects[2]["reason"]
            assert rejects[0]["status"] == "rejected" and rejects[0]["market_id"] == "SIM-2"
            # Newer market info (a tick_size_change) wins over the refreshed value.
            stale[market.yes_token] = replace(stale_info, tick_size=TickSize.T0_1)
            assert carol.venue.tick_size(market.yes_token) is TickSize.T0_1
            state = await admin(sim, "GET", "/admin/state")
            assert state["counters"]["orders_received"][carol.api_key] == 2
            assert carol.venue.status()["counts"]["rejected"] == 3


async def test_batches_of_at_most_15_and_cancels() -> None:
    async with SimServer(n_markets=4, seed=7, with_flow=False) as sim:
        infos = infos_by_token(sim)
        info = infos[sim.state.by_name["SIM-1"].yes_token]  # bid 0.76
        async with trader(sim, "dave", user_ws=False) as dave:
            target = dave.venue.presign_target
            assert target >= 16 and dave.signer.presigned == target  # stocked at start
            prices = [f"0.{70 - i // 4}" for i in range(16)]
            orders = await dave.venue.submit_many([intent(info, Side.BUY, p, "5") for p in prices])
            # signed with presigned nonces (the venue checked every signature), then restocked
            assert [o.state for o in orders] == [OrderState.LIVE] * 16
            await wait_for(lambda: dave.signer.presigned == target, what="nonces restocked")
            stock = dave.venue.status()["venue"]["presigned_nonces"]
            assert stock == {"target": target, "stocked": target}
            state = await admin(sim, "GET", "/admin/state")
            assert state["counters"]["orders_received"][dave.api_key] == 16
            assert _venue_open_ids(sim, dave.api_key) == {o.venue_order_id for o in orders}
            assert sim.state.counters.by_status.get(200, 0) >= 2

            one = await dave.venue.cancel(orders[0].client_id)
            assert one is orders[0] and one.state is OrderState.CANCELED
            again = await dave.venue.cancel(orders[0].venue_order_id or "")
            assert again is orders[0] and again.state is OrderState.CANCELED
            assert await dave.venue.cancel("no-such-order") is None
            canceled = await dave.venue.cancel_all()
            assert len(canceled) == 15
            assert all(o.state is OrderState.CANCELED for o in orders)
            assert _venue_open_ids(sim, dave.api_key) == set()
            assert dave.venue.open_orders() == []
            cancels = [r for r in dave.sink.orders if r["event"] == "cancel"]  # type: ignore[attr-defined]
            assert len(cancels) == 16


async def test_a_cancel_that_lost_the_race_books_the_fills() -> None:
    async with SimServer(n_markets=4, seed=7, with_flow=False) as sim:
        infos = infos_by_token(sim)
        info = infos[sim.state.by_name["SIM-2"].yes_token]
        async with trader(sim, "erin", user_ws=False) as erin, trader(sim, "frank") as frank:
            bid = await erin.venue.submit(intent(info, Side.BUY, "0.32", "10"))
            assert bid.state is OrderState.LIVE
            await frank.venue.submit(
                intent(info, Side.BUY, "0.68", "10", outcome=Outcome.NO, order_type=OrderType.FAK)
            )
            # erin has no user channel: she learns of the fill when her cancel is refused.
            assert bid.filled_size == 0
            await erin.venue.cancel(bid.client_id)
            await wait_for(lambda: bid.state is OrderState.FILLED, what="fill found by query")
            acct = sim.state.exchange.account(erin.signer.address)
            assert to_base_units(erin.manager.ledger.cash) == acct.pusd
            assert from_base_units(acct.token_balance(info.yes_token)) == Decimal(10)


async def test_failed_settlements_are_voided_in_the_ledger() -> None:
    config = SimConfig(seed=7, failure_rate=1.0, mined_delay_s=0.05, retry_delay_s=0.05)
    # Paused: no settlement timer runs until both orders have traded.
    async with SimServer(
        n_markets=4, seed=7, with_flow=False, sim_config=config, paused=True
    ) as sim:
        info = infos_by_token(sim)[sim.state.by_name["SIM-2"].yes_token]
        async with trader(sim, "gina") as gina:
            buy = await gina.venue.submit(
                intent(info, Side.BUY, "0.33", "40", order_type=OrderType.FAK)
            )
            sell = await gina.venue.submit(
                intent(info, Side.SELL, "0.31", "40", order_type=OrderType.FAK)
            )
            assert buy.state is sell.state is OrderState.FILLED
            ledger = gina.manager.ledger
            assert ledger.realized_pnl < 0 and ledger.fees_paid > 0
            await admin(sim, "POST", "/admin/pause", {"paused": False})
            # Both trades go RETRYING -> FAILED; the venue reverses them, so must we.
            await wait_for(lambda: ledger.fees_paid == 0, what="both voids")
            assert gina.manager.pending_voids == 0
            acct = sim.state.exchange.account(gina.signer.address)
            assert to_base_units(ledger.cash) == acct.pusd == to_base_units(gina.start_cash)
            assert acct.token_balance(info.yes_token) == 0
            assert ledger.realized_pnl == 0 and not ledger.open_positions()
            trades = gina.sink.trades  # type: ignore[attr-defined]
            voids = [t for t in trades if t["status"] == "void"]
            assert sorted(t["filled_shares"] for t in voids) == [-40, -40]
            assert all(t["settlement"] == "FAILED" for t in voids)
            assert sum(t["filled_shares"] for t in trades) == 0
            exits = gina.sink.exits  # type: ignore[attr-defined]
            assert [e["reason"] for e in exits] == ["exit", "void"]
            assert sum(e["pnl"] for e in exits) == 0
            assert buy.state is OrderState.FILLED  # the venue does not restore orders either


async def test_order_types_at_the_venue() -> None:
    async with SimServer(n_markets=4, seed=7, with_flow=False) as sim:
        info = infos_by_token(sim)[sim.state.by_name["SIM-2"].yes_token]  # bid 0.31, ask 0.33
        async with trader(sim, "olga", user_ws=False) as t:
            now = int(sim.clock.time())
            gtd = await t.venue.submit(
                intent(
                    info, Side.BUY, "0.30", "10", order_type=OrderType.GTD, expiration_s=now + 400
                )
            )
            assert gtd.state is OrderState.LIVE
            venue_gtd = sim.state.exchange.order(gtd.venue_order_id or "")
            assert venue_gtd is not None and venue_gtd.expiration == now + 400
            maker = await t.venue.submit(intent(info, Side.BUY, "0.32", "10", post_only=True))
            assert maker.state is OrderState.LIVE
            assert sim.state.exchange.order(maker.venue_order_id or "").post_only  # type: ignore[union-attr]
            crossing = await t.venue.submit(intent(info, Side.BUY, "0.33", "10", post_only=True))
            fok = await t.venue.submit(
                intent(info, Side.BUY, "0.33", "100", order_type=OrderType.FOK)
            )
            soon = await t.venue.submit(
                intent(
                    info, Side.BUY, "0.30", "10", order_type=OrderType.GTD, expiration_s=now + 60
                )
            )
            assert crossing.state is fok.state is soon.state is OrderState.REJECTED
            reasons = {r["client_id"]: r["reason"] for r in t.sink.orders if r["event"] == "reject"}  # type: ignore[attr-defined]
            assert reasons[crossing.client_id] == "invalid post-only order: order crosses book"
            assert reasons[fok.client_id] == (
                "order couldn't be fully filled. FOK orders are fully filled or killed."
            )
            assert reasons[soon.client_id].startswith("invalid expiration")
            filled = await t.venue.submit(
                intent(info, Side.BUY, "0.33", "20", order_type=OrderType.FOK)
            )
            assert filled.state is OrderState.FILLED and filled.filled_size == 20
            assert {o.venue_order_id for o in t.venue.open_orders()} == {
                o.order_id for o in sim.state.exchange.open_orders(t.api_key)
            }
