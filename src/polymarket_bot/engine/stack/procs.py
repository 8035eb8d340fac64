"""Process primitives of the stack launcher, one implementation per platform family.

* `spawn_detached`: a child in its own session (POSIX) or process group (Windows), stdin closed,
  stdout/stderr appended to a log file, so it outlives the launcher and a Ctrl-C in the
  launcher's terminal never reaches it.
* `is_running`: alive and not a zombie (a detached child's parent may be an init that does not
  reap, so `kill(pid, 0)` alone would report a dead child as running).
* `process_identity`: the kernel's start time of a pid, recorded at spawn and compared before
  signalling, so a recycled pid is never signalled.
* `request_stop` / `force_kill`: SIGTERM to the child's process group (CTRL_BREAK on Windows),
  then SIGKILL (TerminateProcess).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from polymarket_bot.config.reload import pid_alive, read_pid

__all__ = [
    "force_kill",
    "is_running",
    "process_identity",
    "read_pid",
    "reap",
    "request_stop",
    "same_process",
    "spawn_detached",
    "write_pid_file",
]

_WINDOWS = sys.platform == "win32"
_CREATE_NEW_PROCESS_GROUP = 0x00000200
_CREATE_NO_WINDOW = 0x08000000

# Runs in a helper process: a console control event can only be sent to a process sharing the
# sender's console, so the helper leaves its own console and joins the child's first.
_WINDOWS_BREAK = r"""
import ctypes, sys
k = ctypes.windll.kernel32
k.FreeConsole()
if not k.AttachConsole(int(sys.argv[1])):
    sys.exit(2)
k.SetConsoleCtrlHandler(None, True)
ok = k.GenerateConsoleCtrlEvent(1, 0)
k.FreeConsole()
sys.exit(0 if ok else 3)
"""


def _linux_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (field 3 first), or None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    _, _, rest = raw.rpartition(")")
    return rest.split()


def is_running(pid: int) -> bool:
    """The process exists and has not exited (zombies count as exited)."""
    if pid <= 0 or not pid_alive(pid):
        return False
    if sys.platform.startswith("linux"):
        fields = _linux_stat(pid)
        if fields is not None and fields and fields[0] in ("Z", "X"):
            return False
    return True


def process_identity(pid: int) -> str | None:
    """The process's start time as the kernel reports it (None where unavailable)."""
    if sys.platform.startswith("linux"):
        fields = _linux_stat(pid)
        # starttime is field 22 of stat: index 19 counting from field 3.
        return f"linux:{fields[19]}" if fields is not None and len(fields) > 19 else None
    if _WINDOWS:
        return _windows_creation_time(pid)
    return None


def _windows_creation_time(pid: int) -> str | None:  # pragma: no cover - Windows only
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined,unused-ignore]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return None
    try:
        times = [wintypes.FILETIME() for _ in range(4)]
        if not kernel32.GetProcessTimes(handle, *(ctypes.byref(t) for t in times)):
            return None
        created = times[0]
        return f"win:{(created.dwHighDateTime << 32) | created.dwLowDateTime}"
    finally:
        kernel32.CloseHandle(handle)


def same_process(pid: int, identity: str | None) -> bool:
    """`pid` runs and is the process recorded with `identity` (unknown identities match)."""
    if not is_running(pid):
        return False
    if identity is None:
        return True
    current = process_identity(pid)
    return current is None or current == identity


def spawn_detached(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    log_path: Path,
) -> subprocess.Popen[bytes]:
    """Start `argv` detached from the caller's terminal; output appended to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {}
    if _WINDOWS:
        kwargs["creationflags"] = _CREATE_NEW_PROCESS_GROUP | _CREATE_NO_WINDOW
    else:
        kwargs["start_new_session"] = True
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            close_fds=True,
            **kwargs,
        )


def _own_group(pid: int) -> bool:
    """The pid leads its own process group (a detached child): signal the whole group."""
    try:
        return os.getpgid(pid) == pid and os.getpgid(0) != pid
    except OSError:
        return False


def request_stop(pid: int) -> bool:
    """Ask the process to stop cleanly; False if it could not be signalled."""
    try:
        if _WINDOWS:  # pragma: no cover - Windows only
            return _windows_break(pid)
        if _own_group(pid):
            os.killpg(pid, signal.SIGTERM)
        else:
            os.kill(pid, signal.SIGTERM)
    except OSError:
        return False
    return True


def _windows_break(pid: int) -> bool:  # pragma: no cover - Windows only
    try:
        done = subprocess.run(
            [sys.executable, "-c", _WINDOWS_BREAK, str(pid)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            creationflags=_CREATE_NO_WINDOW,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def force_kill(pid: int) -> None:
    """SIGKILL the process (and its group); TerminateProcess on Windows."""
    with contextlib.suppress(OSError):
        if _WINDOWS:  # pragma: no cover - Windows only
            os.kill(pid, signal.SIGTERM)  # TerminateProcess
        elif _own_group(pid):
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)


def reap(pid: int) -> None:
    """Collect the exit status if `pid` is our own child (no zombie left behind)."""
    if _WINDOWS:  # pragma: no cover - Windows only
        return
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def write_pid_file(path: Path, pid: int) -> None:
    """`{"pid": N}` (the format the trader writes), replaced atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(json.dumps({"pid": pid}), encoding="utf-8")
    os.replace(temp, path)
