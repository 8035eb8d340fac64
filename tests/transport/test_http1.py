"""The lean HTTP/1.1 client (`transport/http1.py`) against real servers on 127.0.0.1: a scripted
asyncio server written here (keep-alive, framing, closes, resets, stalls), HttpCore's error
mapping on top of it, TLS with a throwaway self-signed certificate, and an end-to-end signed
POST /order to the simulator through ClobRestClient."""

from __future__ import annotations

import asyncio
import gzip
import select
import shutil
import socket
import ssl
import struct
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
from transport_kit import ADDRESS, CREDS, PRIVATE_KEY, FakeSleep, wait_until

from polymarket_bot.core.clock import TestClock
from polymarket_bot.core.types import OrderType, Side, TickSize
from polymarket_bot.protocol.eip712 import PrivateKeySigner
from polymarket_bot.protocol.signing import create_limit_order
from polymarket_bot.sim.server import SimServer
from polymarket_bot.transport.errors import (
    AmbiguousSubmitError,
    NetworkError,
    RateLimitedError,
    TimeoutError_,
)
from polymarket_bot.transport.http import HttpCore
from polymarket_bot.transport.http1 import (
    Http1Client,
    Http1Error,
    Http1Timeout,
    InvalidRequest,
    ProtocolError,
    ResponseParser,
)
from polymarket_bot.transport.ratelimit import RestLimiter
from polymarket_bot.transport.rest import ClobRestClient
from polymarket_bot.transport.retry import Backoff, RetryPolicy

# --- a scripted HTTP/1.1 server -----------------------------------------------------------------


@dataclass
class Req:
    method: str
    target: str
    headers: dict[str, str]
    """Lower-cased names."""
    body: bytes
    raw_head: bytes
    conn: int
    """Which server-side connection carried it (0, 1, ...)."""


@dataclass
class Act:
    """What the server does with one request."""

    pieces: list[bytes] = field(default_factory=list)
    """Written in order, each flushed on its own."""
    close: bool = False
    """Close the connection after writing (FIN)."""
    reset: bool = False
    """Abort with a RST instead of answering."""
    hold: bool = False
    """Never answer (until the test ends)."""


Handler = Callable[[Req], Act | Awaitable[Act]]


