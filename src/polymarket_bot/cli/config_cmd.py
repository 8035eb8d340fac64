"""`polymarket-launch config show | reload` (seed §11)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from polymarket_bot.cli.common import LogLevelOption, normalise_log_level
from polymarket_bot.config import ConfigError, LoadedConfig, load_settings
from polymarket_bot.config.display import display_text, display_value
from polymarket_bot.config.reload import ReloadResult, request_reload, trader_status
from polymarket_bot.config.settings import PATHS
from polymarket_bot.observability.logging import setup_logging

EXIT_CONFIG_ERROR = 2
EXIT_NO_ANSWER = 1

app = typer.Typer(
    help="Show, validate and hot-reload the configuration.",
    no_args_is_help=True,
    add_completion=False,
)

ConfigFileOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="YAML file to read (default: $POLY_CONFIG_FILE, else config/runtime.yaml).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _out(width: int | None = None) -> Console:
    """Stdout console. On a terminal rows fold to its width; into a pipe or file they are kept
    whole (`width`), so that grep and copy-paste see complete values."""
    console = Console(soft_wrap=True, highlight=False)
    if width is not None and not console.is_terminal:
        console = Console(soft_wrap=True, highlight=False, width=max(width, 80))
    return console


def _table_width(rows: Sequence[tuple[str, ...]]) -> int:
    if not rows:
        return 80
    columns = zip(*rows, strict=True)
    return sum(max(len(cell) for cell in column) for column in columns) + 4 * len(rows[0]) + 4


def _err() -> Console:
    return Console(stderr=True, soft_wrap=True, highlight=False)


def _fail(error: ConfigError) -> typer.Exit:
    _err().print(str(error), markup=False)
    return typer.Exit(EXIT_CONFIG_ERROR)


@app.command("show")
def show(
    prefix: Annotated[
        str | None,
        typer.Argument(help="Only keys starting with this, e.g. `risk` or `service.ws`."),
    ] = None,
    log_level: LogLevelOption = "INFO",
    as_json: JsonOption = False,
    config_file: ConfigFileOption = None,
) -> None:
    """Print every setting with its value and source (secrets masked)."""
    setup_logging(normalise_log_level(log_level), log_file=None)
    try:
        loaded = load_settings(config_file=config_file)
    except ConfigError as error:
        raise _fail(error) from None
    rows = [
        (key, display_value(key, cv.value), cv.source, loaded.origins.get(key))
        for key, cv in loaded.values.items()
        if prefix is None or key.startswith(prefix)
    ]
    if as_json:
        document = {
            "run_mode": loaded.run_mode.value,
            "config_file": _shown_path(loaded.config_file, loaded),
            "env_file": _shown_path(loaded.env_file, loaded),
            "warnings": list(loaded.warnings),
            "values": {
                key: {"value": value, "source": source, **({"variable": var} if var else {})}
                for key, value, source, var in rows
            },
        }
        typer.echo(json.dumps(document, indent=2))
        return
    cells = [
        (key, display_text(value), f"{source} {var}" if var else source)
        for key, value, source, var in rows
    ]
    console = _out(_table_width([("key", "value", "source"), *cells]))
    console.print(f"run mode: {loaded.run_mode.name}", markup=False)
    console.print(
        f"config file: {_shown_path(loaded.config_file, loaded) or 'none (defaults)'}", markup=False
    )
    console.print(f".env: {_shown_path(loaded.env_file, loaded) or 'none'}", markup=False)
    table = Table(show_lines=False)
    table.add_column("key", overflow="fold")
    table.add_column("value", overflow="fold")
    table.add_column("source", overflow="fold")
    for cell in cells:
        table.add_row(*cell)
    console.print(table)
    for warning in loaded.warnings:
        _err().print(f"warning: {warning}", markup=False)


def _shown_path(path: Path | None, loaded: LoadedConfig) -> str | None:
    if path is None:
        return None
    try:
        return path.resolve().relative_to(loaded.base_dir).as_posix()
    except ValueError:
        return str(path)


@app.command("reload")
def reload(
    log_level: LogLevelOption = "INFO",
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.0, help="Seconds to wait for the trader's answer.")
    ] = 10.0,
    as_json: JsonOption = False,
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Without a running trader: the YAML file to validate (a trader re-reads its own).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Ask the running trader to re-read disk and environment; print what changed.

    Without a running trader, validate the configuration on disk instead.
    """
    setup_logging(normalise_log_level(log_level), log_file=None)
    error: ConfigError | None = None
    loaded: LoadedConfig | None = None
    run_dir = Path(os.environ.get("POLY_RUN_DIR") or PATHS["run_dir"])
    try:
        loaded = load_settings(config_file=config_file)
        run_dir = loaded.settings.paths.run_dir
    except ConfigError as exc:
        error = exc
    status = trader_status(run_dir)
    console = _out()
    if status.pid is None:
        if error is not None or loaded is None:
            _err().print(
                "no trader is running; the configuration on disk is invalid:", markup=False
            )
            raise _fail(error or ConfigError([]))
        console.print(
            f"no trader is running (no live pid in {run_dir / 'trade.pid'}); "
            f"the configuration on disk is valid (run mode: {loaded.run_mode.name})",
            markup=False,
        )
        return
    if not as_json:
        console.print(f"asking the trader (pid {status.pid}) to reload...", markup=False)
    result = request_reload(run_dir, timeout=timeout)
    if result is None:
        _err().print(
            f"no answer from the trader (pid {status.pid}) within {timeout:g} s; "
            f"the request stays queued in {run_dir / 'config.reload'}",
            markup=False,
        )
        raise typer.Exit(EXIT_NO_ANSWER)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
    else:
        _print_result(console, result)
    if not result.ok:
        raise typer.Exit(EXIT_CONFIG_ERROR)


def _print_result(console: Console, result: ReloadResult) -> None:
    if not result.ok:
        _err().print("the trader rejected the new configuration and keeps the running one:")
        _err().print(result.error or "(no reason given)", markup=False)
        return
    if not result.applied and not result.restart_required:
        console.print("reloaded: no changes", markup=False)
        return
    for title, changes in (
        ("applied (hot)", result.applied),
        ("changed but needs a restart (not applied)", result.restart_required),
    ):
        if changes:
            console.print(_change_table(title, changes))


def _change_table(title: str, changes: tuple[dict[str, Any], ...]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("key", "old", "new"):
        table.add_column(column, overflow="fold")
    for change in changes:
        table.add_row(change["key"], display_text(change["old"]), display_text(change["new"]))
    return table
