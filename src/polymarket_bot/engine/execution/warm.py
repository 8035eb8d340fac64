"""`ConnectionWarmer`: keeps the trading connection open between orders.

An order that finds no open connection pays for a new one first: TCP, and TLS at the real venue,
one to three network round trips in front of the order. HTTP clients close a keep-alive
connection after a few idle seconds (`transport.http1`: 5 s, as httpx), servers too (uvicorn:
5 s), and the venue heartbeat only runs while orders rest. So when the trading client has been
idle for `interval_s`, one cheap request (`GET /time`) goes out on it: the connection stays open
and a dead one is found and replaced before an order needs it.
"""

from __future__ import annotations

import asyncio
import logging

from polymarket_bot.transport.errors import TransportError
from polymarket_bot.transport.rest import ClobRestClient

__all__ = ["ConnectionWarmer"]

log = logging.getLogger(__name__)


class ConnectionWarmer:
    def __init__(self, rest: ClobRestClient, *, interval_s: float = 2.0) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be > 0")
        self.rest = rest
        self.interval_s = interval_s
        self.requests = 0
        self.errors = 0

    async def run(self) -> None:
        """Until cancelled."""
        while True:
            idle = self.rest.idle_seconds()
            if idle is None or idle >= self.interval_s:
                self.requests += 1
                try:
                    await self.rest.get_server_time()
                except TransportError as exc:  # the next order reconnects; nothing to do here
                    self.errors += 1
                    if self.errors <= 3 or self.errors % 100 == 0:
                        log.warning("execution: keep-warm request failed: %s", exc)
                idle = 0.0
            await asyncio.sleep(self.interval_s - idle)

    def status(self) -> dict[str, int | float]:
        return {"interval_s": self.interval_s, "requests": self.requests, "errors": self.errors}