def ok(body: bytes = b"{}", *, status: str = "200 OK", headers: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{headers}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def default_handler(req: Req) -> Act:
    return Act([ok(b'{"path":"' + req.target.encode() + b'"}')])


class RawServer:
    def __init__(self, handler: Handler = default_handler) -> None:
        self.handler = handler
        self.requests: list[Req] = []
        self.connections = 0
        self.closed_connections = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.release = asyncio.Event()
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.release.set()
        for writer in self.writers:
            writer.close()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def seen(self, target: str) -> list[Req]:
        return [r for r in self.requests if r.target == target]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = self.connections
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head[:-4].decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                req = Req(method, target, headers, body, head, conn)
                self.requests.append(req)
                act = self.handler(req)
                if not isinstance(act, Act):
                    act = await act
                if act.reset:
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    writer.transport.abort()
                    return
                for piece in act.pieces:
                    writer.write(piece)
                    await writer.drain()
                if act.close:
                    return
                if act.hold:
                    await self.release.wait()
                    return
        finally:
            self.closed_connections += 1
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[RawServer]:
    srv = RawServer()
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture
async def client(server: RawServer) -> AsyncIterator[Http1Client]:
    async with Http1Client(server.url, connect_timeout=5, read_timeout=5) as c:
        yield c


# --- keep-alive and the pool --------------------------------------------------------------------


async def test_sequential_requests_share_one_connection(
    server: RawServer, client: Http1Client
) -> None:
    for i in range(20):
        r = await client.request("GET", f"/n/{i}")
        assert r.status_code == 200 and r.content == b'{"path":"/n/%d"}' % i
    assert server.connections == 1 and client.connections_opened == 1
    assert {r.conn for r in server.requests} == {0}
    assert client.idle_connections == 1


async def test_request_bytes_are_exactly_what_was_asked(server: RawServer) -> None:
    async with Http1Client(server.url, headers={"User-Agent": "ua", "Accept": "*/*"}) as c:
        await c.request("POST", "/order", headers={"X-A": "1", "user-agent": "mine"}, body=b"{}")
        await c.request("GET", "/book?token_id=1")
        await c.request("POST", "/empty")
    post, get, empty = server.requests
    assert post.raw_head == (
        b"POST /order HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: */*\r\n"
        b"X-A: 1\r\nuser-agent: mine\r\nContent-Length: 2\r\n\r\n" % server.port
    )
    assert post.body == b"{}"
    assert get.raw_head == (
        b"GET /book?token_id=1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: ua\r\n"
        b"Accept: */*\r\n\r\n" % server.port
    )
    assert empty.headers["content-length"] == "0" and empty.body == b""


_TEMPLATE_HEADERS: list[list[tuple[str, str | None]]] = [
    [],
    [("X-Fixed", "1")],
    [("X-Slot", None)],
    [
        ("Content-Type", "application/json"),
        ("POLY_ADDRESS", "0xabc"),
        ("POLY_SIGNATURE", None),
        ("POLY_TIMESTAMP", None),
        ("POLY_API_KEY", "k"),
        ("POLY_PASSPHRASE", "p"),
    ],
    [("user-agent", "mine"), ("X-A", None), ("X-B", ""), ("X-C", None)],
]


@pytest.mark.parametrize("headers", _TEMPLATE_HEADERS)
@pytest.mark.parametrize("method", ["POST", "GET", "DELETE", "HEAD", "PATCH"])
@pytest.mark.parametrize("body", [None, b"", b'{"a":1}', bytes(range(256)) * 9])
def test_template_renders_what_encode_request_encodes(
    headers: list[tuple[str, str | None]], method: str, body: bytes | None
) -> None:
    c = Http1Client(
        "http://127.0.0.1:8080",
        headers={"User-Agent": "ua", "Accept": "*/*", "Accept-Encoding": "gzip, deflate"},
    )
    template = c.template(method, "/clob/orders", headers)
    assert template.slots == sum(value is None for _, value in headers)
    assert template.head_request == (method == "HEAD")
    for round_ in range(3):
        values = [b"v%d-%d" % (round_, i) for i in range(template.slots)]
        it = iter(values)
        filled = [(name, next(it).decode() if value is None else value) for name, value in headers]
        want = c.encode_request(method, "/clob/orders", filled, body)
        assert template.render(values, body) == want
        assert template.render(tuple(values), body) == want
        assert c.encode_request(method, "/clob/orders", dict(filled), body) == want


def test_template_refuses_what_encode_request_refuses() -> None:
    c = Http1Client("http://127.0.0.1:8080", headers={"User-Agent": "ua"})
    for method, target, headers in [
        ("GE T", "/x", []),
        ("GET", "x", []),
        ("GET", "/a b", []),
        ("GET", "/x", [("Host", None)]),
        ("GET", "/x", [("content-length", "1")]),
        ("GET", "/x", [("X-A", "a\r\nX-B: b")]),
        ("GET", "/x", [("X-A", "é")]),
        ("GET", "/x", [("X A", None)]),
    ]:
        with pytest.raises(InvalidRequest):
            c.template(method, target, headers)
        filled = [(name, "v" if value is None else value) for name, value in headers]
        with pytest.raises(InvalidRequest):
            c.encode_request(method, target, filled)
    template = c.template("POST", "/x", [("X-A", None), ("X-B", None)])
    for values in ([b"1"], [b"1", b"2", b"3"], [b"1", b"2\r\nX-C: 3"], [b"1\n", b"2"]):
        with pytest.raises(InvalidRequest):
            template.render(values, b"{}")
    for bad in (b"\x00", "é".encode()):
        with pytest.raises(InvalidRequest):
            template.render([b"1", bad], b"{}")


async def test_send_writes_a_rendered_template(server: RawServer, client: Http1Client) -> None:
    template = client.template("POST", "/order", [("X-Sig", None), ("X-Key", "k")])
    sent: list[int] = []
    for sig in (b"s1", b"s2"):
        data = template.render([sig], b"{}")
        r = await client.send(data, on_sent=lambda: sent.append(len(server.requests)))
        assert r.status_code == 200
    assert sent == [0, 1]
    first, second = server.requests
    assert first.raw_head == (
        b"POST /order HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Sig: s1\r\nX-Key: k\r\n"
        b"Content-Length: 2\r\n\r\n" % server.port
    )
    assert second.headers["x-sig"] == "s2" and second.body == b"{}"
    assert client.connections_opened == 1
    head = await client.send(
        client.template("HEAD", "/h", []).render([]), head_request=True
    )  # no body read for a HEAD
    assert head.status_code == 200 and head.content == b""


async def test_concurrent_requests_use_parallel_connections_then_reuse_them(
    server: RawServer, client: Http1Client
) -> None:
    arrived = 0
    all_in = asyncio.Event()

    async def handler(req: Req) -> Act:
        nonlocal arrived
        arrived += 1
        if arrived == 5:
            all_in.set()
        await all_in.wait()  # nobody answers before all five are in flight at once
        return default_handler(req)

    server.handler = handler
    results = await asyncio.gather(*(client.request("GET", f"/c/{i}") for i in range(5)))
    assert [r.content for r in results] == [b'{"path":"/c/%d"}' % i for i in range(5)]
    assert server.connections == 5 and client.idle_connections == 5
    server.handler = default_handler
    await asyncio.gather(*(client.request("GET", f"/d/{i}") for i in range(5)))
    assert server.connections == 5 and client.connections_opened == 5


async def test_max_connections_queues_requests(server: RawServer) -> None:
    async with Http1Client(server.url, max_connections=2) as c:
        results = await asyncio.gather(*(c.request("GET", f"/q/{i}") for i in range(8)))
    assert all(r.status_code == 200 for r in results)
    assert server.connections <= 2 and len(server.requests) == 8


async def test_pool_timeout_is_not_sent(server: RawServer) -> None:
    server.handler = lambda req: Act(hold=True) if req.target == "/slow" else default_handler(req)
    async with Http1Client(server.url, max_connections=1, pool_timeout=0.05) as c:
        slow = asyncio.create_task(c.request("GET", "/slow"))
        await wait_until(lambda: len(server.requests) == 1)
        with pytest.raises(Http1Timeout) as info:
            await c.request("POST", "/order", body=b"{}")
        assert info.value.sent is False
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        # The cancelled exchange gave its slot back (and its connection was dropped).
        assert (await c.request("GET", "/after")).status_code == 200
    assert server.seen("/order") == []


async def test_idle_connection_closed_by_the_server_is_replaced(
    server: RawServer, client: Http1Client
) -> None:
    await client.request("GET", "/one")
    for writer in server.writers:
        writer.close()  # the server's keep-alive timeout
    await wait_until(lambda: server.closed_connections == 1)
    r = await client.request("POST", "/two", body=b"{}")
    assert r.status_code == 200
    assert len(server.seen("/two")) == 1 and server.seen("/two")[0].conn == 1
    assert client.connections_opened == 2


async def test_dead_idle_connection_is_detected_before_writing(
    server: RawServer, client: Http1Client
) -> None:
    """The FIN has arrived but the event loop has not run since: the socket poll before the
    write catches it (nothing is written on the dead connection)."""
    await client.request("GET", "/one")
    (writer,) = server.writers
    writer.get_extra_info("socket").shutdown(socket.SHUT_RDWR)  # FIN now, without the loop
    (conn,) = client._idle
    ready, _, _ = select.select([conn.fd], [], [], 5.0)  # wait (bounded) for the FIN to land
    assert ready and not conn.closed  # the loop has not seen the EOF yet
    r = await client.request("POST", "/two", body=b"{}")
    assert r.status_code == 200
    assert len(server.seen("/two")) == 1 and server.seen("/two")[0].conn == 1


async def test_connection_idle_past_the_keepalive_expiry_is_not_reused(
    server: RawServer,
) -> None:
    async with Http1Client(server.url, keepalive_expiry=5.0) as c:
        await c.request("GET", "/one")
        await c.request("GET", "/two")
        assert server.connections == 1
        (conn,) = c._idle
        conn.idle_since -= 5.5  # as if it had idled 5.5 s
        await c.request("GET", "/three")
    assert server.connections == 2 and server.seen("/three")[0].conn == 1


async def test_connection_close_is_honoured(server: RawServer, client: Http1Client) -> None:
    server.handler = lambda req: Act([ok(headers="Connection: close\r\n")], close=True)
    await client.request("GET", "/a")
    await client.request("GET", "/b")
    assert server.connections == 2 and client.idle_connections == 0


async def test_connection_close_without_server_close_still_drops_it(
    server: RawServer, client: Http1Client
) -> None:
    server.handler = lambda req: Act([ok(headers="Connection: close\r\n")])
    await client.request("GET", "/a")
    await client.request("GET", "/b")
    assert server.connections == 2


async def test_http10_response_without_keep_alive_is_not_reused(
    server: RawServer, client: Http1Client
) -> None:
    server.handler = lambda req: Act([b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"])
    assert (await client.request("GET", "/a")).content == b"ok"
    await client.request("GET", "/b")
    assert server.connections == 2


# --- framing ------------------------------------------------------------------------------------


async def test_chunked_body_in_pieces(server: RawServer, client: Http1Client) -> None:
    head = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
    )
    server.handler = lambda req: Act(
        [head, b"5\r\n", b'{"a":', b"\r\n1A;ext=1\r\n", b"x" * 26, b"\r\n0\r\nX-T: 1\r\n\r\n"]
    )
    r = await client.request("GET", "/chunked")
    assert r.content == b'{"a":' + b"x" * 26
    assert r.headers.get("transfer-encoding") == "chunked"
    r2 = await client.request("GET", "/chunked")  # the connection survived the trailer
    assert r2.content == r.content and server.connections == 1


async def test_content_length_body_larger_than_socket_reads(
    server: RawServer, client: Http1Client
) -> None:
    big = bytes(range(256)) * 8192  # 2 MiB
    server.handler = lambda req: Act([ok(big)[:1000], ok(big)[1000:]])
    r = await client.request("GET", "/big")
    assert r.content == big
    assert (await client.request("GET", "/big")).content == big and server.connections == 1


async def test_read_to_close_body(server: RawServer, client: Http1Client) -> None:
    server.handler = lambda req: Act([b"HTTP/1.1 200 OK\r\n\r\n", b"part1-", b"part2"], close=True)
    r = await client.request("GET", "/stream")
    assert r.content == b"part1-part2"
    await client.request("GET", "/stream")
    assert server.connections == 2  # never reused


async def test_head_204_304_have_no_body(server: RawServer, client: Http1Client) -> None:
    def handler(req: Req) -> Act:
        if req.method == "HEAD":
            return Act([b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"])
        if req.target == "/204":
            return Act([b"HTTP/1.1 204 No Content\r\n\r\n"])
        if req.target == "/304":
            return Act([b"HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n"])
        return default_handler(req)

    server.handler = handler
    head = await client.request("HEAD", "/x")
    assert head.content == b"" and head.headers.get("content-length") == "1234"
    assert (await client.request("DELETE", "/204")).status_code == 204
    assert (await client.request("GET", "/304")).status_code == 304
    assert (await client.request("GET", "/last")).content == b'{"path":"/last"}'
    assert server.connections == 1


async def test_interim_1xx_responses_are_skipped(server: RawServer, client: Http1Client) -> None:
    server.handler = lambda req: Act(
        [b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", ok()]
    )
    r = await client.request("POST", "/order", body=b"{}")
    assert r.status_code == 200 and r.content == b"{}" and r.headers.get("link") is None


async def test_headers_case_insensitive_and_repeated(
    server: RawServer, client: Http1Client
) -> None:
    server.handler = lambda req: Act(
        [ok(headers="Set-Cookie: a=1\r\nRetry-After: 7\r\nset-cookie: b=2\r\n", status="429 Slow")]
    )
    r = await client.request("GET", "/h")
    assert r.status_code == 429 and r.reason_phrase == "Slow"
    assert r.headers.get("retry-after") == "7" and r.headers.get("RETRY-AFTER") == "7"
    assert r.headers.get("Set-Cookie") == "a=1, b=2"
    assert r.headers.get_list("SET-COOKIE") == ["a=1", "b=2"]
    assert "Content-Length" in r.headers and r.headers.get("missing") is None


async def test_gzip_content_is_decoded(server: RawServer, client: Http1Client) -> None:
    body = b'{"k":"' + b"v" * 1000 + b'"}'
    server.handler = lambda req: Act(
        [ok(gzip.compress(body), headers="Content-Encoding: gzip\r\n")]
    )
    assert (await client.request("GET", "/gz")).content == body


def _parse(raw: bytes, *, head: bool = False, step: int = 0) -> ResponseParser:
    parser = ResponseParser(head)
    pieces = [raw] if step == 0 else [raw[i : i + step] for i in range(0, len(raw), step)]
    done = False
    for piece in pieces:
        assert not done, "complete before its last byte"
        done = parser.feed(piece)
    assert done
    return parser


@pytest.mark.parametrize("step", [0, 1, 2, 3, 7])
@pytest.mark.parametrize(
    ("raw", "content", "keep_alive"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", b"hello", True),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", b"", True),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 3, 3\r\n\r\nabc", b"abc", True),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n",
            b"abc0123456789",
            True,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\nf;x=y\r\n"
            + b"z" * 15
            + b"\r\n0;end\r\nA: b\r\nC: d\r\n\r\n",
            b"z" * 15,
            True,
        ),
        (
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\n!",
            b"!",
            True,
        ),
        (b"HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 1\r\n\r\n!", b"!", False),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n!", b"!", True),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"1\r\nx\r\n0\r\n\r\n",
            b"x",
            False,
        ),
        (b"HTTP/1.1 200\r\nContent-Length: 1\r\n\r\n!", b"!", True),
    ],
)
def test_parser_at_every_split(raw: bytes, content: bytes, keep_alive: bool, step: int) -> None:
    parser = _parse(raw, step=step)
    assert parser.response().content == content
    assert parser.keep_alive is keep_alive


def test_parser_read_to_close_and_extra_bytes() -> None:
    parser = ResponseParser(False)
    assert not parser.feed(b"HTTP/1.1 200 OK\r\nX: y\r\n\r\nsome")
    assert not parser.feed(b" more")
    assert parser.feed_eof() and parser.response().content == b"some more"
    assert not parser.keep_alive
    extra = _parse(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n!HTTP/1.1")
    assert not extra.keep_alive  # stray bytes after the response: never reuse
    truncated = ResponseParser(False)
    assert not truncated.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    assert not truncated.feed_eof()


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/2 200 OK\r\n\r\n",
        b"HTTP/1.1 20 OK\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"garbage\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nNo-Colon\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
    ],
)
def test_parser_refuses_malformed_responses(raw: bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        ResponseParser(False).feed(raw)
    assert info.value.sent is True


def test_parser_bounds_the_head() -> None:
    parser = ResponseParser(False)
    with pytest.raises(ProtocolError, match="too large"):
        parser.feed(b"HTTP/1.1 200 OK\r\n" + b"X: " + b"a" * 70_000)


# --- errors and the `sent` flag -----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_connect_refused_is_not_sent() -> None:
    async with Http1Client(f"http://127.0.0.1:{_free_port()}", connect_timeout=2) as c:
        with pytest.raises(Http1Error) as info:
            await c.request("POST", "/order", body=b"{}")
    assert info.value.sent is False and not isinstance(info.value, Http1Timeout)


async def test_on_sent_runs_once_after_the_write_and_never_for_an_unsent_request(
    server: RawServer,
) -> None:
    """The execution layer marks an order SUBMITTED (and writes its `submit` record) in
    `on_sent`: it must run right after the request is handed to the socket, before any answer
    can be read, exactly once, and not at all when the request never left."""
    calls: list[int] = []
    async with Http1Client(server.url, connect_timeout=5, read_timeout=5) as c:
        resp = await c.request(
            "POST", "/order", body=b"{}", on_sent=lambda: calls.append(len(server.requests))
        )
    # called once; the server had not been handed the request yet when it ran (no loop turn)
    assert resp.status_code == 200 and calls == [0] and len(server.requests) == 1
    refused: list[int] = []
    async with Http1Client(f"http://127.0.0.1:{_free_port()}", connect_timeout=2) as c:
        with pytest.raises(Http1Error) as info:
            await c.request("POST", "/order", body=b"{}", on_sent=lambda: refused.append(1))
    assert info.value.sent is False and refused == []


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A port whose accept queue is full: SYNs are dropped, so connecting hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        try:
            filler.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(filler)
    try:
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


async def test_connect_timeout_is_not_sent(full_backlog: int) -> None:
    async with Http1Client(f"http://127.0.0.1:{full_backlog}", connect_timeout=0.1) as c:
        with pytest.raises(Http1Timeout) as info:
            await c.request("POST", "/order", body=b"{}")
    assert info.value.sent is False


async def test_reset_after_reading_the_request_is_sent(
    server: RawServer, client: Http1Client
) -> None:
    server.handler = lambda req: Act(reset=True)
    with pytest.raises(Http1Error) as info:
        await client.request("POST", "/order", body=b"{}")
    assert info.value.sent is True
    assert len(server.seen("/order")) == 1


async def test_close_without_answer_is_sent_and_not_resent(
    server: RawServer, client: Http1Client
) -> None:
    await client.request("GET", "/warm")  # a reused connection: still never re-sent
    server.handler = lambda req: Act(close=True)
    with pytest.raises(Http1Error, match="without sending a response") as info:
        await client.request("POST", "/order", body=b"{}")
    assert info.value.sent is True and len(server.seen("/order")) == 1


async def test_close_in_the_middle_of_the_body_is_an_error(
    server: RawServer, client: Http1Client
) -> None:
    server.handler = lambda req: Act([ok(b"0123456789")[:-4]], close=True)
    with pytest.raises(Http1Error, match="middle of the response") as info:
        await client.request("GET", "/cut")
    assert info.value.sent is True


async def test_read_timeout_is_sent(server: RawServer) -> None:
    server.handler = lambda req: Act(hold=True)
    async with Http1Client(server.url, read_timeout=0.1) as c:
        with pytest.raises(Http1Timeout) as info:
            await c.request("POST", "/order", body=b"{}")
        assert info.value.sent is True and c.idle_connections == 0


@pytest.mark.parametrize(
    ("method", "target", "headers"),
    [
        ("POST", "/order", {"X-Evil": "a\r\nX-Injected: 1"}),
        ("POST", "/order", {"X-Evil": "a\nb"}),
        ("POST", "/order", {"X-Evil\r\nX-Injected": "1"}),
        ("POST", "/order", {"Bad Name": "1"}),
        ("POST", "/order", {"X-Unicode": "é"}),
        ("POST", "/order", {"Content-Length": "5"}),
        ("POST", "/order", {"Host": "elsewhere"}),
        ("POST /x HTTP/1.1\r\n", "/order", {}),
        ("POST", "/order HTTP/1.1\r\nX: y", {}),
        ("POST", "http://elsewhere/order", {}),
    ],
)
async def test_header_injection_is_refused_before_any_io(
    server: RawServer, client: Http1Client, method: str, target: str, headers: dict[str, str]
) -> None:
    with pytest.raises(InvalidRequest) as info:
        await client.request(method, target, headers=headers, body=b"{}")
    assert info.value.sent is False
    assert server.connections == 0 and client.connections_opened == 0


async def test_header_checks_survive_the_name_cache(server: RawServer, client: Http1Client) -> None:
    """A name set seen before skips its name validation: a name hiding a line break must still
    be refused, and odd shapes too."""
    await client.request("POST", "/ok", headers={"X-A": "1", "X-B": "2"}, body=b"{}")
    for bad in (
        {"X-A\nX-B": "1"},
        {"X-A\r\nX-B": "1"},
        {"X-A": 1},
        [("X-A",)],
        [("X-A", "1", "2")],
        {"X-A": "1\x00"},
    ):
        with pytest.raises(InvalidRequest):
            await client.request("POST", "/order", headers=bad, body=b"{}")  # type: ignore[arg-type]
    await client.request("GET", "/pairs", headers=[("X-Rep", "1"), ("x-rep", "2")])
    assert server.seen("/order") == []
    assert b"X-Rep: 1\r\nx-rep: 2\r\n" in server.seen("/pairs")[0].raw_head


async def test_closed_client_refuses(server: RawServer) -> None:
    c = Http1Client(server.url)
    await c.aclose()
    with pytest.raises(Http1Error) as info:
        await c.request("GET", "/x")
    assert info.value.sent is False


def test_origin_is_validated() -> None:
    for bad in ("ftp://x", "http://", "http://h/path", "http://u:p@h"):
        with pytest.raises(ValueError, match=r"origin|credentials"):
            Http1Client(bad)
    with pytest.raises(ValueError, match="ssl_context"):
        Http1Client("http://h", ssl_context=ssl.create_default_context())


# --- TLS ----------------------------------------------------------------------------------------


_OPENSSL_SELF_SIGNED = (
    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
    " -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost"
)


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("no openssl binary for a throwaway certificate")
    key, crt = tmp_path / "key.pem", tmp_path / "cert.pem"
    command = [*_OPENSSL_SELF_SIGNED.split(), "-keyout", str(key), "-out", str(crt)]
    subprocess.run(command, check=True, capture_output=True)
    return crt, key


async def test_https_with_a_trusted_local_certificate(cert: tuple[Path, Path]) -> None:
    crt, key = cert
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(crt, key)
    tls = await asyncio.start_server(_tls_echo, "127.0.0.1", 0, ssl=server_ctx)
    port = tls.sockets[0].getsockname()[1]
    try:
        client_ctx = ssl.create_default_context(cafile=str(crt))
        async with Http1Client(f"https://127.0.0.1:{port}", ssl_context=client_ctx) as c:
            for _ in range(3):
                r = await c.request("POST", "/order", body=b'{"x":1}')
                assert r.status_code == 200 and r.content == b'{"x":1}'
            assert c.connections_opened == 1
        # The default context verifies the chain and the host name: a self-signed cert fails
        # at connect time, so nothing was sent.
        async with Http1Client(f"https://127.0.0.1:{port}") as default:
            with pytest.raises(Http1Error) as info:
                await default.request("POST", "/order", body=b"{}")
            assert info.value.sent is False and "CERTIFICATE_VERIFY_FAILED" in str(info.value)
    finally:
        tls.close()
        await tls.wait_closed()


async def _tls_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.decode().split("\r\n"):
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":")[1])
            writer.write(ok(await reader.readexactly(length)))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


