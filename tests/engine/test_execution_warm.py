"""`ConnectionWarmer`: one cheap request whenever the trading client has been idle too long."""

from __future__ import annotations

import asyncio
import time

import pytest

from polymarket_bot.engine.execution.warm import ConnectionWarmer
from polymarket_bot.sim.server import SimServer
from polymarket_bot.transport.errors import NetworkError
from polymarket_bot.transport.rest import ClobRestClient


async def _until(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def test_an_idle_trading_connection_is_kept_open_and_reused() -> None:
    async with SimServer(n_markets=1, seed=3, with_flow=False) as sim:
        rest = ClobRestClient(sim.rest_url, engine="http1")
        warmer = ConnectionWarmer(rest, interval_s=0.05)
        task = asyncio.create_task(warmer.run())
        try:
            await _until(lambda: rest.stats().get("GET /time", {}).get("successes", 0) >= 4)
            idle = rest.idle_seconds()
            assert idle is not None and idle < 1.0
            stats = rest.stats()["GET /time"]
            assert stats["successes"] >= 4 and warmer.errors == 0
            # every warm request went over the one kept-alive connection
            assert rest._core._h1 is not None and rest._core._h1.connections_opened == 1
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await rest.aclose()


async def test_a_busy_client_gets_no_warm_requests_and_failures_are_counted() -> None:
    class FakeRest:
        def __init__(self) -> None:
            self.idle: float | None = 0.0
            self.calls = 0

        def idle_seconds(self) -> float | None:
            return self.idle

        async def get_server_time(self) -> int:
            self.calls += 1
            raise NetworkError("down", endpoint="GET /time")

    fake = FakeRest()
    warmer = ConnectionWarmer(fake, interval_s=0.02)  # type: ignore[arg-type]
    task = asyncio.create_task(warmer.run())
    try:
        await asyncio.sleep(0.1)  # busy: idle stays 0, so nothing is sent
        assert fake.calls == 0
        fake.idle = None  # idle (never used): warm requests go out, failures are counted
        await _until(lambda: warmer.errors >= 2)
        assert warmer.requests == fake.calls == warmer.errors
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
