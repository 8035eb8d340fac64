"""Asyncio helpers.

`asyncio.wait_for(event.wait(), t)` is avoided on purpose: on Python < 3.12 it can swallow a
cancellation that races with the event being set, and a loop built on it then never stops.
"""

from __future__ import annotations

import asyncio

__all__ = ["wait_event"]


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait until `event` is set or `timeout` seconds pass; True if it was set."""
    if event.is_set():
        return True
    waiter = asyncio.ensure_future(event.wait())
    try:
        done, _ = await asyncio.wait((waiter,), timeout=timeout)
    finally:
        waiter.cancel()
    return bool(done)
