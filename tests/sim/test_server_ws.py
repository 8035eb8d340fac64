"""WebSocket face of the simulator: market and user channels over real loopback sockets."""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from server_kit import (
    ALICE_KEY,
    BOB_KEY,
    VenueClient,
    admin,
    inside_spread_market,
    running_server,
    wait_for,
)
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from polymarket_bot.core.types import OrderType, Side
from polymarket_bot.protocol.book_hash import sdk_book_hash, with_book_hash
from polymarket_bot.protocol.codec import MarketDecoder, UserDecoder
from polymarket_bot.sim.flow import FlowConfig
from polymarket_bot.sim.replay import CapturedFrame, ReplaySource, write_capture
from polymarket_bot.sim.server import SimServer
from polymarket_bot.sim.state import ServerConfig
from polymarket_bot.sim.ws_api import WsConfig


async def recv_events(ws: ClientConnection, timeout: float = 5.0) -> list[dict[str, Any]]:
    """The next data frame as a list of events (control frames are returned as strings)."""
    while True:
        raw = await asyncio.wait_for(ws.recv(), timeout)
        assert isinstance(raw, str), "the venue sends text frames"
        if raw in ("PONG", "INVALID OPERATION"):
            return [{"control": raw}]
        obj = json.loads(raw)
        return obj if isinstance(obj, list) else [obj]


async def next_of(ws: ClientConnection, event_type: str, timeout: float = 5.0) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        for ev in await recv_events(ws, max(0.01, deadline - loop.time())):
            if ev.get("event_type") == event_type:
                return ev


class LocalBook:
    """A client-side book rebuilt from `book` snapshots and `price_change` deltas."""

    def __init__(self) -> None:
        self.bids: dict[Decimal, str] = {}
        self.asks: dict[Decimal, str] = {}

    def replace(self, ev: dict[str, Any]) -> None:
        self.bids = {Decimal(lv["price"]): lv["size"] for lv in ev["bids"]}
        self.asks = {Decimal(lv["price"]): lv["size"] for lv in ev["asks"]}

    def apply(self, change: dict[str, Any]) -> None:
        side = self.bids if change["side"] == "BUY" else self.asks
        price = Decimal(change["price"])
        if Decimal(change["size"]) == 0:
            side.pop(price, None)
        else:
            side[price] = change["size"]

    def levels(self) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
        bids = [{"price": str(p), "size": self.bids[p]} for p in sorted(self.bids)]
        asks = [{"price": str(p), "size": self.asks[p]} for p in sorted(self.asks, reverse=True)]
        return bids, asks


def apply_events(books: dict[str, LocalBook], events: list[dict[str, Any]]) -> int:
    changes = 0
    for ev in events:
        kind = ev.get("event_type")
        if kind == "book" and ev["asset_id"] in books:
            books[ev["asset_id"]].replace(ev)
        elif kind == "price_change":
            for change in ev["price_changes"]:
                if change["asset_id"] in books:
                    books[change["asset_id"]].apply(change)
                    changes += 1
    return changes


def market_tokens(server: SimServer, *, neg_risk: bool = False) -> tuple[str, str, str]:
    m = next(m for m in server.state.markets if m.neg_risk == neg_risk)
    return m.condition_id, m.token_ids[0], m.token_ids[1]


async def test_initial_dump_hash_equals_rest_book_when_quiet() -> None:
    async with (
        running_server(with_flow=False) as server,
        httpx.AsyncClient(base_url=server.rest_url) as http,
    ):
        _, yes, no = market_tokens(server)
        async with websockets.connect(server.ws_url + "/market") as ws:
            await ws.send(json.dumps({"type": "market", "assets_ids": [yes, no]}))
            dump = await recv_events(ws)
            assert [b["event_type"] for b in dump] == ["book", "book"]
            for snap in dump:
                rest = (await http.get("/book", params={"token_id": snap["asset_id"]})).json()
                assert snap["hash"] == rest["hash"]
                assert {k: v for k, v in snap.items() if k != "event_type"} == rest
            decoded = MarketDecoder().decode(json.dumps(dump))
            assert [e.asset_id for e in decoded] == [yes, no]  # type: ignore[union-attr]


