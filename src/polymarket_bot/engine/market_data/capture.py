"""The market-feed recorder (`--record DIR`), writing the capture format of docs/CAPTURE.md.

    <dir>/market-YYYYmmddTHHMMSS-<n>.jsonl.gz
    {"recv_ms": 1766790415550, "channel": "market", "data": "<the frame's text, as received>"}

One line per received frame (outgoing frames and PONGs are not written). The stamp is the UTC
start of the recorder session; `<n>` counts files within it and moves on once a file reaches
`max_bytes` compressed. Every `flush_interval` seconds the gzip stream is sync-flushed, so a
crash loses at most that much (readers keep every line before a truncated member).

Recording must never hurt the feed: an I/O error is counted and logged, the recorder closes the
file and tries a fresh one after `retry_after` seconds; frames meanwhile are dropped and counted.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import logging
import re
import zlib
from pathlib import Path
from typing import Any, Final

import msgspec

from polymarket_bot.core.clock import Clock, LiveClock

__all__ = ["CAPTURE_FILE", "CaptureRecorder", "capture_stamp"]

_log = logging.getLogger(__name__)

CAPTURE_FILE: Final = re.compile(
    r"^(?P<channel>[a-z]+)-(?P<stamp>\d{8}T\d{6})-(?P<n>\d+)\.jsonl\.gz$"
)


class _Line(msgspec.Struct, gc=False):
    """Field order is the line's key order (docs/CAPTURE.md)."""

    recv_ms: int
    channel: str
    data: str


_encode = msgspec.json.Encoder().encode


def capture_stamp(epoch_s: float) -> str:
    return dt.datetime.fromtimestamp(epoch_s, tz=dt.timezone.utc).strftime("%Y%m%dT%H%M%S")


class CaptureRecorder:
    """`open()`, `write(frame, recv_ts)` per frame, `maybe_flush()` now and then, `close()`."""

    def __init__(
        self,
        directory: Path | str,
        *,
        channel: str = "market",
        max_bytes: int = 64 * 1024 * 1024,
        flush_interval: float = 1.0,
        compresslevel: int = 6,
        retry_after: float = 10.0,
        clock: Clock | None = None,
    ) -> None:
        if max_bytes < 1024:
            raise ValueError("max_bytes must be at least 1024")
        self.directory = Path(directory)
        self.channel = channel
        self.max_bytes = max_bytes
        self.flush_interval = flush_interval
        self.compresslevel = compresslevel
        self.retry_after = retry_after
        self._clock = clock or LiveClock()
        self.stamp: str | None = None
        self.n = 0
        self._raw: io.BufferedWriter | None = None
        self._gz: gzip.GzipFile | None = None
        self._flushed_at = 0.0
        self._dirty = False
        self._failed_at: float | None = None
        self.path: Path | None = None
        self.files: list[Path] = []
        # counters
        self.frames = 0
        self.bytes_in = 0
        """Uncompressed line bytes written."""
        self.errors = 0
        self.dropped = 0
        self.last_error: str | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def open(self) -> None:
        """Start a recorder session (a new stamp) and its first file. Raises OSError if the
        directory cannot be used at all (an operator error worth failing loudly on)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.stamp = capture_stamp(self._clock.time())
        # A restart within the same second keeps numbering after the files already there.
        self.n = max(
            (
                int(m["n"])
                for p in self.directory.iterdir()
                if (m := CAPTURE_FILE.match(p.name))
                and m["stamp"] == self.stamp
                and m["channel"] == self.channel
            ),
            default=0,
        )
        self._open_next()

    def close(self) -> None:
        self._close_file()

    @property
    def is_open(self) -> bool:
        return self._gz is not None

    # --- writing --------------------------------------------------------------------------

    def write(self, data: bytes | str, recv_ts: float) -> None:
        """Record one frame received at `recv_ts` (Unix seconds)."""
        gz = self._gz
        if gz is None:
            self.dropped += 1
            self._maybe_reopen()
            return
        text = data if isinstance(data, str) else data.decode("utf-8", "replace")
        line = _encode(_Line(round(recv_ts * 1000), self.channel, text))
        try:
            gz.write(line)
            gz.write(b"\n")
            self.frames += 1
            self.bytes_in += len(line) + 1
            self._dirty = True
            raw = self._raw
            if raw is not None and raw.tell() >= self.max_bytes:
                self._close_file()
                self._open_next()
            else:
                self.maybe_flush()
        except OSError as exc:
            self._fail(exc)

    def maybe_flush(self) -> None:
        """Sync-flush the gzip stream if `flush_interval` passed since the last flush."""
        if not self._dirty or self._gz is None:
            self._maybe_reopen()
            return
        now = self._clock.monotonic()
        if now - self._flushed_at < self.flush_interval:
            return
        try:
            self._gz.flush(zlib.Z_SYNC_FLUSH)
            if self._raw is not None:
                self._raw.flush()
        except OSError as exc:
            self._fail(exc)
            return
        self._flushed_at = now
        self._dirty = False

    # --- internals ------------------------------------------------------------------------

    def _open_next(self) -> None:
        if self.stamp is None:
            raise RuntimeError("CaptureRecorder.open() first")
        self.n += 1
        path = self.directory / f"{self.channel}-{self.stamp}-{self.n}.jsonl.gz"
        raw = open(path, "xb")  # noqa: SIM115 - closed by _close_file
        self._raw = raw
        self._gz = gzip.GzipFile(
            filename="", mode="wb", fileobj=raw, compresslevel=self.compresslevel, mtime=0
        )
        self.path = path
        self.files.append(path)
        self._flushed_at = self._clock.monotonic()
        self._dirty = False

    def _close_file(self) -> None:
        gz, raw = self._gz, self._raw
        self._gz = self._raw = None
        try:
            if gz is not None:
                gz.close()
        except OSError as exc:
            self._count_error(exc)
        finally:
            if raw is not None:
                try:
                    raw.close()
                except OSError as exc:
                    self._count_error(exc)

    def _fail(self, exc: OSError) -> None:
        self._count_error(exc)
        self._failed_at = self._clock.monotonic()
        self._close_file()

    def _count_error(self, exc: OSError) -> None:
        self.errors += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        if self.errors <= 5 or self.errors % 100 == 0:
            _log.warning("capture: write failed (%s); frames are dropped meanwhile", exc)

    def _maybe_reopen(self) -> None:
        if self._failed_at is None or self.stamp is None:
            return
        if self._clock.monotonic() - self._failed_at < self.retry_after:
            return
        self._failed_at = None
        try:
            self._open_next()
        except OSError as exc:
            self._fail(exc)

    def status(self) -> dict[str, Any]:
        return {
            "directory": str(self.directory),
            "file": None if self.path is None else self.path.name,
            "files": len(self.files),
            "frames": self.frames,
            "bytes_uncompressed": self.bytes_in,
            "dropped": self.dropped,
            "errors": self.errors,
            "last_error": self.last_error,
        }
