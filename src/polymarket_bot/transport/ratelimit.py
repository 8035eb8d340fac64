"""Client-side REST limiter: a concurrency cap, a token-bucket rate and a global cool-down.

`SERVICE_REST_MAX_CONCURRENCY` bounds requests in flight; `SERVICE_REST_RATE_LIMIT_PER_SEC` is the
sustained rate (token bucket, `burst` tokens deep; 0 = unlimited). When the venue says 429/425
with Retry-After, `cool_down(seconds)` makes *every* request wait, not only the one that failed.

Time comes from an injected `Clock` and waiting from an injected `sleep`, so tests drive it with a
`TestClock` and a fake sleep that advances it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from polymarket_bot.core.clock import Clock, LiveClock

__all__ = ["RestLimiter", "Sleep"]

Sleep = Callable[[float], Awaitable[None]]


class RestLimiter:
    """Async limiter shared by every REST client of a process (or one per venue host).

    Use `async with limiter.slot(): ...` around one HTTP exchange. Waiters take rate tokens in
    FIFO order; a cool-down set while they wait is honoured.
    """

    def __init__(
        self,
        *,
        max_concurrency: int = 0,
        rate_per_sec: float = 0.0,
        burst: float | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        if rate_per_sec < 0:
            raise ValueError("rate_per_sec must be >= 0 (0 = unlimited)")
        self._clock = clock or LiveClock()
        self._sleep: Sleep = sleep or asyncio.sleep
        self.max_concurrency = max(0, max_concurrency)
        self._sem = asyncio.Semaphore(self.max_concurrency) if self.max_concurrency else None
        self._lock = asyncio.Lock()
        self._rate = 0.0
        self._burst_arg = burst
        self._capacity = 1.0
        self._tokens = 1.0
        self._refilled_at = self._clock.monotonic()
        self._cool_until = float("-inf")
        self.set_rate(rate_per_sec)
        self._tokens = self._capacity  # start with a full bucket
        self.in_flight = 0
        self.acquired = 0
        self.waits = 0
        """Acquisitions that had to wait for a token or a cool-down."""
        self.waited_seconds = 0.0
        self.cooldowns = 0

    # --- configuration --------------------------------------------------------------------

    @property
    def rate_per_sec(self) -> float:
        return self._rate

    def set_rate(self, rate_per_sec: float, burst: float | None = None) -> None:
        """Change the rate at runtime (`config reload`); 0 = unlimited. Tokens already earned are
        kept up to the new capacity."""
        if rate_per_sec < 0:
            raise ValueError("rate_per_sec must be >= 0 (0 = unlimited)")
        self._refill()
        if burst is not None:
            self._burst_arg = burst
        self._rate = float(rate_per_sec)
        self._capacity = max(1.0, self._burst_arg if self._burst_arg is not None else self._rate)
        self._tokens = min(self._tokens, self._capacity)

    # --- cool-down ------------------------------------------------------------------------

    def cool_down(self, seconds: float) -> None:
        """Every request waits until `seconds` from now (extends, never shortens, a cool-down)."""
        if seconds <= 0:
            return
        until = self._clock.monotonic() + seconds
        if until > self._cool_until:
            self._cool_until = until
            self.cooldowns += 1

    def cooldown_remaining(self) -> float:
        return max(0.0, self._cool_until - self._clock.monotonic())

    # --- acquire / release ----------------------------------------------------------------

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self.acquire()
        try:
            yield
        finally:
            self.release()

    async def acquire(self) -> None:
        if self._sem is not None:
            await self._sem.acquire()
        try:
            await self._wait_turn()
        except BaseException:
            if self._sem is not None:
                self._sem.release()
            raise
        self.in_flight += 1
        self.acquired += 1

    def try_acquire(self) -> bool:
        """`acquire()` when it would not wait, without a suspension: True and the slot is held
        (`release()` it), or False and nothing changed (then `await acquire()`). Succeeds only
        on `acquire`'s own fast path: no concurrency cap, unlimited rate, no cool-down, nobody
        queued for a rate token."""
        if (
            self._sem is None
            and self._rate == 0
            and self._cool_until <= self._clock.monotonic()
            and not self._lock.locked()
        ):
            self.in_flight += 1
            self.acquired += 1
            return True
        return False

    def release(self) -> None:
        self.in_flight -= 1
        if self._sem is not None:
            self._sem.release()

    def _refill(self) -> None:
        now = self._clock.monotonic()
        if self._rate > 0:
            self._tokens = min(
                self._capacity, self._tokens + (now - self._refilled_at) * self._rate
            )
        self._refilled_at = now

    async def _wait_turn(self) -> None:
        if (
            self._rate == 0
            and self._cool_until <= self._clock.monotonic()
            and not self._lock.locked()
        ):
            return  # fast path: unlimited and not cooling down
        async with self._lock:
            waited = False
            while True:
                now = self._clock.monotonic()
                wait = self._cool_until - now
                if wait <= 0:
                    if self._rate == 0:
                        break
                    self._refill()
                    if self._tokens >= 1.0 - 1e-9:  # float dust after an exact sleep
                        self._tokens = max(0.0, self._tokens - 1.0)
                        break
                    wait = (1.0 - self._tokens) / self._rate
                if not waited:
                    self.waits += 1
                    waited = True
                self.waited_seconds += wait
                await self._sleep(wait)

    def stats(self) -> dict[str, float | int]:
        return {
            "max_concurrency": self.max_concurrency,
            "rate_per_sec": self._rate,
            "in_flight": self.in_flight,
            "acquired": self.acquired,
            "waits": self.waits,
            "waited_seconds": round(self.waited_seconds, 6),
            "cooldowns": self.cooldowns,
            "cooldown_remaining_seconds": round(self.cooldown_remaining(), 3),
        }
