"""`polymarket-launch trade --interval N`: run the trader in the configured mode."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from polymarket_bot.cli.common import LogLevelOption, load_for_process, stop_event_on_signals
from polymarket_bot.config import ConfigReloader
from polymarket_bot.core.modes import RunMode
from polymarket_bot.engine.stack.locks import LockHeld, claim_wallet
from polymarket_bot.engine.trader import Trader, TraderOptions

EXIT_CONFIG_ERROR = 2
EXIT_ALREADY_RUNNING = 3
PID_FILE = "trade.pid"


def trade(
    interval: Annotated[
        float, typer.Option(min=1.0, help="Housekeeping cycle in seconds (status, snapshots).")
    ] = 60.0,
    live: Annotated[
        bool,
        typer.Option("--live", help="Confirm LIVE trading (needs keys; POLY_DRY_RUN unset)."),
    ] = False,
    record: Annotated[
        Path | None, typer.Option(help="Capture every raw market frame into this directory.")
    ] = None,
    max_markets: Annotated[
        int, typer.Option(min=1, help="Markets tracked when no strategy names its markets.")
    ] = 20,
    sim_markets: Annotated[
        int, typer.Option(min=1, help="OFFLINE: markets of the built-in simulator.")
    ] = 8,
    sim_seed: Annotated[int, typer.Option(help="OFFLINE: seed of the built-in simulator.")] = 7,
    duration: Annotated[
        float | None, typer.Option(min=0.0, help="Stop by itself after this many seconds.")
    ] = None,
    log_level: LogLevelOption = "INFO",
) -> None:
    """Trade: market data, strategies, risk and execution in OFFLINE, DRY-RUN or LIVE mode."""
    overrides: dict[str, Any] = {"mode.live_confirm": True} if live else {}
    loaded = load_for_process(log_level, overrides=overrides)
    settings = loaded.settings
    if settings.run_mode is RunMode.LIVE and not live and not settings.mode.live_confirm:
        typer.echo("LIVE trading needs an explicit --live (or POLY_LIVE_CONFIRM=true)", err=True)
        raise typer.Exit(EXIT_CONFIG_ERROR)
    run_dir = settings.paths.run_dir
    pid_path = run_dir / PID_FILE
    holder = _live_pid(pid_path)
    if holder is not None:
        typer.echo(f"a trader is already running (pid {holder}, {pid_path})", err=True)
        raise typer.Exit(EXIT_ALREADY_RUNNING)
    run_dir.mkdir(parents=True, exist_ok=True)
    try:  # one engine per wallet: two traders on one account race each other
        wallet = claim_wallet(settings)
    except LockHeld as held:
        typer.echo(f"another trader holds this wallet: {held}", err=True)
        raise typer.Exit(EXIT_ALREADY_RUNNING) from None
    pid_path.write_text(json.dumps({"pid": os.getpid()}), encoding="utf-8")
    options = TraderOptions(
        interval=interval,
        record_dir=record,
        max_markets=max_markets,
        sim_markets=sim_markets,
        sim_seed=sim_seed,
        freeze_gc=True,
    )
    try:
        asyncio.run(_main(loaded, options, duration))
    finally:
        wallet.release(os.getpid())
        with contextlib.suppress(OSError):
            if _read_pid(pid_path) == os.getpid():
                pid_path.unlink()


async def _main(loaded: Any, options: TraderOptions, duration: float | None) -> None:
    stop = stop_event_on_signals(duration)
    loop = asyncio.get_running_loop()
    reloader = ConfigReloader(loaded)
    reloader.start(loop)
    trader = Trader(loaded.settings, options=options, reloader=reloader)
    try:
        await trader.run(stop)
    finally:
        reloader.close()


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
        return int(json.loads(text)["pid"]) if text.startswith("{") else int(text)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _live_pid(path: Path) -> int | None:
    """The pid in `path` if that process is alive (a stale file is ignored)."""
    pid = _read_pid(path)
    if pid is None or pid == os.getpid():
        return None
    if sys.platform == "win32":  # os.kill(pid, 0) would terminate the process on Windows
        return pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid
