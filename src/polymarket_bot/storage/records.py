"""Record (a JSONL line as a dict) <-> SQL row conversion, driven by `models.TABLE_FIELDS`.

`to_row` never raises on bad values: a value that does not fit its column's type (a non-numeric
size, an unreadable timestamp) is kept in the row's `extra` JSON under its own name instead, and
over-long text is truncated, so one odd record never blocks a batch. `to_record` gives back the
record (columns that are set, then the `extra` fields), with money as exact `Decimal` and the
timestamp as ISO-8601 `...Z` text.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Final

import msgspec

from polymarket_bot.storage.fields import (
    iso_from_datetime,
    money_units,
    parse_timestamp,
    plain_decimal,
    to_money,
)
from polymarket_bot.storage.models import EVENT_ID_LENGTH, TABLE_FIELDS, Field

_ENCODER: Final = msgspec.json.Encoder(decimal_format="number", enc_hook=str)
_DECODER: Final = msgspec.json.Decoder(float_hook=Decimal)
_TRUE: Final = frozenset({"true", "1", "yes", "y", "t"})
_FALSE: Final = frozenset({"false", "0", "no", "n", "f", ""})
_MISSING: Final = object()
_INT64: Final = 2**63


def _text(value: Any, length: int) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= length else text[:length]


def _bool(value: Any) -> bool | object:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    return _MISSING


def _json(value: Any) -> str:
    return _ENCODER.encode(value).decode()


class _Unfit(Exception):
    """The value does not fit its column: it goes to `extra` under its own name."""


_UNFIT: Final = _Unfit()
_MONEY_Q: Final = Decimal(1).scaleb(-6)


def _sqlite_datetime(value: datetime) -> str:
    # SQLAlchemy's storage format for DateTime on SQLite, so typed reads parse it back.
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}"
    )


def _canonical_stamp(value: Any) -> datetime | None:
    """Fast path for our own `YYYY-MM-DDTHH:MM:SS.mmmZ` timestamps (naive UTC)."""
    if type(value) is str and len(value) == 24 and value[23] == "Z" and value[10] == "T":
        try:
            return datetime.fromisoformat(value[:23])
        except ValueError:
            return None
    return None


def _converter(field: Field, sqlite: bool) -> Callable[[Any], Any]:
    """value -> driver value for one column; raises _Unfit for a value it cannot hold."""
    kind = field.kind
    if kind == "str":
        length = field.length

        def text(value: Any) -> Any:
            if type(value) is str and len(value) <= length:
                return value
            return _text(value, length)

        return text
    if kind == "money":

        def money(value: Any) -> Any:
            quantized: Decimal | None
            if type(value) is Decimal and value.is_finite() and value.adjusted() < 14:
                quantized = value.quantize(_MONEY_Q, rounding=ROUND_HALF_EVEN)
            else:
                quantized = to_money(value)
                if quantized is None:
                    raise _UNFIT
            if not sqlite:
                return quantized
            units = money_units(quantized)
            if -_INT64 <= units < _INT64:
                return units
            raise _UNFIT  # beyond SQLite's 64-bit integers (|x| >= 9.2e12)

        return money
    if kind == "ts":

        def stamp(value: Any) -> Any:
            naive = _canonical_stamp(value)
            if naive is not None:
                return f"{value[:10]} {value[11:23]}000" if sqlite else naive
            parsed = parse_timestamp(value)
            if parsed is None:
                raise _UNFIT
            naive = parsed.replace(tzinfo=None)
            return _sqlite_datetime(naive) if sqlite else naive

        return stamp
    if kind == "bool":

        def flag(value: Any) -> Any:
            result = _bool(value)
            if result is _MISSING:
                raise _UNFIT
            return int(bool(result)) if sqlite else result

        return flag
    if kind == "int":

        def integer(value: Any) -> Any:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            raise _UNFIT

        return integer
    return _json


class RowConverter:
    """Converts records of one table into driver-ready tuples in `columns` order, for a plain
    `executemany` (no per-value SQLAlchemy processing on the batch path). On SQLite: money as
    integer micro-units, timestamps as SQLAlchemy's DATETIME text, booleans as 0/1; elsewhere
    quantized Decimal, naive UTC datetime and bool."""

    __slots__ = ("_converters", "_known", "_rejections", "columns", "table")

    def __init__(self, table: str, *, sqlite: bool) -> None:
        self.table = table
        fields: tuple[Field, ...] = TABLE_FIELDS[table]
        self._known = frozenset(f.name for f in fields) | {"event_id"}
        # `extra` is the last field of every table: filled from what is left over.
        self._converters = tuple((f.name, _converter(f, sqlite)) for f in fields[:-1])
        self.columns: tuple[str, ...] = ("event_id", *(f.name for f in fields))
        self._rejections = (
            self.columns.index("rejections") if table == "risk_audit_events" else None
        )

    def __call__(self, record: Mapping[str, Any]) -> tuple[Any, ...]:
        event_id = record["event_id"]
        if not isinstance(event_id, str) or not 0 < len(event_id) <= EVENT_ID_LENGTH:
            # Never truncated: two long ids sharing a prefix would collapse into one row.
            raise ValueError(f"event_id must be 1-{EVENT_ID_LENGTH} characters: {event_id!r}")
        row: list[Any] = [event_id]
        append = row.append
        get = record.get
        extra: dict[str, Any] | None = None
        for name, convert in self._converters:
            value = get(name)
            if value is None:
                append(None)
                continue
            try:
                append(convert(value))
            except _Unfit:
                if extra is None:
                    extra = {}
                extra[name] = value
                append(None)
        known = self._known
        if not known.issuperset(record.keys()):  # fields without a column go to `extra`
            for key, value in record.items():
                if key not in known:
                    if extra is None:
                        extra = {}
                    extra[key] = value
        if record.get("extra") is not None:
            if extra is None:
                extra = {}
            extra["extra"] = record["extra"]
        append(_json(extra) if extra else None)
        if self._rejections is not None:
            self._derive_rejections(record, row, self._rejections)
        return tuple(row)

    def as_dict(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return dict(zip(self.columns, self(record), strict=True))

    @staticmethod
    def _derive_rejections(record: Mapping[str, Any], row: list[Any], index: int) -> None:
        # The rejected factor names as a queryable column.
        if row[index] is not None:
            return
        risk = record.get("risk")
        names = risk.get("rejections") if isinstance(risk, Mapping) else None
        if isinstance(names, list) and names:
            row[index] = _text(",".join(str(n) for n in names), 255)


def to_record(table: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """The record a row holds (from typed columns: Money -> Decimal, UTCDateTime -> datetime)."""
    record: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for field in TABLE_FIELDS[table]:
        value = row.get(field.name)
        if value is None:
            continue
        if field.name == "extra":
            decoded = _decode_json(value)
            if isinstance(decoded, dict):
                extra = decoded
            continue
        if field.kind == "money":
            record[field.name] = plain_decimal(value)
        elif field.kind == "ts":
            record[field.name] = iso_from_datetime(value) if isinstance(value, datetime) else value
        elif field.kind == "json":
            record[field.name] = _decode_json(value)
        else:
            record[field.name] = value
    record["event_id"] = row["event_id"]
    nested = extra.pop("extra", _MISSING)
    record.update(extra)
    if nested is not _MISSING:
        record["extra"] = nested
    return record


def _decode_json(value: Any) -> Any:
    if not isinstance(value, (str, bytes)):
        return value
    try:
        return _DECODER.decode(value)
    except msgspec.DecodeError:
        return value
