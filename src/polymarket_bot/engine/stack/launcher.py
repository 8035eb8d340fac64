"""The stack launcher: start the trader, the monitor and (with keys) the order tracker as detached
child processes, wait until each is healthy, and later stop exactly those (docs/OPERATIONS.md).

    launcher = StackLauncher(commands={"trade", "monitor"}, on_progress=print)
    state = launcher.start(StackOptions(port=8888, interval=60))   # returns once all are healthy
    launcher.status()                                                # what runs, is it healthy
    launcher.stop(port=8888)                                         # SIGTERM, then SIGKILL

`start` refuses (`StackAlreadyRunning`, exit code 3) while a recorded stack process, a trader
(`run/trade.pid`), the wallet's lock holder or the monitor port is taken, naming the pid. It
records every child in `run/stack.json` as soon as it is spawned, so a launcher killed mid-start
still leaves something `stop` can find; a failed start stops what it started.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from polymarket_bot.config import ConfigError, load_settings
from polymarket_bot.config.model import Settings
from polymarket_bot.config.reload import READY_FILE
from polymarket_bot.core.intents import iso_ms
from polymarket_bot.engine.stack.locks import LockHeld, PidLock, wallet_key, wallet_lock
from polymarket_bot.engine.stack.procs import (
    force_kill,
    is_running,
    process_identity,
    read_pid,
    reap,
    request_stop,
    same_process,
    spawn_detached,
    write_pid_file,
)
from polymarket_bot.engine.stack.specs import (
    AliveHealth,
    Health,
    HealthCheck,
    HttpHealth,
    ProcessSpec,
    TraderHealth,
    build_specs,
    probe_host,
)
from polymarket_bot.engine.stack.state import (
    STACK_FILE,
    ChildRecord,
    ProcessStatus,
    StackState,
    StackStatus,
    StopOutcome,
    StopReport,
    read_state,
    write_state,
)
from polymarket_bot.observability.logging import redact

__all__ = [
    "EXIT_ALREADY_RUNNING",
    "EXIT_CONFIG_ERROR",
    "EXIT_FAILED",
    "ProcessStatus",
    "StackAlreadyRunning",
    "StackError",
    "StackLauncher",
    "StackOptions",
    "StackStartFailed",
    "StackStatus",
    "StopOutcome",
    "StopReport",
]

EXIT_FAILED = 1
EXIT_CONFIG_ERROR = 2
EXIT_ALREADY_RUNNING = 3
START_LOCK = "stack.lock"
_POLL_S = 0.2
_KILL_WAIT_S = 5.0
_LOG_TAIL_LINES = 15


class StackError(Exception):
    exit_code = EXIT_FAILED


class StackAlreadyRunning(StackError):
    exit_code = EXIT_ALREADY_RUNNING


class StackStartFailed(StackError):
    exit_code = EXIT_FAILED


@dataclass(frozen=True, slots=True)
class StackOptions:
    port: int | None = None
    """Monitor port (None: `monitor.port`)."""
    interval: float = 60.0
    use_ws: bool | None = None
    """True/False sets SERVICE_USE_WS in the children's environment; None leaves it to config."""
    live: bool = False
    """Pass --live to the trader (LIVE still needs keys and no POLY_DRY_RUN)."""
    log_level: str = "INFO"
    trade_args: tuple[str, ...] = ()
    """More `trade` options (the demo passes --sim-markets)."""
    health_timeout: float = 60.0
    stop_timeout: float = 30.0


