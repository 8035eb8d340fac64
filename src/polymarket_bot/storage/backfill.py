"""Catch the database up from the JSONL files after a crash or a long outage.

The JSONL line is written before its SQL row is queued, so after a SIGKILL (or rows dropped from
a full buffer during an outage) the files can hold records the database lacks. Re-submitting the
files' records is safe because rows are keyed by `event_id` (present rows are skipped); only the
tail of each file needs reading after a crash (`tail_bytes`), the whole file after an outage.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from polymarket_bot.storage.jsonl import ReadStats, decode_record
from polymarket_bot.storage.sink import STREAMS
from polymarket_bot.storage.writer import SqlWriter


def iter_tail(path: Path, tail_bytes: int | None, stats: ReadStats) -> Iterator[dict[str, Any]]:
    """Records of the last `tail_bytes` of a file (None = all), from the first whole line."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the with below
    except FileNotFoundError:
        stats.missing = True
        return
    with handle:
        size = os.fstat(handle.fileno()).st_size
        if tail_bytes is not None and size > tail_bytes:
            handle.seek(size - tail_bytes - 1)
            if handle.read(1) != b"\n":
                handle.readline()  # the first, partial line belongs to an older record
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


def backfill(
    writer: SqlWriter,
    reports_dir: Path | str,
    *,
    tail_bytes: int | None = 8 << 20,
    timeout: float | None = 300.0,
) -> dict[str, int]:
    """Submit every record with an `event_id` from the report streams' tails; wait for the
    writer. Returns records submitted per stream (present rows are skipped by the database)."""
    submitted: dict[str, int] = {}
    for stream, (file, table, _) in STREAMS.items():
        count = 0
        for record in iter_tail(Path(reports_dir) / file, tail_bytes, ReadStats()):
            if record.get("event_id"):
                writer.submit(table, record)
                count += 1
        submitted[stream] = count
    writer.flush(timeout)
    return submitted
