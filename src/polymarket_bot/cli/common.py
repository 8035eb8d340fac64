"""Options shared by every command."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Annotated, Any

import typer

from polymarket_bot.config import ConfigError, LoadedConfig, load_settings
from polymarket_bot.observability.logging import register_secrets, setup_logging

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

LogLevelOption = Annotated[
    str,
    typer.Option(
        "--log-level",
        help="Logging level: DEBUG, INFO, WARNING, ERROR or CRITICAL.",
        case_sensitive=False,
    ),
]


def normalise_log_level(value: str) -> str:
    level = value.upper()
    if level not in LOG_LEVELS:
        raise typer.BadParameter(f"--log-level must be one of {', '.join(LOG_LEVELS)}")
    return level


EXIT_CONFIG_ERROR = 2


def load_for_process(
    log_level: str, *, overrides: dict[str, Any] | None = None, log_file: Path | None = None
) -> LoadedConfig:
    """Load the configuration (a bad one exits 2 with the key and the reason, no traceback),
    then set up logging from it with every configured secret masked."""
    level = normalise_log_level(log_level)
    try:
        loaded = load_settings(overrides=overrides or None)
    except ConfigError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(EXIT_CONFIG_ERROR) from None
    settings = loaded.settings
    log = settings.logging
    setup_logging(
        level,
        log_file=log_file if log_file is not None else log.file,
        max_bytes=log.max_bytes,
        backup_count=log.backup_count,
        console=log.console,
        secrets=settings.secret_values(),
    )
    register_secrets(*settings.secret_values())
    return loaded


def stop_event_on_signals(duration: float | None = None) -> asyncio.Event:
    """An event set by SIGINT/SIGTERM (and after `duration` seconds); call inside the loop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if duration is not None:
        loop.call_later(duration, stop.set)
    return stop
