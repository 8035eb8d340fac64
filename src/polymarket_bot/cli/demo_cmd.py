"""`polymarket-launch demo`: the README's main command.

OFFLINE, no configuration needed: the stack launcher (engine/stack) starts a trader against its
built-in simulator and the monitor at http://127.0.0.1:8888 as two processes (a crashed dashboard
never stops trading), then a short guided tour runs in the terminal. Ctrl-C stops both cleanly;
if the demo itself is killed, `polymarket-launch stack stop` finds what it started.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from polymarket_bot.cli.common import LogLevelOption, normalise_log_level
from polymarket_bot.config import ConfigError
from polymarket_bot.engine.stack import (
    EXIT_CONFIG_ERROR,
    StackError,
    StackLauncher,
    StackOptions,
    StackState,
)

_TOUR_EVERY_S = 10.0
# A demo is OFFLINE whatever the shell says: these would select another mode or venue.
_NOT_FOR_THE_DEMO = ("POLY_DRY_RUN", "POLY_LIVE_CONFIRM", "CLOB_REST_URL", "CLOB_WS_URL")


def demo(
    port: Annotated[int, typer.Option(help="Dashboard port.")] = 8888,
    interval: Annotated[float, typer.Option(min=1.0, help="Trader housekeeping cycle.")] = 10.0,
    markets: Annotated[int, typer.Option(min=1, help="Simulated markets.")] = 8,
    duration: Annotated[
        float | None, typer.Option(min=0.0, help="Stop by itself after this many seconds.")
    ] = None,
    log_level: LogLevelOption = "INFO",
) -> None:
    """Run the whole system OFFLINE on the built-in simulator, with the dashboard."""
    level = normalise_log_level(log_level)
    env = {k: v for k, v in os.environ.items() if k not in _NOT_FOR_THE_DEMO}
    env["POLY_OFFLINE_MODE"] = "true"
    launcher = StackLauncher(environ=env, commands=("trade", "monitor"), on_progress=_say)
    options = StackOptions(
        port=port,
        interval=interval,
        log_level=level,
        trade_args=("--sim-markets", str(markets)),
    )
    _say("Py-Polymarket demo: starting the trader (with its simulator) and the dashboard...")
    try:
        state = launcher.start(options)
    except ConfigError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(EXIT_CONFIG_ERROR) from None
    except StackError as error:
        typer.echo(f"demo: {error}", err=True)
        raise typer.Exit(error.exit_code) from None
    except KeyboardInterrupt:
        _say("demo interrupted during start-up")
        raise typer.Exit(130) from None
    _say(_welcome(state, markets))
    failed = _tour(launcher, state, duration)
    report = launcher.stop(timeout=30.0)
    for outcome in report.outcomes:
        _say(f"  {outcome.role} (pid {outcome.pid}): {outcome.result}")
    _say("demo stopped")
    if failed or not report.ok:
        raise typer.Exit(1)


def _welcome(state: StackState, markets: int) -> str:
    return f"""
Py-Polymarket demo (OFFLINE: the built-in exchange simulator, no real money)

  dashboard   {state.dashboard}      (JSON: /api/data, metrics: /metrics)
  reports     {state.reports_dir}  (orders.jsonl, trades.jsonl, fills.jsonl, risk_audit.jsonl, ...)
  logs        {state.logs_dir}  (polymarket.log, monitor.log, stack-*.log)
  strategy    market_maker on {markets} simulated markets SIM-1..SIM-{markets}

Ctrl-C stops the trader and the dashboard.
"""


def _tour(launcher: StackLauncher, state: StackState, duration: float | None) -> bool:
    """Print what is trading every few seconds until Ctrl-C, `duration`, or a child exits;
    True if a child died."""
    stopping = False

    def _stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    status = Path(state.reports_dir) / "pipeline_status.json"
    started = time.monotonic()
    next_tour = started
    try:
        while not stopping:
            dead = launcher.exited()
            if dead:
                names = ", ".join(f"{role} (exit code {code})" for role, code in dead)
                _say(f"{names} exited; stopping the demo (see {state.logs_dir}/stack-*.log)")
                return True
            now = time.monotonic()
            if duration is not None and now - started >= duration:
                break
            if now >= next_tour:
                next_tour = now + _TOUR_EVERY_S
                _say(_tour_line(status))
            time.sleep(0.2)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    _say("stopping...")
    return False


def _tour_line(status: Path) -> str:
    try:
        doc = json.loads(status.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "waiting for the trader's first status report..."
    counts = (doc.get("execution") or {}).get("counts") or {}
    risk = doc.get("risk_audit") or {}
    source = (doc.get("fetch_info") or {}).get("current_source", "?")
    return (
        f"market data {source} | orders submitted {counts.get('submitted', 0)}, "
        f"filled {counts.get('filled', 0)}, partial {counts.get('partial', 0)}, "
        f"canceled {counts.get('canceled', 0)} | risk approved {risk.get('approved', 0)}, "
        f"rejected {risk.get('rejected', 0)}"
    )


def _say(text: str) -> None:
    print(text, flush=True)