# --- through HttpCore ---------------------------------------------------------------------------


async def test_httpcore_429_retry_after_then_success(
    server: RawServer, clock: TestClock, fake_sleep: FakeSleep
) -> None:
    replies = [
        Act([ok(b'{"error":"Too Many Requests"}', status="429 Too Many Requests",
                headers="Retry-After: 2\r\n")]),
        Act([ok(b'{"ok":true}')]),
    ]  # fmt: skip
    server.handler = lambda req: replies.pop(0)
    limiter = RestLimiter(clock=clock, sleep=fake_sleep)
    core = HttpCore(
        server.url,
        limiter=limiter,
        clock=clock,
        sleep=fake_sleep,
        retry=RetryPolicy(max_attempts=3, backoff=Backoff(base=0.5, cap=4.0)),
        engine="http1",
    )
    try:
        assert core.engine == "http1"
        r = await core.request("GET", "/book", endpoint="GET /book", idempotent=True)
        assert r.content == b'{"ok":true}' and r.headers.get("CONTENT-TYPE") == "application/json"
        stats = core.stats()["GET /book"]
        assert stats["rate_limited"] == 1 and stats["retries"] == 1 and stats["successes"] == 1
        assert fake_sleep.total == pytest.approx(2.0)  # the limiter's cool-down honoured 2 s
        with pytest.raises(RateLimitedError) as info:
            replies.append(replies_429())
            await core.request("POST", "/order", endpoint="POST /order", idempotent=False)
        assert info.value.retry_after == 2.0 and info.value.error == "Too Many Requests"
    finally:
        await core.aclose()
    assert server.connections == 1  # a 429 keeps the connection


