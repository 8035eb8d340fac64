"""DryRunExecution: the local fill model driven by a real market WebSocket feed of the simulator.
Orders fill locally; none of them ever reaches the venue."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from execution_kit import (
    admin,
    infos_by_token,
    intent,
    make_manager,
    throwaway_signer,
    trader,
    wait_for,
)

from polymarket_bot.core.book import BookSet
from polymarket_bot.core.clock import LiveClock, TestClock
from polymarket_bot.core.intents import MarketInfo
from polymarket_bot.core.orders import OrderState
from polymarket_bot.core.types import OrderType, Outcome, Side, TickSize
from polymarket_bot.engine.execution import DryRunExecution, MemorySink, make_fill_model
from polymarket_bot.protocol.codec import MarketDecoder
from polymarket_bot.protocol.mapping import book_snapshot
from polymarket_bot.protocol.wire import BookEvent, LastTradePriceEvent, PriceChangeEvent
from polymarket_bot.sim.server import SimServer
from polymarket_bot.transport.rest import ClobRestClient
from polymarket_bot.transport.ws import WsConnection


async def test_dry_run_fills_on_live_books_and_sends_nothing() -> None:
    async with SimServer(n_markets=4, seed=7, with_flow=False) as sim:
        infos = infos_by_token(sim)
        info = infos[sim.state.by_name["SIM-2"].yes_token]  # bid 0.31, ask 0.33 x 57.73
        # The bot has an API key (it could run the user channel) but must never post with it.
        async with ClobRestClient(sim.rest_url) as rest:
            bot_key = (await rest.create_or_derive_api_key(throwaway_signer("dry"))).api_key
        clock = LiveClock()
        books = BookSet()
        for token in (info.yes_token, info.no_token):
            books.add(token, market=info.condition_id)
        sink = MemorySink()
        manager = make_manager(
            infos,
            starting_cash=Decimal(1000),
            sink=sink,
            clock=clock,
            runtime_mode="dry-run",
            execution_mode="dry-run",
            books=books.get,
        )
        dry = DryRunExecution(manager, make_fill_model(infos.get), clock=clock, books=books)
        decoder = MarketDecoder()

        def on_message(data: bytes | str, ts: float) -> None:
            now_ms = int(ts * 1000)
            for ev in decoder.decode(data):
                if isinstance(ev, BookEvent):
                    book = books.apply_snapshot(book_snapshot(ev))
                    if book is not None:
                        dry.on_book(book, now_ms)
                elif isinstance(ev, PriceChangeEvent):
                    books.apply_price_changes(ev.price_changes, now_ms)
                    for asset in {c.asset_id for c in ev.price_changes}:
                        if asset in books:
                            dry.on_book(books[asset], now_ms)
                elif isinstance(ev, LastTradePriceEvent):
                    size = Decimal(ev.size or "0")
                    dry.on_trade(ev.asset_id, Decimal(ev.price), size, ev.side, now_ms)

        subscribe = json.dumps({"type": "market", "assets_ids": [info.yes_token, info.no_token]})
        conn = WsConnection(
            sim.ws_url + "/market", on_message=on_message, subscribe_frames=lambda: [subscribe]
        )
        await conn.start()
        try:
            yes = books[info.yes_token]
            await wait_for(lambda: not yes.awaiting_snapshot, what="the YES snapshot")
            assert yes.best_ask() == Decimal("0.33")

            fak = await dry.submit(intent(info, Side.BUY, "0.33", "80", order_type=OrderType.FAK))
            assert fak.state is OrderState.CANCELED and fak.filled_size == Decimal("57.73")
            assert fak.venue_order_id == f"dry-{fak.client_id}"
            rest_bid = await dry.submit(intent(info, Side.BUY, "0.32", "20"))
            assert rest_bid.state is OrderState.LIVE

            # A real venue account rests a NO bid at 0.68 = a YES ask at 0.32: the book comes
            # to our (local) bid, which fills as maker.
            async with trader(sim, "bob", user_ws=False, heartbeat=False) as bob:
                no_bid = await bob.venue.submit(
                    intent(info, Side.BUY, "0.68", "10", outcome=Outcome.NO)
                )
                assert no_bid.state is OrderState.LIVE
                await wait_for(lambda: rest_bid.filled_size == 10, what="a local maker fill")
                bob_key = bob.api_key
            assert rest_bid.state is OrderState.PARTIAL

            ledger = manager.ledger
            position = ledger.position(info.condition_id, "yes")
            assert position is not None and position.shares == Decimal("67.73")
            taker_fee = manager.taker_fee(
                info.yes_token, Decimal("0.33"), Decimal("57.73"), Side.BUY, None
            )
            assert fak.fees == taker_fee > 0
            cost = Decimal("0.33") * Decimal("57.73") + Decimal("0.32") * 10 + taker_fee
            assert ledger.cash == Decimal(1000) - cost

            assert [
                (t["filled_shares"], t["liquidity"], t["execution_mode"]) for t in sink.trades
            ] == [
                (Decimal("57.73"), "taker", "dry-run"),
                (Decimal(10), "maker", "dry-run"),
            ]
            entry = sink.fills[0]
            assert entry["reference_price"] == Decimal("0.33") and entry["slippage"] == 0
            assert entry["mid"] is not None and entry["spread"] is not None
            assert all(r["runtime_mode"] == "dry-run" for r in sink.orders)
            assert [r["event"] for r in sink.orders if r["client_id"] == fak.client_id] == [
                "submit",
                "partial",
                "cancel",
            ]

            state = await admin(sim, "GET", "/admin/state")
            received = state["counters"]["orders_received"]
            assert received.get(bot_key, 0) == 0
            assert received[bob_key] == 1  # the counter does count real submissions
            assert dry.status()["dry_run"]["model_open_orders"] == 1

            canceled = await dry.cancel(rest_bid.client_id)
            assert canceled is rest_bid and rest_bid.state is OrderState.CANCELED
            assert dry.open_orders() == []
        finally:
            await conn.stop()


async def test_dry_run_rejections_latency_and_expiry() -> None:
    clock = TestClock(1_700_000_000)
    info = MarketInfo(
        condition_id="0xc1", yes_token="1", no_token="2", name="M", fee_rate=Decimal("0.02")
    )
    infos = {"1": info, "2": info}
    books = BookSet()
    book = books.add("1", TickSize.T0_01, market="0xc1")
    book.apply_snapshot(
        [(Decimal("0.40"), Decimal(100))], [(Decimal("0.42"), Decimal(100))], clock.time_ms(), None
    )
    sink = MemorySink()
    manager = make_manager(
        infos, sink=sink, clock=clock, runtime_mode="dry-run", execution_mode="dry-run"
    )
    dry = DryRunExecution(
        manager, make_fill_model(infos.get, latency_ms=200), clock=clock, books=books
    )

    small = await dry.submit(intent(info, Side.BUY, "0.41", "1"))
    assert small.state is OrderState.SUBMITTED  # latency: not at the "venue" yet
    changed = dry.poll(clock.time_ms() + 200)
    assert changed == [small] and small.state is OrderState.REJECTED
    assert "lower than the minimum: 5" in sink.orders[-1]["reason"]

    post = await dry.submit(intent(info, Side.BUY, "0.42", "10", post_only=True))
    dry.poll(clock.time_ms() + 200)
    assert post.state is OrderState.REJECTED
    assert sink.orders[-1]["reason"] == "invalid post-only order: order crosses book"

    gtd = await dry.submit(
        intent(
            info,
            Side.BUY,
            "0.30",
            "10",
            order_type=OrderType.GTD,
            expiration_s=int(clock.time()) + 300,
        )
    )
    dry.poll(clock.time_ms() + 200)
    assert gtd.state is OrderState.LIVE
    clock.advance(300 - 60)
    dry.poll(clock.time_ms())
    assert gtd.state is OrderState.EXPIRED
    assert sink.orders[-1]["event"] == "expired"

    too_soon = await dry.submit(
        intent(
            info,
            Side.BUY,
            "0.30",
            "10",
            order_type=OrderType.GTD,
            expiration_s=int(clock.time()) + 10,
        )
    )
    assert too_soon.state is OrderState.REJECTED and sink.orders[-1]["source"] == "local"
    assert manager.ledger.cash == 0 and sink.trades == []
