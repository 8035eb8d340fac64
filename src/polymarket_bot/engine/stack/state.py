"""`run/stack.json`: what the launcher started, so `stack stop` and `stack status` (other
processes, later) find exactly those processes.

```json
{"version": 1, "started_at": "2025-10-13T10:00:00.000Z", "launcher_pid": 4242,
 "cwd": "/srv/bot", "run_mode": "offline", "port": 8888, "dashboard": "http://127.0.0.1:8888/",
 "run_dir": "/srv/bot/run", "reports_dir": "/srv/bot/reports", "logs_dir": "/srv/bot/logs",
 "wallet_lock": "/srv/bot/run/wallet-offline.lock",
 "processes": [{"role": "trade", "pid": 4243, "command": ["/srv/bot/.venv/bin/python", "-m",
   "polymarket_bot", "trade", "--interval", "60"], "port": null,
   "started_at": "2025-10-13T10:00:00.120Z", "started_epoch": 1760349600.12,
   "identity": "linux:123456", "log": "/srv/bot/logs/stack-trade.log",
   "pid_file": "/srv/bot/run/trade.pid"}, ...]}
```

Also the launcher's answers: `StopReport` (per process `StopOutcome`) and `StackStatus` (per
process `ProcessStatus`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from polymarket_bot.engine.stack.specs import Health
from polymarket_bot.storage.snapshots import read_json, write_json_atomic

__all__ = [
    "STACK_FILE",
    "ChildRecord",
    "ProcessStatus",
    "StackState",
    "StackStatus",
    "StopOutcome",
    "StopReport",
    "read_state",
    "write_state",
]

STACK_FILE = "stack.json"
_VERSION = 1


@dataclass(slots=True)
class ChildRecord:
    role: str
    pid: int
    command: list[str]
    port: int | None
    started_at: str
    started_epoch: float
    identity: str | None
    log: str
    pid_file: str | None
    """The pid file that names this process (written by the launcher or by the process)."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChildRecord:
        return cls(
            role=str(data["role"]),
            pid=int(data["pid"]),
            command=[str(part) for part in data.get("command") or []],
            port=int(data["port"]) if data.get("port") is not None else None,
            started_at=str(data.get("started_at") or ""),
            started_epoch=float(data.get("started_epoch") or 0.0),
            identity=str(data["identity"]) if data.get("identity") else None,
            log=str(data.get("log") or ""),
            pid_file=str(data["pid_file"]) if data.get("pid_file") else None,
        )


@dataclass(slots=True)
class StackState:
    started_at: str
    launcher_pid: int
    cwd: str
    run_mode: str
    port: int
    dashboard: str
    run_dir: str = ""
    reports_dir: str = ""
    logs_dir: str = ""
    wallet_lock: str | None = None
    processes: list[ChildRecord] = field(default_factory=list)
    version: int = _VERSION

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StackState:
        return cls(
            started_at=str(data.get("started_at") or ""),
            launcher_pid=int(data.get("launcher_pid") or 0),
            cwd=str(data.get("cwd") or ""),
            run_mode=str(data.get("run_mode") or ""),
            port=int(data.get("port") or 0),
            dashboard=str(data.get("dashboard") or ""),
            run_dir=str(data.get("run_dir") or ""),
            reports_dir=str(data.get("reports_dir") or ""),
            logs_dir=str(data.get("logs_dir") or ""),
            wallet_lock=str(data["wallet_lock"]) if data.get("wallet_lock") else None,
            processes=[ChildRecord.from_json(p) for p in data.get("processes") or []],
            version=int(data.get("version") or _VERSION),
        )

    def process(self, role: str) -> ChildRecord | None:
        return next((p for p in self.processes if p.role == role), None)


def read_state(run_dir: Path) -> StackState | None:
    """The recorded stack, or None if there is none (a corrupt file counts as none)."""
    data = read_json(run_dir / STACK_FILE)
    if data is None:
        return None
    try:
        return StackState.from_json(data)
    except (KeyError, TypeError, ValueError):
        return None


def write_state(run_dir: Path, state: StackState) -> None:
    write_json_atomic(run_dir / STACK_FILE, state.to_json(), fsync=True)


# -- what stop and status report ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StopOutcome:
    role: str
    pid: int
    result: str
    """`stopped` (exited after the graceful request), `killed` (forced after the timeout),
    `not running` (already gone: stale record), `pid reused` (left alone), `failed`."""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.result != "failed"


@dataclass(slots=True)
class StopReport:
    run_dir: Path
    found: bool
    """A stack was recorded in run/stack.json."""
    outcomes: list[StopOutcome] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    """Stale pid and lock files deleted."""

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)


@dataclass(frozen=True, slots=True)
class ProcessStatus:
    record: ChildRecord
    running: bool
    health: Health | None


@dataclass(slots=True)
class StackStatus:
    run_dir: Path
    state: StackState | None
    processes: list[ProcessStatus] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.state is not None and any(p.running for p in self.processes)

    @property
    def healthy(self) -> bool:
        return (
            self.state is not None
            and bool(self.processes)
            and all(p.running and p.health is not None and p.health.ok for p in self.processes)
        )
