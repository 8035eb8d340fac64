"""WsConnection against a real websockets server on 127.0.0.1:<ephemeral>: subscribe on every
connect, PING/PONG, the silence watchdog, reconnect with backoff, dynamic frames."""

from __future__ import annotations

import asyncio
import json
import random
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from transport_kit import wait_until
from websockets.asyncio.server import Server, ServerConnection, serve

from polymarket_bot.protocol.codec import MarketDecoder
from polymarket_bot.transport.retry import Backoff
from polymarket_bot.transport.ws import WsConnection, WsState

WS_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "polymarket" / "ws_messages"
SUBSCRIBE = json.dumps({"type": "market", "assets_ids": ["1", "2"], "custom_feature_enabled": True})


class FakeWsServer:
    """Records every frame per connection; answers PING with PONG unless told to go silent;
    sends the book fixture after a `type: market` subscribe."""

    def __init__(self) -> None:
        self.frames: list[tuple[int, str]] = []
        self.connections: list[ServerConnection] = []
        self.opened_at: list[float] = []
        self.silent_connections: set[int] = set()
        """Connection numbers (1-based) that never answer and never send."""
        self.book = (WS_FIXTURES / "book.json").read_text()
        self.server: Server | None = None
        self.url = ""

    async def handler(self, ws: ServerConnection) -> None:
        self.connections.append(ws)
        self.opened_at.append(asyncio.get_running_loop().time())
        number = len(self.connections)
        async for message in ws:
            text = message if isinstance(message, str) else message.decode()
            self.frames.append((number, text))
            if number in self.silent_connections:
                continue  # stalled peer: the socket stays open, nothing comes back
            if text == "PING":
                await ws.send("PONG")
            elif text.startswith("{") and json.loads(text).get("type") == "market":
                await ws.send(f"[{self.book}]")

    def received(self, number: int) -> list[str]:
        return [text for n, text in self.frames if n == number]


@pytest.fixture
async def ws_server() -> AsyncIterator[FakeWsServer]:
    fake = FakeWsServer()
    async with serve(fake.handler, "127.0.0.1", 0, ping_interval=None) as server:
        fake.server = server
        port = next(iter(server.sockets)).getsockname()[1]
        fake.url = f"ws://127.0.0.1:{port}/ws/market"
        yield fake


class Inbox:
    def __init__(self) -> None:
        self.frames: list[tuple[bytes | str, float]] = []

    def __call__(self, data: bytes | str, recv_ts: float) -> None:
        self.frames.append((data, recv_ts))


def make_conn(url: str, inbox: Inbox, **kwargs: object) -> WsConnection:
    options: dict[str, object] = {
        "on_message": inbox,
        "subscribe_frames": lambda: [SUBSCRIBE],
        "ping_interval": 0.05,
        "silence_timeout": 2.0,
        "close_timeout": 0.5,
        "backoff": Backoff(base=0.02, cap=0.1, rng=random.Random(3)),
    }
    options.update(kwargs)
    return WsConnection(url, **options)  # type: ignore[arg-type]


async def test_subscribes_on_connect_and_hands_raw_frames(ws_server: FakeWsServer) -> None:
    inbox = Inbox()
    states: list[WsState] = []
    async with make_conn(ws_server.url, inbox, on_state=states.append) as conn:
        await wait_until(lambda: len(inbox.frames) >= 1)
        assert ws_server.received(1)[0] == SUBSCRIBE
        data, recv_ts = inbox.frames[0]
        assert isinstance(data, bytes)  # undecoded: the caller decodes
        events = MarketDecoder().decode(data)
        assert events and type(events[0]).__name__ == "BookEvent"
        assert recv_ts > 1_600_000_000  # wall-clock Unix seconds
        assert conn.state is WsState.OPEN and conn.is_open
        assert conn.connects == 1 and conn.messages == 1
        assert conn.last_success_epoch is not None and conn.last_message_monotonic is not None
    assert conn.status()["state"] == "closed"
    assert states[:2] == [WsState.CONNECTING, WsState.OPEN] and states[-1] is WsState.CLOSED


async def test_ping_pong(ws_server: FakeWsServer) -> None:
    inbox = Inbox()
    async with make_conn(ws_server.url, inbox) as conn:
        await wait_until(lambda: conn.pongs >= 3)
        assert ws_server.received(1).count("PING") >= 3
        assert conn.pings >= 3
        # PONG is swallowed by the transport, never handed to the consumer.
        assert all(data != b"PONG" for data, _ in inbox.frames)


