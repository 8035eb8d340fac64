"""Status shapes of order tracking in `pipeline_status.json` (seed §12, docs/REPORTS.md).

`fetch_info.orders_ws`: `{status: ok|degraded|disabled, failures, cooldown_remaining_seconds,
last_success_epoch, last_error_epoch, last_error}` (+ *(ours)* `reason` when disabled);
`fetch_info.orders_rest`: `{running, interval_seconds, limit, success, errors, last_success_epoch,
last_error_epoch, last_error}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["PollStats", "disabled_ws_status", "ws_section"]


def disabled_ws_status(reason: str) -> dict[str, Any]:
    """`orders_ws` when the user channel is not run, saying why (seed §13)."""
    return {
        "status": "disabled",
        "failures": 0,
        "cooldown_remaining_seconds": 0,
        "last_success_epoch": None,
        "last_error_epoch": None,
        "last_error": None,
        "reason": reason,
    }


def ws_section(raw: dict[str, Any]) -> dict[str, Any]:
    """A `UserStream.status()` in the seed's three states: `connecting` and `stopped` (never
    open yet / shut down) are `degraded` for the operator: no events are arriving."""
    out = dict(raw)
    if out.get("status") not in ("ok", "disabled"):
        out["state"] = out.get("status")
        out["status"] = "degraded"
    return out


@dataclass(slots=True)
class PollStats:
    """Counters of the REST polling fallback (`fetch_info.orders_rest`)."""

    interval_seconds: float
    limit: int
    running: bool = False
    success: int = 0
    errors: int = 0
    last_success_epoch: float | None = None
    last_error_epoch: float | None = None
    last_error: str | None = None
    orders_seen: int = 0
    trades_seen: int = 0
    fills_booked: int = 0
    mode: str = "audit"
    """`fallback` while the user channel is degraded (every interval), `audit` otherwise."""

    def ok(self, now: float) -> None:
        self.success += 1
        self.last_success_epoch = now

    def error(self, now: float, message: str) -> None:
        self.errors += 1
        self.last_error_epoch = now
        self.last_error = message

    def section(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "interval_seconds": self.interval_seconds,
            "limit": self.limit,
            "success": self.success,
            "errors": self.errors,
            "last_success_epoch": self.last_success_epoch,
            "last_error_epoch": self.last_error_epoch,
            "last_error": self.last_error,
            "mode": self.mode,
            "orders_seen": self.orders_seen,
            "trades_seen": self.trades_seen,
            "fills_booked": self.fills_booked,
        }