async def test_price_changes_rebuild_the_rest_book() -> None:
    flow = FlowConfig(step_interval_s=0.05, taker_rate=3.0, resize_rate=3.0)
    async with (
        running_server(flow_config=flow) as server,
        httpx.AsyncClient(base_url=server.rest_url) as http,
    ):
        _, yes, no = market_tokens(server)
        books = {yes: LocalBook(), no: LocalBook()}
        decoder = MarketDecoder()
        async with websockets.connect(server.ws_url + "/market") as ws:
            await ws.send(json.dumps({"type": "market", "assets_ids": [yes, no]}))
            applied = 0
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 20
            while applied < 40:  # let the flow move the books for a while
                assert loop.time() < deadline, "the flow produced too few changes"
                events = await recv_events(ws)
                decoder.decode(json.dumps(events))  # our own client decoder accepts them all
                applied += apply_events(books, events)
            await admin(server, "POST", "/admin/pause", {"paused": True})

            async def converged() -> bool:
                try:
                    while True:  # drain what is in flight
                        apply_events(books, await recv_events(ws, timeout=0.05))
                except TimeoutError:
                    pass
                for asset, local in books.items():
                    rest = (await http.get("/book", params={"token_id": asset})).json()
                    bids, asks = local.levels()
                    if (bids, asks) != (rest["bids"], rest["asks"]):
                        return False
                    rebuilt = with_book_hash({**rest, "bids": bids, "asks": asks})
                    assert rebuilt["hash"] == rest["hash"]
                return True

            await wait_for(converged, timeout=10, what="local book == /book")
            assert decoder.frames > 0 and decoder.unknown_events == 0


async def test_dynamic_subscriptions_and_custom_feature_events() -> None:
    async with running_server(with_flow=False) as server:
        cid_a, a_yes, _ = market_tokens(server)
        cid_b, b_yes, b_no = market_tokens(server, neg_risk=True)
        async with (
            VenueClient(server, ALICE_KEY) as alice,
            websockets.connect(server.ws_url + "/market") as ws,
        ):
            await alice.create_key()
            await ws.send(json.dumps({"type": "market", "assets_ids": [a_yes]}))
            assert [b["asset_id"] for b in await recv_events(ws)] == [a_yes]
            await ws.send(
                json.dumps(
                    {
                        "operation": "subscribe",
                        "assets_ids": [b_yes],
                        "custom_feature_enabled": True,
                    }
                )
            )
            assert [b["asset_id"] for b in await recv_events(ws)] == [b_yes]
            r = await alice.post_order(b_yes, Side.BUY, "0.02", "5", neg_risk=True)
            assert r.status_code == 200, r.text
            change = await next_of(ws, "price_change")
            entry = next(c for c in change["price_changes"] if c["asset_id"] == b_yes)
            assert (entry["price"], entry["size"], entry["side"]) == ("0.02", "5", "BUY")
            await ws.send(json.dumps({"operation": "unsubscribe", "assets_ids": [b_yes]}))
            await alice.post_order(b_yes, Side.BUY, "0.02", "6", neg_risk=True)
            await alice.post_order(a_yes, Side.BUY, "0.02", "7")  # the sentinel
            change = await next_of(ws, "price_change")
            assert {c["asset_id"] for c in change["price_changes"]} >= {a_yes}
            assert change["market"] == cid_a

            # Custom features: best_bid_ask on a top-of-book move, market_resolved.
            await ws.send(json.dumps({"operation": "subscribe", "assets_ids": [b_no]}))
            await recv_events(ws)
            top = server.state.exchange.book(b_no)
            better = Decimal(top.best_bid or "0") + Decimal("0.01")
            await alice.post_order(b_no, Side.BUY, str(better), "5", neg_risk=True)
            bba = await next_of(ws, "best_bid_ask")
            assert bba["asset_id"] == b_no and Decimal(bba["best_bid"]) == better
            await admin(server, "POST", "/admin/resolve", {"market": cid_b, "winner": "No"})
            resolved = await next_of(ws, "market_resolved")
            assert resolved["market"] == cid_b and resolved["winning_asset_id"] == b_no


async def test_tick_size_change_is_followed_by_fresh_books() -> None:
    async with running_server(with_flow=False) as server:
        cid, yes, no = market_tokens(server)
        async with websockets.connect(server.ws_url + "/market") as ws:
            await ws.send(json.dumps({"type": "market", "assets_ids": [yes, no]}))
            await recv_events(ws)
            await admin(server, "POST", "/admin/tick-size", {"market": cid, "tick_size": "0.001"})
            seen: list[str] = []
            while len(seen) < 4:
                seen += [e["event_type"] for e in await recv_events(ws)]
            assert seen[:2] == ["tick_size_change", "tick_size_change"]
            assert seen[2:] == ["book", "book"]


