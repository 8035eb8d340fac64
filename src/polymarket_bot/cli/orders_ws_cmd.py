"""`polymarket-launch orders-ws --limit N`: order tracking (user channel + REST polling) as its
own process; see `engine.tracking.standalone` for how it coexists with a running trader."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from polymarket_bot.cli.common import LogLevelOption, load_for_process, stop_event_on_signals
from polymarket_bot.config.model import Settings
from polymarket_bot.engine.tracking.standalone import run_standalone

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
    settings = load_for_process(log_level).settings
    try:
        asyncio.run(_main(settings, limit, duration))
    except RuntimeError as exc:
        typer.echo(f"orders-ws: {exc}", err=True)
        raise typer.Exit(EXIT_VENUE_ERROR) from None


async def _main(settings: Settings, limit: int, duration: float | None) -> None:
    await run_standalone(settings, limit=limit, stop=stop_event_on_signals(duration))
