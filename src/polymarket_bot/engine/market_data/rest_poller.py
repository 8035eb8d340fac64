"""REST fallback: batched `POST /books` for every asset the WebSocket does not currently serve
(non-hot assets, WS initialising or degraded) and for books that must be resynced.

Scheduling: each round takes the urgent resync requests first, then the assets `wanted(now)`
says are due (their last fetch is older than `poll_interval`), in batches of `batch_size`.
`SERVICE_REST_MAX_CONCURRENCY` bounds requests in flight and `SERVICE_REST_RATE_LIMIT_PER_SEC`
their rate, through a `RestLimiter` of our own (the client's limiter, shared with orders, still
applies underneath). When the venue answers 429 the limiter cools down for its Retry-After; on
5xx, network errors and timeouts it cools down with exponential backoff (full jitter). Resync
requests of a failed batch are kept for the next round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Sequence
from typing import Any

from polymarket_bot.core.clock import Clock, LiveClock
from polymarket_bot.engine.market_data._aio import wait_event
from polymarket_bot.protocol.errors import DecodeError
from polymarket_bot.protocol.wire_rest import OrderBookSummary
from polymarket_bot.transport.errors import (
    ApiError,
    RateLimitedError,
    TransportError,
)
from polymarket_bot.transport.http import error_kind
from polymarket_bot.transport.ratelimit import RestLimiter
from polymarket_bot.transport.rest import ClobRestClient
from polymarket_bot.transport.retry import Backoff

__all__ = ["OnBooks", "RestPoller"]

_log = logging.getLogger(__name__)

OnBooks = Callable[[Sequence[OrderBookSummary], float, Sequence[str]], None]
"""`(books, monotonic time the request was sent, the assets asked for)`."""


class RestPoller:
    """`start()` / `stop()`; `request_resync(asset)` from the ingest; `wanted(now)` supplies
    the assets due for a refresh (sorted oldest first), `on_books` receives the answers."""

    def __init__(
        self,
        rest: ClobRestClient,
        *,
        wanted: Callable[[float, float], list[str]],
        on_books: OnBooks,
        clock: Clock,
        max_concurrency: int = 4,
        rate_per_sec: float = 5.0,
        batch_size: int = 100,
        poll_interval: float = 2.0,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.rest = rest
        self._wanted = wanted
        self._on_books = on_books
        self._clock = clock
        # Pacing is about real time (real sockets), whatever clock the service logic uses.
        self.limiter = RestLimiter(
            max_concurrency=max_concurrency, rate_per_sec=rate_per_sec, clock=LiveClock()
        )
        self.max_concurrency = max(1, max_concurrency)
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self._backoff = backoff or Backoff(base=0.5, cap=30.0, rng=rng or random.Random())
        self._urgent: dict[str, None] = {}
        self._in_flight: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._regular_tasks = 0
        self._wake = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._streak = 0
        self.last_fetch: dict[str, float] = {}
        """asset -> monotonic time of its last request (success or not)."""
        # counters
        self.requests = 0
        self.successes = 0
        self.errors = 0
        self.errors_by_kind: dict[str, int] = {}
        self.rate_limited = 0
        self.books_received = 0
        self.missing = 0
        """Requested assets the venue returned no book for."""
        self.resync_requests = 0
        self.last_success_epoch: float | None = None
        self.last_success_monotonic: float | None = None
        self.last_error: str | None = None
        self.last_error_epoch: float | None = None

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="rest-poller")

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        tasks = [*self._tasks, *([runner] if runner is not None else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._in_flight.clear()

    def request_resync(self, asset_id: str) -> None:
        """Fetch this asset's book as soon as the limiter allows (deduplicated)."""
        if asset_id not in self._urgent:
            self._urgent[asset_id] = None
            self.resync_requests += 1
        self._wake.set()

    def wake(self) -> None:
        """Re-evaluate what is due now (the WS just went down, assets were tracked...)."""
        self._wake.set()

    def forget(self, asset_id: str) -> None:
        self._urgent.pop(asset_id, None)
        self.last_fetch.pop(asset_id, None)

    @property
    def consecutive_failures(self) -> int:
        return self._streak

    # --- the loop -------------------------------------------------------------------------

    async def _run(self) -> None:
        tick = min(self.poll_interval / 4, 0.25)
        while True:
            self._wake.clear()
            self._dispatch(self._clock.monotonic())
            await wait_event(self._wake, tick)

    def _dispatch(self, now: float) -> None:
        in_flight = self._in_flight
        urgent = [a for a in self._urgent if a not in in_flight]
        for batch in _chunks(urgent, self.batch_size):
            for asset in batch:
                self._urgent.pop(asset, None)
            self._spawn(batch, urgent=True, now=now)
        room = self.max_concurrency - self._regular_tasks
        if room <= 0:
            return
        taken = set(urgent)
        due = [
            a
            for a in self._wanted(now, self.poll_interval)
            if a not in in_flight and a not in taken
        ]
        for batch in _chunks(due, self.batch_size)[:room]:
            self._spawn(batch, urgent=False, now=now)

    def _spawn(self, batch: list[str], *, urgent: bool, now: float) -> None:
        self._in_flight.update(batch)
        for asset in batch:
            self.last_fetch[asset] = now
        if not urgent:
            self._regular_tasks += 1
        task = asyncio.create_task(self._fetch(batch, urgent), name="rest-books")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fetch(self, batch: list[str], urgent: bool) -> None:
        try:
            async with self.limiter.slot():
                sent = self._clock.monotonic()
                self.requests += 1
                books = await self.rest.get_books(batch)
        except asyncio.CancelledError:
            raise
        except (TransportError, DecodeError) as exc:
            self._failed(batch, urgent, exc)
        except Exception as exc:  # a bug must not kill the fallback
            _log.exception("REST books fetch failed unexpectedly")
            self._failed(batch, urgent, exc)
        else:
            self._streak = 0
            self.successes += 1
            self.last_success_epoch = self._clock.time()
            self.last_success_monotonic = self._clock.monotonic()
            self.books_received += len(books)
            got = {b.asset_id for b in books}
            self.missing += sum(1 for a in batch if a not in got)
            try:
                self._on_books(books, sent, batch)
            except Exception:
                _log.exception("applying REST books failed")
        finally:
            self._in_flight.difference_update(batch)
            if not urgent:
                self._regular_tasks -= 1
            self._wake.set()

    def _failed(self, batch: list[str], urgent: bool, exc: BaseException) -> None:
        kind = _kind(exc)
        self.errors += 1
        self.errors_by_kind[kind] = self.errors_by_kind.get(kind, 0) + 1
        self.last_error = str(exc)[:300]
        self.last_error_epoch = self._clock.time()
        if urgent:
            for asset in batch:
                self._urgent.setdefault(asset, None)
        if isinstance(exc, ApiError):
            # A 4xx will not get better by asking again soon (an unknown token in the batch):
            # leave these assets alone for a while.
            later = self._clock.monotonic() + 10 * self.poll_interval
            for asset in batch:
                self.last_fetch[asset] = later
                self._urgent.pop(asset, None)
            _log.warning("REST books: %s", exc)
            return
        self._streak += 1
        delay = self._backoff.delay(self._streak - 1)
        if isinstance(exc, RateLimitedError):
            self.rate_limited += 1
            if exc.retry_after is not None:
                delay = max(delay, exc.retry_after)
        self.limiter.cool_down(delay)
        if self._streak <= 3 or self._streak % 20 == 0:
            _log.warning("REST books failed (%s); backing off %.1f s", exc, delay)

    # --- status ---------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "successes": self.successes,
            "errors": self.errors,
            "errors_by_kind": dict(self.errors_by_kind),
            "rate_limited": self.rate_limited,
            "consecutive_failures": self._streak,
            "books": self.books_received,
            "missing": self.missing,
            "resync_requests": self.resync_requests,
            "pending_resyncs": len(self._urgent),
            "in_flight": len(self._in_flight),
            "poll_interval_seconds": self.poll_interval,
            "batch_size": self.batch_size,
            "limiter": self.limiter.stats(),
            "last_success_epoch": self.last_success_epoch,
            "last_error_epoch": self.last_error_epoch,
            "last_error": self.last_error,
        }


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _kind(exc: BaseException) -> str:
    if isinstance(exc, DecodeError):
        return "decode"
    return error_kind(exc)