async def test_control_frames_invalid_operations_and_asset_limit() -> None:
    config = ServerConfig(ws=WsConfig(asset_limit=2))
    async with running_server(with_flow=False, config=config) as server:
        tokens = [t for m in server.state.markets[:2] for t in m.token_ids]
        async with websockets.connect(server.ws_url + "/market") as ws:
            await ws.send("PING")
            assert await recv_events(ws) == [{"control": "PONG"}]
            await ws.send("{not json")
            assert await recv_events(ws) == [{"control": "INVALID OPERATION"}]
            await ws.send(json.dumps({"type": "market", "assets_ids": tokens}))
            assert [b["asset_id"] for b in await recv_events(ws)] == tokens[:2]
            await ws.send(json.dumps({"type": "market", "assets_ids": tokens}))  # initial twice
            assert await recv_events(ws) == [{"control": "INVALID OPERATION"}]
            await ws.send(json.dumps({"operation": "subscribe", "assets_ids": tokens[2:]}))
            await ws.send("PING")  # nothing was added (limit reached): the next frame is PONG
            assert await recv_events(ws) == [{"control": "PONG"}]
        with pytest.raises(InvalidStatus) as rejected:
            await websockets.connect(server.ws_url + "/nope")
        assert rejected.value.response.status_code == 403


async def test_user_channel_auth_filtering_and_trades() -> None:
    async with running_server(with_flow=False) as server:
        cid, yes, _, inside = inside_spread_market(server)
        _, other_yes, _ = market_tokens(server, neg_risk=True)
        async with VenueClient(server, ALICE_KEY) as alice, VenueClient(server, BOB_KEY) as bob:
            await alice.create_key()
            await bob.create_key()
            assert alice.creds is not None and bob.creds is not None
            async with websockets.connect(server.ws_url + "/user") as ws:
                await ws.send(
                    json.dumps(
                        {
                            "type": "user",
                            "auth": {
                                "apiKey": alice.api_key,
                                "secret": "x",
                                "passphrase": "y",
                            },
                        }
                    )
                )
                with pytest.raises(ConnectionClosed) as closed:
                    await ws.recv()
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008

            def auth(client: VenueClient, markets: list[str] | None = None) -> str:
                assert client.creds is not None
                frame: dict[str, Any] = {
                    "auth": {
                        "apiKey": client.creds.api_key,
                        "secret": client.creds.secret,
                        "passphrase": client.creds.passphrase,
                    },
                    "type": "user",
                }
                if markets is not None:
                    frame["markets"] = markets
                return json.dumps(frame)

            async with (
                websockets.connect(server.ws_url + "/user") as a_ws,
                websockets.connect(server.ws_url + "/user") as b_ws,
            ):
                await a_ws.send(auth(alice, [cid]))
                await b_ws.send(auth(bob))
                await a_ws.send("PING")
                assert await recv_events(a_ws) == [{"control": "PONG"}]
                await b_ws.send("PING")
                assert await recv_events(b_ws) == [{"control": "PONG"}]
                # Filtered out: Alice only listens to `cid`.
                await alice.post_order(other_yes, Side.BUY, "0.01", "5", neg_risk=True)
                r = await alice.post_order(yes, Side.BUY, str(inside), "10")
                oid = r.json()["orderID"]
                placement = await next_of(a_ws, "order")
                assert placement["type"] == "PLACEMENT" and placement["id"] == oid
                assert placement["market"] == cid and placement["status"] == "LIVE"
                UserDecoder().decode(json.dumps(placement))

                balance = {"address": bob.address, "tokens": {yes: "10"}}
                await admin(server, "POST", "/admin/balance", balance)
                # Alice's bid is the best one: Bob's FAK sell at that price hits only her.
                r = await bob.post_order(yes, Side.SELL, str(inside), "10", OrderType.FAK)
                assert r.json()["status"] == "matched"
                a_trade = await next_of(a_ws, "trade")
                assert a_trade["owner"] == alice.api_key and a_trade["trader_side"] == "MAKER"
                assert any(leg["order_id"] == oid for leg in a_trade["maker_orders"])
                b_trade = await next_of(b_ws, "trade")
                assert b_trade["owner"] == bob.api_key and b_trade["trader_side"] == "TAKER"
                assert b_trade["status"] == "MATCHED"
                UserDecoder().decode(json.dumps(b_trade))


