"""Incremental readers of report files: JSONL streams tailed from a remembered byte offset, JSON
snapshots re-read only when the file changed.

A `JsonlTail` hands out complete lines only. Bytes after the last newline (a line still being
written, or torn by a crash) stay pending until their newline arrives. It follows the path, not
the file, the way `tail -F` does:

- growth: only the new bytes are read (one `stat` when nothing changed);
- rotation or replacement (the path names another file): the old file is drained to its end when
  it is still open, then the new one is read from 0; aggregates carry on (history was archived);
- truncation (same file, now shorter than what was read): `TailBatch.reset` is set, the file is
  re-read from 0 and the consumer starts its aggregates over (history was erased or rewritten);
- deletion: the old file is drained, then the tail waits for the path to come back.

On POSIX the file stays open between polls so a rotation loses nothing; on Windows it is reopened
per read, because an open handle would stop the writer from renaming the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import msgspec

_KEEP_OPEN = os.name == "posix"
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
"""Most bytes one poll reads from one file, so a long catch-up is done in bounded steps."""


@dataclass
class TailBatch:
    lines: list[bytes] = field(default_factory=list)
    reset: bool = False
    """The file was truncated: drop what was aggregated from it, `lines` start from byte 0."""
    caught_up: bool = True
    """False when the poll stopped at `max_bytes` before the end of the file."""


@dataclass(frozen=True)
class TailStats:
    path: str
    exists: bool
    size: int
    offset: int
    """Bytes of the current file consumed as complete lines."""
    lines: int
    """Complete lines handed out since the monitor started (all files at this path)."""
    rotations: int
    truncations: int


class JsonlTail:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: BinaryIO | None = None
        self._ident: tuple[int, int] | None = None
        self._read_pos = 0
        self._pending = b""
        self._size = 0
        self._exists = False
        self.lines = 0
        self.rotations = 0
        self.truncations = 0
        self.discarded_partial = 0
        """Torn last lines of rotated or deleted files (they never got their newline)."""

    @property
    def offset(self) -> int:
        return self._read_pos - len(self._pending)

    def stats(self) -> TailStats:
        return TailStats(
            path=str(self.path),
            exists=self._exists,
            size=self._size,
            offset=self.offset,
            lines=self.lines,
            rotations=self.rotations,
            truncations=self.truncations,
        )

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def poll(self, max_bytes: int = DEFAULT_MAX_BYTES) -> TailBatch:
        batch = TailBatch()
        try:
            st = os.stat(self.path)
        except OSError:
            self._exists = False
            if self._ident is not None:
                self._drain_old(batch)
            return batch
        self._exists = True
        self._size = st.st_size
        ident = (st.st_dev, st.st_ino)
        if self._ident is None:
            self._start(ident)
        elif ident != self._ident:
            self._drain_old(batch)
            self.rotations += 1
            self._start(ident)
        elif st.st_size < self._read_pos:
            self.truncations += 1
            batch.reset = True
            self._read_pos = 0
            self._pending = b""
        if st.st_size == self._read_pos:
            return batch
        want = min(st.st_size - self._read_pos, max_bytes)
        data = self._read(want)
        if data is None:  # vanished between stat and open
            return batch
        self._read_pos += len(data)
        self._split(data, batch)
        batch.caught_up = self._read_pos >= st.st_size
        return batch

    def _start(self, ident: tuple[int, int]) -> None:
        self.close()
        self._ident = ident
        self._read_pos = 0
        self._pending = b""

    def _read(self, want: int) -> bytes | None:
        try:
            fh: BinaryIO
            if self._fh is None:
                fh = open(self.path, "rb")  # noqa: SIM115 - kept open across polls on POSIX
                if _KEEP_OPEN:
                    # The path may already name a newer file than the one we stat'ed; adopt the
                    # identity of what we actually opened.
                    st = os.fstat(fh.fileno())
                    if (st.st_dev, st.st_ino) != self._ident:
                        fh.close()
                        return None
                    self._fh = fh
            else:
                fh = self._fh
            try:
                fh.seek(self._read_pos)
                return fh.read(want)
            finally:
                if not _KEEP_OPEN:
                    fh.close()
        except OSError:
            return None

    def _drain_old(self, batch: TailBatch) -> None:
        """Read what is left of the file we had open (POSIX), then forget it."""
        if self._fh is not None:
            try:
                self._fh.seek(self._read_pos)
                rest = self._fh.read()
            except OSError:
                rest = b""
            self._read_pos += len(rest)
            self._split(rest, batch)
        if self._pending.strip():
            self.discarded_partial += 1
        self._pending = b""
        self.close()
        self._ident = None
        self._read_pos = 0

    def _split(self, data: bytes, batch: TailBatch) -> None:
        if not data:
            return
        buf = self._pending + data if self._pending else data
        cut = buf.rfind(b"\n")
        if cut < 0:
            self._pending = buf
            return
        self._pending = buf[cut + 1 :]
        before = len(batch.lines)
        batch.lines.extend(line for line in buf[:cut].split(b"\n") if line.strip())
        self.lines += len(batch.lines) - before


class JsonSnapshot:
    """A JSON document replaced atomically by its writer; re-parsed only when it changed.

    A document that fails to parse keeps the last good value (and records the error): with atomic
    replace that only happens when someone edits the file by hand.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.value: dict[str, object] | None = None
        self.error: str | None = None
        self.mtime: float | None = None
        self._key: tuple[int, int, int, int] | None = None
        self.changes = 0

    def poll(self) -> bool:
        """True when the value changed."""
        try:
            st = os.stat(self.path)
        except OSError:
            if self._key is None and self.value is None:
                return False
            self._key, self.value, self.mtime, self.error = None, None, None, None
            self.changes += 1
            return True
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        if key == self._key:
            return False
        self._key = key
        self.mtime = st.st_mtime
        try:
            parsed = msgspec.json.decode(Path(self.path).read_bytes())
        except (OSError, msgspec.DecodeError) as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            return False
        if not isinstance(parsed, dict):
            self.error = "not a JSON object"
            return False
        self.error = None
        self.value = parsed
        self.changes += 1
        return True
