"""SIGKILL at random moments, many times in a row: every JSONL file, JSON snapshot and the database
stay readable, no acknowledged record is lost, no record is written twice; a catch-up from the
JSONL files then brings the database level with them."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from polymarket_bot.storage.db import create_db_engine
from polymarket_bot.storage.jsonl import ReadStats, iter_jsonl
from polymarket_bot.storage.models import TABLES
from polymarket_bot.storage.sink import POSITIONS_FILE, STATUS_FILE, STREAMS, ReportSink
from polymarket_bot.storage.snapshots import read_json

CHILD = Path(__file__).with_name("crash_child.py")
ITERATIONS = {"sqlite": 15, "mariadb": 6}


class Child:
    def __init__(self, reports: Path, db_url: str, tag: str) -> None:
        self.tag = tag
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, str(CHILD), str(reports), db_url, tag],
            stdout=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for_ack(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(line.startswith("ACK") for line in self.lines):
            assert self.proc.poll() is None, f"child died: {self.lines}"
            assert time.monotonic() < deadline, "no ACK in time"
            time.sleep(0.005)

    def kill(self) -> set[str]:
        """SIGKILL; the ids acknowledged before it."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        self._reader.join(30)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        last = -1
        for line in self.lines:
            parts = line.split()
            if len(parts) == 3 and parts[0] == "ACK" and parts[1] == self.tag:
                last = max(last, int(parts[2]))
        return {f"{self.tag}-{i:07d}" for i in range(last + 1)}


def jsonl_ids(reports: Path) -> tuple[Counter[str], int]:
    ids: Counter[str] = Counter()
    malformed = 0
    for file, _, _ in STREAMS.values():
        stats = ReadStats()
        ids.update(r["event_id"] for r in iter_jsonl(reports / file, stats))
        malformed += stats.malformed
    return ids, malformed


def db_ids(db_url: str) -> set[str]:
    engine = create_db_engine(db_url)
    try:
        found: set[str] = set()
        with engine.connect() as conn:
            for _, table, _ in STREAMS.values():
                rows = conn.execute(select(TABLES[table].c.event_id)).scalars().all()
                assert len(rows) == len(set(rows))
                found.update(rows)
        return found
    finally:
        engine.dispose()


def check_readable(reports: Path, db_url: str, acked: set[str], kills: int) -> bool:
    """Assert the state is sound; True when the kill landed with rows not yet in SQL."""
    ids, malformed = jsonl_ids(reports)
    duplicated = [k for k, v in ids.items() if v > 1]
    assert not duplicated, duplicated[:5]
    assert acked <= ids.keys(), sorted(acked - ids.keys())[:5]
    assert malformed <= kills * len(STREAMS)  # at most one torn line per file per kill
    for name in (POSITIONS_FILE, STATUS_FILE):
        assert read_json(reports / name) is not None, name
    if db_url.startswith("sqlite"):
        conn = sqlite3.connect(db_url.removeprefix("sqlite:///"))
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        finally:
            conn.close()
    in_db = db_ids(db_url)
    assert acked <= in_db, sorted(acked - in_db)[:5]
    assert in_db <= ids.keys()  # the JSONL line is always written first
    return len(in_db) < len(ids)


def test_sigkill_loses_no_acknowledged_record(backend: str, db_url: str, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    rng = random.Random(20251013)
    acked: set[str] = set()
    iterations = ITERATIONS[backend]
    mid_batch = 0
    for iteration in range(iterations):
        child = Child(reports, db_url, f"k{iteration:02d}")
        child.wait_for_ack()
        time.sleep(rng.uniform(0.0, 0.35))  # the kill lands at a random moment of the loop
        acked |= child.kill()
        mid_batch += check_readable(reports, db_url, acked, iteration + 1)
    assert len(acked) >= iterations * 20
    assert mid_batch >= 1  # some kills did hit unflushed batches

    # Start-up catch-up: the database gets every record the files hold, exactly once.
    sink = ReportSink(reports, db_url=db_url)
    assert sink.catch_up(tail_bytes=None) > 0
    assert sink.close()
    ids, _ = jsonl_ids(reports)
    assert db_ids(db_url) == set(ids)
