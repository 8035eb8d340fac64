"""Store test fixtures: the same suite runs on SQLite and on a real MariaDB server started here.

`mariadb` (session): a throwaway MariaDB on 127.0.0.1 (tests/storage/mariadb_server.py). When the
server binaries are missing the MariaDB cases are skipped, except under CI=true where that FAILS
the run. `db_url` is parametrized over [sqlite, mariadb]; each test gets a fresh database.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from mariadb_server import MariaDBServer  # noqa: E402
from store_kit import require_mariadb_binaries  # noqa: E402

BACKENDS = ["sqlite", "mariadb"]


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDBServer]:
    require_mariadb_binaries()
    server = MariaDBServer.start(tmp_path_factory.mktemp("mariadb"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database of the parametrized backend."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'reports' / 'polymarket.db'}"
    server: MariaDBServer = request.getfixturevalue("mariadb")
    return server.create_database(f"t_{uuid.uuid4().hex[:12]}")
