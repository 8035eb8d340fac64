"""External fills (fills on the account of orders this process did not place): the seed's
`external_fills` counters (kept by `Ledger.external`) and the per-minute `external_fills_trend`.

The trend counts, per wall-clock minute, how many external fills the ledger classified; it is
fed by observing the ledger's `processed` counter (no hook in the booking path), so a fill is
attributed to the minute it was booked. Memory is bounded: one bucket per minute of the longest
window (60).
"""

from __future__ import annotations

from collections import deque
from typing import Any, Final

from polymarket_bot.core.intents import iso_ms
from polymarket_bot.core.ledger import ExternalFillStats

__all__ = ["TREND_WINDOWS", "ExternalTrend", "external_fills_section"]

TREND_WINDOWS: Final = (5, 15, 60)
"""Minutes the dashboard shows (seed §6: Ext Trend 5/15/60)."""


def external_fills_section(stats: ExternalFillStats) -> dict[str, Any]:
    """`external_fills` (seed §12); `last_seen` in epoch seconds."""
    return {
        "processed": stats.processed,
        "opened": stats.opened,
        "applied_same_side": stats.applied_same_side,
        "reduced_opposite": stats.reduced_opposite,
        "closed": stats.closed,
        "last_seen": stats.last_seen_ms / 1000 if stats.last_seen_ms else None,
    }


class ExternalTrend:
    """Per-minute counts of external fills over the last `max_minutes` minutes."""

    def __init__(self, max_minutes: int = max(TREND_WINDOWS)) -> None:
        self.max_minutes = max_minutes
        self._buckets: deque[list[int]] = deque(maxlen=max_minutes)  # [minute, count]
        self._seen: int | None = None

    def observe(self, processed: int, now: float) -> int:
        """Fold the growth of the `processed` counter since the last call into the current
        minute; returns the growth. The first call only sets the baseline."""
        if self._seen is None:
            self._seen = processed
            self._bucket(now)
            return 0
        delta = max(0, processed - self._seen)
        self._seen = processed
        self._bucket(now)[1] += delta
        return delta

    def add(self, count: int, now: float) -> None:
        self._bucket(now)[1] += count

    def _bucket(self, now: float) -> list[int]:
        minute = int(now // 60)
        if not self._buckets or self._buckets[-1][0] != minute:
            self._buckets.append([minute, 0])
        return self._buckets[-1]

    def series(self, now: float, window: int | None = None) -> list[dict[str, Any]]:
        """`[{t, count}]` for each minute of the window ending at `now`, oldest first, zero
        filled; `t` is the minute's start (ISO-8601 UTC)."""
        minutes = min(window or self.max_minutes, self.max_minutes)
        current = int(now // 60)
        counts = {b[0]: b[1] for b in self._buckets}
        return [
            {"t": iso_ms(m * 60.0), "count": counts.get(m, 0)}
            for m in range(current - minutes + 1, current + 1)
        ]

    def totals(self, now: float) -> dict[str, int]:
        """External fills in the last 5/15/60 minutes: `{"5": n, "15": n, "60": n}`."""
        current = int(now // 60)
        return {str(w): sum(c for m, c in self._buckets if m > current - w) for w in TREND_WINDOWS}