async def test_resubscribes_after_the_server_drops(ws_server: FakeWsServer) -> None:
    inbox = Inbox()
    async with make_conn(ws_server.url, inbox) as conn:
        await wait_until(lambda: conn.connects == 1 and len(inbox.frames) == 1)
        await ws_server.connections[0].close(code=1011, reason="restart")
        await wait_until(lambda: conn.connects == 2 and len(inbox.frames) == 2)
        assert ws_server.received(2)[0] == SUBSCRIBE  # the whole subscription, again
        assert conn.disconnects == 1
        assert conn.last_error is not None and "1011" in conn.last_error
        assert conn.last_error_epoch is not None
        assert conn.failures == 0 and conn.total_failures == 1  # healthy again


async def test_silent_server_is_detected_and_replaced(ws_server: FakeWsServer) -> None:
    ws_server.silent_connections = {1}
    silence = 0.3
    inbox = Inbox()
    async with make_conn(ws_server.url, inbox, silence_timeout=silence) as conn:
        await wait_until(lambda: conn.connects == 2, timeout=5.0)
        stalled_for = ws_server.opened_at[1] - ws_server.opened_at[0]
        # Not before the configured silence, and promptly after it (+ close + backoff <= 0.1 s).
        assert silence <= stalled_for < silence + 1.0
        assert conn.last_error is not None and "silent" in conn.last_error
        assert "PING" in ws_server.received(1)  # we kept pinging; nobody answered
        # `connects` counts the handshake; the subscribe frame reaches the server just after
        await wait_until(lambda: len(ws_server.received(2)) >= 1)
        assert ws_server.received(2)[0] == SUBSCRIBE
        await wait_until(lambda: len(inbox.frames) >= 1)  # the new connection delivers


async def test_pongs_keep_a_quiet_connection_alive(ws_server: FakeWsServer) -> None:
    inbox = Inbox()
    async with make_conn(ws_server.url, inbox, silence_timeout=0.3) as conn:
        # 20 PONGs at 0.05 s = ~1 s, more than 3 silence periods without market data.
        await wait_until(lambda: conn.pongs >= 20)
        assert conn.connects == 1 and conn.disconnects == 0


async def test_dynamic_frames_reach_the_server_without_reconnect(ws_server: FakeWsServer) -> None:
    inbox = Inbox()
    frame = json.dumps({"operation": "subscribe", "assets_ids": ["3"]})
    async with make_conn(ws_server.url, inbox) as conn:
        assert await conn.wait_open(5.0)
        assert await conn.send(frame) is True
        assert await conn.send(b'{"operation":"unsubscribe","assets_ids":["1"]}') is True
        await wait_until(lambda: len(ws_server.received(1)) >= 3)
        dynamic = [t for t in ws_server.received(1) if t != "PING"]
        assert dynamic[1:] == [frame, '{"operation":"unsubscribe","assets_ids":["1"]}']
        assert conn.connects == 1 and len(ws_server.connections) == 1
    assert await conn.send(frame) is False  # closed: nothing is queued


async def test_consumer_errors_do_not_drop_the_feed(ws_server: FakeWsServer) -> None:
    def boom(data: bytes | str, recv_ts: float) -> None:
        raise RuntimeError("consumer bug")

    conn = make_conn(ws_server.url, Inbox(), on_message=boom)
    async with conn:
        await wait_until(lambda: conn.callback_errors >= 1)
        await conn.send('{"type": "market", "assets_ids": ["9"]}')  # another book arrives
        await wait_until(lambda: conn.callback_errors >= 2)
        assert conn.connects == 1 and conn.state is WsState.OPEN


async def test_large_frames_are_accepted(ws_server: FakeWsServer) -> None:
    levels = [{"price": f"0.{i % 99 + 1:02d}", "size": "100"} for i in range(80_000)]
    big = {"event_type": "book", "asset_id": "1", "market": "0x1", "bids": levels, "asks": []}
    ws_server.book = json.dumps(big)
    assert len(ws_server.book) > 2 * 1024 * 1024  # beyond websockets' 1 MiB default
    inbox = Inbox()
    async with make_conn(ws_server.url, inbox) as conn:
        await wait_until(lambda: len(inbox.frames) >= 1)
        assert conn.connects == 1 and len(inbox.frames[0][0]) > 2 * 1024 * 1024


