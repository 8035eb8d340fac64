"""Suite-wide fixtures."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (CI and local alike) and keep no example
# database: a failure is reproduced by rerunning, never depends on an earlier run. Tests that set
# their own `settings(...)` inherit these unless they override them.
settings.register_profile("deterministic", derandomize=True, database=None)
settings.load_profile("deterministic")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Commands under test call `setup_logging`, which adds root handlers and puts its redaction
    filter on every existing handler (pytest's capture handlers too): undo that after each test so
    one test's logging set-up never changes what the next one sees."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    filters = {handler: list(handler.filters) for handler in handlers}
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler, kept in filters.items():
        handler.filters[:] = kept
    root.setLevel(level)


QUICK_FEED_TIMINGS = {
    "ws_stale_after": 0.6,
    "ws_silence_timeout": 1.2,
    "ws_ping_interval": 0.3,
    "ws_snapshot_grace": 0.5,
    "ws_snapshot_timeout": 3.0,
    "ws_backoff_base": 0.2,
    "ws_backoff_cap": 0.5,
}


@pytest.fixture
def quick_feed() -> dict[str, float]:
    """Market-data timings for fault drills (`TraderOptions(market_data=...)`): a silent market
    WS is stale after 0.6 s and replaced after 1.2 s; reconnects back off 0.2-0.5 s."""
    return dict(QUICK_FEED_TIMINGS)
