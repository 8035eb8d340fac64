"""Operator controls: the monitor writes the operator's requests to a file the trader reads.

Contract (docs/MONITOR.md, "Operator controls"): `<run_dir>/control.json`, replaced atomically,
written only by the monitor:

    {"version": 1, "revision": 7, "updated_at": "2025-10-13T10:07:00.000Z",
     "paused": false, "kill_switch": false,
     "cancel_all": {"seq": 2, "requested_at": "2025-10-13T10:05:00.000Z"},
     "last_action": {"action": "cancel_all", "at": "...", "client": "127.0.0.1"}}

`paused` and `kill_switch` are levels (they hold until changed, across trader restarts);
`cancel_all.seq` is an edge: the trader cancels every open order once per new seq. The trader
acknowledges in `pipeline_status.json` -> `controls` (`control_revision`, `cancel_all_seq`).

It lives in `observability` because both sides use it: the monitor writes (`ControlWriter`), the
trader reads (`read_control_state`).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

CONTROL_FILE = "control.json"
CONTROL_VERSION = 1


class ControlAction(str, Enum):
    PAUSE = "pause"
    """Stop opening positions; exits, cancels and reconciliation go on."""
    RESUME = "resume"
    """Undo `pause` (does not release the kill switch)."""
    CANCEL_ALL = "cancel_all"
    """Cancel every open order once (trading goes on unless paused)."""
    KILL_SWITCH = "kill_switch"
    """Cancel every open order and send no new order at all until released."""
    RELEASE_KILL_SWITCH = "release_kill_switch"


@dataclass(frozen=True)
class CancelAll:
    seq: int = 0
    requested_at: str | None = None


@dataclass(frozen=True)
class ControlState:
    revision: int = 0
    updated_at: str | None = None
    paused: bool = False
    kill_switch: bool = False
    cancel_all: CancelAll = field(default_factory=CancelAll)
    last_action: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"version": CONTROL_VERSION, **asdict(self)}


def iso_ms(epoch: float) -> str:
    millis = round(epoch * 1000)
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(millis // 1000)) + f".{millis % 1000:03d}Z"
    )


def read_control_state(run_dir: Path) -> ControlState:
    """The requested state; defaults when the file is missing or unreadable."""
    try:
        raw = json.loads((run_dir / CONTROL_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ControlState()
    if not isinstance(raw, dict):
        return ControlState()
    cancel = raw.get("cancel_all") if isinstance(raw.get("cancel_all"), dict) else {}
    assert isinstance(cancel, dict)
    last = raw.get("last_action")
    return ControlState(
        revision=_int(raw.get("revision")),
        updated_at=raw.get("updated_at") if isinstance(raw.get("updated_at"), str) else None,
        paused=raw.get("paused") is True,
        kill_switch=raw.get("kill_switch") is True,
        cancel_all=CancelAll(
            seq=_int(cancel.get("seq")),
            requested_at=cancel.get("requested_at")
            if isinstance(cancel.get("requested_at"), str)
            else None,
        ),
        last_action=last if isinstance(last, dict) else None,
    )


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def next_state(state: ControlState, action: ControlAction, *, at: str, client: str) -> ControlState:
    paused, kill, cancel = state.paused, state.kill_switch, state.cancel_all
    if action is ControlAction.PAUSE:
        paused = True
    elif action is ControlAction.RESUME:
        paused = False
    elif action is ControlAction.CANCEL_ALL:
        cancel = CancelAll(seq=cancel.seq + 1, requested_at=at)
    elif action is ControlAction.KILL_SWITCH:
        kill = True
        cancel = CancelAll(seq=cancel.seq + 1, requested_at=at)
    elif action is ControlAction.RELEASE_KILL_SWITCH:
        kill = False
    return replace(
        state,
        revision=state.revision + 1,
        updated_at=at,
        paused=paused,
        kill_switch=kill,
        cancel_all=cancel,
        last_action={"action": action.value, "at": at, "client": client},
    )


class ControlWriter:
    """Read-modify-write of control.json under a lock; one monitor per run_dir writes it."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self.run_dir / CONTROL_FILE

    def read(self) -> ControlState:
        return read_control_state(self.run_dir)

    def apply(self, action: ControlAction, *, now: float, client: str) -> ControlState:
        with self._lock:
            state = next_state(self.read(), action, at=iso_ms(now), client=client)
            write_json_atomic(self.path, state.to_json())
            return state


def write_json_atomic(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(document, fh, indent=2, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class TokenCheck(str, Enum):
    OK = "ok"
    DISABLED = "disabled"
    """No token configured: controls are off."""
    MISSING = "missing"
    INVALID = "invalid"


def check_token(configured: str | None, presented: str | None) -> TokenCheck:
    if not configured:
        return TokenCheck.DISABLED
    if not presented:
        return TokenCheck.MISSING
    if hmac.compare_digest(configured.encode(), presented.encode()):
        return TokenCheck.OK
    return TokenCheck.INVALID


def presented_token(authorization: str | None, x_control_token: str | None) -> str | None:
    """`Authorization: Bearer <token>` or `X-Control-Token: <token>`."""
    if x_control_token:
        return x_control_token.strip()
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return None
