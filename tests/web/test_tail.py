"""JsonlTail and JsonSnapshot: incremental reads from remembered offsets, torn lines, truncation,
rotation and deletion."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from polymarket_bot.web.tail import JsonlTail, JsonSnapshot


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as fh:
        fh.write(data)


def test_missing_file_then_growth(tmp_path: Path) -> None:
    path = tmp_path / "orders.jsonl"
    tail = JsonlTail(path)
    assert tail.poll().lines == []
    assert not tail.stats().exists
    append(path, b'{"a":1}\n{"a":2}\n')
    assert tail.poll().lines == [b'{"a":1}', b'{"a":2}']
    assert tail.poll().lines == []  # nothing new: nothing re-read
    append(path, b'{"a":3}\n')
    assert tail.poll().lines == [b'{"a":3}']
    stats = tail.stats()
    assert (stats.exists, stats.offset, stats.size, stats.lines) == (True, 24, 24, 3)
    tail.close()


def test_torn_last_line_waits_for_its_newline(tmp_path: Path) -> None:
    path = tmp_path / "orders.jsonl"
    append(path, b'{"a":1}\n{"a":')
    tail = JsonlTail(path)
    assert tail.poll().lines == [b'{"a":1}']
    assert tail.offset == 8  # the torn bytes are not consumed
    append(path, b"2")
    assert tail.poll().lines == []
    append(path, b'}\r\n\n  \n{"a":3}\n')
    assert tail.poll().lines == [b'{"a":2}\r', b'{"a":3}']  # blank lines dropped
    assert tail.offset == path.stat().st_size
    tail.close()


def test_truncation_resets_and_rereads(tmp_path: Path) -> None:
    path = tmp_path / "orders.jsonl"
    append(path, b'{"a":1}\n{"a":2}\n')
    tail = JsonlTail(path)
    assert len(tail.poll().lines) == 2
    path.write_bytes(b'{"b":1}\n')  # same inode, shorter
    batch = tail.poll()
    assert batch.reset
    assert batch.lines == [b'{"b":1}']
    assert tail.stats().truncations == 1
    tail.close()


@pytest.mark.skipif(os.name != "posix", reason="the old file is drained only where it stays open")
def test_rotation_drains_the_old_file_then_reads_the_new(tmp_path: Path) -> None:
    path = tmp_path / "orders.jsonl"
    append(path, b'{"a":1}\n')
    tail = JsonlTail(path)
    assert tail.poll().lines == [b'{"a":1}']
    append(path, b'{"a":2}\n{"torn')  # written after our last read, then the file is rotated
    os.rename(path, tmp_path / "orders.jsonl.1")
    append(path, b'{"b":1}\n')
    batch = tail.poll()
    assert not batch.reset  # history was archived, not erased
    assert batch.lines == [b'{"a":2}', b'{"b":1}']
    assert tail.stats().rotations == 1
    assert tail.discarded_partial == 1
    tail.close()


def test_deletion_then_recreation(tmp_path: Path) -> None:
    path = tmp_path / "orders.jsonl"
    append(path, b'{"a":1}\n')
    tail = JsonlTail(path)
    assert tail.poll().lines == [b'{"a":1}']
    path.unlink()
    assert tail.poll().lines == []
    assert not tail.stats().exists
    append(path, b'{"c":1}\n')
    assert tail.poll().lines == [b'{"c":1}']
    tail.close()


def test_max_bytes_splits_a_catch_up(tmp_path: Path) -> None:
    path = tmp_path / "orders.jsonl"
    lines = [f'{{"i":{i}}}'.encode() for i in range(1000)]
    append(path, b"\n".join(lines) + b"\n")
    tail = JsonlTail(path)
    got: list[bytes] = []
    polls = 0
    while True:
        batch = tail.poll(max_bytes=1000)
        got += batch.lines
        polls += 1
        if batch.caught_up:
            break
    assert got == lines
    assert polls > 5
    tail.close()


def test_snapshot_reparses_only_on_change(tmp_path: Path) -> None:
    path = tmp_path / "pipeline_status.json"
    snap = JsonSnapshot(path)
    assert snap.poll() is False and snap.value is None
    path.write_text('{"a": 1}')
    assert snap.poll() is True and snap.value == {"a": 1}
    assert snap.poll() is False
    tmp = tmp_path / "x.tmp"
    tmp.write_text('{"a": 2, "b": [1]}')
    os.replace(tmp, path)
    assert snap.poll() is True and snap.value == {"a": 2, "b": [1]}
    path.write_text('{"a": ')  # broken by hand: the last good value stays
    assert snap.poll() is False
    assert snap.value == {"a": 2, "b": [1]} and snap.error is not None
    path.unlink()
    assert snap.poll() is True and snap.value is None
