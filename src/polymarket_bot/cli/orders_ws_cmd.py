"""`polymarket-launch orders-ws --limit N`: order tracking (user channel + REST polling) as its
own process; see `engine.tracking.standalone` for how it coexists with a running trader."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Annotated

import typer

from polymarket_bot.cli.common import LogLevelOption, normalise_log_level
from polymarket_bot.config import ConfigError, load_settings
from polymarket_bot.config.model import Settings
from polymarket_bot.engine.tracking.standalone import run_standalone
from polymarket_bot.observability.logging import register_secrets, setup_logging

EXIT_CONFIG_ERROR = 2
EXIT_VENUE_ERROR = 4


def orders_ws(
    limit: Annotated[
        int, typer.Option(min=1, help="At most this many open orders / trades per REST poll.")
    ] = 50,
    duration: Annotated[
        float | None, typer.Option(min=0.0, help="Stop by itself after this many seconds.")
    ] = None,
    log_level: LogLevelOption = "INFO",
) -> None:
    """Track the account's orders and fills (user WS, REST fallback) in its own process."""
    level = normalise_log_level(log_level)
    try:
        loaded = load_settings()
    except ConfigError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(EXIT_CONFIG_ERROR) from None
    settings = loaded.settings
    log = settings.logging
    setup_logging(
        level,
        log_file=log.file,
        max_bytes=log.max_bytes,
        backup_count=log.backup_count,
        console=log.console,
        secrets=settings.secret_values(),
    )
    register_secrets(*settings.secret_values())
    try:
        asyncio.run(_main(settings, limit, duration))
    except RuntimeError as exc:
        typer.echo(f"orders-ws: {exc}", err=True)
        raise typer.Exit(EXIT_VENUE_ERROR) from None


async def _main(settings: Settings, limit: int, duration: float | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if duration is not None:
        loop.call_later(duration, stop.set)
    await run_standalone(settings, limit=limit, stop=stop)
