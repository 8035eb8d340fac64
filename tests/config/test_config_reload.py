"""Hot reload: diff, hot/restart split, invalid config kept out, the request-file/SIGHUP
protocol and `polymarket-launch config reload` against a real trader process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from polymarket_bot.cli.main import app
from polymarket_bot.config import Settings, build_settings, load_settings
from polymarket_bot.config.reload import (
    READY_FILE,
    REQUEST_FILE,
    RESULT_FILE,
    ConfigReloader,
    ReloadResult,
    diff_settings,
    read_pid,
    request_reload,
    trader_status,
)

needs_sighup = pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signal")


def write_yaml(base: Path, text: str) -> None:
    (base / "config").mkdir(exist_ok=True)
    (base / "config" / "runtime.yaml").write_text(textwrap.dedent(text), encoding="utf-8")


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.02)


def keys(changes: tuple[dict[str, object], ...]) -> list[object]:
    return [change["key"] for change in changes]


def test_diff_lists_changed_leaves_and_splits_hot_from_restart_only() -> None:
    old = build_settings()
    new = build_settings(
        {
            "risk.max_order_notional": "250",
            "venue.clob_rest_url": "http://127.0.0.1:9999",
            "strategies.mm_wide": {"kind": "market_maker", "enabled": True},
            "service.order_rest_poll_seconds": 2,
            "service.use_ws": False,
        }
    )

    changes = {c.key: c for c in diff_settings(old, new)}

    assert changes["risk.max_order_notional"].old == Decimal("500")
    assert changes["risk.max_order_notional"].new == Decimal("250")
    assert {k for k, c in changes.items() if c.hot} == {
        "risk.max_order_notional",
        "service.order_rest_poll_seconds",
        "strategies.mm_wide.enabled",
        "strategies.mm_wide.kind",
        "strategies.mm_wide.markets",
        "strategies.mm_wide.params",
    }
    assert {k for k, c in changes.items() if not c.hot} == {"venue.clob_rest_url", "service.use_ws"}
    assert changes["strategies.mm_wide.kind"].to_json()["old"] == "<absent>"
    assert diff_settings(old, build_settings()) == []


def test_reload_applies_hot_keys_and_keeps_restart_only_keys(isolated: Path) -> None:
    reloader = ConfigReloader(load_settings())
    seen: list[tuple[Settings, ReloadResult]] = []
    reloader.subscribe(lambda settings, result: seen.append((settings, result)))
    write_yaml(
        isolated,
        """
        risk: {max_order_notional: 250}
        trading: {interval_seconds: 5}
        service: {use_ws: false, order_rest_poll_limit: 7}
        logging: {level: WARNING}
        """,
    )

    result = reloader.reload("r1")

    assert result.ok and result.error is None and result.request_id == "r1"
    assert keys(result.applied) == [
        "logging.level",
        "risk.max_order_notional",
        "service.order_rest_poll_limit",
        "trading.interval_seconds",
    ]
    assert result.restart_required == ({"key": "service.use_ws", "old": True, "new": False},)
    s = reloader.settings
    assert s.risk.max_order_notional == Decimal("250") and s.trading.interval_seconds == 5
    assert s.service.order_rest_poll_limit == 7
    assert s.service.use_ws is True  # restart-only: the running value stays
    assert reloader.current.values["risk.max_order_notional"].source == "config/runtime.yaml"
    assert reloader.current.values["service.use_ws"].source == "default"
    assert [r for _, r in seen] == [result] and seen[0][0] is s


def test_restart_only_changes_stay_pending_on_the_next_reload(isolated: Path) -> None:
    reloader = ConfigReloader(load_settings())
    write_yaml(isolated, "venue: {chain_id: 80002}\n")

    first, second = reloader.reload(), reloader.reload()

    assert keys(first.restart_required) == keys(second.restart_required) == ["venue.chain_id"]
    assert reloader.settings.venue.chain_id == 137


def test_invalid_new_config_is_rejected_and_the_old_one_kept(isolated: Path) -> None:
    write_yaml(isolated, "risk: {max_order_notional: 300}\n")
    reloader = ConfigReloader(load_settings())
    before = reloader.current
    called: list[object] = []
    reloader.subscribe(lambda settings, result: called.append(result))
    write_yaml(isolated, "risk: {max_order_notional: lots, var_windw: 3}\n")

    result = reloader.reload()

    assert not result.ok and result.applied == () and result.restart_required == ()
    assert result.error is not None
    assert "config error: risk.max_order_notional (config/runtime.yaml)" in result.error
    assert "risk.var_windw (config/runtime.yaml): unknown key" in result.error
    assert reloader.current is before and called == []
    assert reloader.settings.risk.max_order_notional == Decimal("300")


def test_a_failing_subscriber_does_not_undo_the_reload(isolated: Path) -> None:
    reloader = ConfigReloader(load_settings())

    def broken(settings: Settings, result: ReloadResult) -> None:
        raise RuntimeError("subscriber bug")

    reloader.subscribe(broken)
    write_yaml(isolated, "risk: {var_window: 9}\n")

    assert reloader.reload().ok
    assert reloader.settings.risk.var_window == 9


def test_secrets_in_the_reload_report_are_masked(isolated: Path) -> None:
    reloader = ConfigReloader(load_settings())
    (isolated / ".env").write_text("POLY_ALERT_EMAIL_PASSWORD=new-smtp-secret\n", encoding="utf-8")

    result = reloader.reload()

    assert result.applied == ({"key": "alert.password", "old": None, "new": "***"},)
    assert "new-smtp-secret" not in json.dumps(result.to_json())
    assert reloader.settings.alert.password is not None


def test_reload_uses_the_loader_it_was_given(isolated: Path) -> None:
    overrides = {"trading.interval_seconds": 7}
    reloader = ConfigReloader(
        load_settings(overrides=overrides), load=lambda: load_settings(overrides=overrides)
    )
    write_yaml(isolated, "trading: {interval_seconds: 99}\nrisk: {var_window: 5}\n")

    result = reloader.reload()

    assert keys(result.applied) == ["risk.var_window"]  # the CLI override still wins
    assert reloader.settings.trading.interval_seconds == 7


def test_check_request_serves_a_request_file_once(isolated: Path) -> None:
    reloader = ConfigReloader(load_settings())
    run_dir = reloader.run_dir
    run_dir.mkdir()
    assert reloader.check_request() is None
    write_yaml(isolated, "risk: {var_window: 12}\n")
    (run_dir / REQUEST_FILE).write_text('{"request_id": "abc"}', encoding="utf-8")

    result = reloader.check_request()

    assert result is not None and result.request_id == "abc" and result.ok
    assert not (run_dir / REQUEST_FILE).exists()
    on_disk = json.loads((run_dir / RESULT_FILE).read_text(encoding="utf-8"))
    assert ReloadResult.from_json(on_disk) == result
    assert reloader.check_request() is None


async def test_run_answers_request_reload(isolated: Path) -> None:
    reloader = ConfigReloader(load_settings())
    stop = asyncio.Event()
    task = asyncio.create_task(reloader.run(stop, poll_seconds=0.05))
    write_yaml(isolated, "risk: {daily_loss_stop: 123}\n")

    result = await asyncio.to_thread(request_reload, reloader.run_dir, timeout=20)

    stop.set()
    await task
    assert result is not None and result.ok
    assert keys(result.applied) == ["risk.daily_loss_stop"]
    assert reloader.settings.risk.daily_loss_stop == Decimal("123")


@needs_sighup
async def test_sighup_wakes_the_reloader_at_once(isolated: Path) -> None:
    reloader = ConfigReloader(load_settings())
    reloader.start()
    ready = json.loads((reloader.run_dir / READY_FILE).read_text(encoding="utf-8"))
    assert ready == {"pid": os.getpid(), "sighup": True, "started_at": ready["started_at"]}
    stop = asyncio.Event()
    task = asyncio.create_task(reloader.run(stop, poll_seconds=3600))
    await asyncio.sleep(0)  # let run() make its first check and start waiting
    write_yaml(isolated, "risk: {var_window: 77}\n")

    os.kill(os.getpid(), signal.SIGHUP)
    deadline = time.monotonic() + 20
    while reloader.settings.risk.var_window != 77:
        assert time.monotonic() < deadline, "SIGHUP did not trigger a reload"
        await asyncio.sleep(0.01)

    stop.set()
    await task
    reloader.close()
    assert not (reloader.run_dir / READY_FILE).exists()
    result = json.loads((reloader.run_dir / RESULT_FILE).read_text(encoding="utf-8"))
    assert result["request_id"] == "sighup"


def test_pid_files_and_trader_status(isolated: Path) -> None:
    run_dir = isolated / "run"
    run_dir.mkdir()
    assert trader_status(run_dir).pid is None
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    (run_dir / "trade.pid").write_text(dead.stdout, encoding="utf-8")
    assert read_pid(run_dir / "trade.pid") == int(dead.stdout)
    assert trader_status(run_dir).pid is None  # stale pid file
    (run_dir / "trade.pid").write_text(json.dumps({"pid": os.getpid()}), encoding="utf-8")
    status = trader_status(run_dir)
    assert status.pid == os.getpid() and not status.listening and not status.sighup
    (run_dir / "trade.pid").write_text("garbage", encoding="utf-8")
    assert read_pid(run_dir / "trade.pid") is None


# -- the CLI ----------------------------------------------------------------------------------


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["config", "reload", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_cli_without_trader_validates_the_config_on_disk(isolated: Path) -> None:
    code, out, _ = cli()
    assert code == 0
    assert "no trader is running" in out and "the configuration on disk is valid" in out

    write_yaml(isolated, "risk: {max_order_notional: lots}\n")
    code, out, err = cli()
    assert code == 2
    assert "no trader is running; the configuration on disk is invalid" in err
    assert "config error: risk.max_order_notional (config/runtime.yaml)" in err


def test_cli_times_out_when_the_trader_does_not_answer(isolated: Path) -> None:
    (isolated / "run").mkdir()
    (isolated / "run" / "trade.pid").write_text(str(os.getpid()), encoding="utf-8")

    code, _, err = cli("--timeout", "0.2")

    assert code == 1
    assert f"no answer from the trader (pid {os.getpid()}) within 0.2 s" in err
    assert (isolated / "run" / REQUEST_FILE).exists()  # stays queued


TRADER = """
import asyncio, os, signal
from polymarket_bot.config import load_settings
from polymarket_bot.config.reload import ConfigReloader

