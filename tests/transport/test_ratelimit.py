"""RestLimiter semantics on a TestClock: token-bucket rate, concurrency cap, global cool-down."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from transport_kit import FakeSleep, wait_until

from polymarket_bot.core.clock import TestClock
from polymarket_bot.transport.ratelimit import RestLimiter


def make(
    clock: TestClock,
    sleep: FakeSleep,
    *,
    rate_per_sec: float = 0.0,
    burst: float | None = None,
    max_concurrency: int = 0,
) -> RestLimiter:
    return RestLimiter(
        clock=clock,
        sleep=sleep,
        rate_per_sec=rate_per_sec,
        burst=burst,
        max_concurrency=max_concurrency,
    )


async def test_rate_spaces_requests_after_the_burst(
    clock: TestClock, fake_sleep: FakeSleep
) -> None:
    limiter = make(clock, fake_sleep, rate_per_sec=5.0, burst=1.0)
    start = clock.monotonic()
    stamps = []
    for _ in range(11):
        async with limiter.slot():
            stamps.append(clock.monotonic() - start)
    assert stamps[0] == 0.0
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert all(gap == pytest.approx(0.2) for gap in gaps)
    assert clock.monotonic() - start == pytest.approx(2.0)
    assert limiter.waits == 10 and limiter.in_flight == 0


async def test_default_burst_equals_one_second_of_rate(
    clock: TestClock, fake_sleep: FakeSleep
) -> None:
    limiter = make(clock, fake_sleep, rate_per_sec=4.0)
    for _ in range(4):
        await limiter.acquire()
        limiter.release()
    assert fake_sleep.calls == []  # the full bucket covers the first 4
    await limiter.acquire()
    limiter.release()
    assert fake_sleep.total == pytest.approx(0.25)


async def test_concurrent_waiters_are_paced_in_fifo_order(
    clock: TestClock, fake_sleep: FakeSleep
) -> None:
    limiter = make(clock, fake_sleep, rate_per_sec=10.0, burst=2.0)
    order: list[int] = []

    async def worker(i: int) -> None:
        async with limiter.slot():
            order.append(i)

    await asyncio.gather(*(worker(i) for i in range(12)))
    assert order == list(range(12))
    assert clock.monotonic() == pytest.approx(1.0)  # 10 beyond the burst at 10/s


async def test_concurrency_cap(clock: TestClock, fake_sleep: FakeSleep) -> None:
    limiter = make(clock, fake_sleep, max_concurrency=2)
    gate = asyncio.Event()
    peak = 0

    async def worker() -> None:
        nonlocal peak
        async with limiter.slot():
            peak = max(peak, limiter.in_flight)
            await gate.wait()

    tasks = [asyncio.create_task(worker()) for _ in range(5)]
    await wait_until(lambda: limiter.in_flight == 2)
    for _ in range(5):
        await asyncio.sleep(0)
    assert limiter.in_flight == 2 and peak == 2  # the other three are queued
    gate.set()
    await asyncio.gather(*tasks)
    assert peak == 2 and limiter.in_flight == 0 and limiter.acquired == 5


async def test_cancelled_waiter_gives_its_slot_back(
    clock: TestClock, fake_sleep: FakeSleep
) -> None:
    limiter = make(clock, fake_sleep, max_concurrency=1)
    await limiter.acquire()
    waiter = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    limiter.release()
    await asyncio.wait_for(limiter.acquire(), 1.0)  # the slot was not leaked
    limiter.release()
    assert limiter.in_flight == 0


async def test_cool_down_blocks_every_request(clock: TestClock, fake_sleep: FakeSleep) -> None:
    limiter = make(clock, fake_sleep)  # unlimited rate, no cap
    limiter.cool_down(3.0)
    limiter.cool_down(1.0)  # never shortens
    assert limiter.cooldown_remaining() == pytest.approx(3.0)
    start = clock.monotonic()
    await asyncio.gather(*(limiter.acquire() for _ in range(3)))
    for _ in range(3):
        limiter.release()
    assert clock.monotonic() - start == pytest.approx(3.0)  # all waited, none waited twice
    assert limiter.cooldown_remaining() == 0.0 and limiter.cooldowns == 1
    assert limiter.stats()["waits"] == 1  # the first waiter slept; the others found it over


async def test_cool_down_and_rate_combine(clock: TestClock, fake_sleep: FakeSleep) -> None:
    limiter = make(clock, fake_sleep, rate_per_sec=1.0, burst=1.0)
    async with limiter.slot():
        pass
    limiter.cool_down(10.0)
    start = clock.monotonic()
    async with limiter.slot():
        pass
    # The token refilled during the cool-down: no extra wait on top of it.
    assert clock.monotonic() - start == pytest.approx(10.0)


async def test_set_rate_at_runtime(clock: TestClock, fake_sleep: FakeSleep) -> None:
    limiter = make(clock, fake_sleep)
    for _ in range(100):
        await limiter.acquire()
        limiter.release()
    assert fake_sleep.calls == []  # 0 = unlimited
    limiter.set_rate(2.0, burst=1.0)
    assert limiter.rate_per_sec == 2.0
    start = clock.monotonic()
    for _ in range(3):
        await limiter.acquire()
        limiter.release()
    assert clock.monotonic() - start == pytest.approx(1.0)
    with pytest.raises(ValueError):
        limiter.set_rate(-1.0)
    with pytest.raises(ValueError):
        RestLimiter(rate_per_sec=-1.0)


async def test_try_acquire_only_takes_the_no_wait_fast_path(
    clock: TestClock, fake_sleep: FakeSleep
) -> None:
    free = make(clock, fake_sleep)
    assert free.try_acquire() and free.try_acquire()
    assert (free.in_flight, free.acquired) == (2, 2)
    free.release()
    free.release()
    assert free.in_flight == 0
    free.cool_down(1.0)  # cooling down: it would wait, so it refuses and changes nothing
    assert not free.try_acquire()
    assert (free.in_flight, free.acquired, free.waits) == (0, 2, 0)
    clock.advance(1.0)
    assert free.try_acquire()
    free.release()
    # a rate or a concurrency cap: always `await acquire()` (tokens and semaphore are its own)
    for limiter in (
        make(clock, fake_sleep, rate_per_sec=5),
        make(clock, fake_sleep, max_concurrency=2),
    ):
        assert not limiter.try_acquire()
        assert (limiter.in_flight, limiter.acquired) == (0, 0)
        await limiter.acquire()
        assert limiter.in_flight == 1
        limiter.release()
