"""SQL tables (SQLAlchemy 2 Core), one per report stream plus snapshots, created automatically.

Every row has `event_id` (the record's id in the JSONL, unique) as its primary key, so writing the
same record twice never makes two rows. `timestamp` is UTC (naive in the column; DATETIME(6) on
MySQL) and indexed. Money columns are exact: DECIMAL(20,6) on MySQL/MariaDB; on SQLite (which
has no exact decimal type) INTEGER micro-units (1e-6), converted back to `Decimal` on read.
Fields a table has no column for are kept in its `extra` JSON column, nested objects (`metadata`,
`risk`) in their own JSON columns, so a row gives back the whole record.

| table | stream (reports/) |
| --- | --- |
| order_events | orders.jsonl |
| trade_events | trades.jsonl (incremental fills) |
| fill_events | fills.jsonl (execution telemetry) |
| risk_audit_events | risk_audit.jsonl |
| realized_exits | realized_exits.jsonl |
| position_snapshots | open_positions.json, one row per position per snapshot |
| account_snapshots | open_positions.json header (cash, exposure, unrealized) per snapshot |
| backtest_runs | backtest results (parameters, metrics) |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, Literal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Index,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeDecorator, TypeEngine

from polymarket_bot.storage.fields import UTC, money_units, naive_utc, to_money, units_money

Kind = Literal["str", "ts", "money", "bool", "json", "int"]


def _is_sqlite(dialect: Dialect) -> bool:
    return dialect.name == "sqlite"


class Money(TypeDecorator[Decimal]):
    """Exact money: DECIMAL(20,6), or INTEGER micro-units on SQLite. Binds Decimal/int/str/float
    (via its repr); values outside Numeric(20,6) are refused by the row converter before here."""

    impl = Numeric(20, 6)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if _is_sqlite(dialect):
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(20, 6, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        money = to_money(value)
        if money is None:
            raise ValueError(f"not a money value in Numeric(20,6): {value!r}")
        return money_units(money) if _is_sqlite(dialect) else money

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if _is_sqlite(dialect):
            return units_money(int(value))
        return value if isinstance(value, Decimal) else Decimal(str(value))


class UTCDateTime(TypeDecorator[datetime]):
    """UTC instant: stored naive (DATETIME(6) on MySQL), read back as an aware UTC datetime."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else naive_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


JsonText: Final = (
    Text().with_variant(mysql.MEDIUMTEXT(), "mysql").with_variant(mysql.MEDIUMTEXT(), "mariadb")
)


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: Kind
    length: int = 0
    index: bool = False


def _f(name: str, kind: Kind = "str", length: int = 64, *, index: bool = False) -> Field:
    return Field(name, kind, length if kind == "str" else 0, index)


TS = _f("timestamp", "ts", index=True)
MARKET = _f("market_id", length=128, index=True)
ACTION = _f("action", length=16)
EXTRA = _f("extra", "json")

