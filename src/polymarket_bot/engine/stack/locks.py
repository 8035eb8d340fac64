"""Pid lock files: the start lock of the launcher and the one-engine-per-wallet lock.

A lock file holds `{"pid": N, ...}` and is created with O_EXCL, so of two processes racing for it
exactly one wins. A lock whose pid no longer runs is stale and is replaced.

The wallet lock (docs/OPERATIONS.md, field notes "one engine per wallet") is keyed by the account
that orders are placed for: the funder address, else the signing key's address. Two traders on
one account race each other and double-order, even from two checkouts with two `run/`
directories, so LIVE wallet locks live in a per-user directory (`POLY_WALLET_LOCK_DIR`, default
`~/.polymarket-bot/locks`). OFFLINE trades a throwaway key made per run and DRY-RUN places no
order, so those lock `offline` / `dry-run` inside the run directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from polymarket_bot.config.model import Settings
from polymarket_bot.core.modes import RunMode
from polymarket_bot.engine.stack.procs import is_running

__all__ = [
    "WALLET_LOCK_DIR_ENV",
    "LockHeld",
    "PidLock",
    "claim_wallet",
    "wallet_key",
    "wallet_lock",
]

WALLET_LOCK_DIR_ENV = "POLY_WALLET_LOCK_DIR"


class LockHeld(Exception):
    """The lock belongs to a running process."""

    def __init__(self, path: Path, pid: int, info: Mapping[str, Any]) -> None:
        super().__init__(f"{path} is held by pid {pid}")
        self.path = path
        self.pid = pid
        self.info = dict(info)


class PidLock:
    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, Any] | None:
        try:
            value = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def holder(self) -> int | None:
        """The pid holding the lock if it runs, else None (no lock, unreadable or stale)."""
        info = self.read()
        pid = info.get("pid") if info is not None else None
        if isinstance(pid, int) and not isinstance(pid, bool) and is_running(pid):
            return pid
        return None

    def acquire(self, pid: int, **info: Any) -> None:
        """Take the lock for `pid`; LockHeld if another running process has it. Taking a lock
        the same pid already holds is a no-op rewrite."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps({"pid": pid, "since_epoch": time.time(), **info})
        for _ in range(5):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                current = self.read()
                holder = self.holder()
                if holder == pid:
                    self.update(pid, **info)
                    return
                if holder is not None:
                    raise LockHeld(self.path, holder, current or {}) from None
                if current is None and self._young():
                    time.sleep(0.05)  # being written by its creator right now
                    continue
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()  # stale: its holder is gone
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
            return
        raise LockHeld(self.path, -1, {"reason": "lock file keeps changing"})

    def _young(self) -> bool:
        try:
            return time.time() - self.path.stat().st_mtime < 1.0
        except OSError:
            return False

    def update(self, pid: int, **info: Any) -> None:
        """Hand the lock to `pid` (the launcher passes it to the child it started)."""
        current = self.read() or {}
        current.update(info)
        current["pid"] = pid
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        temp.write_text(json.dumps(current), encoding="utf-8")
        os.replace(temp, self.path)

    def release(self, pid: int | None = None) -> bool:
        """Remove the lock if `pid` holds it (or, without a pid, if its holder is gone)."""
        info = self.read()
        if info is None:
            if self.path.exists() and not self._young():
                with contextlib.suppress(OSError):
                    self.path.unlink()
            return False
        holder = info.get("pid")
        if (pid is not None and holder == pid) or (
            not isinstance(holder, int) or not is_running(holder)
        ):
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return True
        return False


def wallet_key(settings: Settings) -> str:
    """The account a trader with these settings places orders for."""
    mode = settings.run_mode
    if mode is RunMode.OFFLINE:
        return "offline"
    if mode is RunMode.DRY_RUN:
        return "dry-run"
    cred = settings.credentials
    if cred.funder:
        return cred.funder.lower()
    if cred.private_key is not None:
        from polymarket_bot.protocol.eip712 import PrivateKeySigner

        return PrivateKeySigner(cred.private_key.get_secret_value()).address.lower()
    return "unknown"


def wallet_lock(
    settings: Settings, *, environ: Mapping[str, str] | None = None, lock_dir: Path | None = None
) -> PidLock:
    """The wallet lock for these settings (see the module docstring for where it lives)."""
    key = wallet_key(settings)
    if lock_dir is None:
        if key.startswith("0x"):
            env = os.environ if environ is None else environ
            named = env.get(WALLET_LOCK_DIR_ENV)
            lock_dir = (
                Path(named).expanduser() if named else Path.home() / ".polymarket-bot" / "locks"
            )
        else:
            lock_dir = settings.paths.run_dir
    return PidLock(lock_dir / f"wallet-{key}.lock")


def claim_wallet(
    settings: Settings, *, pid: int | None = None, environ: Mapping[str, str] | None = None
) -> PidLock:
    """Take the wallet lock for a trader process (`trade` started by hand or by the stack).

    A lock held by this process's parent counts as ours: the stack launcher holds it while it
    starts the trader and hands it over. LockHeld (with the holder's pid) otherwise. Release it
    on exit with `lock.release(pid)`."""
    lock = wallet_lock(settings, environ=environ)
    me = os.getpid() if pid is None else pid
    holder = lock.holder()
    if holder is not None and holder in (me, os.getppid()):
        lock.update(me, role="trade", wallet=wallet_key(settings))
        return lock
    lock.acquire(me, role="trade", wallet=wallet_key(settings))
    return lock
