"""Fixtures of the transport tests. `transport_kit` (helpers) is made importable under
`--import-mode=importlib`, which puts no test directory on `sys.path`."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from transport_kit import FakeClob, FakeSleep, LocalServer  # noqa: E402

from polymarket_bot.core.clock import TestClock  # noqa: E402


@pytest.fixture
def clock() -> TestClock:
    return TestClock(start=1_767_225_600.0)


@pytest.fixture
def fake_sleep(clock: TestClock) -> FakeSleep:
    return FakeSleep(clock)


@pytest.fixture
async def clob(clock: TestClock) -> AsyncIterator[FakeClob]:
    """A scriptable CLOB on 127.0.0.1:<ephemeral>; `clob.url` is its base URL."""
    fake = FakeClob(clock)
    server = LocalServer(fake.app)
    await server.start()
    fake.url = server.url
    try:
        yield fake
    finally:
        fake.release.set()
        await server.stop()
