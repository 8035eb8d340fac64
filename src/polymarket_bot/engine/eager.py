"""Start a coroutine *now*: run it synchronously up to its first suspension, then as a Task.

`asyncio.create_task` only schedules a coroutine: its first step runs on a later turn of the
event loop, after whatever else is ready. On the tick-to-order path that turn costs tens of
microseconds (one more `select`, every other ready callback): the decision pass started from a
market-data callback would reach the wire one loop turn later. Python 3.12 has eager tasks for
this (`asyncio.eager_task_factory`); this is the same idea for 3.10+.

    task = start_eagerly(self._decision_pass(), name="decision-pass")
    # None: it already finished (it never had to wait); else a Task running the rest.

Semantics match a Task from the first suspension on: cancelling the returned task cancels what
the coroutine waits for and raises CancelledError inside it; its result and exception are the
task's. An exception raised before the first suspension propagates to the caller, as a plain
call would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["start_eagerly"]

T = TypeVar("T")


def start_eagerly(
    coro: Coroutine[Any, Any, T], *, name: str | None = None
) -> asyncio.Task[T] | None:
    """Run `coro` until it first waits; return a Task for the rest, or None if it completed."""
    try:
        waiting_on = coro.send(None)
    except StopIteration:
        return None
    return asyncio.get_running_loop().create_task(_resume(coro, waiting_on), name=name)


async def _resume(coro: Coroutine[Any, Any, T], waiting_on: Any) -> T:
    """Drive `coro` on from a suspension, as a Task's step function would: wait for what it
    yielded (a future, or None for a bare yield), then resume it. The future's own failure is
    read by `coro` from the future; a cancellation of this task is thrown into `coro`."""
    while True:
        cancelled: asyncio.CancelledError | None = None
        try:
            if waiting_on is None:
                await asyncio.sleep(0)
            else:
                waiting_on._asyncio_future_blocking = False
                await waiting_on
        except asyncio.CancelledError as exc:
            cancelled = exc
        except BaseException:  # the future's failure: `coro` reads it on resume
            pass
        try:
            waiting_on = coro.send(None) if cancelled is None else coro.throw(cancelled)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
