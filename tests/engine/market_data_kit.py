"""Helpers for the market-data tests: a started simulator with fast flow, a service wired to it,
polling with a deadline, the simulator's admin API, and a loopback TCP gate that can cut the
WebSocket (refuse and drop connections) and let it through again."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import httpx

from polymarket_bot.core.book import OrderBook
from polymarket_bot.core.clock import Clock
from polymarket_bot.core.hotset import HotSetConfig
from polymarket_bot.engine.market_data import MarketDataConfig, MarketDataService
from polymarket_bot.sim.flow import FlowConfig
from polymarket_bot.sim.server import SimServer
from polymarket_bot.sim.state import ServerConfig
from polymarket_bot.transport.gamma import GammaClient
from polymarket_bot.transport.rest import ClobRestClient
from polymarket_bot.transport.retry import Backoff, RetryPolicy

FAST_FLOW = FlowConfig(
    step_interval_s=0.02,
    taker_rate=4.0,
    resize_rate=15.0,
    volatility=0.05,
)
"""Busy markets: a few hundred price_change frames per second over 8 markets."""


async def wait_for(
    predicate: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.02, what: str = ""
) -> Any:
    """Poll `predicate` until it returns something truthy (returned); fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def running_sim(**kwargs: Any) -> AsyncIterator[SimServer]:
    kwargs.setdefault("n_markets", 8)
    kwargs.setdefault("seed", 7)
    sim = SimServer(**kwargs)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


def fast_sim(**kwargs: Any) -> contextlib.AbstractAsyncContextManager[SimServer]:
    kwargs.setdefault("flow_config", FAST_FLOW)
    kwargs.setdefault("config", ServerConfig(tick_interval_s=0.02))
    return running_sim(**kwargs)


def test_config(ws_url: str, **overrides: Any) -> MarketDataConfig:
    """Small periods so that fault tests finish in seconds."""
    base = MarketDataConfig(
        clob_ws_url=ws_url,
        hot=HotSetConfig(asset_limit=16, sticky_seconds=0.0, ttl_seconds=600.0),
        assets_per_connection=200,
        ws_ping_interval=0.3,
        ws_silence_timeout=1.2,
        ws_stale_after=0.6,
        ws_snapshot_grace=0.5,
        ws_snapshot_timeout=3.0,
        ws_audit_interval=0.0,  # off unless a test wants it: deltas alone must keep books right
        ws_backoff_base=0.2,
        ws_backoff_cap=0.5,
        rest_max_concurrency=4,
        rest_rate_limit_per_sec=20.0,
        rest_poll_interval=0.3,
        rest_error_backoff_base=0.2,
        rest_error_backoff_cap=1.0,
        rerank_interval=0.5,
        source_check_interval=0.05,
        catalogue_refresh_interval=600.0,
    )
    return replace(base, **overrides)


test_config.__test__ = False  # type: ignore[attr-defined]  # not a test


@contextlib.asynccontextmanager
async def service_for(
    sim: SimServer,
    config: MarketDataConfig,
    *,
    clock: Clock | None = None,
    ws_url: str | None = None,
    track_all: bool = True,
    retry: RetryPolicy | None = None,
) -> AsyncIterator[MarketDataService]:
    """A started service on `sim` (or `ws_url`), its catalogue loaded and every token tracked."""
    rest = ClobRestClient(
        sim.rest_url,
        retry=retry or RetryPolicy(max_attempts=1, backoff=Backoff(base=0.05, cap=0.1)),
        timeout=5.0,
    )
    gamma = GammaClient(sim.gamma_url, timeout=5.0)
    if ws_url is not None:
        config = replace(config, clob_ws_url=ws_url)
    svc = MarketDataService(config, clock=clock, rest=rest, gamma=gamma)
    try:
        await svc.start()
        await svc.refresh_catalogue()
        if track_all:
            svc.track(t for m in svc.catalogue for t in m.token_ids)
            svc.rerank()  # the hot set now, not at the housekeeping's next turn
        yield svc
    finally:
        await svc.stop()
        await rest.aclose()
        await gamma.aclose()


def all_tokens(sim: SimServer) -> list[str]:
    return [t for m in sim.state.markets for t in m.token_ids]


async def admin(sim: SimServer, method: str, path: str, body: Any = None) -> Any:
    async with httpx.AsyncClient(base_url=sim.rest_url, timeout=5.0) as client:
        response = await client.request(method, path, json=body)
        response.raise_for_status()
        return response.json()


async def inject(sim: SimServer, fault: str, duration_s: float | None = None, **params: Any) -> Any:
    return await admin(
        sim, "POST", "/admin/faults", {"fault": fault, "params": params, "duration_s": duration_s}
    )


def wire_levels(book: OrderBook) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    wire = book.to_wire()
    return (
        [(lv["price"], lv["size"]) for lv in wire["bids"]],
        [(lv["price"], lv["size"]) for lv in wire["asks"]],
    )


def venue_levels(sim: SimServer, token: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The simulator's own book of `token`, in the same normal form as `wire_levels`."""
    wire = sim.state.book_wire(token)
    assert wire is not None
    norm = OrderBook(token)
    norm.apply_snapshot(
        [(lv["price"], lv["size"]) for lv in wire["bids"]],
        [(lv["price"], lv["size"]) for lv in wire["asks"]],
        0,
    )
    return wire_levels(norm)


class TcpGate:
    """A loopback TCP forwarder in front of the simulator. `close()` drops every connection and
    refuses new ones (accept, then close at once) until `open()`."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.is_open = True
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self.port = 0

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._server = await asyncio.start_server(self._handle, sock=sock)

    async def stop(self) -> None:
        self.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def close(self) -> None:
        self.is_open = False
        for a, b in list(self._pairs):
            a.transport.abort()
            b.transport.abort()
        self._pairs.clear()

    def open(self) -> None:
        self.is_open = True

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if not self.is_open:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        pair = (writer, up_writer)
        self._pairs.add(pair)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.transport.abort()

        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            self._pairs.discard(pair)
