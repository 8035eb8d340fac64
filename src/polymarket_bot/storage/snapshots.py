"""JSON snapshot files (`open_positions.json`, `realized_summary.json`, `pipeline_status.json`):
written whole to a temporary file in the same directory, then `os.replace`d over the old one, so a
reader (or a crash) only ever sees the old or the new complete file.

`pipeline_status.json` is shared by processes (docs/REPORTS.md): each one owns some sections and
`merge_status` replaces only those, under an advisory lock file so two writers do not lose each
other's update (read-modify-replace is serialized; readers never need the lock).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import msgspec

from polymarket_bot.storage.jsonl import encode_record

try:  # POSIX advisory locks; Windows falls back to in-process locking only.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

_DECODER = msgspec.json.Decoder()
_THREAD_LOCK = threading.Lock()


def write_json_atomic(path: Path | str, data: Mapping[str, Any], *, fsync: bool = False) -> None:
    """Replace `path` with `data` as JSON (Decimal as numbers). Raises OSError on failure (the
    old file is then untouched). `fsync=True` also survives a power loss, not only a crash."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = encode_record(data)
    temp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    if fsync:
        _fsync_dir(target.parent)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_json(path: Path | str) -> dict[str, Any] | None:
    """The JSON object in `path`; None if it is missing, unreadable or not an object."""
    try:
        raw = Path(path).read_bytes()
    except OSError:
        return None
    try:
        value = _DECODER.decode(raw)
    except msgspec.DecodeError:
        try:  # tolerate files written by other tools (NaN, etc.)
            value = json.loads(raw)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with _THREAD_LOCK:
        if fcntl is None:
            yield
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock


def set_path(tree: dict[str, Any], dotted: str, value: Any) -> None:
    """`tree["a"]["b"] = value` for `"a.b"`, creating (or replacing non-object) parents."""
    parts = dotted.split(".")
    node = tree
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def merge_status(
    path: Path | str,
    sections: Mapping[str, Any],
    *,
    updated_at: str | None = None,
    fsync: bool = False,
) -> dict[str, Any]:
    """Replace the given sections of a shared status file, keeping every other section.

    Keys are section names or dotted paths (`"fetch_info.orders_ws"` replaces only that part of
    `fetch_info`). An unreadable existing file is started afresh. Returns the merged document.
    Raises OSError if the file cannot be written.
    """
    target = Path(path)
    with _locked(target):
        document = read_json(target) or {}
        for key, value in sections.items():
            set_path(document, key, value)
        if updated_at is not None:
            document["updated_at"] = updated_at
        write_json_atomic(target, document, fsync=fsync)
    return document
