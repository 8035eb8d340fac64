"""The simulated venue on loopback: REST + WebSocket + Gamma + admin in one uvicorn server.

    server = SimServer(port=0)            # 8 synthetic markets with background flow
    await server.start()
    server.rest_url   # http://127.0.0.1:PORT        -> CLOB_REST_URL
    server.ws_url     # ws://127.0.0.1:PORT/ws       -> CLOB_WS_URL (clients add /market, /user)
    server.gamma_url  # http://127.0.0.1:PORT/gamma  -> GAMMA_API_URL
    ...
    await server.stop()

uvicorn runs in the caller's event loop (`ws="websockets-sansio"`, no signal handlers unless
asked), so tests can drive blocking SDK clients from a thread while the server serves. A
background task ticks the venue every `tick_interval_s`: scheduled faults, the flow, exchange
timers (trade statuses, GTD expiry, heartbeat cancel-all), the replay feed, and the publishing
of everything that happened. Never binds anything but loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
from collections.abc import Awaitable, Callable, Generator, MutableMapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import uvicorn

from polymarket_bot.core.clock import Clock, LiveClock
from polymarket_bot.sim import admin, rest_gamma, rest_public, rest_trading
from polymarket_bot.sim.exchange import SimConfig
from polymarket_bot.sim.faults import FaultController, ScheduledFault, load_scenario
from polymarket_bot.sim.flow import FlowConfig
from polymarket_bot.sim.keys import ApiKeyRegistry
from polymarket_bot.sim.replay import ReplaySource
from polymarket_bot.sim.replay_feed import ReplayFeed
from polymarket_bot.sim.rest_api import Router, http_app
from polymarket_bot.sim.state import ServerConfig, SimState
from polymarket_bot.sim.universe import SimUniverse, build_universe

__all__ = ["LOOPBACK_HOSTS", "SimServer", "build_router"]

log = logging.getLogger(__name__)

LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "::1", "localhost"})
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]


def build_router() -> Router:
    router = Router()
    rest_public.register(router)
    rest_trading.register(router)
    rest_gamma.register(router)
    admin.register(router)
    return router


def make_app(state: SimState, router: Router | None = None) -> ASGIApp:
    """The ASGI callable: HTTP to the router, WebSocket to the hub."""
    routes = router or build_router()

    async def app(
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        kind = scope["type"]
        if kind == "http":
            await http_app(state, routes, scope, receive, send)
        elif kind == "websocket":
            await state.hub.handle(scope, receive, send)

    return app


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without signal handlers: the embedding program owns SIGINT/SIGTERM."""

    def __init__(self, config: uvicorn.Config, *, handle_signals: bool) -> None:
        super().__init__(config)
        self._handle_signals = handle_signals

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if self._handle_signals:
            with super().capture_signals():
                yield
        else:
            yield


