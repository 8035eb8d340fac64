"""Aggregates over the report streams, maintained incrementally.

`ReportsState.refresh()` polls every report file: JSONL streams are tailed from their remembered
byte offsets (`tail.JsonlTail`) and each new record is folded into a fixed-size aggregate;
snapshots (`pipeline_status.json` ...) are re-parsed only when they changed. Nothing is kept per
record except bounded rings (recent events, the equity curve) and per-minute buckets for the last
day, so memory is flat and the cost of answering does not grow with history.

Records are assumed in file order; per-minute buckets key on the timestamp's first 16 characters
(`2025-10-13T10:05`, UTC as docs/REPORTS.md specifies) so no timestamp is parsed on the hot path.
"""

from __future__ import annotations

import calendar
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Generic, TypeVar

import msgspec

from polymarket_bot.web.records import (
    ExitRecord,
    FillRecord,
    LineDecoder,
    OrderRecord,
    RiskRecord,
    TradeRecord,
)
from polymarket_bot.web.tail import DEFAULT_MAX_BYTES, JsonlTail, JsonSnapshot, TailStats

ZERO = Decimal(0)
MINUTES_KEPT = 1440
"""Per-minute buckets cover the last day: the largest `ext_window` the API accepts."""
RECENT = 25
CURVE_POINTS = 500
MAX_KEYS = 256
"""Distinct keys a counter keeps before lumping new ones into `other` (reasons can carry text)."""
OTHER = "other"


class BoundedCounter:
    """A Counter that stops growing at `max_keys` distinct keys; later keys count as `other`."""

    def __init__(self, max_keys: int = MAX_KEYS) -> None:
        self.counts: Counter[str] = Counter()
        self.max_keys = max_keys

    def add(self, key: str, n: int = 1) -> None:
        counts = self.counts
        if key in counts or len(counts) < self.max_keys:
            counts[key] += n
        else:
            counts[OTHER] += n

    def top(self, n: int) -> list[tuple[str, int]]:
        return self.counts.most_common(n)

    def total(self) -> int:
        return sum(self.counts.values())


def minute_key(timestamp: str) -> str | None:
    """`2025-10-13T10:05:12.345Z` -> `2025-10-13T10:05` (None when it is not ISO-8601)."""
    if len(timestamp) < 16 or timestamp[4] != "-" or timestamp[13] != ":":
        return None
    return timestamp[:16]


