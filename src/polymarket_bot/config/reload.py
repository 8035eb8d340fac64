"""Hot reload: a running trader re-reads disk and environment on request, keeps its old
configuration if the new one is invalid, applies hot keys at once and lists the restart-only keys
that changed.

Trader side (the composition root owns one `ConfigReloader`):

    reloader = ConfigReloader(loaded, load=lambda: load_settings(overrides=cli_overrides))
    reloader.subscribe(lambda settings, result: engine.apply(settings))
    reloader.start(loop)                 # ready file + SIGHUP handler (POSIX)
    await reloader.run(stop_event)       # answers run/config.reload requests
    reloader.close()

Client side (`polymarket-launch config reload`): `request_reload(run_dir)` writes the request file,
sends SIGHUP when the trader advertised it, and polls (with a deadline) for the result file.

Files in run_dir: `config.reload` (request), `config.reload.result` (answer, JSON),
`config.reload.ready` (pid of a trader whose reloader is listening).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from polymarket_bot.config.display import display_value
from polymarket_bot.config.errors import ConfigError
from polymarket_bot.config.loader import ConfigValue, LoadedConfig, load_settings
from polymarket_bot.config.model import Settings
from polymarket_bot.config.settings import is_hot_reloadable
from polymarket_bot.config.sources import flatten_mapping

log = logging.getLogger(__name__)

REQUEST_FILE = "config.reload"
RESULT_FILE = "config.reload.result"
READY_FILE = "config.reload.ready"
TRADER_PID_FILE = "trade.pid"


class _Absent:
    """A key that exists on one side of a diff only (a strategy added or removed)."""

    def __repr__(self) -> str:
        return "<absent>"


ABSENT: Any = _Absent()


@dataclass(frozen=True)
class ConfigChange:
    key: str
    old: Any
    new: Any
    hot: bool

    def to_json(self) -> dict[str, Any]:
        def shown(value: Any) -> Any:
            return "<absent>" if value is ABSENT else display_value(self.key, value)

        return {"key": self.key, "old": shown(self.old), "new": shown(self.new)}


def diff_settings(old: Settings, new: Settings) -> list[ConfigChange]:
    """Every leaf key whose value differs, sorted by key (secrets compare by value)."""
    before = dict(flatten_mapping(old.model_dump(by_alias=True)))
    after = dict(flatten_mapping(new.model_dump(by_alias=True)))
    changes = []
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key, ABSENT), after.get(key, ABSENT)
        if a is ABSENT or b is ABSENT or a != b:
            changes.append(ConfigChange(key, a, b, is_hot_reloadable(key)))
    return changes


@dataclass(frozen=True)
class ReloadResult:
    ok: bool
    request_id: str
    started_at: float
    finished_at: float
    pid: int
    applied: tuple[dict[str, Any], ...] = ()
    """Hot keys now in effect: `{"key", "old", "new"}` with secrets masked."""
    restart_required: tuple[dict[str, Any], ...] = ()
    """Changed keys that take effect only after a restart (not applied)."""
    error: str | None = None
    """Why the new configuration was rejected (the old one stays)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "request_id": self.request_id,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "pid": self.pid,
            "applied": list(self.applied),
            "restart_required": list(self.restart_required),
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReloadResult:
        return cls(
            ok=bool(data["ok"]),
            request_id=str(data["request_id"]),
            started_at=float(data["started_at"]),
            finished_at=float(data["finished_at"]),
            pid=int(data["pid"]),
            applied=tuple(data.get("applied") or ()),
            restart_required=tuple(data.get("restart_required") or ()),
            error=data.get("error"),
        )


Subscriber = Callable[[Settings, ReloadResult], None]


