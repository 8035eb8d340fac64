"""The stack launcher with real processes: `polymarket-launch stack start` in a fresh working
directory (OFFLINE by default: the trader with its in-process simulator, and the monitor),
health of each, refusal of a second start, `stack stop`, nothing left behind; plus the
launcher's locks, stale-file cleanup, forced stop and refusal paths, and the demo on Ctrl-C.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from polymarket_bot.config import build_settings
from polymarket_bot.engine.stack import (
    LockHeld,
    PidLock,
    StackAlreadyRunning,
    StackError,
    StackLauncher,
    StackOptions,
    StackStartFailed,
    read_state,
    wallet_key,
    wallet_lock,
)
from polymarket_bot.engine.stack.procs import is_running, process_identity, spawn_detached
from polymarket_bot.engine.stack.state import ChildRecord, StackState, write_state

POSIX = sys.platform != "win32"
# Variables that would change the mode, the venue or the paths of the processes under test.
_OURS = ("POLY", "CLOB_", "SERVICE_", "GAMMA_", "ORDER_REST", "PROXY_")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_OURS)}
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stack_registered() -> bool:
    from polymarket_bot.cli.main import app

    return any(g.name == "stack" for g in app.registered_groups)


def stack_cli(cwd: Path, *args: str, timeout: float = 90.0) -> subprocess.CompletedProcess[str]:
    """`polymarket-launch stack ARGS` with the venv's interpreter."""
    if stack_registered():
        argv = [sys.executable, "-m", "polymarket_bot", "stack", *args]
    else:  # until cli/main.py registers it: the same sub-app, run directly
        argv = [sys.executable, "-c", "from polymarket_bot.cli.stack_cmd import app; app()", *args]
    return subprocess.run(
        argv, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=timeout
    )


def wait_until(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def kill_leftovers(run_dir: Path) -> None:
    """Last resort after a failed test: kill what stack.json names (only ours)."""
    state = read_state(run_dir)
    for record in state.processes if state is not None else []:
        if is_running(record.pid) and process_identity(record.pid) == record.identity:
            os.kill(record.pid, signal.SIGKILL)


def test_stack_command_is_registered() -> None:
    # cli/main.py: `app.add_typer(stack_cmd.app, name="stack")` (the lead's file).
    assert stack_registered(), "register the stack sub-app in cli/main.py"


@pytest.mark.skipif(not POSIX, reason="process checks use POSIX semantics")
def test_stack_starts_real_processes_refuses_a_second_start_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    port = free_port()
    run_dir = tmp_path / "run"
    started = time.time()
    try:
        done = stack_cli(tmp_path, "start", "--port", str(port), "--interval", "5")
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"http://127.0.0.1:{port}/" in done.stdout
        assert f"stack stop --port {port}" in done.stdout

        # The launcher has exited; its detached children run on.
        state = read_state(run_dir)
        assert state is not None and state.port == port and state.run_mode == "offline"
        roles = {p.role: p for p in state.processes}
        assert set(roles) == {"trade", "monitor"}
        for record in state.processes:
            assert is_running(record.pid), record.role
            assert record.command[:3] == [sys.executable, "-m", "polymarket_bot"]
            assert record.started_epoch >= started - 1
        trade, monitor = roles["trade"], roles["monitor"]
        assert json.loads((run_dir / "trade.pid").read_text()) == {"pid": trade.pid}
        assert json.loads((run_dir / "monitor.pid").read_text()) == {"pid": monitor.pid}
        assert json.loads((run_dir / "wallet-offline.lock").read_text())["pid"] == trade.pid
        assert monitor.port == port

        # Health, checked independently of the launcher.
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        status = json.loads((tmp_path / "reports" / "pipeline_status.json").read_text())
        assert status["runtime_mode"] == "offline"
        assert status["trader"]["started_epoch"] >= started - 1
        assert status["fetch_info"]["current_source"] in {"ws_live", "ws_initialising"}
        shown = stack_cli(tmp_path, "status")
        assert shown.returncode == 0, shown.stdout + shown.stderr
        assert f"pid {trade.pid}" in shown.stdout and "healthy" in shown.stdout
        as_json = json.loads(stack_cli(tmp_path, "status", "--json").stdout)
        assert as_json["healthy"] is True
        assert {p["role"] for p in as_json["processes"] if p["healthy"]} == {"trade", "monitor"}

        # A second start, even on another port, is refused and names the running pids.
        again = stack_cli(tmp_path, "start", "--port", str(free_port()), "--interval", "5")
        assert again.returncode == 3
        assert "already running" in again.stderr
        assert f"trade pid {trade.pid}" in again.stderr
        assert f"monitor pid {monitor.pid}" in again.stderr
        assert read_state(run_dir) == state  # untouched

        # Stopping with the wrong port is refused; with the right one everything goes.
        wrong = stack_cli(tmp_path, "stop", "--port", str(port + 1))
        assert wrong.returncode == 1 and f"serves port {port}" in wrong.stderr
        assert all(is_running(p.pid) for p in state.processes)
        stopped = stack_cli(tmp_path, "stop", "--port", str(port))
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert f"trade (pid {trade.pid}): stopped" in stopped.stdout
        assert f"monitor (pid {monitor.pid}): stopped" in stopped.stdout
        for record in state.processes:
            assert not is_running(record.pid), record.role
        leftovers = sorted(p.name for p in run_dir.iterdir())
        assert not [n for n in leftovers if n.endswith((".pid", ".lock", ".ready"))], leftovers
        assert "stack.json" not in leftovers
        with socket.socket() as sock:  # the port is free again
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))
        log = (tmp_path / "logs" / "polymarket.log").read_text()
        assert "trader stopped" in log  # a clean stop, not a kill
        after = stack_cli(tmp_path, "status")
        assert after.returncode == 1 and "no stack is running" in after.stdout
    finally:
        kill_leftovers(run_dir)


