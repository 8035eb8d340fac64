"""Recorded market streams (docs/CAPTURE.md): read, pace and summarise them for the simulator.

A capture is a directory of gzip JSONL files `market-YYYYmmddTHHMMSS-<n>.jsonl.gz`, one line per
raw WS frame: `{"recv_ms": <epoch ms>, "channel": "market", "data": "<frame text>"}`.
`iter_capture` streams frames in file order and skips torn or malformed lines (a crash leaves a
half-written last line or a truncated gzip member) while counting them. `ReplaySource` releases
frames at their recorded spacing scaled by `speed` against a caller-supplied monotonic time,
so nothing here reads a clock; `books_at_start()` gives the first `book` snapshot per asset so
the server can answer `GET /book` and the initial WS dump of a replayed asset.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import msgspec

from polymarket_bot.protocol.codec import MarketDecoder
from polymarket_bot.protocol.errors import DecodeError
from polymarket_bot.protocol.wire import (
    BookEvent,
    LastTradePriceEvent,
    PriceChangeEvent,
    TickSizeChangeEvent,
)

__all__ = [
    "CAPTURE_NAME",
    "CaptureStats",
    "CapturedFrame",
    "ReplaySource",
    "capture_file_name",
    "capture_files",
    "iter_capture",
    "write_capture",
]

CAPTURE_NAME: Final = re.compile(
    r"^(?P<channel>[a-z]+)-(?P<stamp>\d{8}T\d{6})-(?P<n>\d+)\.jsonl\.gz$"
)
"""File names of a capture directory; files sort by (stamp, n)."""


class CapturedFrame(msgspec.Struct, frozen=True, gc=False):
    """One received WS frame: `data` is the raw text exactly as received."""

    recv_ms: int
    channel: str
    data: str


_DECODER: Final = msgspec.json.Decoder(CapturedFrame)
_ENCODER: Final = msgspec.json.Encoder()


@dataclass(slots=True)
class CaptureStats:
    """Counters of one read: files opened, frames yielded, lines skipped (torn or malformed),
    files cut short (truncated or corrupt gzip)."""

    files: int = 0
    frames: int = 0
    skipped: int = 0
    truncated_files: int = 0


def capture_file_name(channel: str, stamp: str, n: int) -> str:
    """`market-20260618T120000-3.jsonl.gz` for ("market", "20260618T120000", 3)."""
    name = f"{channel}-{stamp}-{n}.jsonl.gz"
    if not CAPTURE_NAME.match(name):
        raise ValueError(f"not a capture file name: {name}")
    return name


def capture_files(path: str | Path) -> list[Path]:
    """The files of a capture in reading order: `path` itself if it is a file, else the
    capture files in the directory sorted by (stamp, n) numerically."""
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise FileNotFoundError(f"no capture at {p}")
    keyed: list[tuple[str, int, str, Path]] = []
    for child in p.iterdir():
        m = CAPTURE_NAME.match(child.name)
        if m and child.is_file():
            keyed.append((m["stamp"], int(m["n"]), m["channel"], child))
    keyed.sort(key=lambda k: (k[0], k[1], k[2]))
    return [k[3] for k in keyed]


def iter_capture(
    path_or_dir: str | Path, *, stats: CaptureStats | None = None
) -> Iterator[CapturedFrame]:
    """Stream the frames of a capture file or directory, in order. Torn/malformed lines are
    skipped and counted in `stats` (pass one in to read the counters)."""
    counters = stats if stats is not None else CaptureStats()
    for file in capture_files(path_or_dir):
        counters.files += 1
        with gzip.open(file, "rb") as fh:
            try:
                for line in fh:
                    if not line.strip():
                        continue
                    try:
                        frame = _DECODER.decode(line)
                    except msgspec.DecodeError:  # also covers ValidationError
                        counters.skipped += 1
                        continue
                    counters.frames += 1
                    yield frame
            except (EOFError, zlib.error, gzip.BadGzipFile):
                # The writer died mid-member: what was readable has been yielded.
                counters.truncated_files += 1
                counters.skipped += 1


def write_capture(path: str | Path, frames: Iterable[CapturedFrame]) -> int:
    """Write `frames` as one gzip JSONL capture file (tests and tools; the recorder rotates
    files itself). Returns the number of frames written."""
    count = 0
    with gzip.open(Path(path), "wb") as fh:
        for frame in frames:
            fh.write(_ENCODER.encode(frame) + b"\n")
            count += 1
    return count


class ReplaySource:
    """Serves a capture as a live stream. Frames keep their recorded spacing (gaps between
    `recv_ms`) divided by `speed`, measured from the first `frames_due` call; `speed=0` releases
    everything as fast as asked, up to `max_batch` per call. A gap longer than `max_gap_s`
    (e.g. a recorder restart overnight) is shortened to it; a negative gap (the recorder's
    clock stepped back) counts as 0. With `loop` the capture starts over 1 ms after its last
    frame."""

    def __init__(
        self,
        path: str | Path,
        *,
        speed: float = 1.0,
        loop: bool = False,
        max_batch: int = 10_000,
        max_gap_s: float | None = None,
    ) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        if max_batch < 1:
            raise ValueError("max_batch must be >= 1")
        if max_gap_s is not None and max_gap_s < 0:
            raise ValueError("max_gap_s must be >= 0")
        self.path = Path(path)
        self.speed = speed
        self.loop = loop
        self.max_batch = max_batch
        self._max_gap_ms = None if max_gap_s is None else max_gap_s * 1000.0
        self.stats = CaptureStats()
        """Counters of the frames read so far (all passes)."""
        self.frames_released = 0
        self.passes = 0
        self._iter: Iterator[CapturedFrame] | None = None
        self._pending: tuple[CapturedFrame, float] | None = None  # (frame, replay time in ms)
        self._start_now: float | None = None
        self._prev_recv: int | None = None
        self._clock_ms = 0.0  # replay timeline of the last frame read
        self._pass_frames = 0
        self._exhausted = False
        self._scan: _Scan | None = None

    @property
    def done(self) -> bool:
        """True once every frame was released and `loop` is off (or the capture is empty)."""
        return self._exhausted and self._pending is None

    def _next_frame(self) -> tuple[CapturedFrame, float] | None:
        """The next frame and its time on the replay timeline (ms from the first frame)."""
        new_pass = False
        while not self._exhausted:
            if self._iter is None:
                self._iter = iter_capture(self.path, stats=self.stats)
                self.passes += 1
                self._pass_frames = 0
            frame = next(self._iter, None)
            if frame is None:
                self._iter = None
                if not self.loop or self._pass_frames == 0:
                    self._exhausted = True
                new_pass = True
                continue
            if self._prev_recv is not None:
                gap = 1.0 if new_pass else max(frame.recv_ms - self._prev_recv, 0)
                if self._max_gap_ms is not None:
                    gap = min(gap, self._max_gap_ms)
                self._clock_ms += gap
            self._prev_recv = frame.recv_ms
            self._pass_frames += 1
            return frame, self._clock_ms
        return None

    def frames_due(self, now_monotonic: float) -> list[CapturedFrame]:
        """Frames due by `now_monotonic` (seconds of any monotonic clock), in order; the first
        call anchors the capture's first frame to that time."""
        out: list[CapturedFrame] = []
        if self._start_now is None:
            self._pending = self._next_frame()
            if self._pending is None:
                return out
            self._start_now = now_monotonic
        elapsed_ms = (now_monotonic - self._start_now) * 1000.0
        speed = self.speed
        while len(out) < self.max_batch:
            item = self._pending if self._pending is not None else self._next_frame()
            if item is None:
                break
            if speed > 0 and item[1] / speed > elapsed_ms:
                self._pending = item
                break
            self._pending = None
            out.append(item[0])
        self.frames_released += len(out)
        return out

    # --- summary of the capture (one full scan, cached) -----------------------------------

    def asset_ids(self) -> list[str]:
        """Every asset id seen in the capture, in first-seen order."""
        return list(self._summary().markets)

    def market_of(self, asset_id: str) -> str | None:
        """Condition id of `asset_id` as the capture reports it."""
        return self._summary().markets.get(asset_id)

    def books_at_start(self) -> dict[str, BookEvent]:
        """The first `book` snapshot seen per asset (asset id -> decoded event)."""
        return dict(self._summary().books)

    def _summary(self) -> _Scan:
        if self._scan is None:
            self._scan = _Scan(self.path)
        return self._scan


class _Scan:
    """One pass over a capture: asset -> market, first book per asset, decode failures."""

    def __init__(self, path: Path) -> None:
        self.markets: dict[str, str] = {}
        self.books: dict[str, BookEvent] = {}
        self.undecodable = 0
        decoder = MarketDecoder()
        for frame in iter_capture(path):
            if frame.channel != "market":
                continue
            try:
                events = decoder.decode(frame.data)
            except DecodeError:
                self.undecodable += 1
                continue
            for event in events:
                if isinstance(event, BookEvent):
                    self.markets.setdefault(event.asset_id, event.market)
                    self.books.setdefault(event.asset_id, event)
                elif isinstance(event, PriceChangeEvent):
                    for change in event.price_changes:
                        self.markets.setdefault(change.asset_id, event.market)
                elif isinstance(event, LastTradePriceEvent | TickSizeChangeEvent):
                    self.markets.setdefault(event.asset_id, event.market)