def replies_429() -> Act:
    return Act(
        [ok(b'{"error":"Too Many Requests"}', status="429 Too Many Requests",
            headers="Retry-After: 2\r\n")]
    )  # fmt: skip


async def test_httpcore_maps_errors_with_sent(server: RawServer, clock: TestClock) -> None:
    core = HttpCore(f"http://127.0.0.1:{_free_port()}", clock=clock, engine="http1", timeout=1)
    with pytest.raises(NetworkError) as refused:
        await core.request("POST", "/order", endpoint="POST /order", idempotent=False)
    assert refused.value.sent is False and refused.value.endpoint == "POST /order"
    await core.aclose()

    core = HttpCore(server.url, clock=clock, engine="http1", timeout=0.1)
    server.handler = lambda req: Act(reset=True) if req.target == "/reset" else Act(hold=True)
    with pytest.raises(NetworkError) as reset:
        await core.request("POST", "/reset", endpoint="POST /reset", idempotent=False)
    assert reset.value.sent is True
    with pytest.raises(TimeoutError_) as timeout:
        await core.request("POST", "/hold", endpoint="POST /hold", idempotent=False)
    assert timeout.value.sent is True
    with pytest.raises(NetworkError) as bad:
        await core.request(
            "GET",
            "/x",
            endpoint="GET /x",
            headers=lambda: {"X": "a\r\nb"},
            idempotent=False,
        )
    assert bad.value.sent is False and "InvalidRequest" in str(bad.value)
    await core.aclose()
    assert core.stats()["POST /hold"]["errors_by_kind"] == {"timeout": 1}


