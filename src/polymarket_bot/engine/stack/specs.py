"""What the stack runs: one `ProcessSpec` per role, each with its health check.

* `trade`: `polymarket-launch trade --interval N [--live]`; healthy once `pipeline_status.json`
  has been written by *this* process (its `trader.started_epoch`, else `updated_at`, is not older
  than the spawn) and is fresh. A pid alone is not health: a trader stuck in its start-up (venue
  unreachable) is alive and trades nothing. The trader writes `run/trade.pid` itself.
* `monitor`: `polymarket-launch monitor --port P`; healthy when `GET /healthz` answers 200.
* `orders-ws`: the order tracker as its own process, only when the command exists and API keys
  are configured (it authenticates on the user channel); healthy when alive after a grace period.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import httpx

from polymarket_bot.config.model import Settings
from polymarket_bot.core.modes import RunMode
from polymarket_bot.engine.stack.procs import is_running, read_pid
from polymarket_bot.storage.snapshots import read_json

__all__ = [
    "AliveHealth",
    "Health",
    "HealthCheck",
    "HttpHealth",
    "ProcessSpec",
    "TraderHealth",
    "build_specs",
    "probe_host",
]

STATUS_FILE = "pipeline_status.json"
TRADER_PID_FILE = "trade.pid"
ORDERS_WS_COMMAND = "orders-ws"


@dataclass(frozen=True, slots=True)
class Health:
    ok: bool
    detail: str


class HealthCheck(Protocol):
    def check(self, pid: int, started_epoch: float) -> Health: ...

    def describe(self) -> str: ...


@dataclass(frozen=True, slots=True)
class HttpHealth:
    url: str
    timeout: float = 2.0

    def check(self, pid: int, started_epoch: float) -> Health:
        try:
            response = httpx.get(self.url, timeout=self.timeout)
        except httpx.HTTPError as error:
            return Health(False, f"GET {self.url}: {type(error).__name__}")
        if response.status_code != 200:
            return Health(False, f"GET {self.url}: HTTP {response.status_code}")
        return Health(True, f"GET {self.url}: 200")

    def describe(self) -> str:
        return f"GET {self.url} answers 200"


def _epoch(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


@dataclass(frozen=True, slots=True)
class TraderHealth:
    reports_dir: Path
    run_dir: Path
    max_age: float = 60.0
    """`updated_at` older than this: the trader is hung (it writes every few seconds)."""

    def check(self, pid: int, started_epoch: float) -> Health:
        owner = read_pid(self.run_dir / TRADER_PID_FILE)
        if owner is not None and owner != pid and is_running(owner):
            return Health(False, f"{TRADER_PID_FILE} names another trader (pid {owner})")
        status = read_json(self.reports_dir / STATUS_FILE)
        if status is None:
            return Health(False, f"no {STATUS_FILE} yet")
        trader = status.get("trader")
        began = _epoch(trader.get("started_epoch")) if isinstance(trader, dict) else None
        updated = _epoch(status.get("updated_at"))
        if updated is None:
            return Health(False, f"{STATUS_FILE} has no updated_at")
        # A status file from an earlier run proves nothing about this one (1 s clock slack).
        if (began if began is not None else updated) < started_epoch - 1.0:
            return Health(False, f"{STATUS_FILE} is from an earlier run")
        age = time.time() - updated
        if age > self.max_age:
            return Health(False, f"{STATUS_FILE} is {age:.0f} s old (hung?)")
        fetch = status.get("fetch_info")
        source = fetch.get("current_source") if isinstance(fetch, dict) else None
        return Health(True, f"status {age:.1f} s old, market data {source or '?'}")

    def describe(self) -> str:
        return f"{self.reports_dir / STATUS_FILE} written by this process and fresh"


@dataclass(frozen=True, slots=True)
class AliveHealth:
    grace_seconds: float = 2.0

    def check(self, pid: int, started_epoch: float) -> Health:
        if not is_running(pid):
            return Health(False, "not running")
        up = time.time() - started_epoch
        if up < self.grace_seconds:
            return Health(False, f"starting ({up:.1f} s)")
        return Health(True, f"running for {up:.0f} s")

    def describe(self) -> str:
        return f"still running after {self.grace_seconds:g} s"


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    role: str
    args: tuple[str, ...]
    """The `polymarket-launch` sub-command and its options."""
    health: HealthCheck
    port: int | None = None
    pid_file: str | None = None
    """Written by the launcher under run/ (None: the process writes its own, as `trade` does)."""
    own_pid_file: str | None = None
    """The pid file the process writes itself (cleaned up if left stale)."""
    stop_timeout: float = 30.0
    env: dict[str, str] = field(default_factory=dict)


def probe_host(host: str) -> str:
    """Where the launcher reaches a server bound to `host`."""
    if host in ("", "0.0.0.0", "::", "localhost"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def build_specs(
    settings: Settings,
    *,
    port: int,
    interval: float,
    live: bool = False,
    commands: Collection[str] = (),
    trade_args: Sequence[str] = (),
    log_level: str = "INFO",
    stop_timeout: float = 30.0,
) -> list[ProcessSpec]:
    """The stack's processes for these settings, in start order."""
    trade = ["trade", "--interval", f"{interval:g}", "--log-level", log_level]
    if live:
        trade.append("--live")
    trade.extend(trade_args)
    base = f"http://{probe_host(settings.monitor.host)}:{port}"
    specs = [
        ProcessSpec(
            "trade",
            tuple(trade),
            TraderHealth(settings.paths.reports_dir, settings.paths.run_dir),
            own_pid_file=TRADER_PID_FILE,
            stop_timeout=stop_timeout,
        ),
        ProcessSpec(
            "monitor",
            ("monitor", "--port", str(port), "--log-level", log_level),
            HttpHealth(f"{base}/healthz"),
            port=port,
            pid_file="monitor.pid",
            stop_timeout=min(stop_timeout, 15.0),
        ),
    ]
    if wants_orders_ws(settings, commands):
        specs.append(
            ProcessSpec(
                ORDERS_WS_COMMAND,
                (ORDERS_WS_COMMAND, "--log-level", log_level),
                AliveHealth(),
                pid_file=f"{ORDERS_WS_COMMAND}.pid",
                stop_timeout=min(stop_timeout, 15.0),
            )
        )
    return specs


def wants_orders_ws(settings: Settings, commands: Collection[str]) -> bool:
    """The separate order tracker runs when it exists, is enabled and can authenticate (OFFLINE
    keys are made inside the trader per run, so OFFLINE never runs it)."""
    return (
        ORDERS_WS_COMMAND in commands
        and settings.run_mode is not RunMode.OFFLINE
        and settings.service.use_order_ws
        and settings.credentials.has_api_credentials
    )
