"""Where execution writes its report records (docs/REPORTS.md).

`storage.ReportSink` satisfies `ExecutionSink` (the four `record_*` methods take a dict and never
raise on I/O trouble); `MemorySink` keeps the records in lists for tests and backtests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["ExecutionSink", "MemorySink"]


class ExecutionSink(Protocol):
    """The part of `storage.ReportSink` execution uses; each call appends one record."""

    def record_order(self, record: Mapping[str, Any]) -> object:
        """orders.jsonl: submit | partial | filled | cancel | reject | reconcile | expired."""
        ...

    def record_trade(self, record: Mapping[str, Any]) -> object:
        """trades.jsonl: one incremental fill (or a void correction)."""
        ...

    def record_fill(self, record: Mapping[str, Any]) -> object:
        """fills.jsonl: execution telemetry, entry | exit."""
        ...

    def record_exit(self, record: Mapping[str, Any]) -> object:
        """realized_exits.jsonl: one realized exit (or a void correction)."""
        ...


@dataclass(slots=True)
class MemorySink:
    """Records kept in memory, in order (tests, backtests)."""

    orders: list[dict[str, Any]] = field(default_factory=list)
    trades: list[dict[str, Any]] = field(default_factory=list)
    fills: list[dict[str, Any]] = field(default_factory=list)
    exits: list[dict[str, Any]] = field(default_factory=list)

    def record_order(self, record: Mapping[str, Any]) -> object:
        self.orders.append(dict(record))
        return None

    def record_trade(self, record: Mapping[str, Any]) -> object:
        self.trades.append(dict(record))
        return None

    def record_fill(self, record: Mapping[str, Any]) -> object:
        self.fills.append(dict(record))
        return None

    def record_exit(self, record: Mapping[str, Any]) -> object:
        self.exits.append(dict(record))
        return None