class SimServer:
    """The simulator as a server. With neither `universe` nor `replay`, builds
    `n_markets` synthetic markets (`build_universe`, seeded by `seed`)."""

    def __init__(
        self,
        universe: SimUniverse | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        n_markets: int = 8,
        seed: int = 7,
        sim_config: SimConfig | None = None,
        flow_config: FlowConfig | None = None,
        with_flow: bool = True,
        config: ServerConfig | None = None,
        clock: Clock | None = None,
        replay: ReplaySource | None = None,
        scenario: Sequence[ScheduledFault] | Path | None = None,
        keys: ApiKeyRegistry | None = None,
        log_level: str = "warning",
        handle_signals: bool = False,
        paused: bool = False,
    ) -> None:
        if host not in LOOPBACK_HOSTS:
            raise ValueError(f"the simulator binds loopback only, not {host!r}")
        self.host = host
        self._requested_port = port
        self.clock = clock or LiveClock()
        if universe is None and replay is None:
            universe = build_universe(
                n_markets,
                seed=seed,
                start_ts=self.clock.time(),
                sim_config=sim_config,
                flow_config=flow_config,
                with_flow=with_flow,
            )
        cfg = config or ServerConfig()
        if cfg.tick_interval_s is None:
            flow = universe.flow if universe is not None else None
            interval = flow.config.step_interval_s if flow is not None else 0.25
        else:
            interval = cfg.tick_interval_s
        self.tick_interval_s = interval
        self.state = SimState(
            universe,
            clock=self.clock,
            config=cfg,
            keys=keys or ApiKeyRegistry(random.Random(seed)),
            faults=FaultController(random.Random(seed)),
            replay=ReplayFeed(replay, seed=seed) if replay is not None else None,
        )
        self.state.paused = paused  # `POST /admin/pause {"paused": false}` starts the clockwork
        if scenario is not None:
            items = load_scenario(scenario) if isinstance(scenario, Path) else list(scenario)
            self.state.faults.set_schedule(items, self.state.started_mono)
        self.log_level = log_level
        self.handle_signals = handle_signals
        self.port = 0
        self._server: _EmbeddedServer | None = None
        self._serve_task: asyncio.Task[None] | None = None
        self._tick_task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    # --- addresses ------------------------------------------------------------------------------

    @property
    def _netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def rest_url(self) -> str:
        return f"http://{self._netloc}"

    @property
    def ws_url(self) -> str:
        """Base WS URL; clients append `/market` or `/user`."""
        return f"ws://{self._netloc}/ws"

    @property
    def gamma_url(self) -> str:
        return f"http://{self._netloc}{rest_gamma.PREFIX}"

    def env(self) -> dict[str, str]:
        """Environment variables that point a client at this server."""
        return {
            "POLY_OFFLINE_MODE": "true",
            "CLOB_REST_URL": self.rest_url,
            "CLOB_WS_URL": self.ws_url,
            "GAMMA_API_URL": self.gamma_url,
        }

    # --- lifecycle ------------------------------------------------------------------------------

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # proto must say TCP: asyncio sets TCP_NODELAY only on sockets whose proto is
        # IPPROTO_TCP, and accepted sockets inherit it (proto 0 costs a 40 ms delayed ACK).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            host = "127.0.0.1" if self.host == "localhost" else self.host
            sock.bind((host, self._requested_port))
            sock.set_inheritable(True)
        except OSError:
            sock.close()
            raise
        return sock

    async def start(self) -> None:
        if self._serve_task is not None:
            raise RuntimeError("server already started")
        self._socket = sock = self._bind()
        self.port = sock.getsockname()[1]
        cfg = self.state.config
        config = uvicorn.Config(
            make_app(self.state),
            interface="asgi3",
            ws="websockets-sansio",
            lifespan="off",
            log_config=None,
            log_level=self.log_level,
            access_log=self.log_level.lower() in ("debug", "trace"),
            ws_per_message_deflate=cfg.ws_per_message_deflate,
            timeout_graceful_shutdown=3,
            server_header=False,
            date_header=True,
        )
        self._server = _EmbeddedServer(config, handle_signals=self.handle_signals)
        self._serve_task = asyncio.create_task(self._server.serve(sockets=[sock]))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while not self._server.started:
            if self._serve_task.done():
                await self._serve_task  # re-raises the startup failure
                raise RuntimeError("uvicorn exited during startup")
            if loop.time() > deadline:
                raise RuntimeError("uvicorn did not start within 10 s")
            await asyncio.sleep(0.005)
        self._tick_task = asyncio.create_task(self._tick_loop())

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self.tick_interval_s)
            self.state.tick()

    async def stop(self) -> None:
        if self._tick_task is not None:
            self._tick_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tick_task
            self._tick_task = None
        if self._server is not None and self._serve_task is not None:
            self._server.should_exit = True
            try:
                await asyncio.wait_for(asyncio.shield(self._serve_task), 10)
            except (TimeoutError, asyncio.TimeoutError):
                self._server.force_exit = True
                await self._serve_task
        self._serve_task = None
        self._server = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    async def serve_forever(self) -> None:
        """Start (if needed) and run until uvicorn exits (SIGINT/SIGTERM with
        `handle_signals=True`), then stop cleanly."""
        if self._serve_task is None:
            await self.start()
        assert self._serve_task is not None
        try:
            await asyncio.shield(self._serve_task)
        finally:
            await self.stop()

    async def __aenter__(self) -> SimServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
