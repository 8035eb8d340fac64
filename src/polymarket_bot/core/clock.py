"""Time is injected, never read inside pure logic.

`LiveClock` reads the system clocks; `TestClock` only moves when told to, so tests and backtests
are deterministic.
"""

from __future__ import annotations

import time as _time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    def time(self) -> float:
        """Wall-clock Unix time in seconds."""
        ...

    def time_ms(self) -> int:
        """Wall-clock Unix time in whole milliseconds."""
        ...

    def monotonic(self) -> float:
        """Monotonic seconds for measuring intervals (never goes backwards)."""
        ...


class LiveClock:
    """The real clocks. `time` and `monotonic` are the builtins themselves (no wrapper call):
    the WS reader reads both for every frame."""

    __slots__ = ()

    time = staticmethod(_time.time)
    monotonic = staticmethod(_time.monotonic)

    def time_ms(self) -> int:
        return _time.time_ns() // 1_000_000


class TestClock:
    """A manual clock: starts at `start` (Unix seconds) and moves only by `advance`/`set`."""

    __test__ = False  # not a pytest test class
    __slots__ = ("_mono", "_now")

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)
        self._mono = 0.0

    def time(self) -> float:
        return self._now

    def time_ms(self) -> int:
        return round(self._now * 1000)

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a TestClock never goes backwards")
        self._now += seconds
        self._mono += seconds

    def set(self, now: float) -> None:
        if now < self._now:
            raise ValueError("a TestClock never goes backwards")
        self._mono += now - self._now
        self._now = now