async def test_connect_failures_back_off_then_recover() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there yet
    fake = FakeWsServer()
    inbox = Inbox()
    backoff = Backoff(base=0.2, cap=0.4, min_delay=0.1, rng=random.Random(5))
    conn = make_conn(f"ws://127.0.0.1:{port}/ws/market", inbox, backoff=backoff)
    seen_cooldown = 0.0
    async with conn:
        await wait_until(lambda: conn.failures >= 2)
        assert conn.last_error is not None and conn.last_error.startswith("connect failed")

        def in_backoff() -> bool:
            nonlocal seen_cooldown
            seen_cooldown = max(seen_cooldown, conn.cooldown_remaining_seconds)
            return conn.state is WsState.BACKOFF and seen_cooldown > 0

        await wait_until(in_backoff)
        assert conn.status()["state"] == "backoff" and seen_cooldown <= 0.4
        async with serve(fake.handler, "127.0.0.1", port, ping_interval=None):
            await wait_until(lambda: conn.connects == 1)
            assert conn.failures == 0 and conn.total_failures >= 2
            assert conn.cooldown_remaining_seconds == 0.0
            assert fake.received(1)[0] == SUBSCRIBE
            await conn.stop()


async def test_reconnect_on_request(ws_server: FakeWsServer) -> None:
    inbox = Inbox()
    async with make_conn(ws_server.url, inbox) as conn:
        assert await conn.wait_open(5.0)
        await conn.reconnect()
        await wait_until(lambda: conn.connects == 2)
        assert conn.total_failures == 0 and ws_server.received(2)[0] == SUBSCRIBE


async def test_status_fields(ws_server: FakeWsServer) -> None:
    inbox = Inbox()
    async with make_conn(ws_server.url, inbox, name="market") as conn:
        await wait_until(lambda: conn.messages >= 1)
        status = conn.status()
    expected = {
        "name",
        "state",
        "connects",
        "disconnects",
        "failures",
        "total_failures",
        "messages",
        "pings",
        "pongs",
        "frames_sent",
        "callback_errors",
        "last_message_monotonic",
        "last_message_epoch",
        "last_frame_monotonic",
        "last_error",
        "last_error_epoch",
        "last_success_epoch",
        "cooldown_remaining_seconds",
    }
    assert set(status) == expected
    assert status["name"] == "market" and status["state"] == "open" and status["frames_sent"] == 1


async def test_frames_keep_their_order_across_direct_and_queued_delivery() -> None:
    """Whole frames are handed over from `data_received`; fragments take websockets' queue, and
    so does every frame arriving while earlier ones wait there: the order never changes."""
    from polymarket_bot.transport import ws as ws_module

    assert ws_module.DIRECT_DELIVERY  # the websockets internals it relies on are as expected

    async def handler(peer: ServerConnection) -> None:
        async for _ in peer:  # the subscribe frame: answer with a mixed burst, twice
            for round_ in range(2):
                await peer.send(f"a{round_}")
                await peer.send([f"b{round_}-1", f"b{round_}-2", f"b{round_}-3"])  # fragments
                await peer.send(f"c{round_}")
                await peer.send(f"d{round_}".encode())  # binary
                for i in range(20):
                    await peer.send(f"e{round_}-{i}")

    expected = []
    for round_ in range(2):
        expected += [f"a{round_}", f"b{round_}-1b{round_}-2b{round_}-3", f"c{round_}"]
        expected += [f"d{round_}"] + [f"e{round_}-{i}" for i in range(20)]
    inbox = Inbox()
    async with serve(handler, "127.0.0.1", 0, ping_interval=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        async with make_conn(f"ws://127.0.0.1:{port}", inbox, ping_interval=0) as conn:
            await wait_until(lambda: len(inbox.frames) >= len(expected))
            direct = conn._ws
            assert isinstance(direct, ws_module._DirectConnection)
            assert [d.decode() if isinstance(d, bytes) else d for d, _ in inbox.frames] == expected
            assert all(isinstance(d, bytes) for d, _ in inbox.frames)
            assert 0 < direct.direct_frames < len(expected)  # both paths were taken
            assert conn.messages == len(expected)
