"""`start_eagerly`: runs a coroutine now, up to its first wait, then behaves like a Task."""

from __future__ import annotations

import asyncio

import pytest

from polymarket_bot.engine.eager import start_eagerly


async def test_runs_synchronously_until_the_first_wait() -> None:
    trace: list[str] = []
    gate: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def work() -> int:
        trace.append("start")
        value = await gate
        trace.append(f"got {value}")
        await asyncio.sleep(0)
        trace.append("end")
        return value * 2

    task = start_eagerly(work(), name="w")
    assert trace == ["start"]  # before start_eagerly returned, no loop turn in between
    assert task is not None and task.get_name() == "w"
    gate.set_result(21)
    assert await task == 42
    assert trace == ["start", "got 21", "end"]


async def test_a_coroutine_that_never_waits_completes_in_the_call() -> None:
    done: list[int] = []

    async def quick() -> None:
        done.append(1)

    assert start_eagerly(quick()) is None
    assert done == [1]


async def test_errors_before_and_after_the_first_wait() -> None:
    async def early() -> None:
        raise ValueError("early")

    with pytest.raises(ValueError, match="early"):
        start_eagerly(early())

    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def late() -> None:
        await gate
        raise KeyError("late")

    task = start_eagerly(late())
    assert task is not None
    gate.set_result(None)
    with pytest.raises(KeyError, match="late"):
        await task


async def test_a_failed_future_raises_inside_the_coroutine() -> None:
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    seen: list[str] = []

    async def work() -> str:
        try:
            await gate
        except OSError as exc:
            seen.append(str(exc))
            return "handled"
        return "not reached"

    task = start_eagerly(work())
    assert task is not None
    gate.set_exception(OSError("boom"))
    assert await task == "handled" and seen == ["boom"]


async def test_cancelling_the_task_cancels_the_wait_inside() -> None:
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    cleanup: list[str] = []

    async def work() -> None:
        try:
            await gate
        finally:
            cleanup.append("finally ran")

    task = start_eagerly(work())
    assert task is not None
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert gate.cancelled() and cleanup == ["finally ran"]


async def test_waiting_on_a_task_and_on_sleep() -> None:
    async def child() -> int:
        await asyncio.sleep(0)
        return 7

    async def parent() -> int:
        first = await asyncio.create_task(child())
        await asyncio.sleep(0)
        return first + 1

    task = start_eagerly(parent())
    assert task is not None
    assert await task == 8
