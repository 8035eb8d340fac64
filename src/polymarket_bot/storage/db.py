"""Engine factory and schema: SQLite by default (a file next to the reports, WAL mode), MySQL or
MariaDB through `mysql+pymysql://user:password@host:3306/db`.

SQLite runs in WAL mode with `synchronous=NORMAL`: a committed transaction survives a killed
process (SIGKILL) and the file is never left corrupt; only a power loss can drop the last commits.
Several processes may write the same file (`busy_timeout` makes them wait for each other).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from polymarket_bot.core.redaction import redact_url
from polymarket_bot.storage.models import TABLES, metadata

log = logging.getLogger(__name__)

DB_FILE_NAME: Final = "polymarket.db"
SQLITE_BUSY_TIMEOUT_MS: Final = 10_000
MYSQL_DIALECTS: Final = frozenset({"mysql", "mariadb"})


def default_db_url(reports_dir: Path | str) -> str:
    """`sqlite:///<reports_dir>/polymarket.db` (DB_CONFIG's default, seed §18)."""
    return f"sqlite:///{Path(reports_dir) / DB_FILE_NAME}"


def display_url(url: str) -> str:
    """The URL with its password masked, for messages and logs."""
    return redact_url(make_url(url).render_as_string(hide_password=True))


def _sqlite_pragmas(busy_timeout_ms: int) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    return on_connect


def create_db_engine(
    url: str,
    *,
    echo: bool = False,
    connect_timeout: float = 5.0,
    busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
) -> Engine:
    """An engine for `url`. SQLite: creates the file's directory and sets WAL/NORMAL/busy_timeout
    on every connection (`busy_timeout_ms`: how long a write waits for another writer's lock
    before it fails). MySQL/MariaDB: utf8mb4, pre-ping (a server restart is survived), bounded
    connect/read/write timeouts so an outage is an error, not a hang."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {"echo": echo}
    if backend == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": busy_timeout_ms / 1000}
    elif backend in MYSQL_DIALECTS:
        connect_args: dict[str, Any] = {}
        if parsed.get_driver_name() == "pymysql":
            timeout = max(1, round(connect_timeout))
            connect_args = {"connect_timeout": timeout, "read_timeout": 60, "write_timeout": 60}
            if "charset" not in parsed.query:
                connect_args["charset"] = "utf8mb4"
        kwargs.update(pool_pre_ping=True, pool_recycle=1800, connect_args=connect_args)
    engine = create_engine(parsed, **kwargs)
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas(busy_timeout_ms))
    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def init_schema(engine: Engine) -> None:
    """Create the tables and indexes that are missing (idempotent; safe when several processes
    start together: a lost creation race is retried once)."""
    for attempt in (1, 2):
        try:
            metadata.create_all(engine, checkfirst=True)
            return
        except (OperationalError, ProgrammingError) as exc:
            if attempt == 2 or "already exists" not in str(exc).lower():
                raise
            log.debug("schema creation raced another process; retrying: %s", exc)


def open_database(url: str, *, echo: bool = False, create: bool = True) -> Engine:
    """`create_db_engine` + `init_schema`."""
    engine = create_db_engine(url, echo=echo)
    if create:
        init_schema(engine)
    return engine


def insert_ignore_sql(engine: Engine, table: str, columns: tuple[str, ...]) -> str:
    """A positional INSERT for `cursor.executemany` that skips rows whose `event_id` is already
    there, so a retried batch never duplicates: SQLite/PostgreSQL `ON CONFLICT DO NOTHING`,
    MySQL/MariaDB `ON DUPLICATE KEY UPDATE event_id = event_id` (not INSERT IGNORE, which would
    also hide data errors)."""
    if table not in TABLES:
        raise KeyError(table)
    dialect = engine.dialect
    quote = dialect.identifier_preparer.quote
    style = dialect.paramstyle
    if style == "qmark":
        marks = ", ".join("?" for _ in columns)
    elif style in ("format", "pyformat"):
        marks = ", ".join("%s" for _ in columns)
    elif style == "numeric":
        marks = ", ".join(f":{i + 1}" for i in range(len(columns)))
    else:
        raise ValueError(f"unsupported DB-API paramstyle {style!r}")
    head = f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) VALUES ({marks})"
    if dialect.name in MYSQL_DIALECTS:
        key = quote("event_id")
        return f"{head} ON DUPLICATE KEY UPDATE {key} = {key}"
    if dialect.name in ("sqlite", "postgresql"):
        return f"{head} ON CONFLICT ({quote('event_id')}) DO NOTHING"
    raise ValueError(f"unsupported database {dialect.name!r}: use SQLite or MySQL/MariaDB")
