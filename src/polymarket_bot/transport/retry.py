"""Retry timing: exponential backoff with full jitter, Retry-After parsing, the retry policy.

Pure (no sleeping, no clock reads): callers pass the attempt number, the random source and the
current time, so tests are deterministic.
"""

from __future__ import annotations

import email.utils
import math
import random
from dataclasses import dataclass, field

from polymarket_bot.transport.errors import should_retry

__all__ = ["Backoff", "RetryPolicy", "parse_retry_after", "should_retry"]


@dataclass(slots=True)
class Backoff:
    """`delay(n)` = uniform(min_delay, min(cap, base * factor**n)) — "full jitter" (AWS
    architecture blog), so many clients that failed together do not retry together.

    `n` counts previous failures (0 for the first retry). `rng` is injectable; pass a seeded
    `random.Random` in tests.
    """

    base: float = 0.25
    cap: float = 30.0
    factor: float = 2.0
    min_delay: float = 0.0
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if self.base < 0 or self.cap < 0 or self.min_delay < 0 or self.factor < 1:
            raise ValueError("backoff needs base, cap, min_delay >= 0 and factor >= 1")

    def ceiling(self, attempt: int) -> float:
        """Upper bound of the delay before retry number `attempt` (0-based), capped."""
        try:
            value = self.base * self.factor ** max(0, attempt)
        except OverflowError:  # absurd attempt counts
            return self.cap
        return min(self.cap, value)

    def delay(self, attempt: int) -> float:
        high = self.ceiling(attempt)
        low = min(self.min_delay, high)
        return self.rng.uniform(low, high)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How an idempotent call is retried.

    `max_attempts` counts every try (1 = never retry). A server-provided Retry-After longer than
    `max_retry_after` is not waited out inside the call: the error is raised. It also caps the
    global cool-down a 429/425 imposes on every request.
    """

    max_attempts: int = 3
    backoff: Backoff = field(default_factory=Backoff)
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")

    def should_retry(self, exc: BaseException, attempt: int) -> bool:
        """`attempt` is the 1-based number of the try that just failed."""
        if attempt >= self.max_attempts or not should_retry(exc):
            return False
        retry_after = getattr(exc, "retry_after", None)
        return retry_after is None or retry_after <= self.max_retry_after


def parse_retry_after(value: str | None, now_epoch: float) -> float | None:
    """Seconds from a `Retry-After` header: delta-seconds (`"7"`, `"1.5"`) or an HTTP date.
    None when absent or unreadable; never negative."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - now_epoch
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)
