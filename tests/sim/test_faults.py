"""Fault injection: every fault is observable by a client over loopback."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from server_kit import ALICE_KEY, VenueClient, admin, running_server, wait_for
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from polymarket_bot.core.errors import InvalidValueError
from polymarket_bot.core.types import OrderType, Side
from polymarket_bot.protocol.book_hash import sdk_book_hash
from polymarket_bot.protocol.codec import MarketDecoder
from polymarket_bot.protocol.errors import DecodeError
from polymarket_bot.sim.faults import (
    CANCEL_ONLY_MSG,
    POST_ONLY_MSG,
    TRADING_DISABLED_MSG,
    FaultController,
    FaultKind,
    ScheduledFault,
    load_scenario,
    parse_scenario,
)
from polymarket_bot.sim.server import SimServer
from polymarket_bot.sim.state import ServerConfig

FAST = ServerConfig(tick_interval_s=0.05)


def first_token(server: SimServer) -> str:
    return next(m for m in server.state.markets if not m.neg_risk).token_ids[0]


async def inject(server: SimServer, fault: str, params: Any = None, duration: Any = None) -> Any:
    body = {"fault": fault, "params": params or {}, "duration_s": duration}
    return await admin(server, "POST", "/admin/faults", body)


async def clear(server: SimServer) -> None:
    await admin(server, "DELETE", "/admin/faults")


async def subscribed(server: SimServer, token: str) -> ClientConnection:
    ws = await websockets.connect(server.ws_url + "/market")
    await ws.send(json.dumps({"type": "market", "assets_ids": [token]}))
    await asyncio.wait_for(ws.recv(), 5)  # the initial book dump
    return ws


async def blast(server: SimServer, token: str, n: int) -> None:
    await admin(server, "POST", "/admin/bench/blast", {"n": n, "asset_id": token})


async def texts(ws: ClientConnection, n: int) -> list[str]:
    out = []
    for _ in range(n):
        raw = await asyncio.wait_for(ws.recv(), 5)
        assert isinstance(raw, str)
        out.append(raw)
    return out


# --- REST -----------------------------------------------------------------------------------


async def test_delay_429_and_5xx() -> None:
    async with (
        running_server(with_flow=False) as server,
        httpx.AsyncClient(base_url=server.rest_url) as http,
    ):
        token = first_token(server)
        await inject(server, "rest_delay", {"delay_ms": 300, "paths": ["/book"]})
        start = time.perf_counter()
        assert (await http.get("/book", params={"token_id": token})).status_code == 200
        assert time.perf_counter() - start >= 0.3
        start = time.perf_counter()
        await http.get("/ok")
        assert time.perf_counter() - start < 0.3  # other paths are not delayed
        await clear(server)

        await inject(server, "rest_429", {"retry_after": 2, "count": 2})
        for _ in range(2):
            r = await http.get("/ok")
            assert r.status_code == 429 and r.headers["retry-after"] == "2"
        assert (await http.get("/ok")).status_code == 200  # used up

        await inject(server, "rest_5xx", {"status": 503, "paths": ["/book"]}, 30)
        r = await http.get("/book", params={"token_id": token})
        assert (r.status_code, r.json()) == (503, {"error": "Service Unavailable"})
        assert (await http.get("/ok")).status_code == 200
        listed = await admin(server, "GET", "/admin/faults")
        assert [f["fault"] for f in listed] == ["rest_5xx"] and listed[0]["hits"] == 1
        await clear(server)
        assert (await http.get("/book", params={"token_id": token})).status_code == 200


async def test_engine_restart_then_post_only_window() -> None:
    async with (
        running_server(with_flow=False, config=FAST) as server,
        VenueClient(server, ALICE_KEY) as alice,
    ):
        await alice.create_key()
        token = first_token(server)
        await inject(server, "engine_restart", {"retry_after": 3, "post_only_s": 30}, 0.3)
        r = await alice.post_order(token, Side.BUY, "0.05", "10")
        assert r.status_code == 425 and r.headers["retry-after"] == "3"
        cancel = await alice.l2("DELETE", "/cancel-all")
        assert cancel.status_code == 425
        book = await alice.http.get("/book", params={"token_id": token})
        assert book.status_code == 200  # market data keeps flowing

        async def restarted() -> httpx.Response | None:
            r = await alice.post_order(token, Side.BUY, "0.05", "10")
            return r if r.status_code != 425 else None

        r = await wait_for(restarted, what="the restart window to end")
        assert r.status_code == 503
        body = r.json()
        assert body["error"] == POST_ONLY_MSG and body["code"] == "post_only_mode"
        assert 0 < body["retry_after_seconds"] <= 30 and "retry-after" in r.headers
        ok = await alice.post_order(token, Side.BUY, "0.05", "10", post_only=True)
        assert ok.status_code == 200 and ok.json()["status"] == "live"
        legs = [
            alice.envelope(alice.sign(token, Side.BUY, "0.04", "5")),
            alice.envelope(alice.sign(token, Side.BUY, "0.03", "5"), post_only=True),
        ]
        r = await alice.l2("POST", "/orders", json.dumps(legs))
        first, second = r.json()
        assert r.status_code == 200
        assert (first["success"], first["errorMsg"], first["orderID"]) == (
            True,
            POST_ONLY_MSG,
            "",
        )
        assert second["status"] == "live"
        assert (await alice.l2("DELETE", "/cancel-all")).status_code == 200


async def test_trading_disabled_and_cancel_only() -> None:
    async with running_server(with_flow=False) as server, VenueClient(server, ALICE_KEY) as alice:
        await alice.create_key()
        token = first_token(server)
        live = (await alice.post_order(token, Side.BUY, "0.05", "10")).json()["orderID"]
        await inject(server, "trading_disabled")
        r = await alice.post_order(token, Side.BUY, "0.05", "10")
        assert (r.status_code, r.json()) == (503, {"error": TRADING_DISABLED_MSG})
        r = await alice.l2("DELETE", "/order", {"orderID": live})
        assert r.status_code == 503
        await clear(server)
        await inject(server, "cancel_only")
        r = await alice.post_order(token, Side.BUY, "0.05", "10")
        assert (r.status_code, r.json()) == (503, {"error": CANCEL_ONLY_MSG})
        r = await alice.l2("DELETE", "/order", {"orderID": live})
        assert r.json()["canceled"] == [live]


@pytest.mark.parametrize("mode", ["reset", "drop", "500"])
async def test_lost_response_leaves_an_accepted_order(mode: str) -> None:
    async with running_server(with_flow=False) as server, VenueClient(server, ALICE_KEY) as alice:
        await alice.create_key()
        token = first_token(server)
        await inject(server, "lose_response", {"mode": mode, "hang_s": 0.2})
        signed = alice.sign(token, Side.BUY, "0.05", "10")
        body = json.dumps(alice.envelope(signed), separators=(",", ":"))
        if mode == "500":
            r = await alice.l2("POST", "/order", body)
            assert r.status_code == 500
        else:
            with pytest.raises(httpx.TransportError):
                await alice.l2("POST", "/order", body)
        # Ambiguous for the client, but the venue has the order under its signed hash.
        r = await alice.l2("GET", "/data/orders", params={"id": signed.order_hash})
        assert [o["id"] for o in r.json()["data"]] == [signed.order_hash]
        again = await alice.post_order(token, Side.BUY, "0.04", "10")  # count was 1
        assert again.status_code == 200
        state = await admin(server, "GET", "/admin/state")
        assert state["counters"]["lost_responses"] == 1


# --- WebSocket ------------------------------------------------------------------------------


async def test_ws_disconnect_closes_every_connection() -> None:
    async with running_server(with_flow=False) as server:
        token = first_token(server)
        async with VenueClient(server, ALICE_KEY) as alice:
            creds = await alice.create_key()
            market_ws = await subscribed(server, token)
            user_ws = await websockets.connect(server.ws_url + "/user")
            auth = {"apiKey": creds.api_key, "secret": creds.secret, "passphrase": creds.passphrase}
            await user_ws.send(json.dumps({"type": "user", "auth": auth}))
            await wait_for(lambda: server.state.hub.by_owner, what="user auth")
            await inject(server, "ws_disconnect", {"mode": "abort"})
            for ws in (market_ws, user_ws):
                with pytest.raises(ConnectionClosed):
                    await asyncio.wait_for(ws.recv(), 5)
                await ws.close()
            await wait_for(lambda: not server.state.hub.conns, what="connections dropped")
            again = await subscribed(server, token)  # reconnecting works
            await again.close()
            closing = await subscribed(server, token)
            await inject(server, "ws_disconnect", {"mode": "close", "code": 1012})
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(closing.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012


async def test_ws_stall_sends_nothing_and_ignores_ping() -> None:
    async with running_server(with_flow=False, config=FAST) as server:
        token = first_token(server)
        ws = await subscribed(server, token)
        try:
            await inject(server, "ws_stall", {}, 0.3)
            await ws.send("PING")
            await blast(server, token, 5)
            await wait_for(
                lambda: not server.state.faults.active(server.state.clock.monotonic()),
                what="the stall to end",
            )
            await ws.send("PING")
            # Neither the stalled PING's PONG nor the stalled frames ever arrive.
            assert await texts(ws, 1) == ["PONG"]
            assert server.state.hub.stats["stalled_frames"] == 5
        finally:
            await ws.close()


async def test_ws_corrupted_frames() -> None:
    async with running_server(with_flow=False) as server:
        token = first_token(server)
        ws = await subscribed(server, token)
        decoder = MarketDecoder()
        try:
            await inject(server, "ws_malformed")
            await blast(server, token, 2)
            for raw in await texts(ws, 2):
                with pytest.raises(DecodeError):
                    decoder.decode(raw)
            await clear(server)

            await inject(server, "ws_truncated", {"every": 2})
            await blast(server, token, 4)
            frames = await texts(ws, 4)
            assert [len(decoder.decode(f)) for f in frames[::2]] == [1, 1]
            for raw in frames[1::2]:
                with pytest.raises(DecodeError):
                    decoder.decode(raw)
            await clear(server)

            await inject(server, "ws_duplicate")
            await blast(server, token, 3)
            frames = await texts(ws, 6)
            assert frames[0::2] == frames[1::2] and len(set(frames)) == 3
            await clear(server)

            await inject(server, "ws_reorder")
            await blast(server, token, 4)
            order = [int(json.loads(f)["price_changes"][0]["hash"], 16) for f in await texts(ws, 4)]
            assert order == [1, 0, 3, 2]
        finally:
            await ws.close()


async def test_ws_bad_hash_on_books() -> None:
    async with (
        running_server(with_flow=False) as server,
        httpx.AsyncClient(base_url=server.rest_url) as http,
    ):
        token = first_token(server)
        await inject(server, "ws_bad_hash", {"rest": True})
        async with websockets.connect(server.ws_url + "/market") as ws:
            await ws.send(json.dumps({"type": "market", "assets_ids": [token]}))
            (snap,) = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert snap["hash"] != sdk_book_hash(snap)
        rest = (await http.get("/book", params={"token_id": token})).json()
        assert rest["hash"] != sdk_book_hash(rest)
        await clear(server)
        rest = (await http.get("/book", params={"token_id": token})).json()
        assert rest["hash"] == sdk_book_hash(rest)


async def test_user_events_dropped() -> None:
    async with running_server(with_flow=False) as server:
        token = first_token(server)
        async with VenueClient(server, ALICE_KEY) as alice:
            creds = await alice.create_key()
            async with websockets.connect(server.ws_url + "/user") as ws:
                auth = {
                    "apiKey": creds.api_key,
                    "secret": creds.secret,
                    "passphrase": creds.passphrase,
                }
                await ws.send(json.dumps({"type": "user", "auth": auth}))
                await wait_for(lambda: server.state.hub.by_owner, what="user auth")
                await inject(server, "user_drop")
                lost = (await alice.post_order(token, Side.BUY, "0.05", "10")).json()["orderID"]
                await clear(server)
                kept = (await alice.post_order(token, Side.BUY, "0.04", "10")).json()["orderID"]
                event = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert event["id"] == kept != lost
                assert server.state.hub.stats["dropped_user_events"] == 1


# --- scenario files and validation ----------------------------------------------------------


async def test_scenario_schedule_applies_faults() -> None:
    scenario = [
        ScheduledFault(0.0, FaultKind.REST_5XX, {"status": 502, "paths": ["/book"]}, None),
        ScheduledFault(0.0, FaultKind.TRADING_DISABLED, {}, 0.2),
    ]
    async with running_server(with_flow=False, config=FAST, scenario=scenario) as server:
        token = first_token(server)
        async with VenueClient(server, ALICE_KEY) as alice:
            await alice.create_key()

            async def book_status() -> int | None:
                r = await alice.http.get("/book", params={"token_id": token})
                return r.status_code if r.status_code != 200 else None

            assert await wait_for(book_status, what="the scheduled fault") == 502

            async def trading() -> bool:
                r = await alice.post_order(token, Side.BUY, "0.05", "10", OrderType.GTC)
                return r.status_code == 200

            await wait_for(trading, what="the trading_disabled window to end")


def test_scenario_files_and_validation(tmp_path: Path) -> None:
    yaml_file = tmp_path / "chaos.yaml"
    yaml_file.write_text(
        "- {at_s: 5, fault: ws_stall, duration_s: 2}\n"
        "- at_s: 1\n  fault: rest_429\n  params: {retry_after: 3, count: 4}\n",
        encoding="utf-8",
    )
    items = load_scenario(yaml_file)
    assert [(i.at_s, i.kind) for i in items] == [
        (1.0, FaultKind.REST_429),
        (5.0, FaultKind.WS_STALL),
    ]
    json_file = tmp_path / "chaos.json"
    json_file.write_text(json.dumps([{"at_s": 0, "fault": "lose_response"}]), encoding="utf-8")
    assert load_scenario(json_file)[0].kind is FaultKind.LOSE_RESPONSE
    for bad in (
        {"fault": "rest_429"},
        [{"at_s": 0, "fault": "nope"}],
        [{"at_s": 0, "fault": "rest_429", "params": {"retry": 1}}],
        [{"at_s": 0, "fault": "rest_5xx", "params": {"status": 418}}],
        [{"at_s": -1, "fault": "ws_stall"}],
        [{"at_s": 0, "fault": "ws_stall", "extra": 1}],
    ):
        with pytest.raises(InvalidValueError):
            parse_scenario(bad)


def test_fault_controller_lifecycle() -> None:
    faults = FaultController()
    f = faults.inject("rest_429", {"count": 1}, None, now=0.0)
    assert faults.rest_active
    answer = faults.rest_fault("GET", "/ok", 1.0)
    assert answer is not None and answer.status == 429
    assert faults.rest_fault("GET", "/ok", 1.0) is None and not faults.active(1.0)
    faults.inject("ws_duplicate", {}, 10, now=0.0)
    assert faults.mangle("market", "x", 5.0) == ["x", "x"]
    assert faults.mangle("user", "x", 5.0) == ["x"]  # channel defaults to market
    assert faults.mangle("market", "x", 10.0) == ["x"]  # expired
    assert not faults.ws_active
    assert f.fault_id == 1
