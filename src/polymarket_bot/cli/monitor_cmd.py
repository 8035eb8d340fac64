"""`polymarket-launch monitor --port 8888`: the dashboard, JSON API and metrics (docs/MONITOR.md).

Registered by cli/main.py as `app.command("monitor")(monitor)`. The monitor only reads report
files, so it runs as its own process beside the trader.
"""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from typing import Annotated

import typer

from polymarket_bot.cli.common import LogLevelOption, normalise_log_level
from polymarket_bot.config import ConfigError, load_settings
from polymarket_bot.observability.logging import setup_logging

EXIT_CONFIG_ERROR = 2
MONITOR_LOG = "monitor.log"

log = logging.getLogger("polymarket_bot.monitor")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def monitor(
    port: Annotated[
        int | None,
        typer.Option("--port", help="TCP port (default: monitor.port, 8888).", show_default=False),
    ] = None,
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            help="Interface to bind (default: monitor.host, 127.0.0.1). Anything but loopback "
            "exposes the dashboard to the network.",
            show_default=False,
        ),
    ] = None,
    reports_dir: Annotated[
        Path | None,
        typer.Option(
            "--reports-dir",
            help="Reports directory to read (default: paths.reports_dir, ./reports).",
            show_default=False,
        ),
    ] = None,
    log_level: LogLevelOption = "INFO",
) -> None:
    """Serve the dashboard (/), the JSON API (/api/data, /docs) and metrics (/metrics)."""
    level = normalise_log_level(log_level)
    try:
        settings = load_settings().settings
    except ConfigError as error:
        setup_logging(level, log_file=None)
        typer.echo(str(error), err=True)
        raise typer.Exit(EXIT_CONFIG_ERROR) from None
    log_file = settings.logging.file.with_name(MONITOR_LOG) if settings.logging.file else None
    setup_logging(
        level,
        log_file=log_file,
        max_bytes=settings.logging.max_bytes,
        backup_count=settings.logging.backup_count,
        console=True,
        secrets=settings.secret_values(),
    )
    import uvicorn

    from polymarket_bot.web.app import create_app

    token = settings.monitor.control_token
    bind_host = host or settings.monitor.host
    bind_port = port if port is not None else settings.monitor.port
    reports = (reports_dir or settings.paths.reports_dir).resolve()
    app = create_app(
        reports,
        control_token=token.get_secret_value() if token is not None else None,
        run_dir=settings.paths.run_dir,
    )
    if not _is_loopback(bind_host):
        log.warning(
            "binding %s: anyone who can reach this address can read the dashboard", bind_host
        )
    if token is None:
        log.info("operator controls are disabled (no monitor.control_token / POLY_CONTROL_TOKEN)")
    shown = f"[{bind_host}]" if ":" in bind_host else bind_host
    log.info("monitor on http://%s:%d/ reading %s", shown, bind_port, reports)
    uvicorn.run(
        app,
        host=bind_host,
        port=bind_port,
        log_level=level.lower(),
        log_config=None,
        access_log=level == "DEBUG",
        ws="none",
        lifespan="on",
    )
