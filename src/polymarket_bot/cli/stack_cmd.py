"""`polymarket-launch stack start|stop|status`: the one-command stack (seed §4, docs/OPERATIONS.md).

Registered by cli/main.py as `app.add_typer(stack_cmd.app, name="stack")`. The work is done by
`engine.stack.StackLauncher`; scripts/launch_online_stack.{ps1,sh} and scripts/stop_stack.{ps1,sh}
are thin wrappers over these commands.
"""

from __future__ import annotations

import json
import time
import webbrowser
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
    StackStatus,
)

app = typer.Typer(
    name="stack",
    help="Start, stop and inspect the whole stack (trader, monitor, order tracker).",
    no_args_is_help=True,
    add_completion=False,
)


def registered_commands() -> set[str]:
    """The `polymarket-launch` commands that exist (orders-ws runs only when it is one)."""
    from polymarket_bot.cli.main import app as root

    names = {c.name for c in root.registered_commands if c.name}
    names.update(g.name for g in root.registered_groups if g.name)
    return names


def _say(text: str) -> None:
    typer.echo(text)


@app.command()
def start(
    port: Annotated[
        int | None,
        typer.Option(
            "--port", min=1, max=65535, help="Dashboard port [default: monitor.port, 8888]."
        ),
    ] = None,
    interval: Annotated[
        float, typer.Option(min=1.0, help="Trader housekeeping cycle in seconds.")
    ] = 60.0,
    use_ws: Annotated[
        bool | None,
        typer.Option(
            "--use-ws/--no-use-ws",
            help="Set SERVICE_USE_WS=true/false for the children [default: configuration].",
            show_default=False,
        ),
    ] = None,
    open_browser: Annotated[
        bool, typer.Option("--open-browser", help="Open the dashboard once it is up.")
    ] = False,
    live: Annotated[
        bool, typer.Option("--live", help="LIVE trading: passes --live to the trader.")
    ] = False,
    timeout: Annotated[
        float, typer.Option(min=1.0, help="Seconds to wait for every process to be healthy.")
    ] = 60.0,
    log_level: LogLevelOption = "INFO",
) -> None:
    """Start trade, monitor and (with API keys) orders-ws detached; return once all are healthy."""
    level = normalise_log_level(log_level)
    launcher = StackLauncher(commands=registered_commands(), on_progress=_say)
    options = StackOptions(
        port=port,
        interval=interval,
        use_ws=use_ws,
        live=live,
        log_level=level,
        health_timeout=timeout,
    )
    try:
        state = launcher.start(options)
    except ConfigError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(EXIT_CONFIG_ERROR) from None
    except StackError as error:
        typer.echo(f"stack start: {error}", err=True)
        raise typer.Exit(error.exit_code) from None
    _say(where_to_look(state))
    if open_browser:
        webbrowser.open(state.dashboard)


def where_to_look(state: StackState) -> str:
    pids = ", ".join(f"{p.role} pid {p.pid}" for p in state.processes)
    return f"""
Stack running ({state.run_mode.upper()}): {pids}

  dashboard   {state.dashboard}   (JSON: /api/data, metrics: /metrics, health: /healthz)
  reports     {state.reports_dir}  (pipeline_status.json, orders.jsonl, trades.jsonl, ...)
  logs        {state.logs_dir}  (polymarket.log: trader, monitor.log, stack-<role>.log: console)
  state       {state.run_dir}/stack.json  (`polymarket-launch stack status`)
  stop        polymarket-launch stack stop --port {state.port}
"""


@app.command()
def stop(
    port: Annotated[
        int | None,
        typer.Option("--port", help="Only stop if the stack serves this port [default: any]."),
    ] = None,
    timeout: Annotated[
        float, typer.Option(min=0.0, help="Seconds to wait for a clean stop before killing.")
    ] = 30.0,
) -> None:
    """Stop exactly the processes `stack start` recorded (graceful, then forced)."""
    launcher = StackLauncher(on_progress=_say)
    try:
        report = launcher.stop(port=port, timeout=timeout)
    except StackError as error:
        typer.echo(f"stack stop: {error}", err=True)
        raise typer.Exit(error.exit_code) from None
    if not report.found:
        _say(f"no stack is running ({report.run_dir / 'stack.json'} not found)")
    for outcome in report.outcomes:
        took = f" in {outcome.seconds:.1f} s" if outcome.seconds else ""
        _say(f"{outcome.role} (pid {outcome.pid}): {outcome.result}{took}")
    for path in report.removed:
        _say(f"removed {path}")
    if not report.ok:
        typer.echo("some processes could not be stopped (run/stack.json kept)", err=True)
        raise typer.Exit(1)


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the stack's processes and their health; exit 0 only if all run and are healthy."""
    result = StackLauncher().status()
    if as_json:
        typer.echo(json.dumps(status_document(result), indent=2))
    else:
        _say(status_text(result))
    if not result.healthy:
        raise typer.Exit(1)


def status_document(result: StackStatus) -> dict[str, Any]:
    state = result.state
    return {
        "run_dir": str(result.run_dir),
        "running": result.running,
        "healthy": result.healthy,
        "stack": None if state is None else state.to_json(),
        "processes": [
            {
                "role": p.record.role,
                "pid": p.record.pid,
                "running": p.running,
                "healthy": p.health.ok if p.health is not None else None,
                "detail": p.health.detail if p.health is not None else None,
                "port": p.record.port,
                "started_at": p.record.started_at,
                "log": p.record.log,
            }
            for p in result.processes
        ],
    }


def status_text(result: StackStatus) -> str:
    state = result.state
    if state is None:
        return f"no stack is running ({result.run_dir / 'stack.json'} not found)"
    lines = [f"stack started {state.started_at} ({state.run_mode}), dashboard {state.dashboard}"]
    now = time.time()
    for p in result.processes:
        if not p.running:
            what = "NOT RUNNING"
        elif p.health is None:
            what = "running"
        else:
            what = ("healthy: " if p.health.ok else "UNHEALTHY: ") + p.health.detail
        up = f"up {_duration(now - p.record.started_epoch)}" if p.running else ""
        lines.append(f"  {p.record.role:<10} pid {p.record.pid:<8} {up:<12} {what}")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
