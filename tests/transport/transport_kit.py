"""Test helpers for the transport layer: a scriptable CLOB-like HTTP server on loopback (Starlette
served by uvicorn in-process) that verifies L2 headers over the raw body, and a fake sleep that
drives a TestClock."""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from polymarket_bot.core.clock import TestClock
from polymarket_bot.protocol.auth import ApiCreds, parse_l2_headers, verify_l2_signature

CREDS = ApiCreds(
    api_key="1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b",
    secret="6-SLSp_sfBYihx2cmR6rwDFggCWD5WiyVNFfpKejEqY=",
    passphrase="7b7e38496dab5cf62c3148f9a53c5a7610271bac463fa87c0a93a8a122d0ccfc",
)
ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
PRIVATE_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds the handler waits before answering (real time; for client timeouts)."""


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    raw_query: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    l2_ok: bool | None
    """None: no L2 headers; True/False: HMAC over the raw body verified or not."""
    mono: float
    """The test clock's monotonic time at arrival."""


Handler = Callable[[Seen], Reply]


class FakeClob:
    """Catch-all app. `on(method, path, *replies)` queues replies (the last one repeats);
    `on(method, path, handler)` answers dynamically. Unknown routes answer 404."""

    def __init__(self, clock: TestClock | None = None, creds: ApiCreds = CREDS) -> None:
        self.clock = clock or TestClock()
        self.creds = creds
        self.url = ""
        """Base URL, set by the fixture once the server listens."""
        self.seen: list[Seen] = []
        self._routes: dict[tuple[str, str], deque[Reply] | Handler] = {}
        self.release = asyncio.Event()
        """Set at teardown so delayed handlers return at once."""
        self.app = Starlette(
            routes=[
                Route(
                    "/{path:path}",
                    self._handle,
                    methods=["GET", "POST", "DELETE", "PUT", "PATCH"],
                )
            ]
        )

    def on(self, method: str, path: str, *replies: Reply | Handler) -> None:
        if len(replies) == 1 and callable(replies[0]):
            self._routes[(method, path)] = replies[0]
        else:
            self._routes[(method, path)] = deque(r for r in replies if isinstance(r, Reply))

    def requests(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path == path]

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        headers = dict(request.headers.items())
        l2_ok: bool | None = None
        if "poly_api_key" in headers:
            try:
                parsed = parse_l2_headers(headers)
                l2_ok = (
                    parsed.api_key == self.creds.api_key
                    and parsed.passphrase == self.creds.passphrase
                    and verify_l2_signature(
                        self.creds.secret,
                        parsed.timestamp,
                        request.method,
                        request.url.path,
                        body,
                        parsed.signature,
                    )
                )
            except Exception:
                l2_ok = False
        seen = Seen(
            method=request.method,
            path=request.url.path,
            raw_query=request.url.query,
            query=list(request.query_params.multi_items()),
            headers=headers,
            body=body,
            l2_ok=l2_ok,
            mono=self.clock.monotonic(),
        )
        self.seen.append(seen)
        if l2_ok is False:
            return Response(b'{"error":"Unauthorized/Invalid api key"}', status_code=401)
        route = self._routes.get((request.method, request.url.path))
        if route is None:
            return Response(b'{"error":"not found"}', status_code=404)
        if isinstance(route, deque):
            reply = route.popleft() if len(route) > 1 else route[0]
        else:
            reply = route(seen)
        if reply.delay > 0:
            try:
                await asyncio.wait_for(self.release.wait(), reply.delay)
            except asyncio.TimeoutError:
                pass
        content = reply.body.encode() if isinstance(reply.body, str) else reply.body
        return Response(
            content,
            status_code=reply.status,
            headers=reply.headers,
            media_type="application/json",
        )


class LocalServer:
    """uvicorn serving an ASGI app on 127.0.0.1:<ephemeral>, inside the test's event loop."""

    def __init__(self, app: Any) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            lifespan="off",
            log_level="warning",
            access_log=False,
            ws="none",
            http="h11",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]))
        deadline = asyncio.get_running_loop().time() + 5.0
        while not self._server.started:
            if self._task.done():
                self._task.result()
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError("uvicorn did not start")
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task
        self._sock.close()


class FakeSleep:
    """An injectable `sleep` that records delays and advances the TestClock instead of waiting."""

    def __init__(self, clock: TestClock) -> None:
        self.clock = clock
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if seconds > 0:
            self.clock.advance(seconds)
        await asyncio.sleep(0)

    @property
    def total(self) -> float:
        return sum(self.calls)


async def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll `predicate` until true or fail after `timeout` seconds (no fixed sleeps)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.005)
