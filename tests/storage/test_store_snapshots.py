"""JSON snapshots: atomic replace, and pipeline_status.json section merges that never clobber
another process's sections (two real processes merging at once)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from decimal import Decimal
from pathlib import Path

import pytest

from polymarket_bot.storage.sink import ReportSink
from polymarket_bot.storage.snapshots import merge_status, read_json, write_json_atomic


def test_atomic_write_round_trip_and_no_temp_left(tmp_path: Path) -> None:
    path = tmp_path / "reports" / "open_positions.json"
    write_json_atomic(path, {"cash": Decimal("9999.123456"), "positions": []})
    write_json_atomic(path, {"cash": Decimal("1.5"), "positions": [{"market_id": "M"}]})
    assert read_json(path) == {"cash": 1.5, "positions": [{"market_id": "M"}]}
    assert sorted(p.name for p in path.parent.iterdir()) == ["open_positions.json"]


def test_failed_atomic_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "status.json"
    write_json_atomic(path, {"v": 1})
    with pytest.raises(TypeError):
        write_json_atomic(path, {"v": 2, "x": _Boom()})
    assert read_json(path) == {"v": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["status.json"]


class _Boom:
    def __str__(self) -> str:
        raise TypeError("cannot show")


def test_merge_keeps_other_sections_and_dotted_paths(tmp_path: Path) -> None:
    path = tmp_path / "pipeline_status.json"
    merge_status(path, {"fetch_info": {"current_source": "ws_live", "orders_ws": {"status": "x"}}})
    merge_status(path, {"risk_audit": {"approved": 3}}, updated_at="2025-10-13T10:07:00.000Z")
    merge_status(path, {"fetch_info.orders_ws": {"status": "ok", "failures": 0}})
    assert read_json(path) == {
        "fetch_info": {"current_source": "ws_live", "orders_ws": {"status": "ok", "failures": 0}},
        "risk_audit": {"approved": 3},
        "updated_at": "2025-10-13T10:07:00.000Z",
    }


def test_merge_over_a_corrupt_file_starts_afresh(tmp_path: Path) -> None:
    path = tmp_path / "pipeline_status.json"
    path.write_text('{"io_errors": {"orders"')
    assert read_json(path) is None
    assert merge_status(path, {"io_errors": {"orders": 1}}) == {"io_errors": {"orders": 1}}


def test_two_processes_merging_never_lose_a_section(tmp_path: Path) -> None:
    path = tmp_path / "pipeline_status.json"
    child = textwrap.dedent(
        f"""
        import sys
        from polymarket_bot.storage.snapshots import merge_status
        name = sys.argv[1]
        for i in range(300):
            merge_status({str(path)!r}, {{name: {{"n": i}}, "shared." + name: i}})
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", child, n]) for n in ("trader", "orders_ws")]
    seen_bad = 0
    while any(p.poll() is None for p in procs):  # a reader never sees a half-written file
        if path.exists() and read_json(path) is None:
            seen_bad += 1
        time.sleep(0.001)
    assert [p.returncode for p in procs] == [0, 0]
    assert seen_bad == 0
    final = read_json(path)
    assert final == {
        "trader": {"n": 299},
        "orders_ws": {"n": 299},
        "shared": {"trader": 299, "orders_ws": 299},
    }


def test_sink_counts_snapshot_failures_and_retries(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.write_text("not a directory")
    sink = ReportSink(reports, sql=False)
    assert not sink.update_status({"risk_audit": {"approved": 1}})
    sink.snapshot_positions({"cash": 10, "positions": []})
    assert not sink.write_realized_summary({"realized_pnl": 0})
    assert sink.record_order({"event": "submit"})  # an id even when the line is pending
    errors = sink.io_errors
    assert errors["status"] == 1 and errors["positions"] == 2 and errors["orders"] == 1
    assert not sink.flush()
    reports.unlink()
    reports.mkdir()
    assert sink.flush()
    assert read_json(reports / "open_positions.json") is not None
    assert read_json(reports / "realized_summary.json") == {"realized_pnl": 0}
    assert len((reports / "orders.jsonl").read_bytes().splitlines()) == 1
    sink.close()