async def main() -> None:
    loaded = load_settings()
    run_dir = loaded.settings.paths.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "trade.pid").write_text(str(os.getpid()))
    reloader = ConfigReloader(loaded)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    reloader.start()
    try:
        # A long poll: only SIGHUP can make it answer within the client's deadline.
        await reloader.run(stop, poll_seconds=3600)
    finally:
        reloader.close()

asyncio.run(main())
"""


@pytest.fixture
def trader(isolated: Path) -> Iterator[subprocess.Popen[str]]:
    script = isolated / "trader.py"
    script.write_text(TRADER, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script)], cwd=isolated, text=True)
    try:
        wait_for(lambda: (isolated / "run" / READY_FILE).exists() or proc.poll() is not None)
        assert proc.poll() is None, "the trader exited early"
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@needs_sighup
def test_cli_reload_against_a_running_trader(isolated: Path, trader: subprocess.Popen[str]) -> None:
    launcher = Path(sys.executable).parent / "polymarket-launch"

    def reload_cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(launcher), "config", "reload", "--timeout", "20", *args],
            cwd=isolated,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    write_yaml(isolated, "risk: {max_order_notional: 250}\nvenue: {chain_id: 80002}\n")
    proc = reload_cli("--json")
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["ok"] and answer["pid"] == trader.pid
    assert answer["applied"] == [{"key": "risk.max_order_notional", "old": "500", "new": "250"}]
    assert answer["restart_required"] == [{"key": "venue.chain_id", "old": 137, "new": 80002}]

    write_yaml(isolated, "risk: {max_order_notional: -5}\n")
    proc = reload_cli()
    assert proc.returncode == 2
    assert "rejected the new configuration and keeps the running one" in proc.stderr
    assert "risk.max_order_notional (config/runtime.yaml): Input should be greater than 0" in (
        proc.stderr
    )
    assert "Traceback" not in proc.stderr

    write_yaml(isolated, "risk: {max_order_notional: 250}\n")
    proc = reload_cli()
    assert proc.returncode == 0
    assert "reloaded: no changes" in proc.stdout  # 250 was already applied; -5 never was
