"""Capture files (docs/CAPTURE.md): round trip, damaged files, ordering, pacing, summaries."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from polymarket_bot.protocol.wire import BookEvent
from polymarket_bot.sim.replay import (
    CapturedFrame,
    CaptureStats,
    ReplaySource,
    capture_file_name,
    capture_files,
    iter_capture,
    write_capture,
)

WS = Path(__file__).resolve().parents[1] / "fixtures" / "polymarket" / "ws_messages"
MS0 = 1_766_790_415_000


def frames(*offsets_ms: int, channel: str = "market") -> list[CapturedFrame]:
    return [
        CapturedFrame(MS0 + off, channel, json.dumps({"event_type": "x", "i": i}))
        for i, off in enumerate(offsets_ms)
    ]


def test_round_trip_keeps_raw_text_exactly(tmp_path: Path) -> None:
    raw = (WS / "book.json").read_text()  # pretty-printed, with newlines inside the frame
    written = [
        CapturedFrame(MS0, "market", raw),
        CapturedFrame(MS0 + 5, "market", "NO NEW ASSETS"),
        CapturedFrame(MS0 + 9, "market", 'caf\u00e9 "quoted" \\ \u2028'),
    ]
    path = tmp_path / capture_file_name("market", "20260618T120000", 1)
    assert write_capture(path, written) == 3
    stats = CaptureStats()
    assert list(iter_capture(path, stats=stats)) == written
    assert stats == CaptureStats(files=1, frames=3, skipped=0, truncated_files=0)
    # One JSON object per line with the documented keys, in order.
    # Lines split on b"\n" only: U+2028 may appear raw inside a line (valid JSON).
    lines = gzip.decompress(path.read_bytes()).rstrip(b"\n").split(b"\n")
    assert len(lines) == 3
    assert list(json.loads(lines[0])) == ["recv_ms", "channel", "data"]


def test_torn_and_malformed_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "market-20260618T120000-1.jsonl.gz"
    good = frames(0, 10, 20)
    body = b"".join(
        json.dumps({"recv_ms": f.recv_ms, "channel": f.channel, "data": f.data}).encode() + b"\n"
        for f in good[:2]
    )
    body += b'{"recv_ms": 1.5, "channel": "market", "data": "x"}\n'  # wrong type
    body += b"not json at all\n\n"
    last = {"recv_ms": good[2].recv_ms, "channel": "market", "data": good[2].data}
    body += json.dumps(last).encode() + b"\n"
    body += b'{"recv_ms": 1766790415999, "channel": "mar'  # torn last line
    path.write_bytes(gzip.compress(body))
    stats = CaptureStats()
    assert list(iter_capture(path, stats=stats)) == good
    assert stats.skipped == 3 and stats.frames == 3 and stats.truncated_files == 0


def test_truncated_gzip_keeps_what_was_readable_and_goes_on(tmp_path: Path) -> None:
    first = tmp_path / "market-20260618T120000-1.jsonl.gz"
    second = tmp_path / "market-20260618T120000-2.jsonl.gz"
    write_capture(first, frames(*range(0, 2000, 2)))
    write_capture(second, frames(5000, 5001))
    data = first.read_bytes()
    first.write_bytes(data[: len(data) * 2 // 3])  # the recorder died mid-write
    stats = CaptureStats()
    got = list(iter_capture(tmp_path, stats=stats))
    assert stats.truncated_files == 1 and stats.files == 2
    assert 0 < len(got) - 2 < 1000
    assert got[-2:] == frames(5000, 5001)
    offsets = [f.recv_ms - MS0 for f in got[:-2]]
    assert offsets == list(range(0, 2 * len(offsets), 2))  # a clean prefix, in order


def test_directory_order_is_stamp_then_numeric_sequence(tmp_path: Path) -> None:
    names = [
        ("20260618T120000", 10),
        ("20260618T120000", 2),
        ("20260618T090000", 3),
        ("20260618T120000", 1),
    ]
    for k, (stamp, n) in enumerate(names):
        write_capture(tmp_path / capture_file_name("market", stamp, n), frames(k))
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / "market-latest.jsonl.gz").write_bytes(b"ignored")
    order = [p.name for p in capture_files(tmp_path)]
    assert order == [
        "market-20260618T090000-3.jsonl.gz",
        "market-20260618T120000-1.jsonl.gz",
        "market-20260618T120000-2.jsonl.gz",
        "market-20260618T120000-10.jsonl.gz",
    ]
    assert [f.recv_ms - MS0 for f in iter_capture(tmp_path)] == [2, 3, 1, 0]
    with pytest.raises(FileNotFoundError):
        list(iter_capture(tmp_path / "missing"))
    with pytest.raises(ValueError):
        capture_file_name("market", "2026-06-18", 1)


def test_pacing_follows_recorded_spacing_scaled_by_speed(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl.gz"
    write_capture(path, frames(0, 100, 250, 250, 1000))
    src = ReplaySource(path)
    t0 = 500.0  # any monotonic origin
    assert [f.recv_ms - MS0 for f in src.frames_due(t0)] == [0]
    assert src.frames_due(t0 + 0.099) == []
    assert [f.recv_ms - MS0 for f in src.frames_due(t0 + 0.1)] == [100]
    assert [f.recv_ms - MS0 for f in src.frames_due(t0 + 0.3)] == [250, 250]
    assert not src.done
    assert [f.recv_ms - MS0 for f in src.frames_due(t0 + 5)] == [1000]
    assert src.done and src.frames_released == 5
    assert src.frames_due(t0 + 10) == []

    fast = ReplaySource(path, speed=4.0)
    assert len(fast.frames_due(0.0)) == 1
    assert len(fast.frames_due(0.0625)) == 3  # 250 ms recorded = 62.5 ms at 4x
    assert len(fast.frames_due(0.24)) == 0
    assert len(fast.frames_due(0.25)) == 1

    asap = ReplaySource(path, speed=0, max_batch=2)
    assert [len(asap.frames_due(0.0)) for _ in range(4)] == [2, 2, 1, 0]
    assert asap.done


def test_loop_restarts_after_the_last_frame(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl.gz"
    write_capture(path, frames(0, 100, 200))
    src = ReplaySource(path, loop=True)
    got = [f.recv_ms - MS0 for f in src.frames_due(0.0)]
    got += [f.recv_ms - MS0 for f in src.frames_due(0.2)]
    assert got == [0, 100, 200]
    # The second pass starts 1 ms after the first ended: its frames are due at 201, 301, 401.
    assert [f.recv_ms - MS0 for f in src.frames_due(0.2005)] == []
    assert [f.recv_ms - MS0 for f in src.frames_due(0.301)] == [0, 100]
    # Third pass due at 402, 502, 602.
    assert [f.recv_ms - MS0 for f in src.frames_due(0.45)] == [200, 0]
    assert src.passes == 3 and not src.done

    # Third pass again 1 ms after the second, and so on.
    assert [f.recv_ms - MS0 for f in src.frames_due(10.0)][:4] == [100, 200, 0, 100]

    empty = tmp_path / "empty.jsonl.gz"
    write_capture(empty, [])
    never = ReplaySource(empty, loop=True)
    assert never.frames_due(0.0) == [] and never.frames_due(100.0) == []
    assert never.done


def test_long_gaps_can_be_shortened_and_clock_steps_back_count_as_zero(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl.gz"
    write_capture(path, frames(0, 100, 8 * 3600_000, 8 * 3600_000 - 50, 8 * 3600_000 + 100))
    src = ReplaySource(path, max_gap_s=2.0)
    assert len(src.frames_due(0.0)) == 1
    assert len(src.frames_due(0.1)) == 1
    assert src.frames_due(2.09) == []
    # The 8-hour gap became 2 s; the frame stamped 50 ms earlier follows at once.
    assert [f.recv_ms - MS0 for f in src.frames_due(2.1)] == [8 * 3600_000, 8 * 3600_000 - 50]
    # Gaps are measured frame to frame: +150 ms after the stepped-back frame.
    assert src.frames_due(2.249) == []
    assert len(src.frames_due(2.25)) == 1 and src.done
    with pytest.raises(ValueError):
        ReplaySource(path, max_gap_s=-1)
    with pytest.raises(ValueError):
        ReplaySource(path, speed=-1)


def test_asset_ids_and_books_at_start(tmp_path: Path) -> None:
    book = json.loads((WS / "book.json").read_text())
    asset, market = book["asset_id"], book["market"]
    later = dict(book, bids=[{"price": "0.5", "size": "1"}], timestamp="9999999999999")
    other = dict(book, asset_id="1234567", bids=[], asks=[])
    change = json.loads((WS / "price_change_v2.json").read_text())
    trade = json.loads((WS / "last_trade_price.json").read_text())
    recorded = [
        CapturedFrame(MS0, "market", json.dumps([book, other])),  # the initial dump: an array
        CapturedFrame(MS0 + 1, "market", "PONG"),
        CapturedFrame(MS0 + 2, "market", json.dumps(change)),
        CapturedFrame(MS0 + 3, "market", "{broken"),
        CapturedFrame(MS0 + 4, "market", json.dumps(trade)),
        CapturedFrame(MS0 + 5, "market", json.dumps(later)),
    ]
    path = tmp_path / "market-20260618T120000-1.jsonl.gz"
    write_capture(path, recorded)
    src = ReplaySource(tmp_path)
    ids = src.asset_ids()
    assert ids[:2] == [asset, "1234567"]
    change_assets = [c["asset_id"] for c in change["price_changes"]]
    assert set(change_assets) <= set(ids) and trade["asset_id"] in ids
    assert len(ids) == len(set(ids))
    assert src.market_of(asset) == market and src.market_of("nope") is None
    books = src.books_at_start()
    assert set(books) == {asset, "1234567"}
    first = books[asset]
    assert isinstance(first, BookEvent)
    assert first.timestamp == book["timestamp"]  # the first snapshot, not the later one
    assert [(lv.price, lv.size) for lv in first.bids] == [
        (lv["price"], lv["size"]) for lv in book["bids"]
    ]
    # Summaries do not consume the stream.
    assert len(src.frames_due(0.0)) == 1