async def test_httpcore_query_and_path_encoding_match_httpx(server: RawServer) -> None:
    for engine in ("httpx", "http1"):
        core = HttpCore(server.url + "/prefix/", engine=engine)  # type: ignore[arg-type]
        try:
            await core.request(
                "GET",
                "/a b/é",
                endpoint="GET /x",
                params=[("c", "MA=="), ("d", None), ("e", True), ("f", 1.5), ("g", "x y&z/")],
                idempotent=True,
            )
        finally:
            await core.aclose()
    httpx_req, http1_req = server.requests
    assert http1_req.target == httpx_req.target
    assert http1_req.target == "/prefix/a%20b/%C3%A9?c=MA%3D%3D&e=true&f=1.5&g=x+y%26z%2F"
    for name in ("host", "user-agent", "accept", "content-type", "accept-encoding"):
        assert http1_req.headers[name] == httpx_req.headers[name], name


async def test_httpcore_http1_falls_back_to_httpx_with_a_proxy() -> None:
    core = HttpCore("http://127.0.0.1:1", engine="http1", proxy="http://127.0.0.1:2")
    assert core.engine == "httpx"
    await core.aclose()
    with pytest.raises(ValueError, match="http="):
        HttpCore("http://127.0.0.1:1", engine="http1", http=object())  # type: ignore[arg-type]