async def test_slow_consumer_is_closed_without_stalling_the_venue() -> None:
    config = ServerConfig(ws=WsConfig(queue_limit=2_000, close_timeout_s=0.3))
    async with (
        running_server(with_flow=False, config=config) as server,
        httpx.AsyncClient(base_url=server.rest_url) as http,
    ):
        _, yes, _ = market_tokens(server)
        hub = server.state.hub
        frame = json.dumps({"event_type": "price_change", "market": "0x", "pad": "x" * 2000})
        # A client that never reads: its library stops reading the socket after one frame, the
        # kernel buffers fill, the server's writer blocks, its queue grows and overflows.
        async with websockets.connect(server.ws_url + "/market", max_queue=1) as slow:
            await slow.send(json.dumps({"type": "market", "assets_ids": [yes]}))
            await wait_for(lambda: hub.by_asset.get(yes), what="subscription")
            worst = 0.0
            while hub.stats["slow_closed"] == 0:
                start = time.perf_counter()
                for _ in range(200):  # publishing never waits for the socket
                    hub.publish_market((yes,), frame)
                worst = max(worst, time.perf_counter() - start)
                await asyncio.sleep(0)
            assert worst < 0.5
            # The close frame cannot get through a full socket: the transport is aborted.
            await wait_for(lambda: not hub.conns, timeout=10, what="the slow connection dropped")
            assert hub.stats["aborted"] == 1
            assert (await http.get("/ok")).status_code == 200


def _capture(path: Path) -> tuple[str, str, str, list[str]]:
    market = "0x" + "ab" * 32
    a, b = str((1 << 255) | 111), str((1 << 255) | 222)

    def book(asset: str, bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> str:
        return json.dumps(
            [
                {
                    "event_type": "book",
                    "asset_id": asset,
                    "market": market,
                    "bids": [{"price": p, "size": s} for p, s in bids],
                    "asks": [{"price": p, "size": s} for p, s in asks],
                    "timestamp": "1750000000000",
                    "hash": "0" * 40,
                }
            ]
        )

    def change(price: str, size: str, side: str, ts: int) -> str:
        return json.dumps(
            {
                "event_type": "price_change",
                "market": market,
                "price_changes": [
                    {"asset_id": a, "price": price, "size": size, "side": side, "hash": "1" * 40}
                ],
                "timestamp": str(ts),
            }
        )

    data = [
        book(a, [("0.4", "100"), ("0.45", "50")], [("0.55", "30"), ("0.5", "20")]),
        book(b, [("0.45", "20"), ("0.5", "30")], [("0.6", "100"), ("0.55", "50")]),
        change("0.46", "10", "BUY", 1750000000300),
        change("0.5", "0", "SELL", 1750000000600),
    ]
    frames = [
        CapturedFrame(recv_ms=1750000000000 + 150 * i, channel="market", data=d)
        for i, d in enumerate(data)
    ]
    write_capture(path, frames)
    return market, a, b, data


async def test_replay_source_is_served_on_ws_and_rest(tmp_path: Path) -> None:
    market, a, b, data = _capture(tmp_path / "market-20260101T000000-1.jsonl.gz")
    source = ReplaySource(tmp_path, speed=1.0)
    config = ServerConfig(tick_interval_s=0.02)
    async with (
        running_server(replay=source, config=config, paused=True) as server,
        httpx.AsyncClient(base_url=server.rest_url) as http,
    ):
        listed = (await http.get("/markets")).json()["data"]
        assert [m["condition_id"] for m in listed] == [market]
        assert [t["token_id"] for t in listed[0]["tokens"]] == [a, b]
        async with websockets.connect(server.ws_url + "/market") as ws:
            await ws.send(json.dumps({"type": "market", "assets_ids": [a]}))
            (dump,) = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert dump["asset_id"] == a and dump["bids"][-1]["price"] == "0.45"
            await admin(server, "POST", "/admin/pause", {"paused": False})
            received: list[str] = []
            while data[3] not in received:
                raw = await asyncio.wait_for(ws.recv(), 5)
                assert isinstance(raw, str)
                received.append(raw)
            # Recorded frames go out byte for byte, in order, to the assets' subscribers.
            assert [f for f in received if f in data] == [data[0], data[2], data[3]]
        rest = (await http.get("/book", params={"token_id": a})).json()
        assert [lv["price"] for lv in rest["bids"]] == ["0.4", "0.45", "0.46"]
        assert [lv["price"] for lv in rest["asks"]] == ["0.55"]
        assert rest["hash"] == sdk_book_hash(rest)
        async with VenueClient(server, ALICE_KEY) as alice:
            await alice.create_key()
            r = await alice.post_order(a, Side.BUY, "0.05", "10")
            assert (r.status_code, r.json()) == (400, {"error": "Invalid token id"})
