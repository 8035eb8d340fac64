"""The recorder writes docs/CAPTURE.md exactly: the simulator's reader gets the frames back."""

from __future__ import annotations

import gzip
import random
import shutil
from pathlib import Path

from polymarket_bot.core.clock import TestClock
from polymarket_bot.engine.market_data.capture import CAPTURE_FILE, CaptureRecorder
from polymarket_bot.sim.replay import CaptureStats, ReplaySource, capture_files, iter_capture

START = 1_781_784_000.0  # 2026-06-18T12:00:00Z

FRAMES: list[bytes | str] = [
    b'[{"event_type":"book","asset_id":"1","market":"0xm","bids":[{"price":"0.4","size":"10"}],'
    b'"asks":[{"price":"0.6","size":"5"}],"timestamp":"1781784000000","hash":"ab"}]',
    b'{"event_type":"price_change","market":"0xm","price_changes":[{"asset_id":"1","price":"0.41",'
    b'"size":"3","side":"BUY","best_bid":"0.41","best_ask":"0.6"}],"timestamp":"1781784000100"}',
    "NO NEW ASSETS",
    '{"event_type":"new_market","question":"line\u2028separator \u00e9\u6f22"}',  # U+2028 kept
    b'{"bad utf-8":"\xff\xfe"}',
    b'  {"spaces":"kept"}  ',
]


def test_lines_have_the_documented_shape_and_read_back(tmp_path: Path) -> None:
    clock = TestClock(start=START)
    rec = CaptureRecorder(tmp_path, clock=clock)
    rec.open()
    for i, frame in enumerate(FRAMES):
        rec.write(frame, START + i * 0.0125)
    rec.close()
    (only,) = tmp_path.iterdir()
    assert only.name == "market-20260618T120000-1.jsonl.gz"
    raw = gzip.decompress(only.read_bytes()).split(b"\n")
    assert raw[-1] == b"" and len(raw) == len(FRAMES) + 1
    assert raw[0].startswith(b'{"recv_ms":1781784000000,"channel":"market","data":"[{\\"event_type')
    stats = CaptureStats()
    got = list(iter_capture(tmp_path, stats=stats))
    assert stats.frames == len(FRAMES) and stats.skipped == 0 and stats.truncated_files == 0
    expected = [f if isinstance(f, str) else f.decode("utf-8", "replace") for f in FRAMES]
    assert [g.data for g in got] == expected
    assert [g.recv_ms for g in got] == [
        round((START + i * 0.0125) * 1000) for i in range(len(FRAMES))
    ]
    assert {g.channel for g in got} == {"market"}
    assert rec.frames == len(FRAMES) and rec.errors == 0


def test_files_rotate_by_compressed_size_and_read_in_order(tmp_path: Path) -> None:
    clock = TestClock(start=START)
    rec = CaptureRecorder(tmp_path, clock=clock, max_bytes=4096, flush_interval=0.0)
    rec.open()
    rng = random.Random(3)
    frames = [f'{{"n":{i},"noise":"{rng.getrandbits(256):x}"}}' for i in range(400)]
    for i, frame in enumerate(frames):
        rec.write(frame, START + i)
    rec.close()
    files = capture_files(tmp_path)
    assert len(files) >= 5
    numbers = [int(m["n"]) for f in files if (m := CAPTURE_FILE.match(f.name))]
    assert numbers == list(range(1, len(files) + 1))  # -10 after -9: numeric order
    assert all(f.stat().st_size < 4096 + 2048 for f in files)
    assert [fr.data for fr in iter_capture(tmp_path)] == frames


def test_a_crash_keeps_every_flushed_line(tmp_path: Path) -> None:
    clock = TestClock(start=START)
    rec = CaptureRecorder(tmp_path / "live", clock=clock, flush_interval=1.0)
    rec.open()
    for i in range(50):
        rec.write(f'{{"i":{i}}}', START + i)
    clock.advance(1.5)
    rec.maybe_flush()  # what the service's housekeeping does every tick
    rec.write('{"i":"after the flush, may be lost"}', START + 60)
    assert rec.path is not None
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    shutil.copy(rec.path, crashed / rec.path.name)  # the file as a crash would leave it
    rec.close()
    stats = CaptureStats()
    got = [f.data for f in iter_capture(crashed, stats=stats)]
    assert got[:50] == [f'{{"i":{i}}}' for i in range(50)]
    assert stats.truncated_files == 1


def test_a_restart_in_the_same_second_continues_the_numbering(tmp_path: Path) -> None:
    clock = TestClock(start=START)
    first = CaptureRecorder(tmp_path, clock=clock)
    first.open()
    first.write("a", START)
    first.close()
    second = CaptureRecorder(tmp_path, clock=clock)
    second.open()
    second.write("b", START)
    second.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "market-20260618T120000-1.jsonl.gz",
        "market-20260618T120000-2.jsonl.gz",
    ]
    assert [f.data for f in iter_capture(tmp_path)] == ["a", "b"]


def test_replay_source_serves_what_the_recorder_wrote(tmp_path: Path) -> None:
    clock = TestClock(start=START)
    rec = CaptureRecorder(tmp_path, clock=clock)
    rec.open()
    for i, frame in enumerate(FRAMES[:2]):
        rec.write(frame, START + i)
    rec.close()
    source = ReplaySource(tmp_path, speed=0)
    assert source.asset_ids() == ["1"]
    assert source.market_of("1") == "0xm"
    assert list(source.books_at_start()) == ["1"]
    assert [f.data for f in source.frames_due(0.0)] == [f.decode() for f in FRAMES[:2]]  # type: ignore[union-attr]


def test_write_errors_are_counted_and_never_raise(tmp_path: Path) -> None:
    clock = TestClock(start=START)
    target = tmp_path / "capture"
    rec = CaptureRecorder(target, clock=clock, max_bytes=1024, flush_interval=0.0, retry_after=5)
    rec.open()
    shutil.rmtree(target)  # the next rotation cannot create its file (works as root too)
    try:
        for i in range(200):
            rec.write(f'{{"n":{i},"x":"{random.Random(i).getrandbits(128):x}"}}', START + i)
        assert rec.errors >= 1 and rec.dropped > 0 and not rec.is_open
        assert rec.last_error is not None and "FileNotFoundError" in rec.last_error
        target.mkdir()
        clock.advance(6)
        rec.write("back", START + 300)  # reopens after retry_after, this frame is dropped
        rec.write("again", START + 301)
        assert rec.is_open
    finally:
        rec.close()
    assert [f.data for f in iter_capture(target)] == ["again"]