# Column order = CSV column order of the export and the replay tool.
TABLE_FIELDS: Final[dict[str, tuple[Field, ...]]] = {
    "order_events": (
        TS,
        _f("event", length=32, index=True),
        MARKET,
        ACTION,
        _f("size", "money"),
        _f("price", "money"),
        _f("reason", length=255),
        _f("metadata", "json"),
        _f("runtime_mode", length=16),
        _f("status", length=32),
        _f("source", length=32),
        _f("order_id", length=128, index=True),
        _f("client_id", length=128),
        _f("strategy", length=64),
        _f("side", length=8),
        _f("order_type", length=8),
        _f("token_id", length=96),
        _f("condition_id", length=80),
        EXTRA,
    ),
    "trade_events": (
        TS,
        _f("order_id", length=128, index=True),
        MARKET,
        ACTION,
        _f("filled_shares", "money"),
        _f("average_price", "money"),
        _f("notional", "money"),
        _f("status", length=32),
        _f("execution_mode", length=32),
        _f("trade_id", length=128, index=True),
        _f("side", length=8),
        _f("fee", "money"),
        _f("settlement", length=32),
        _f("external", "bool"),
        _f("source", length=32),
        _f("runtime_mode", length=16),
        EXTRA,
    ),
    "fill_events": (
        TS,
        _f("event", length=16),
        MARKET,
        _f("side", length=16),
        _f("notional", "money"),
        _f("fill_price", "money"),
        _f("reference_price", "money"),
        _f("slippage", "money"),
        _f("fees", "money"),
        _f("execution_mode", length=32),
        _f("mid", "money"),
        _f("spread", "money"),
        _f("shares", "money"),
        _f("order_id", length=128, index=True),
        _f("trade_id", length=128),
        EXTRA,
    ),
    "risk_audit_events": (
        TS,
        MARKET,
        ACTION,
        _f("size", "money"),
        _f("approved", "bool"),
        _f("risk", "json"),
        _f("rejections", length=255),
        _f("strategy", length=64),
        EXTRA,
    ),
    "realized_exits": (
        TS,
        MARKET,
        ACTION,
        _f("shares", "money"),
        _f("entry_price", "money"),
        _f("exit_price", "money"),
        _f("pnl", "money"),
        _f("fees", "money"),
        _f("reason", length=32),
        _f("fill_id", length=128),
        EXTRA,
    ),
    "position_snapshots": (
        _f("snapshot_id", length=64, index=True),
        TS,
        MARKET,
        ACTION,
        _f("token_id", length=96),
        _f("shares", "money"),
        _f("average_price", "money"),
        _f("mark", "money"),
        _f("unrealized_pnl", "money"),
        _f("cost", "money"),
        EXTRA,
    ),
    "account_snapshots": (
        TS,
        _f("cash", "money"),
        _f("exposure", "money"),
        _f("unrealized_pnl", "money"),
        _f("realized_pnl", "money"),
        _f("positions", "int"),
        _f("runtime_mode", length=16),
        EXTRA,
    ),
    "backtest_runs": (
        TS,
        _f("name", length=128, index=True),
        _f("strategy", length=64),
        _f("params", "json"),
        _f("metrics", "json"),
        EXTRA,
    ),
}

TABLE_NAMES: Final = tuple(TABLE_FIELDS)
if any(fields[-1] is not EXTRA for fields in TABLE_FIELDS.values()):  # records.py relies on it
    raise RuntimeError("every table's last field must be `extra`")
EVENT_ID_LENGTH: Final = 128


def _column_type(field: Field) -> TypeEngine[Any]:
    if field.kind == "str":
        return String(field.length)
    if field.kind == "ts":
        return UTCDateTime()
    if field.kind == "money":
        return Money()
    if field.kind == "bool":
        return Boolean()
    if field.kind == "int":
        return BigInteger()
    return JsonText


def _build(metadata: MetaData) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    for name, fields in TABLE_FIELDS.items():
        columns: list[Any] = [Column("event_id", String(EVENT_ID_LENGTH), primary_key=True)]
        columns += [Column(f.name, _column_type(f), nullable=True) for f in fields]
        indexes = [Index(f"ix_{name}_{f.name}", f.name) for f in fields if f.index]
        tables[name] = Table(
            name,
            metadata,
            *columns,
            *indexes,
            mysql_engine="InnoDB",
            mysql_charset="utf8mb4",
            mysql_collate="utf8mb4_bin",
        )
    return tables


metadata: Final = MetaData()
TABLES: Final[dict[str, Table]] = _build(metadata)

ORDER_EVENTS: Final = TABLES["order_events"]
TRADE_EVENTS: Final = TABLES["trade_events"]
FILL_EVENTS: Final = TABLES["fill_events"]
RISK_AUDIT_EVENTS: Final = TABLES["risk_audit_events"]
REALIZED_EXITS: Final = TABLES["realized_exits"]
POSITION_SNAPSHOTS: Final = TABLES["position_snapshots"]
ACCOUNT_SNAPSHOTS: Final = TABLES["account_snapshots"]
BACKTEST_RUNS: Final = TABLES["backtest_runs"]

# Short names used by the export tool (seed §18: --tables orders trades positions realized).
TABLE_ALIASES: Final[dict[str, str]] = {
    "orders": "order_events",
    "trades": "trade_events",
    "fills": "fill_events",
    "risk": "risk_audit_events",
    "risk_audit": "risk_audit_events",
    "realized": "realized_exits",
    "exits": "realized_exits",
    "positions": "position_snapshots",
    "accounts": "account_snapshots",
    "backtests": "backtest_runs",
}


def resolve_table(name: str) -> str:
    """A table name from a short alias or the table's own name; KeyError if unknown."""
    key = name.strip().lower()
    if key in TABLES:
        return key
    return TABLE_ALIASES[key]
