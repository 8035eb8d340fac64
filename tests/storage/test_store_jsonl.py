"""JSONL writers and readers: exact round trip, torn and malformed lines, write failures counted
and retried in order, short writes (a real file-size limit), appends from several processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from polymarket_bot.storage.jsonl import (
    JsonlTailer,
    JsonlWriter,
    ReadStats,
    decode_record,
    encode_record,
    iter_jsonl,
)


def test_round_trip_is_exact(tmp_path: Path) -> None:
    path = tmp_path / "orders.jsonl"
    writer = JsonlWriter(path)
    records = [
        {"size": Decimal("0.1") + Decimal("0.2"), "price": 0.55, "n": 3, "meta": {"a": [1, None]}},
        {"notional": Decimal("66.275000"), "text": '中文 "quoted"\n', "flag": False},
    ]
    for record in records:
        assert writer.write(record)
    writer.close()
    back = list(iter_jsonl(path))
    assert back[0]["size"] == Decimal("0.3") and isinstance(back[0]["size"], Decimal)
    assert back[0]["price"] == Decimal("0.55")  # floats come back exact, as written
    assert back[0]["meta"] == {"a": [1, None]}
    assert back[1]["notional"] == Decimal("66.275000")
    assert back[1]["text"] == '中文 "quoted"\n'
    assert path.read_bytes().count(b"\n") == 2  # one line per record, newlines escaped


def test_torn_and_malformed_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "trades.jsonl"
    good = [{"i": i} for i in range(3)]
    path.write_bytes(
        encode_record(good[0])
        + b"not json at all\n"
        + b"\n"
        + b"[1, 2, 3]\n"
        + encode_record(good[1])
        + b'{"i": 99, "torn'  # a crash mid-write: no closing brace, no newline
    )
    stats = ReadStats()
    assert list(iter_jsonl(path, stats)) == good[:2]
    assert (stats.records, stats.malformed, stats.blank) == (2, 3, 1)

    # The next writer ends the torn line first, so its own record stays readable.
    writer = JsonlWriter(path)
    assert writer.write(good[2])
    writer.close()
    stats = ReadStats()
    assert list(iter_jsonl(path, stats)) == good
    assert stats.malformed == 3


def test_missing_file_reads_as_empty(tmp_path: Path) -> None:
    stats = ReadStats()
    assert list(iter_jsonl(tmp_path / "nope.jsonl", stats)) == []
    assert stats.missing


def test_failed_writes_are_counted_kept_and_retried_in_order(tmp_path: Path) -> None:
    blocker = tmp_path / "reports"
    blocker.write_text("a file where the directory should be")
    writer = JsonlWriter(blocker / "orders.jsonl", max_pending=3)
    for i in range(5):
        assert not writer.write({"i": i})
    assert writer.errors == 5
    assert writer.pending == 3 and writer.dropped == 2  # bounded: the oldest go first
    assert not writer.retry_pending()
    assert writer.errors == 6

    blocker.unlink()
    blocker.mkdir()
    assert writer.write({"i": 5})  # drains 2, 3, 4 first: order is kept
    assert writer.dropped == 2 and writer.pending == 0
    writer.close()
    assert [r["i"] for r in iter_jsonl(blocker / "orders.jsonl")] == [2, 3, 4, 5]
    assert writer.errors == 6


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text form")


def test_unencodable_record_is_counted_not_raised(tmp_path: Path) -> None:
    writer = JsonlWriter(tmp_path / "x.jsonl")
    assert not writer.write({"value": _Unprintable()})
    assert writer.errors == 1 and writer.dropped == 1
    assert writer.write({"ok": True})
    writer.close()
    assert list(iter_jsonl(tmp_path / "x.jsonl")) == [{"ok": True}]


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_short_write_at_a_size_limit_leaves_a_readable_file(tmp_path: Path) -> None:
    """A real short write: the file-size limit stops a line half-way (like a full disk)."""
    path = tmp_path / "orders.jsonl"
    child = textwrap.dedent(
        f"""
        import resource, signal
        from polymarket_bot.storage.jsonl import JsonlWriter
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        writer = JsonlWriter({str(path)!r})
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, hard))
        ok = [writer.write({{"i": i, "pad": "x" * 40}}) for i in range(40)]
        print(ok.count(True), writer.errors, writer.pending)
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        print(writer.retry_pending(), writer.pending)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", child], check=True, capture_output=True, text=True, timeout=60
    ).stdout.split("\n")
    written, errors, pending = map(int, out[0].split())
    assert 0 < written < 40 and errors >= 1 and pending == 40 - written
    assert out[1] == "True 0"
    stats = ReadStats()
    records = list(iter_jsonl(path, stats))
    assert [r["i"] for r in records] == list(range(40))  # nothing lost, nothing twice
    assert stats.malformed == 1  # the torn fragment at the 1000-byte limit, on its own line


def test_appends_from_many_processes_never_interleave(tmp_path: Path) -> None:
    path = tmp_path / "orders.jsonl"
    child = textwrap.dedent(
        f"""
        import sys
        from polymarket_bot.storage.jsonl import JsonlWriter
        writer = JsonlWriter({str(path)!r})
        tag = sys.argv[1]
        for i in range(3000):
            writer.write({{"p": tag, "i": i, "pad": "y" * (i % 700)}})
        writer.close()
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", child, str(n)]) for n in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    stats = ReadStats()
    seen: dict[str, list[int]] = {}
    for record in iter_jsonl(path, stats):
        seen.setdefault(record["p"], []).append(record["i"])
    assert stats.malformed == 0
    assert {k: v == list(range(3000)) for k, v in seen.items()} == {str(n): True for n in range(4)}


def test_tailer_reads_only_complete_lines_and_follows_truncation(tmp_path: Path) -> None:
    path = tmp_path / "risk_audit.jsonl"
    tailer = JsonlTailer(path)
    assert tailer.poll() == []
    with open(path, "ab") as handle:
        handle.write(encode_record({"n": 1}) + b'{"n": 2')
    assert tailer.poll() == [{"n": 1}]
    with open(path, "ab") as handle:
        handle.write(b"}\n")
    assert tailer.poll() == [{"n": 2}]
    assert tailer.poll() == []
    path.write_bytes(encode_record({"n": 3}))  # truncated and rewritten (rotation)
    assert tailer.poll() == [{"n": 3}]
    late = JsonlTailer(path, from_end=True)
    with open(path, "ab") as handle:
        handle.write(encode_record({"n": 4}))
    assert late.poll() == [{"n": 4}]


def test_decode_record_rejects_non_objects() -> None:
    assert decode_record(b'{"a": 1}') == {"a": 1}
    for bad in (b"", b"1", b'"x"', b"null", b'{"a": ', b"\xff\xfe"):
        assert decode_record(bad) is None


def test_fsync_option_writes(tmp_path: Path) -> None:
    writer = JsonlWriter(tmp_path / "f.jsonl", fsync=True)
    assert writer.write({"a": 1})
    writer.close()
    assert os.path.getsize(tmp_path / "f.jsonl") == len(b'{"a":1}\n')