class ConfigReloader:
    """Holds the trader's current configuration and replaces it on `reload()`."""

    def __init__(
        self,
        initial: LoadedConfig,
        *,
        load: Callable[[], LoadedConfig] | None = None,
        run_dir: Path | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._current = initial
        self._load = load or (
            lambda: load_settings(base_dir=initial.base_dir, config_file=initial.config_file)
        )
        self.run_dir = run_dir or initial.settings.paths.run_dir
        self._now = wall_clock
        self._subscribers: list[Subscriber] = []
        self._signalled = False
        self._wake: asyncio.Event | None = None
        self._sighup_installed = False

    @property
    def current(self) -> LoadedConfig:
        return self._current

    @property
    def settings(self) -> Settings:
        return self._current.settings

    def subscribe(self, callback: Subscriber) -> None:
        """Called with the new effective settings after each successful reload with changes."""
        self._subscribers.append(callback)

    def reload(self, request_id: str = "direct") -> ReloadResult:
        """Re-load and validate; on success apply the hot changes, else keep the old config."""
        started = self._now()
        old = self._current
        try:
            new = self._load()
        except ConfigError as exc:
            log.error("config reload rejected, keeping the running configuration:\n%s", exc)
            return self._result(False, request_id, started, error=str(exc))
        changes = diff_settings(old.settings, new.settings)
        hot = [c for c in changes if c.hot]
        cold = [c for c in changes if not c.hot]
        try:
            effective = _effective(old, new, {c.key for c in cold})
        except ValidationError as exc:  # a hot value only valid with a restart-only change
            error = f"config error: the hot changes are invalid without a restart: {exc}"
            log.error("config reload rejected: %s", error)
            return self._result(False, request_id, started, error=error)
        result = self._result(True, request_id, started, hot, cold)
        self._current = effective
        if hot:
            self._apply_log_level(old.settings, effective.settings)
            for callback in self._subscribers:
                try:
                    callback(effective.settings, result)
                except Exception:
                    log.exception("config reload subscriber %r failed", callback)
        log.info(
            "config reloaded: %d hot change(s) applied, %d need a restart%s",
            len(hot),
            len(cold),
            f" ({', '.join(c.key for c in cold)})" if cold else "",
        )
        return result

    def _result(
        self,
        ok: bool,
        request_id: str,
        started: float,
        hot: list[ConfigChange] | None = None,
        cold: list[ConfigChange] | None = None,
        error: str | None = None,
    ) -> ReloadResult:
        return ReloadResult(
            ok=ok,
            request_id=request_id,
            started_at=started,
            finished_at=self._now(),
            pid=os.getpid(),
            applied=tuple(c.to_json() for c in hot or ()),
            restart_required=tuple(c.to_json() for c in cold or ()),
            error=error,
        )

    @staticmethod
    def _apply_log_level(old: Settings, new: Settings) -> None:
        if old.logging.level != new.logging.level:
            logging.getLogger().setLevel(new.logging.level)

    # -- the request-file / SIGHUP protocol --------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Advertise this reloader (ready file) and install the SIGHUP handler where possible."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._sighup_installed = self._install_sighup(loop)
        _write_json(
            self.run_dir / READY_FILE,
            {"pid": os.getpid(), "sighup": self._sighup_installed, "started_at": self._now()},
        )

    def close(self) -> None:
        """Withdraw the ready file (and the SIGHUP handler)."""
        path = self.run_dir / READY_FILE
        with contextlib.suppress(OSError, ValueError):
            if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
                path.unlink()
        if self._sighup_installed and hasattr(signal, "SIGHUP"):
            with contextlib.suppress(RuntimeError, ValueError):
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self._sighup_installed = False

    def _install_sighup(self, loop: asyncio.AbstractEventLoop | None) -> bool:
        if not hasattr(signal, "SIGHUP"):
            return False  # Windows: the request file alone
        try:
            running = loop or asyncio.get_running_loop()
            running.add_signal_handler(signal.SIGHUP, self._on_sighup)
        except (RuntimeError, NotImplementedError, ValueError):
            return False
        return True

    def _on_sighup(self) -> None:
        self._signalled = True
        if self._wake is not None:
            self._wake.set()

    def check_request(self) -> ReloadResult | None:
        """Serve a pending request (file or SIGHUP): reload and write the result file."""
        request = self.run_dir / REQUEST_FILE
        claimed = self.run_dir / (REQUEST_FILE + ".claimed")
        request_id = None
        try:
            # Claim by rename: a request written while we reload stays for the next check.
            os.replace(request, claimed)
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("cannot claim %s: %s", request, exc)
        else:
            try:
                request_id = str(json.loads(claimed.read_text(encoding="utf-8"))["request_id"])
            except (OSError, ValueError, KeyError, TypeError):
                request_id = "unreadable-request"
            with contextlib.suppress(OSError):
                claimed.unlink()
        if request_id is None and not self._signalled:
            return None
        self._signalled = False
        result = self.reload(request_id or "sighup")
        try:
            _write_json(self.run_dir / RESULT_FILE, result.to_json())
        except OSError as exc:
            log.error("cannot write the reload result: %s", exc)
        return result

    async def run(self, stop: asyncio.Event, poll_seconds: float = 1.0) -> None:
        """Serve requests until `stop` is set; SIGHUP wakes it at once."""
        self._wake = asyncio.Event()
        try:
            while not stop.is_set():
                self._wake.clear()  # before the check: a SIGHUP during it wakes the next wait
                self.check_request()
                stopper = asyncio.ensure_future(stop.wait())
                waker = asyncio.ensure_future(self._wake.wait())
                try:
                    await asyncio.wait(
                        {stopper, waker}, timeout=poll_seconds, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    stopper.cancel()
                    waker.cancel()
        finally:
            self._wake = None


def _effective(old: LoadedConfig, new: LoadedConfig, restart_keys: set[str]) -> LoadedConfig:
    """`new` with every restart-only key kept at its old value (and old provenance)."""
    if not restart_keys:
        return new
    tree = new.settings.model_dump(by_alias=True)
    for key in restart_keys:
        _set_path(tree, key, old.values[key].value if key in old.values else ABSENT)
    settings = Settings.model_validate(tree)
    values: dict[str, ConfigValue] = {}
    for key, value in sorted(flatten_mapping(settings.model_dump(by_alias=True))):
        origin = old.values if key in restart_keys else new.values
        values[key] = ConfigValue(value, origin[key].source if key in origin else "default")
    origins = {k: v for k, v in new.origins.items() if k not in restart_keys}
    origins.update({k: v for k, v in old.origins.items() if k in restart_keys})
    return LoadedConfig(
        settings=settings,
        values=values,
        base_dir=new.base_dir,
        config_file=new.config_file,
        env_file=new.env_file,
        origins=origins,
        warnings=new.warnings,
    )


def _set_path(tree: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = tree
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    if value is ABSENT:
        node.pop(parts[-1], None)
    else:
        node[parts[-1]] = value


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Atomic write: readers see the old file or the whole new one."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


# -- client side ---------------------------------------------------------------------------------


def read_pid(path: Path) -> int | None:
    """A pid file holds the pid as text (or JSON with a `pid` field); None if absent/unreadable."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    pid = value.get("pid") if isinstance(value, dict) else value
    return pid if isinstance(pid, int) and not isinstance(pid, bool) and pid > 0 else None


def pid_alive(pid: int) -> bool:
    if sys.platform == "win32":
        import ctypes

        # os.kill(pid, 0) would terminate the process on Windows; ask the kernel instead.
        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        try:
            code = ctypes.c_ulong()
            ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
            return bool(ok) and code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class TraderStatus:
    pid: int | None
    """A live trader's pid, None when no trader is running."""
    listening: bool
    """Its reloader advertised itself (ready file)."""
    sighup: bool
    """It handles SIGHUP (so signalling it is safe)."""


def trader_status(run_dir: Path) -> TraderStatus:
    trade_pid = read_pid(run_dir / TRADER_PID_FILE)
    ready_pid, sighup = None, False
    try:
        ready = json.loads((run_dir / READY_FILE).read_text(encoding="utf-8"))
        if isinstance(ready, dict) and isinstance(ready.get("pid"), int):
            ready_pid, sighup = ready["pid"], bool(ready.get("sighup"))
    except (OSError, ValueError):
        pass
    if ready_pid is not None and not pid_alive(ready_pid):
        ready_pid = None
    if trade_pid is not None and not pid_alive(trade_pid):
        trade_pid = None
    pid = trade_pid or ready_pid
    listening = ready_pid is not None and (trade_pid is None or trade_pid == ready_pid)
    return TraderStatus(pid=pid, listening=listening, sighup=listening and sighup)


def request_reload(
    run_dir: Path,
    *,
    timeout: float = 10.0,
    poll_seconds: float = 0.1,
    send_signal: bool = True,
) -> ReloadResult | None:
    """Ask the running trader to reload; its result, or None if none came before the deadline.

    The request stays queued after a timeout (the trader serves it when it next polls).
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    requested_at = time.time()
    request_id = uuid.uuid4().hex
    _write_json(
        run_dir / REQUEST_FILE,
        {"request_id": request_id, "requested_at": requested_at, "pid": os.getpid()},
    )
    status = trader_status(run_dir)
    if send_signal and status.sighup and status.pid is not None and hasattr(signal, "SIGHUP"):
        with contextlib.suppress(OSError):
            os.kill(status.pid, signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while True:
        result = _read_result(run_dir / RESULT_FILE)
        # Another client's request served after ours was written covers ours too.
        if result is not None and (
            result.request_id == request_id or result.started_at >= requested_at
        ):
            return result
        if time.monotonic() >= deadline:
            return None
        time.sleep(poll_seconds)


def _read_result(path: Path) -> ReloadResult | None:
    try:
        return ReloadResult.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
