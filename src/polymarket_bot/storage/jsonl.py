"""JSONL streams: append-safe writers, torn-line tolerant streaming readers, and a tailer.

Writing: one `os.write` of one whole encoded line per record on a descriptor opened with
`O_APPEND`, so processes appending to the same file never interleave inside a line (POSIX local
files). A crash mid-write can leave a torn last line; the next writer that opens the file sees the
missing newline and starts with one, so the torn fragment stays a line of its own (skipped and
counted by readers) instead of swallowing the next record. A failed write (disk full, read-only
`reports/`) is counted and the line is kept in a bounded pending queue that is retried, in order,
before the next write and on `retry_pending()`.

Reading: `iter_jsonl` is a generator (constant memory whatever the file size); it skips blank,
torn and malformed lines and counts them in a `ReadStats`. Floats decode as exact `Decimal`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import msgspec

log = logging.getLogger(__name__)

DEFAULT_MAX_PENDING: Final = 10_000
_NEWLINE: Final = b"\n"


def _enc_hook(obj: object) -> object:
    # Anything msgspec does not know (Path, set, custom ids) is written as its text.
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=str)
    return str(obj)


_ENCODER: Final = msgspec.json.Encoder(decimal_format="number", enc_hook=_enc_hook)


def encode_record(record: Mapping[str, Any]) -> bytes:
    """One JSONL line (with its newline). Decimals are JSON numbers with all their digits."""
    buffer = bytearray()
    _ENCODER.encode_into(record, buffer)
    buffer += _NEWLINE
    return bytes(buffer)


_RECORD_DECODER: Final = msgspec.json.Decoder(float_hook=Decimal)


def decode_record(line: bytes) -> dict[str, Any] | None:
    """The record on one line, or None if it is not a JSON object (torn, malformed, blank)."""
    try:
        value = _RECORD_DECODER.decode(line)
    except msgspec.DecodeError:
        return None
    return value if isinstance(value, dict) else None


class JsonlWriter:
    """Appends records to one JSONL file; never raises on I/O errors (they are counted).

    errors: failed write attempts (each retry that fails counts again, like the seed's io_errors).
    dropped: lines lost because the pending queue was full (oldest first) or unencodable.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        max_pending: int = DEFAULT_MAX_PENDING,
        fsync: bool = False,
    ) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be >= 1")
        self.path = Path(path)
        self.max_pending = max_pending
        self.fsync = fsync
        self.errors = 0
        self.dropped = 0
        self.written = 0
        self.last_error: str | None = None
        self._fd: int | None = None
        self._needs_newline = False
        self._pending: deque[bytes] = deque()
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def write(self, record: Mapping[str, Any]) -> bool:
        """Append one record. True when it (and everything pending before it) is in the file."""
        try:
            line = encode_record(record)
        except Exception as exc:  # e.g. an object without a text form: count it, never raise
            with self._lock:
                self.errors += 1
                self.dropped += 1
                self.last_error = f"unencodable record: {exc}"
            log.error("%s: record not written, cannot encode it: %s", self.path.name, exc)
            return False
        return self.write_line(line)

    def write_line(self, line: bytes) -> bool:
        """Append one already-encoded line (must end with a newline)."""
        with self._lock:
            if (not self._pending or self._drain()) and self._write_now(line):
                return True
            self._enqueue(line)  # behind the older pending lines: order is kept
            return False

    def retry_pending(self) -> bool:
        """Write what earlier failures left pending; True when nothing is pending any more."""
        with self._lock:
            return self._drain()

    def close(self) -> None:
        with self._lock:
            self._drain()
            if self._fd is not None:
                try:
                    os.close(self._fd)
                except OSError:
                    pass
                self._fd = None

    # -- internals (caller holds the lock) -------------------------------------------------------

    def _enqueue(self, line: bytes) -> None:
        if len(self._pending) >= self.max_pending:
            self._pending.popleft()
            self.dropped += 1
        self._pending.append(line)

    def _drain(self) -> bool:
        while self._pending:
            if not self._write_now(self._pending[0]):
                return False
            self._pending.popleft()
        return True

    def _open(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                self._needs_newline = self._needs_newline or not _ends_with_newline(fd)
            except OSError:
                os.close(fd)
                raise
            self._fd = fd
        return self._fd

    def _write_now(self, line: bytes) -> bool:
        try:
            fd = self._open()
            data = _NEWLINE + line if self._needs_newline else line
            written = os.write(fd, data)
            if written != len(data):
                # A short write (disk full) left a torn line: end it before the retry.
                self._needs_newline = written > 0 or self._needs_newline
                raise OSError(f"short write ({written} of {len(data)} bytes)")
            self._needs_newline = False
            if self.fsync:
                os.fsync(fd)
        except OSError as exc:
            self.errors += 1
            self.last_error = str(exc)
            if self._fd is not None and not isinstance(exc, BlockingIOError):
                # Reopen next time: the file may have been removed or the volume remounted.
                try:
                    os.close(self._fd)
                except OSError:
                    pass
                self._fd = None
            if self.errors == 1 or self.errors % 1000 == 0:
                log.warning("%s: write failed (%d so far): %s", self.path.name, self.errors, exc)
            return False
        self.written += 1
        return True


def _ends_with_newline(fd: int) -> bool:
    """Whether the file is empty or ends with a newline (else a crash left a torn line)."""
    size = os.fstat(fd).st_size
    if size == 0:
        return True
    if hasattr(os, "pread"):
        return os.pread(fd, 1, size - 1) == _NEWLINE
    os.lseek(fd, size - 1, os.SEEK_SET)  # Windows; O_APPEND still appends at the end
    return os.read(fd, 1) == _NEWLINE


@dataclass(slots=True)
class ReadStats:
    """What a reader saw: `malformed` counts torn or invalid lines, `blank` empty ones."""

    lines: int = 0
    records: int = 0
    malformed: int = 0
    blank: int = 0
    missing: bool = False

    def merge(self, other: ReadStats) -> None:
        self.lines += other.lines
        self.records += other.records
        self.malformed += other.malformed
        self.blank += other.blank


def iter_jsonl(path: Path | str, stats: ReadStats | None = None) -> Iterator[dict[str, Any]]:
    """Stream the records of a JSONL file; a missing file yields nothing (`stats.missing`)."""
    stats = stats if stats is not None else ReadStats()
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the with below, after the check
    except FileNotFoundError:
        stats.missing = True
        return
    with handle:
        for raw in handle:
            stats.lines += 1
            line = raw.strip()
            if not line:
                stats.blank += 1
                continue
            record = decode_record(line)
            if record is None:
                stats.malformed += 1
                continue
            stats.records += 1
            yield record


class JsonlTailer:
    """Reads records appended since the last poll (for incremental aggregation, e.g. the monitor).

    A line is consumed only once its newline is there, so a record being written is never read
    half. A truncated or replaced file (rotation, archival) is read again from its start.
    """

    def __init__(
        self, path: Path | str, *, from_end: bool = False, max_line_bytes: int = 1 << 20
    ) -> None:
        self.path = Path(path)
        self.stats = ReadStats()
        self.max_line_bytes = max_line_bytes
        self._offset = 0
        self._inode: int | None = None
        self._partial = b""
        if from_end:
            try:
                st = self.path.stat()
            except FileNotFoundError:
                return
            self._offset, self._inode = st.st_size, st.st_ino

    def poll(self, max_bytes: int = 8 << 20) -> list[dict[str, Any]]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return []
        if st.st_ino != self._inode or st.st_size < self._offset:
            self._offset, self._inode, self._partial = 0, st.st_ino, b""
        if st.st_size == self._offset:
            return []
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read(max_bytes)
        except OSError:
            return []
        self._offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(_NEWLINE)
        self._partial = lines.pop()
        if len(self._partial) > self.max_line_bytes:  # garbage without newlines: give up on it
            self.stats.malformed += 1
            self._partial = b""
        records: list[dict[str, Any]] = []
        for raw in lines:
            self.stats.lines += 1
            line = raw.strip()
            if not line:
                self.stats.blank += 1
                continue
            record = decode_record(line)
            if record is None:
                self.stats.malformed += 1
                continue
            self.stats.records += 1
            records.append(record)
        return records