# --- end to end: a signed POST /order to the simulator ------------------------------------------


async def test_post_order_to_the_simulator_over_http1() -> None:
    signer = PrivateKeySigner("0x" + "4b" * 32)
    async with SimServer(n_markets=2, seed=3, with_flow=False, port=0, log_level="warning") as sim:
        market = next(m for m in sim.state.markets if not m.neg_risk)
        token = market.token_ids[0]
        async with ClobRestClient(sim.rest_url, engine="http1") as rest:
            assert rest._core.engine == "http1"
            await rest.sync_server_time()
            creds = await rest.create_or_derive_api_key(signer)
            rest.set_credentials(creds, signer.address)
            order = create_limit_order(
                signer,
                token_id=token,
                side=Side.BUY,
                price=Decimal("0.05"),
                size=Decimal(10),
                tick_size=market.tick_size,
                neg_risk=False,
                salt=7,
                timestamp_ms=int(time.time() * 1000),
            )
            response = await rest.post_order(order, OrderType.GTC, post_only=True)
            assert response.accepted and response.status == "live"
            assert response.orderID is not None
            live = await rest.get_order(response.orderID)
            assert live is not None and live.price == "0.05"
            cancelled = await rest.cancel(response.orderID)
            assert cancelled.canceled == (response.orderID,)
            stats = rest.stats()
            assert stats["POST /order"]["successes"] == 1
            assert rest._core._h1 is not None and rest._core._h1.connections_opened == 1


async def test_post_order_reset_is_ambiguous_and_refused_is_not(server: RawServer) -> None:
    order = create_limit_order(
        PrivateKeySigner(PRIVATE_KEY),
        token_id="1",
        side=Side.BUY,
        price="0.5",
        size="10",
        tick_size=TickSize.T0_01,
        neg_risk=False,
        salt=1,
        timestamp_ms=1_767_225_600_000,
    )
    server.handler = lambda req: Act(reset=True)
    async with ClobRestClient(server.url, creds=CREDS, address=ADDRESS, engine="http1") as c:
        with pytest.raises(AmbiguousSubmitError) as info:
            await c.post_order(order, OrderType.GTC)
        assert isinstance(info.value.cause, NetworkError) and info.value.cause.sent
    assert len(server.seen("/order")) == 1
    dead = f"http://127.0.0.1:{_free_port()}"
    async with ClobRestClient(dead, creds=CREDS, address=ADDRESS, engine="http1") as c:
        with pytest.raises(NetworkError) as refused:
            await c.post_order(order, OrderType.GTC)
        assert refused.value.sent is False  # certainly not live: not ambiguous
