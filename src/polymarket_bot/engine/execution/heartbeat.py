"""The venue's dead-man switch (ref §6.9): `POST /v1/heartbeats` every few seconds.

Once a session has started, the venue cancels every open order of the API key when no valid
heartbeat arrives for ~10 s (+ up to 5 s). The first beat sends `""`; each later one the id the
previous answer returned. A stale id is answered with a 400 carrying the current id, which is
sent again at once, so one lost answer costs nothing. `start()` is idempotent; the loop runs until
`stop()` (stopping the beats lets the venue cancel what is still open).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from polymarket_bot.core.clock import Clock
from polymarket_bot.transport.errors import TransportError
from polymarket_bot.transport.rest import ClobRestClient

__all__ = ["Heartbeat"]

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, rest: ClobRestClient, *, clock: Clock, interval_s: float = 5.0) -> None:
        self.rest = rest
        self.clock = clock
        self.interval_s = interval_s
        self.heartbeat_id = ""
        self.beats = 0
        self.errors = 0
        self.last_ok_epoch: float | None = None
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="heartbeat")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            try:
                await self.beat()
            except Exception:  # the dead-man switch must outlive a bug in one beat
                self.errors += 1
                log.exception("heartbeat failed")
            await asyncio.sleep(self.interval_s)

    async def beat(self) -> bool:
        """One heartbeat (two when the id was stale); True when the venue took it."""
        try:
            response = await self.rest.heartbeat(self.heartbeat_id)
            if response.error is not None:
                self.heartbeat_id = response.heartbeat_id
                response = await self.rest.heartbeat(self.heartbeat_id)
        except (TransportError, ValueError) as exc:
            self.errors += 1
            self.last_error = str(exc)
            log.warning("heartbeat failed: %s", exc)
            return False
        self.heartbeat_id = response.heartbeat_id
        if response.error is not None:
            self.errors += 1
            self.last_error = response.error
            return False
        self.beats += 1
        self.last_ok_epoch = self.clock.time()
        return True

    def status(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "beats": self.beats,
            "errors": self.errors,
            "last_ok_epoch": self.last_ok_epoch,
            "last_error": self.last_error,
        }
