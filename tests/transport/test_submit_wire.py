"""The exact bytes `ClobRestClient(engine="http1")` writes to the socket for order submits (the
prepared fast path) and a cancel (the generic path): request line, every header in order, body.

Pinned from the client as it was before the submit fast path existed (fixed clock, creds, orders;
the port is the only free part), so any change of a byte on the wire fails here.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from transport_kit import ADDRESS, CREDS, PRIVATE_KEY

from polymarket_bot.core.clock import TestClock
from polymarket_bot.core.types import OrderType, Side, TickSize
from polymarket_bot.protocol.auth import ApiCreds, generate_api_creds, verify_l2_signature
from polymarket_bot.protocol.auth import AuthError as AuthHeaderError
from polymarket_bot.protocol.eip712 import PrivateKeySigner
from polymarket_bot.protocol.signing import SignedOrderV2, create_limit_order
from polymarket_bot.transport.errors import (
    AmbiguousSubmitError,
    NetworkError,
    RateLimitedError,
    ServerError,
)
from polymarket_bot.transport.rest import ClobRestClient

TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
ORDERS_REPLY = b'[{"success":true,"errorMsg":"","orderID":"0x1","status":"live"}]'
ORDER_REPLY = b'{"success":true,"errorMsg":"","orderID":"0x1","status":"live"}'
CANCEL_REPLY = b'{"canceled":[],"not_canceled":{}}'

_HEAD = (
    b"Host: 127.0.0.1:PORT\r\nUser-Agent: polymarket-bot\r\nAccept: */*\r\n"
    b"Accept-Encoding: gzip, deflate\r\nContent-Type: application/json\r\n"
    b"POLY_ADDRESS: 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\r\n"
)
_TAIL = (
    b"POLY_TIMESTAMP: 1767225600\r\n"
    b"POLY_API_KEY: 1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b\r\n"
    b"POLY_PASSPHRASE: 7b7e38496dab5cf62c3148f9a53c5a7610271bac463fa87c0a93a8a122d0ccfc\r\n"
)
# (request head, sha256 of the whole request: head + body), port written as PORT.
EXPECTED_PREFIXED = [
    (
        b"POST /clob/orders HTTP/1.1\r\n"
        + _HEAD
        + b"POLY_SIGNATURE: y7c-_bJmjLR-YIke7OPoIvlk_Tg-8mhgTdv1ug3wsCY=\r\n"
        + _TAIL
        + b"Content-Length: 1500\r\n\r\n",
        "19cb2daa8354edfd0171f104373f32f5c0424b2fe11a5e92f069cf2ed6db1034",
    ),
    (
        b"POST /clob/order HTTP/1.1\r\n"
        + _HEAD
        + b"POLY_SIGNATURE: EZ8uDZQObpsQKtCywgv9619puRlU-dHCQQKKsAZ9P4s=\r\n"
        + _TAIL
        + b"Content-Length: 748\r\n\r\n",
        "74d7ea5eb6f7a47008669ac2bb68731a17f8ecaac06ddd694c580903ab33c7e6",
    ),
    (
        b"DELETE /clob/order HTTP/1.1\r\n"
        + _HEAD
        + b"POLY_SIGNATURE: Ryzn4UPFueXCSACzIerdPpaTSgALTSlVNJlyM9r1psM=\r\n"
        + _TAIL
        + b"Content-Length: 19\r\n\r\n",
        "149c52d68bb7a3c069151d20ea1612b6c3fe8de55b91e004e9a94eec45c386a2",
    ),
]
EXPECTED_PLAIN = [
    (
        b"POST /orders HTTP/1.1\r\n"
        + _HEAD
        + b"POLY_SIGNATURE: i109legT8d8JAai74lpEoYTTtV5wr0E28llXGGaNO_g=\r\n"
        + _TAIL
        + b"Content-Length: 1500\r\n\r\n",
        "54112c4b8fc0a3e5be433ea3cf80ff741d6858ab85c27ea1b02611c5a730d491",
    ),
]


class _Recorder:
    """A loopback HTTP/1.1 server that keeps every request's raw bytes and answers 200."""

    def __init__(self) -> None:
        self.raw: list[bytes] = []
        self.replies: list[bytes] = []
        """Whole responses to send first, in order (then the usual 200s)."""
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                self.raw.append(head + body)
                path = head.split(b" ", 2)[1]
                if head.startswith(b"DELETE"):
                    reply = CANCEL_REPLY
                else:
                    reply = ORDERS_REPLY if path.endswith(b"/orders") else ORDER_REPLY
                if self.replies:
                    writer.write(self.replies.pop(0))
                else:
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(reply) + reply
                    )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def recorder() -> AsyncIterator[_Recorder]:
    server = _Recorder()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def _orders() -> list[SignedOrderV2]:
    signer = PrivateKeySigner(PRIVATE_KEY)
    return [
        create_limit_order(
            signer,
            token_id=TOKEN,
            side=side,
            price=price,
            size="10",
            tick_size=TickSize.T0_01,
            neg_risk=neg_risk,
            salt=salt,
            timestamp_ms=1_767_225_600_000,
        )
        for side, price, neg_risk, salt in (
            (Side.BUY, "0.45", False, 11),
            (Side.SELL, "0.55", True, 12),
        )
    ]


