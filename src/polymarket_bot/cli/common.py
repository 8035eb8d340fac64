"""Options shared by every command."""

from __future__ import annotations

from typing import Annotated

import typer

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
