"""Isolation for config tests: no configuration variable leaks in from the caller's environment,
every test runs in its own empty working directory, and logging is restored afterwards."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from polymarket_bot.config.settings import (
    CONFIG_FILE_ENV,
    ENV_VARS,
    GENERIC_ENV_PREFIX,
    OUR_ENV_PREFIXES,
)
from polymarket_bot.observability.logging import clear_registered_secrets


def clean_environ() -> dict[str, str]:
    """os.environ without any variable the configuration would read."""
    return {
        k: v
        for k, v in os.environ.items()
        if k not in ENV_VARS
        and k != CONFIG_FILE_ENV
        and not k.startswith(GENERIC_ENV_PREFIX)
        and not k.startswith(OUR_ENV_PREFIXES)
    }


@pytest.fixture
def base_environ() -> dict[str, str]:
    """The environment for a subprocess: the caller's, minus configuration variables."""
    return clean_environ()


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in set(os.environ) - set(clean_environ()):
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield tmp_path
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    clear_registered_secrets()
