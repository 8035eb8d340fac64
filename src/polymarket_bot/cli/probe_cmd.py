"""`polymarket-launch probe api --limit N` (seed §11): a preflight of the configured venue.

Exit codes: 0 every check passed (warnings allowed), 1 a check failed, 2 the configuration is
invalid. The last line of the text output is the verdict.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from polymarket_bot.cli.common import LogLevelOption, normalise_log_level
from polymarket_bot.config import ConfigError, load_settings
from polymarket_bot.engine.probe import FAIL, OK, SKIP, WARN, ProbeReport, run_probe
from polymarket_bot.observability.logging import setup_logging

EXIT_FAILED = 1
EXIT_CONFIG_ERROR = 2

app = typer.Typer(
    help="Probe the venue's APIs (REST, Gamma, WebSocket, auth).",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _group() -> None:
    """Probe the venue's APIs (REST, Gamma, WebSocket, auth)."""


_MARKS = {OK: "[ OK ]", WARN: "[WARN]", FAIL: "[FAIL]", SKIP: "[SKIP]"}


@app.command("api")
def api(
    limit: Annotated[
        int, typer.Option("--limit", min=0, max=100, help="Sample markets to quote.")
    ] = 5,
    log_level: LogLevelOption = "WARNING",
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="Seconds allowed per check.")
    ] = 10.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    config_file: Annotated[
        Path | None,
        typer.Option("--config", help="YAML file to read (default: config/runtime.yaml)."),
    ] = None,
) -> None:
    """Server time and clock skew, CLOB and Gamma reachability and latency, N sample markets
    with bid/ask, a WebSocket subscribe that yields a snapshot; with credentials also L2 auth
    and balance/allowance. Honours PROXY_ENABLED / PROXY_URL."""
    setup_logging(normalise_log_level(log_level), log_file=None)
    try:
        settings = load_settings(config_file=config_file).settings
    except ConfigError as error:
        typer.echo(str(error), err=True)
        typer.echo("VERDICT: FAIL - the configuration is invalid", err=True)
        raise typer.Exit(EXIT_CONFIG_ERROR) from None
    report = asyncio.run(run_probe(settings, limit=limit, timeout=timeout))
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        _print(report)
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)


def _print(report: ProbeReport) -> None:
    typer.echo(f"CLOB  {report.clob_url or '-'}")
    typer.echo(f"WS    {report.ws_url or '-'}")
    typer.echo(f"Gamma {report.gamma_url or '-'}")
    typer.echo(f"proxy {report.proxy or 'none'}")
    for check in report.checks:
        latency = f"{check.latency_ms:8.1f} ms" if check.latency_ms is not None else " " * 11
        typer.echo(
            f"{_MARKS.get(check.status, check.status)} {check.name:<14}{latency}  {check.detail}"
        )
    if report.markets:
        typer.echo(f"sample markets ({len(report.markets)}):")
        for m in report.markets:
            bid, ask = m.best_bid or "-", m.best_ask or "-"
            label = (m.question or m.condition_id)[:60]
            typer.echo(f"  bid {bid:>7}  ask {ask:>7}  {m.outcome:<4} {label}")
    typer.echo(report.verdict())