# -- the launcher in-process: refusals, locks, cleanup, forced stop ----------------------------


def offline_launcher(tmp_path: Path, **kwargs: object) -> StackLauncher:
    return StackLauncher(cwd=tmp_path, environ=clean_env(), **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Detached helper processes (killed at the end)."""
    started: list[subprocess.Popen[bytes]] = []

    def spawn(code: str = "import time; time.sleep(60)") -> subprocess.Popen[bytes]:
        log = tmp_path / "logs" / f"sleeper-{len(started)}.log"
        proc = spawn_detached(
            [sys.executable, "-c", code], env=clean_env(), cwd=tmp_path, log_path=log
        )
        started.append(proc)
        return proc

    yield spawn
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_the_wallet_lock_refuses_a_second_engine_and_names_its_pid(
    tmp_path: Path, sleeper: Callable[..., subprocess.Popen[bytes]]
) -> None:
    holder = sleeper()
    lock = PidLock(tmp_path / "run" / "wallet-offline.lock")
    lock.acquire(holder.pid, role="trade")
    with pytest.raises(StackAlreadyRunning) as refused:
        offline_launcher(tmp_path).start(StackOptions(port=free_port(), health_timeout=5))
    assert f"pid {holder.pid}" in str(refused.value) and "one engine per wallet" in str(
        refused.value
    )
    assert read_state(tmp_path / "run") is None  # nothing was started
    assert lock.holder() == holder.pid  # and the holder keeps its lock


def test_pid_lock_replaces_a_stale_holder_and_refuses_a_live_one(
    tmp_path: Path, sleeper: Callable[..., subprocess.Popen[bytes]]
) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock = PidLock(tmp_path / "x.lock")
    lock.acquire(dead.pid)
    assert lock.holder() is None  # stale
    alive = sleeper()
    lock.acquire(alive.pid)  # replaces the stale lock
    assert lock.holder() == alive.pid
    with pytest.raises(LockHeld) as held:
        lock.acquire(os.getpid())
    assert held.value.pid == alive.pid
    lock.acquire(alive.pid)  # the holder itself may re-take it
    assert not lock.release(os.getpid()) and lock.holder() == alive.pid
    assert lock.release(alive.pid) and not lock.path.exists()


def test_live_wallets_lock_per_account_across_checkouts(tmp_path: Path) -> None:
    key = "0x" + "11" * 32
    live = {
        "mode.live_confirm": True,
        "credentials.private_key": key,
        "credentials.api_key": "k",
        "credentials.api_secret": "c2VjcmV0",
        "credentials.api_passphrase": "p",
    }
    one = build_settings({**live, "paths.run_dir": str(tmp_path / "a" / "run")})
    two = build_settings({**live, "paths.run_dir": str(tmp_path / "b" / "run")})
    address = wallet_key(one)
    assert address.startswith("0x") and len(address) == 42 and address == address.lower()
    env = {"POLY_WALLET_LOCK_DIR": str(tmp_path / "locks")}
    assert wallet_lock(one, environ=env).path == wallet_lock(two, environ=env).path
    assert wallet_lock(one, environ=env).path == tmp_path / "locks" / f"wallet-{address}.lock"
    funder = "0x" + "ab" * 20
    assert wallet_key(build_settings({**live, "credentials.funder": funder})) == funder
    assert wallet_key(build_settings({})) == "offline"
    assert wallet_key(build_settings({"mode.dry_run": True})) == "dry-run"


def test_port_in_use_and_a_foreign_trader_are_refused(
    tmp_path: Path, sleeper: Callable[..., subprocess.Popen[bytes]]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(StackAlreadyRunning, match=f"port {port} is already in use"):
            offline_launcher(tmp_path).start(StackOptions(port=port, health_timeout=5))
    trader = sleeper()
    (tmp_path / "run" / "trade.pid").write_text(json.dumps({"pid": trader.pid}))
    with pytest.raises(
        StackAlreadyRunning, match=f"a trader is already running \\(pid {trader.pid}"
    ):
        offline_launcher(tmp_path).start(StackOptions(port=free_port(), health_timeout=5))
    assert not (tmp_path / "run" / "wallet-offline.lock").exists()


@pytest.mark.skipif(not POSIX, reason="uses a shell script as the interpreter")
def test_a_child_that_dies_at_start_up_fails_the_start_and_is_cleaned_up(tmp_path: Path) -> None:
    fake = tmp_path / "fake-python"
    fake.write_text('#!/bin/sh\necho "boom: cannot start $4" >&2\nexit 7\n')
    fake.chmod(0o755)
    launcher = offline_launcher(tmp_path, python=str(fake))
    with pytest.raises(StackStartFailed) as failed:
        launcher.start(StackOptions(port=free_port(), health_timeout=10))
    message = str(failed.value)
    assert "exited with code 7 during start-up" in message
    assert "boom: cannot start" in message  # the tail of its log
    run_dir = tmp_path / "run"
    assert sorted(p.name for p in run_dir.iterdir()) == []  # no stack.json, pid or lock left


def _record(role: str, pid: int, identity: str | None, tmp_path: Path) -> ChildRecord:
    return ChildRecord(
        role=role,
        pid=pid,
        command=["x"],
        port=None,
        started_at="",
        started_epoch=time.time(),
        identity=identity,
        log=str(tmp_path / "logs" / f"{role}.log"),
        pid_file=str(tmp_path / "run" / f"{role}.pid"),
    )


def _state(tmp_path: Path, *records: ChildRecord, port: int = 8888) -> StackState:
    state = StackState(
        started_at="",
        launcher_pid=1,
        cwd=str(tmp_path),
        run_mode="offline",
        port=port,
        dashboard=f"http://127.0.0.1:{port}/",
        run_dir=str(tmp_path / "run"),
        wallet_lock=str(tmp_path / "run" / "wallet-offline.lock"),
        processes=list(records),
    )
    write_state(tmp_path / "run", state)
    return state


@pytest.mark.skipif(not POSIX, reason="SIGTERM semantics")
def test_stop_forces_a_process_that_ignores_sigterm_and_never_touches_a_reused_pid(
    tmp_path: Path, sleeper: Callable[..., subprocess.Popen[bytes]]
) -> None:
    stubborn = sleeper(
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(60)"
    )
    log = tmp_path / "logs" / "sleeper-0.log"
    wait_until(lambda: log.exists() and "ready" in log.read_text(), 10, "the handler")
    bystander = sleeper()
    identity = process_identity(stubborn.pid)
    if identity is None:
        pytest.skip("no process start times on this platform")
    run = tmp_path / "run"
    run.mkdir()
    (run / "stubborn.pid").write_text(json.dumps({"pid": stubborn.pid}))
    _state(
        tmp_path,
        _record("stubborn", stubborn.pid, identity, tmp_path),
        # Same pid as a live process but another start time: a recycled pid, left alone.
        _record("recycled", bystander.pid, "linux:0", tmp_path),
    )
    launcher = offline_launcher(tmp_path)
    started = time.monotonic()
    report = launcher.stop(timeout=1.0)
    outcomes = {o.role: o.result for o in report.outcomes}
    assert outcomes == {"stubborn": "killed", "recycled": "pid reused"}
    assert 1.0 <= time.monotonic() - started < 8.0
    assert not is_running(stubborn.pid)  # (its exit status was reaped by the launcher)
    assert bystander.poll() is None  # never signalled
    assert not (run / "stubborn.pid").exists() and not (run / "stack.json").exists()


def test_stale_records_and_pid_files_are_removed(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    run = tmp_path / "run"
    run.mkdir()
    for name in ("trade.pid", "monitor.pid", "config.reload.ready"):
        (run / name).write_text(json.dumps({"pid": gone.pid}))
    PidLock(run / "wallet-offline.lock").acquire(gone.pid)
    _state(
        tmp_path,
        _record("trade", gone.pid, None, tmp_path),
        _record("monitor", gone.pid, None, tmp_path),
    )
    report = offline_launcher(tmp_path).stop()
    assert report.found and report.ok
    assert {o.result for o in report.outcomes} == {"not running"}
    assert sorted(p.name for p in run.iterdir()) == []
    assert {p.name for p in report.removed} >= {"trade.pid", "monitor.pid", "stack.json"}
    # Nothing recorded at all: still a clean answer.
    assert not offline_launcher(tmp_path).stop().found


def test_stop_refuses_another_port(tmp_path: Path) -> None:
    _state(tmp_path, port=8888)
    with pytest.raises(StackError, match="serves port 8888, not 9999"):
        offline_launcher(tmp_path).stop(port=9999)
    assert (tmp_path / "run" / "stack.json").exists()


@pytest.mark.skipif(not POSIX, reason="sends SIGINT like a terminal's Ctrl-C")
def test_demo_on_a_fresh_directory_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    demo = subprocess.Popen(
        [sys.executable, "-m", "polymarket_bot", "demo", "--port", str(port), "--interval", "5"],
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    run_dir = tmp_path / "run"
    try:
        assert demo.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while not any("Ctrl-C stops" in line for line in lines):
            line = demo.stdout.readline()
            assert line and time.monotonic() < deadline, "".join(lines)
            lines.append(line)
        state = read_state(run_dir)
        assert state is not None and {p.role for p in state.processes} == {"trade", "monitor"}
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        demo.send_signal(signal.SIGINT)  # the terminal's Ctrl-C reaches the demo only
        rest, _ = demo.communicate(timeout=45)
        output = "".join(lines) + rest
        assert demo.returncode == 0, output
        assert "demo stopped" in output and "trade (pid" in output
        assert "OFFLINE" in output and f"http://127.0.0.1:{port}/" in output
        for record in state.processes:
            assert not is_running(record.pid), record.role
        assert sorted(p.name for p in run_dir.iterdir()) == []
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        kill_leftovers(run_dir)


def test_specs_options_and_the_order_tracker_rule(tmp_path: Path) -> None:
    from polymarket_bot.engine.stack import build_specs

    launcher = StackLauncher(cwd=tmp_path, environ={"PATH": "/bin"})
    env = launcher.child_environ(StackOptions(use_ws=True, live=True))
    assert env["SERVICE_USE_WS"] == "true" and env["POLY_LIVE_CONFIRM"] == "true"
    assert launcher.child_environ(StackOptions(use_ws=False))["SERVICE_USE_WS"] == "false"
    assert "SERVICE_USE_WS" not in launcher.child_environ(StackOptions())

    live = build_settings(
        {
            "mode.live_confirm": True,
            "credentials.private_key": "0x" + "22" * 32,
            "credentials.api_key": "k",
            "credentials.api_secret": "c2VjcmV0",
            "credentials.api_passphrase": "p",
        }
    )
    specs = build_specs(live, port=9100, interval=60, live=True, commands={"orders-ws"})
    assert [s.role for s in specs] == ["trade", "monitor", "orders-ws"]
    assert specs[0].args == ("trade", "--interval", "60", "--log-level", "INFO", "--live")
    assert specs[1].args[:3] == ("monitor", "--port", "9100") and specs[1].port == 9100
    assert specs[0].pid_file is None and specs[0].own_pid_file == "trade.pid"
    # Without the command, or OFFLINE (keys are made per run inside the trader): no tracker.
    assert [s.role for s in build_specs(live, port=1, interval=5)] == ["trade", "monitor"]
    offline = build_settings({})
    assert len(build_specs(offline, port=1, interval=5, commands={"orders-ws"})) == 2


def test_a_trader_claims_the_wallet_from_its_launcher_but_not_from_a_stranger(
    tmp_path: Path, sleeper: Callable[..., subprocess.Popen[bytes]]
) -> None:
    from polymarket_bot.engine.stack import claim_wallet

    settings = build_settings({"paths.run_dir": str(tmp_path / "run")})
    lock = PidLock(tmp_path / "run" / "wallet-offline.lock")
    lock.acquire(os.getppid(), role="stack start")  # the parent (a launcher) holds it
    assert claim_wallet(settings).holder() == os.getpid()
    stranger = sleeper()
    lock.update(stranger.pid)
    with pytest.raises(LockHeld) as held:
        claim_wallet(settings)
    assert held.value.pid == stranger.pid