def minute_of(epoch: float) -> int:
    return int(epoch // 60)


def key_of_minute(minute: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M", time.gmtime(minute * 60))


def epoch_of_key(key: str) -> float | None:
    try:
        return float(calendar.timegm(time.strptime(key, "%Y-%m-%dT%H:%M")))
    except ValueError:
        return None


class MinuteCounts:
    """Counts per UTC minute for the last `keep` minutes seen."""

    def __init__(self, keep: int = MINUTES_KEPT) -> None:
        self.keep = keep
        self.counts: dict[str, int] = {}

    def add(self, timestamp: str, n: int = 1) -> None:
        key = minute_key(timestamp)
        if key is None:
            return
        counts = self.counts
        counts[key] = counts.get(key, 0) + n
        if len(counts) > self.keep + self.keep // 4:
            for old in sorted(counts)[: len(counts) - self.keep]:
                del counts[old]

    def series(self, window: int, now: float) -> list[tuple[str, int]]:
        """`window` minutes ending with the current one, oldest first, zeros included."""
        last = minute_of(now)
        keys = [key_of_minute(m) for m in range(last - window + 1, last + 1)]
        return [(k, self.counts.get(k, 0)) for k in keys]


@dataclass
class OrdersAgg:
    events: Counter[str] = field(default_factory=Counter)
    reject_reasons: BoundedCounter = field(default_factory=BoundedCounter)
    rate_limited: BoundedCounter = field(default_factory=BoundedCounter)
    """`strategy_rate_limit` rejects per `market_id|action`."""
    per_minute: MinuteCounts = field(default_factory=MinuteCounts)
    recent: deque[OrderRecord] = field(default_factory=lambda: deque(maxlen=RECENT))
    last_timestamp: str | None = None

    def add_all(self, records: list[OrderRecord]) -> None:
        events = self.events
        for rec in records:
            events[rec.event] += 1
            if rec.event == "reject":
                reason = rec.reason or "unknown"
                self.reject_reasons.add(reason)
                if reason == "strategy_rate_limit":
                    self.rate_limited.add(f"{rec.market_id}|{rec.action}")
            self.per_minute.add(rec.timestamp)
        if records:
            self.recent.extend(records[-RECENT:])
            self.last_timestamp = records[-1].timestamp


@dataclass
class TradesAgg:
    count: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    shares: Decimal = ZERO
    notional: Decimal = ZERO
    fees: Decimal = ZERO
    external: int = 0
    external_per_minute: MinuteCounts = field(default_factory=MinuteCounts)
    last_external: str | None = None
    modes: Counter[str] = field(default_factory=Counter)
    recent: deque[TradeRecord] = field(default_factory=lambda: deque(maxlen=RECENT))
    last_timestamp: str | None = None

    def add_all(self, records: list[TradeRecord]) -> None:
        for rec in records:
            self.count += 1
            self.by_status[rec.status or "unknown"] += 1
            self.shares += rec.filled_shares or ZERO
            self.notional += rec.notional or ZERO
            self.fees += rec.fee or ZERO
            self.modes[rec.execution_mode or "unknown"] += 1
            if rec.external:
                self.external += 1
                self.external_per_minute.add(rec.timestamp)
                self.last_external = rec.timestamp
        if records:
            self.recent.extend(records[-RECENT:])
            self.last_timestamp = records[-1].timestamp


@dataclass
class FillsAgg:
    count: int = 0
    events: Counter[str] = field(default_factory=Counter)
    notional: Decimal = ZERO
    fees: Decimal = ZERO
    slippage_x_notional: Decimal = ZERO
    slippage_sum: Decimal = ZERO
    modes: Counter[str] = field(default_factory=Counter)
    last_timestamp: str | None = None

    def add_all(self, records: list[FillRecord]) -> None:
        for rec in records:
            self.count += 1
            self.events[rec.event or "unknown"] += 1
            notional = rec.notional or ZERO
            slippage = rec.slippage or ZERO
            self.notional += notional
            self.fees += rec.fees or ZERO
            self.slippage_sum += slippage
            self.slippage_x_notional += slippage * notional
            self.modes[rec.execution_mode or "unknown"] += 1
        if records:
            self.last_timestamp = records[-1].timestamp

    @property
    def average_slippage(self) -> Decimal | None:
        """Notional-weighted slippage (price units); plain mean when no notional was recorded."""
        if self.notional:
            return self.slippage_x_notional / self.notional
        if self.count:
            return self.slippage_sum / self.count
        return None


@dataclass
class RiskAgg:
    approved: int = 0
    rejected: int = 0
    reasons: BoundedCounter = field(default_factory=BoundedCounter)
    last_timestamp: str | None = None

    def add_all(self, records: list[RiskRecord]) -> None:
        for rec in records:
            approved = rec.approved
            if approved is None and rec.risk is not None:
                approved = rec.risk.approved
            if approved:
                self.approved += 1
                continue
            self.rejected += 1
            for reason in _rejections(rec):
                self.reasons.add(reason)
        if records:
            self.last_timestamp = records[-1].timestamp


def _rejections(rec: RiskRecord) -> list[str]:
    risk = rec.risk
    if risk is None:
        return ["unknown"]
    if risk.rejections:
        return risk.rejections
    if risk.factors:
        failed = [name for name, factor in risk.factors.items() if factor.approved is False]
        if failed:
            return failed
    return ["unknown"]


@dataclass
class RealizedAgg:
    """The realized summary recomputed from `realized_exits.jsonl` (used when the trader's
    `realized_summary.json` is missing)."""

    count: int = 0
    wins: int = 0
    losses: int = 0
    pnl: Decimal = ZERO
    fees: Decimal = ZERO
    win_sum: Decimal = ZERO
    loss_sum: Decimal = ZERO
    reasons: Counter[str] = field(default_factory=Counter)
    curve: deque[tuple[str, Decimal]] = field(default_factory=lambda: deque(maxlen=CURVE_POINTS))

    def add_all(self, records: list[ExitRecord]) -> None:
        for rec in records:
            pnl = rec.pnl or ZERO
            self.count += 1
            self.pnl += pnl
            self.fees += rec.fees or ZERO
            self.reasons[rec.reason or "exit"] += 1
            if pnl > 0:
                self.wins += 1
                self.win_sum += pnl
            elif pnl < 0:
                self.losses += 1
                self.loss_sum += pnl
            self.curve.append((rec.timestamp, self.pnl))


A = TypeVar("A", OrdersAgg, TradesAgg, FillsAgg, RiskAgg, RealizedAgg)


class Stream(Generic[A]):
    """One JSONL file: its tail, its decoder and its aggregate."""

    def __init__(self, path: Path, record: type[Any], factory: Callable[[], A]) -> None:
        self.tail = JsonlTail(path)
        self.decoder: LineDecoder[Any] = LineDecoder(record)
        self.factory: Callable[[], A] = factory
        self.agg: A = factory()
        self.records = 0

    def poll(self, max_bytes: int) -> tuple[bool, bool]:
        """(changed, caught_up)."""
        batch = self.tail.poll(max_bytes)
        if batch.reset:
            self.agg = self.factory()
            self.records = 0
        records = self.decoder.decode(batch.lines)
        self.agg.add_all(records)
        self.records += len(records)
        return bool(batch.lines) or batch.reset, batch.caught_up

    def stats(self) -> dict[str, Any]:
        tail: TailStats = self.tail.stats()
        return {
            "exists": tail.exists,
            "size": tail.size,
            "offset": tail.offset,
            "records": self.records,
            "malformed": self.decoder.malformed,
            "recovered": self.decoder.recovered,
            "rotations": tail.rotations,
            "truncations": tail.truncations,
        }


SNAPSHOTS = {
    "pipeline_status": "pipeline_status.json",
    "realized_summary": "realized_summary.json",
    "open_positions": "open_positions.json",
    "backtest_frontier": "backtest_frontier.json",
}


@dataclass
class FeedRates:
    """Messages per second between the last two distinct status snapshots."""

    ws: float | None = None
    rest: float | None = None


class ReportsState:
    """Everything the monitor knows, refreshed incrementally from `reports_dir`.

    Thread-safe: `refresh()` and readers take `lock` (the app runs both in a worker thread).
    """

    def __init__(
        self,
        reports_dir: Path,
        *,
        clock: Callable[[], float] = time.time,
        max_bytes_per_poll: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.reports_dir = reports_dir
        self.clock = clock
        self.max_bytes_per_poll = max_bytes_per_poll
        self.lock = threading.RLock()
        self.orders = Stream(reports_dir / "orders.jsonl", OrderRecord, OrdersAgg)
        self.trades = Stream(reports_dir / "trades.jsonl", TradeRecord, TradesAgg)
        self.fills = Stream(reports_dir / "fills.jsonl", FillRecord, FillsAgg)
        self.risk = Stream(reports_dir / "risk_audit.jsonl", RiskRecord, RiskAgg)
        self.realized = Stream(reports_dir / "realized_exits.jsonl", ExitRecord, RealizedAgg)
        self.snapshots = {
            name: JsonSnapshot(reports_dir / file) for name, file in SNAPSHOTS.items()
        }
        self.version = 0
        self.caught_up = False
        self.refreshes = 0
        self.rates = FeedRates()
        self.io_errors_grew_at: float | None = None
        self._last_status_point: tuple[float, dict[str, float]] | None = None
        self._last_io_total: int | None = None

    @property
    def streams(self) -> dict[str, Stream[Any]]:
        return {
            "orders": self.orders,
            "trades": self.trades,
            "fills": self.fills,
            "risk_audit": self.risk,
            "realized_exits": self.realized,
        }

    def snapshot(self, name: str) -> dict[str, Any] | None:
        return self.snapshots[name].value

    def refresh(self) -> bool:
        """Fold in whatever changed on disk; True when anything did."""
        with self.lock:
            changed = False
            caught_up = True
            for stream in self.streams.values():
                stream_changed, stream_caught_up = stream.poll(self.max_bytes_per_poll)
                changed |= stream_changed
                caught_up &= stream_caught_up
            for name, snap in self.snapshots.items():
                if snap.poll():
                    changed = True
                    if name == "pipeline_status":
                        self._on_status(snap.value)
            self.caught_up = caught_up
            self.refreshes += 1
            if changed:
                self.version += 1
            return changed

    def catch_up(self) -> int:
        """Refresh until every stream is read to its end; the number of refreshes it took."""
        rounds = 1
        self.refresh()
        while not self.caught_up:
            self.refresh()
            rounds += 1
        return rounds

    def close(self) -> None:
        with self.lock:
            for stream in self.streams.values():
                stream.tail.close()

    def _on_status(self, status: dict[str, Any] | None) -> None:
        if status is None:
            return
        fetch = status.get("fetch_info")
        updated = parse_iso(status.get("updated_at"))
        messages = fetch.get("messages") if isinstance(fetch, dict) else None
        if updated is not None and isinstance(messages, dict):
            point = {k: float(v) for k, v in messages.items() if _is_number(v)}
            previous = self._last_status_point
            if previous is not None and updated > previous[0]:
                dt = updated - previous[0]
                rates = {
                    k: (point[k] - previous[1][k]) / dt
                    for k in point
                    if k in previous[1] and point[k] >= previous[1][k]
                }
                self.rates = FeedRates(ws=rates.get("ws"), rest=rates.get("rest"))
            if previous is None or updated > previous[0]:
                self._last_status_point = (updated, point)
        io_errors = status.get("io_errors")
        if isinstance(io_errors, dict):
            total = sum(int(v) for v in io_errors.values() if _is_number(v))
            if self._last_io_total is not None and total > self._last_io_total:
                self.io_errors_grew_at = self.clock()
            self._last_io_total = total


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_iso(value: object) -> float | None:
    """ISO-8601 (`...Z` or with an offset) -> Unix seconds; None for anything else."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def to_json_number(value: Decimal | None) -> float | None:
    """Decimal sums go out as JSON numbers (money to 1e-6, as the reports write them)."""
    return None if value is None else float(round(value, 6))


def json_bytes(document: Any) -> bytes:
    return msgspec.json.encode(document)