def _check(raw: list[bytes], port: int, expected: list[tuple[bytes, str]]) -> None:
    assert len(raw) == len(expected)
    for data, (head, digest) in zip(raw, expected, strict=True):
        data = data.replace(b"127.0.0.1:%d" % port, b"127.0.0.1:PORT", 1)
        assert data[: len(head)] == head
        assert hashlib.sha256(data).hexdigest() == digest


async def test_submit_and_cancel_bytes_behind_a_path_prefix(recorder: _Recorder) -> None:
    first, second = _orders()
    sent: list[int] = []
    async with ClobRestClient(
        f"http://127.0.0.1:{recorder.port}/clob",
        creds=CREDS,
        address=ADDRESS,
        engine="http1",
        clock=TestClock(start=1_767_225_600.0),
    ) as client:
        responses = await client.post_orders(
            [(first, OrderType.GTC), (second, OrderType.GTD)],
            post_only=True,
            on_sent=lambda: sent.append(len(recorder.raw)),
        )
        assert [r.orderID for r in responses] == ["0x1"]
        response = await client.post_order(first, OrderType.FOK, defer_exec=True)
        assert response.accepted
        await client.cancel("0xabc")
        assert client.stats()["POST /orders"]["successes"] == 1
        assert client.stats()["POST /order"]["successes"] == 1
        assert set(client._prepared) == {"POST /orders", "POST /order"}  # the prepared path
    assert sent == [0]  # called once, as soon as the bytes were written (before any answer)
    _check(recorder.raw, recorder.port, EXPECTED_PREFIXED)


async def test_post_orders_bytes_without_prefix(recorder: _Recorder) -> None:
    first, second = _orders()
    async with ClobRestClient(
        f"http://127.0.0.1:{recorder.port}",
        creds=CREDS,
        address=ADDRESS,
        engine="http1",
        clock=TestClock(start=1_767_225_600.0),
    ) as client:
        await client.post_orders([(first, OrderType.GTC), (second, OrderType.GTD)], post_only=True)
    _check(recorder.raw, recorder.port, EXPECTED_PLAIN)


# --- the prepared submit keeps the generic path's behaviour ------------------------------------


def _client(url: str, **kwargs: Any) -> ClobRestClient:
    kwargs.setdefault("creds", CREDS)
    kwargs.setdefault("address", ADDRESS)
    return ClobRestClient(url, engine="http1", clock=TestClock(start=1_767_225_600.0), **kwargs)


def _headers(raw: bytes) -> dict[str, str]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    return dict(line.split(": ", 1) for line in head.split("\r\n")[1:])


async def test_submit_holds_a_limiter_slot_while_in_flight(recorder: _Recorder) -> None:
    first, _ = _orders()
    async with _client(f"http://127.0.0.1:{recorder.port}") as client:
        seen: list[int] = []
        await client.post_orders(
            [(first, OrderType.GTC)], on_sent=lambda: seen.append(client.limiter.in_flight)
        )
        assert "POST /orders" in client._prepared  # the prepared path carried it
        assert seen == [1]
        assert (client.limiter.in_flight, client.limiter.acquired) == (0, 1)
        stats = client.stats()["POST /orders"]
        assert (stats["requests"], stats["successes"], stats["errors"]) == (1, 1, 0)