class StackLauncher:
    def __init__(
        self,
        *,
        cwd: Path | None = None,
        environ: Mapping[str, str] | None = None,
        python: str = sys.executable,
        commands: Collection[str] = ("trade", "monitor"),
        on_progress: Callable[[str], None] | None = None,
    ) -> None:
        self.cwd = (cwd or Path.cwd()).resolve()
        self.environ = dict(os.environ if environ is None else environ)
        self.python = python
        self.commands = frozenset(commands)
        self._say = on_progress or (lambda _text: None)
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    # -- configuration ---------------------------------------------------------------------------

    def child_environ(self, options: StackOptions) -> dict[str, str]:
        env = dict(self.environ)
        env["PYTHONUNBUFFERED"] = "1"  # child logs reach logs/stack-*.log as they happen
        if options.use_ws is not None:
            env["SERVICE_USE_WS"] = "true" if options.use_ws else "false"
        if options.live:  # every child sees the same mode (CONFIG.md: -Live sets it)
            env["POLY_LIVE_CONFIRM"] = "true"
        return env

    def load_settings(self, options: StackOptions) -> Settings:
        """The configuration the children will see (ConfigError if it is invalid)."""
        overrides = {"mode.live_confirm": True} if options.live else None
        return load_settings(
            base_dir=self.cwd, environ=self.child_environ(options), overrides=overrides
        ).settings

    def run_dir(self) -> Path:
        """run/ even when the configuration does not validate (stop must always work)."""
        try:
            return load_settings(base_dir=self.cwd, environ=self.environ).settings.paths.run_dir
        except ConfigError:
            named = Path(self.environ.get("POLY_RUN_DIR") or "run").expanduser()
            return named if named.is_absolute() else self.cwd / named

    # -- start -----------------------------------------------------------------------------------

    def start(self, options: StackOptions) -> StackState:
        settings = self.load_settings(options)
        run_dir = settings.paths.run_dir
        port = options.port if options.port is not None else settings.monitor.port
        specs = build_specs(
            settings,
            port=port,
            interval=options.interval,
            live=options.live,
            commands=self.commands,
            trade_args=options.trade_args,
            log_level=options.log_level,
            stop_timeout=options.stop_timeout,
        )
        run_dir.mkdir(parents=True, exist_ok=True)
        start_lock = PidLock(run_dir / START_LOCK)
        try:
            start_lock.acquire(os.getpid(), purpose="stack start")
        except LockHeld as held:
            raise StackAlreadyRunning(
                f"another `stack start` is in progress (pid {held.pid}, {held.path})"
            ) from None
        try:
            self._refuse_if_running(settings, port)
            wallet = wallet_lock(settings, environ=self.environ)
            key = wallet_key(settings)
            try:
                wallet.acquire(os.getpid(), wallet=key, role="stack start")
            except LockHeld as held:
                raise StackAlreadyRunning(
                    f"wallet {key} is already traded by pid {held.pid} ({held.path}): "
                    "one engine per wallet"
                ) from None
            state = StackState(
                started_at=iso_ms(time.time()),
                launcher_pid=os.getpid(),
                cwd=str(self.cwd),
                run_mode=settings.run_mode.value,
                port=port,
                dashboard=f"http://{probe_host(settings.monitor.host)}:{port}/",
                run_dir=str(run_dir),
                reports_dir=str(settings.paths.reports_dir),
                logs_dir=str(settings.paths.logs_dir),
                wallet_lock=str(wallet.path),
            )
            try:
                self._start_all(specs, state, settings, options, wallet)
            except BaseException as error:
                self._say("start-up failed: stopping what was started")
                self._stop_records(state.processes, timeout=min(options.stop_timeout, 10.0))
                self._cleanup(run_dir, state)
                wallet.release(os.getpid())
                if isinstance(error, (StackError, KeyboardInterrupt)):
                    raise
                raise StackStartFailed(f"could not start the stack: {error}") from error
            return state
        finally:
            start_lock.release(os.getpid())

    def _refuse_if_running(self, settings: Settings, port: int) -> None:
        run_dir = settings.paths.run_dir
        state = read_state(run_dir)
        if state is not None:
            alive = [p for p in state.processes if same_process(p.pid, p.identity)]
            if alive:
                pids = ", ".join(f"{p.role} pid {p.pid}" for p in alive)
                raise StackAlreadyRunning(
                    f"a stack is already running ({pids}; {run_dir / STACK_FILE}): stop it "
                    f"with `polymarket-launch stack stop --port {state.port}`"
                )
        for path in self._cleanup(run_dir, state):
            self._say(f"removed stale {path}")
        trader = read_pid(run_dir / "trade.pid")
        if trader is not None and is_running(trader):
            raise StackAlreadyRunning(
                f"a trader is already running (pid {trader}, {run_dir / 'trade.pid'}): "
                "stop it first"
            )
        if not _port_free(settings.monitor.host, port):
            raise StackAlreadyRunning(
                f"port {port} is already in use (another monitor?): pick another with --port"
            )

    def _start_all(
        self,
        specs: list[ProcessSpec],
        state: StackState,
        settings: Settings,
        options: StackOptions,
        wallet: PidLock,
    ) -> None:
        env = self.child_environ(options)
        run_dir, logs_dir = settings.paths.run_dir, settings.paths.logs_dir
        for spec in specs:
            argv = [self.python, "-m", "polymarket_bot", *spec.args]
            log_path = logs_dir / f"stack-{spec.role}.log"
            started = time.time()
            proc = spawn_detached(argv, env={**env, **spec.env}, cwd=self.cwd, log_path=log_path)
            self._procs[spec.role] = proc
            pid_name = spec.pid_file or spec.own_pid_file
            if spec.pid_file is not None:
                write_pid_file(run_dir / spec.pid_file, proc.pid)
            state.processes.append(
                ChildRecord(
                    role=spec.role,
                    pid=proc.pid,
                    command=argv,
                    port=spec.port,
                    started_at=iso_ms(started),
                    started_epoch=started,
                    identity=process_identity(proc.pid),
                    log=str(log_path),
                    pid_file=str(run_dir / pid_name) if pid_name else None,
                )
            )
            write_state(run_dir, state)
            if spec.role == "trade":
                wallet.update(proc.pid, role="trade")
            self._say(f"started {spec.role} (pid {proc.pid}): {' '.join(spec.args)}")
        self._wait_healthy(specs, state, options.health_timeout)

    def _wait_healthy(self, specs: list[ProcessSpec], state: StackState, timeout: float) -> None:
        records = {r.role: r for r in state.processes}
        pending = {spec.role: spec for spec in specs}
        last: dict[str, Health] = {}
        deadline = time.monotonic() + timeout
        while pending:
            for role, spec in list(pending.items()):
                record = records[role]
                code = self._procs[role].poll()
                if code is not None:
                    raise StackStartFailed(
                        f"{role} exited with code {code} during start-up"
                        + _log_tail(Path(record.log))
                    )
                health = spec.health.check(record.pid, record.started_epoch)
                last[role] = health
                if health.ok:
                    self._say(f"{role} healthy (pid {record.pid}): {health.detail}")
                    del pending[role]
            if not pending:
                return
            if time.monotonic() >= deadline:
                waiting = "; ".join(f"{role}: {last[role].detail}" for role in pending)
                tails = "".join(_log_tail(Path(records[role].log)) for role in pending)
                raise StackStartFailed(f"not healthy within {timeout:g} s ({waiting})" + tails)
            time.sleep(_POLL_S)

    def exited(self) -> list[tuple[str, int]]:
        """Children started by this launcher that have exited, with their exit codes."""
        done = []
        for role, proc in self._procs.items():
            code = proc.poll()
            if code is not None:
                done.append((role, code))
        return done

    # -- stop ------------------------------------------------------------------------------------

    def stop(
        self, *, port: int | None = None, timeout: float = 30.0, run_dir: Path | None = None
    ) -> StopReport:
        """Stop the recorded stack: graceful request to every process at once, forced after
        `timeout`; then remove stale pid files. StackError if `port` is not the stack's port."""
        run_dir = run_dir or self.run_dir()
        state = read_state(run_dir)
        report = StopReport(run_dir=run_dir, found=state is not None)
        if state is not None:
            if port is not None and state.port and port != state.port:
                raise StackError(
                    f"the stack in {run_dir} serves port {state.port}, not {port}: "
                    f"run `polymarket-launch stack stop --port {state.port}`"
                )
            report.outcomes = self._stop_records(state.processes, timeout=timeout)
        report.removed = self._cleanup(run_dir, state)
        return report

    def _stop_records(self, records: Iterable[ChildRecord], *, timeout: float) -> list[StopOutcome]:
        outcomes: dict[str, StopOutcome] = {}
        waiting: list[ChildRecord] = []
        begun = time.monotonic()
        for record in records:
            self._reap(record)
            if not is_running(record.pid):
                outcomes[record.role] = StopOutcome(record.role, record.pid, "not running")
            elif not same_process(record.pid, record.identity):
                outcomes[record.role] = StopOutcome(record.role, record.pid, "pid reused")
            else:
                request_stop(record.pid)
                self._say(f"stopping {record.role} (pid {record.pid})")
                waiting.append(record)
        deadline = begun + timeout
        for forced in (False, True):
            while waiting and time.monotonic() < deadline:
                for record in list(waiting):
                    self._reap(record)
                    if not is_running(record.pid):
                        waiting.remove(record)
                        result = "killed" if forced else "stopped"
                        took = time.monotonic() - begun
                        outcomes[record.role] = StopOutcome(record.role, record.pid, result, took)
                if waiting:
                    time.sleep(_POLL_S / 2)
            if forced or not waiting:
                break
            for record in waiting:
                self._say(f"{record.role} (pid {record.pid}) did not stop in {timeout:g} s: kill")
                force_kill(record.pid)
            deadline = time.monotonic() + _KILL_WAIT_S
        for record in waiting:
            took = time.monotonic() - begun
            outcomes[record.role] = StopOutcome(record.role, record.pid, "failed", took)
        for outcome in outcomes.values():
            if outcome.ok:
                self._procs.pop(outcome.role, None)
        return list(outcomes.values())

    def _reap(self, record: ChildRecord) -> None:
        proc = self._procs.get(record.role)
        if proc is not None and proc.pid == record.pid:
            proc.poll()
        else:
            reap(record.pid)

    def _cleanup(self, run_dir: Path, state: StackState | None) -> list[Path]:
        """Delete pid and lock files whose process is gone, and stack.json once nothing of it
        runs. Files naming a running process are kept."""
        removed: list[Path] = []
        names = {"trade.pid", "monitor.pid", "orders-ws.pid", READY_FILE}
        if state is not None:
            names.update(Path(p.pid_file).name for p in state.processes if p.pid_file)
        for name in sorted(names):
            path = run_dir / name
            if path.exists():
                pid = read_pid(path)
                if pid is None or not is_running(pid):
                    with contextlib.suppress(OSError):
                        path.unlink()
                        removed.append(path)
        locks = [run_dir / START_LOCK, *run_dir.glob("wallet-*.lock")]
        if state is not None and state.wallet_lock:
            locks.append(Path(state.wallet_lock))
        for lock_path in dict.fromkeys(locks):
            lock = PidLock(lock_path)
            if lock_path.exists() and lock.holder() is None and lock.release():
                removed.append(lock_path)
        stack_file = run_dir / STACK_FILE
        if state is not None and not any(same_process(p.pid, p.identity) for p in state.processes):
            with contextlib.suppress(OSError):
                stack_file.unlink()
                removed.append(stack_file)
        return removed

    # -- status ----------------------------------------------------------------------------------

    def status(self, *, run_dir: Path | None = None, check_health: bool = True) -> StackStatus:
        run_dir = run_dir or self.run_dir()
        state = read_state(run_dir)
        status = StackStatus(run_dir=run_dir, state=state)
        if state is None:
            return status
        for record in state.processes:
            running = same_process(record.pid, record.identity)
            health = None
            if running and check_health:
                health = _health_for(state, record, run_dir).check(record.pid, record.started_epoch)
            status.processes.append(ProcessStatus(record, running, health))
        return status


def _health_for(state: StackState, record: ChildRecord, run_dir: Path) -> HealthCheck:
    if record.role == "trade" and state.reports_dir:
        return TraderHealth(Path(state.reports_dir), run_dir)
    if record.role == "monitor" and state.dashboard:
        return HttpHealth(state.dashboard.rstrip("/") + "/healthz")
    return AliveHealth(grace_seconds=0.0)


def _port_free(host: str, port: int) -> bool:
    """Can a server bind `host:port` now (as uvicorn binds it, SO_REUSEADDR on POSIX)?"""
    bind_host = host or "127.0.0.1"
    family = socket.AF_INET6 if ":" in bind_host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        if sys.platform != "win32":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((bind_host, port))
        except OSError:
            return False
    return True


def _log_tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 8192))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    tail = text.splitlines()[-lines:]
    if not tail:
        return ""
    body = "\n".join(f"    {line}" for line in tail)
    return f"\n  last lines of {path}:\n{redact(body)}"