async def test_new_credentials_and_clock_offset_reach_the_prepared_request(
    recorder: _Recorder,
) -> None:
    first, _ = _orders()
    other = generate_api_creds(random.Random(12))  # throwaway, made here
    other_address = PrivateKeySigner(random.Random(13).randbytes(32)).address
    async with _client(f"http://127.0.0.1:{recorder.port}") as client:
        await client.post_order(first, OrderType.GTC)
        client.set_credentials(other, other_address)
        client.time_offset_s = 5
        await client.post_order(first, OrderType.GTC)
        client.time_offset_s = -3
        await client.post_order(first, OrderType.GTC)
    bodies = [raw.split(b"\r\n\r\n", 1)[1] for raw in recorder.raw]
    for raw, body, creds, address, ts in zip(
        recorder.raw,
        bodies,
        (CREDS, other, other),
        (ADDRESS, other_address, other_address),
        (1767225600, 1767225605, 1767225597),
        strict=True,
    ):
        headers = _headers(raw)
        assert headers["POLY_API_KEY"] == creds.api_key
        assert headers["POLY_PASSPHRASE"] == creds.passphrase
        assert headers["POLY_ADDRESS"] == address
        assert headers["POLY_TIMESTAMP"] == str(ts)
        assert creds.api_key.encode() in body  # the order's owner
        assert verify_l2_signature(
            creds.secret, ts, "POST", "/order", body, headers["POLY_SIGNATURE"]
        )


async def test_submit_status_errors_count_and_cool_down_as_before(recorder: _Recorder) -> None:
    first, _ = _orders()
    recorder.replies = [
        b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 425 Too Early\r\nContent-Length: 0\r\n\r\n",
        b'HTTP/1.1 500 Internal Server Error\r\nContent-Length: 16\r\n\r\n{"error":"boom"}',
    ]
    async with _client(f"http://127.0.0.1:{recorder.port}") as client:
        with pytest.raises(RateLimitedError):
            await client.post_orders([(first, OrderType.GTC)])
        assert client.limiter.cooldowns == 1
        assert client.limiter.cooldown_remaining() == 2.0
        assert (client.limiter.in_flight, client.limiter.acquired) == (0, 1)
        client._core.clock.advance(2.0)  # type: ignore[attr-defined]
        with pytest.raises(ServerError) as early:  # definitive: not ambiguous
            await client.post_orders([(first, OrderType.GTC)])
        assert early.value.status == 425 and client.limiter.cooldowns == 2
        client._core.clock.advance(60.0)  # type: ignore[attr-defined]
        with pytest.raises(AmbiguousSubmitError) as boom:
            await client.post_orders([(first, OrderType.GTC)])
        assert isinstance(boom.value.cause, ServerError) and boom.value.cause.error == "boom"
        stats = client.stats()["POST /orders"]
    assert stats["requests"] == 3 and stats["successes"] == 0
    assert stats["rate_limited"] == 1 and stats["ambiguous"] == 1
    assert stats["errors_by_kind"] == {"rate_limited": 1, "server": 2}


async def test_refused_submit_is_not_sent() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    first, _ = _orders()
    sent: list[int] = []
    async with _client(f"http://127.0.0.1:{port}") as client:
        with pytest.raises(NetworkError) as info:
            await client.post_orders([(first, OrderType.GTC)], on_sent=lambda: sent.append(1))
        assert info.value.sent is False and sent == []
        assert client.limiter.in_flight == 0
        assert client.stats()["POST /orders"]["errors_by_kind"] == {"network": 1}


async def test_submit_falls_back_to_the_generic_path(recorder: _Recorder) -> None:
    first, _ = _orders()
    bad = ApiCreds(api_key=CREDS.api_key, secret="not base64!", passphrase="p")
    async with _client(f"http://127.0.0.1:{recorder.port}", creds=bad) as client:
        with pytest.raises(AuthHeaderError):  # raised by the L2 headers, as it always was
            await client.post_order(first, OrderType.GTC)
        assert client._prepared == {} and client.limiter.in_flight == 0
    async with _client(f"http://127.0.0.1:{recorder.port}", proxy="http://127.0.0.1:9") as client:
        assert client._core.engine == "httpx"
        assert client._prepared_l2("POST /order", "POST", "/order") is None
    assert recorder.raw == []
