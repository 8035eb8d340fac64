"""Value conversions shared by the JSONL and SQL sides: UTC timestamps, exact money, event ids.

Records (docs/REPORTS.md) carry `timestamp` as ISO-8601 UTC text with milliseconds and a `Z`;
money as JSON numbers that decode to exact `Decimal` (floats from callers go through their
shortest repr, i.e. exactly what the JSONL line shows). The SQL side keeps money to 1e-6
(Numeric(20,6)), so conversions quantize half-even to 6 decimals.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Final

from polymarket_bot.core.errors import InvalidValueError

UTC: Final = timezone.utc
MONEY_PLACES: Final = 6
MONEY_QUANTUM: Final = Decimal(1).scaleb(-MONEY_PLACES)
MONEY_SCALE: Final = 10**MONEY_PLACES
# Numeric(20, 6): 14 digits before the point.
MONEY_LIMIT: Final = Decimal(10) ** (20 - MONEY_PLACES)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def iso_ms(epoch_seconds: float) -> str:
    """`2025-10-13T10:05:12.345Z` for a Unix time."""
    ms = round(epoch_seconds * 1000)
    return iso_from_datetime(_EPOCH + timedelta(milliseconds=ms))


def iso_from_datetime(value: datetime) -> str:
    """ISO-8601 UTC with milliseconds and `Z`; a naive datetime is taken as UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"


def parse_timestamp(value: object) -> datetime | None:
    """An aware UTC datetime from ISO text (`Z` or an offset; a naive text is UTC), a datetime or
    Unix seconds; None when it is missing or cannot be read."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)  # 3.10 needs the explicit offset above
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def naive_utc(value: datetime) -> datetime:
    """The naive UTC datetime stored in SQL columns."""
    return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


def to_money(value: object) -> Decimal | None:
    """Exact Decimal quantized to 1e-6 (half-even); None for missing, non-numeric, non-finite or
    out-of-range values (Numeric(20,6) holds |x| < 1e14)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        if isinstance(value, Decimal):
            number = value
        elif isinstance(value, float):
            number = Decimal(repr(value))
        elif isinstance(value, (int, str)):
            number = Decimal(value)
        else:
            return None
        if not number.is_finite():
            return None
        quantized = number.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_EVEN)
    except (InvalidOperation, ValueError):
        return None
    if abs(quantized) >= MONEY_LIMIT:
        return None
    return quantized


def money_units(value: Decimal) -> int:
    """Integer micro-units of a quantized money value."""
    return int(value.scaleb(MONEY_PLACES))


def units_money(units: int) -> Decimal:
    return Decimal(units).scaleb(-MONEY_PLACES)


def plain_decimal(value: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation (250.000000 -> 250)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def new_event_id(epoch_ms: int) -> str:
    """32 hex chars: 48-bit milliseconds then 80 random bits, so ids sort by creation time (kind to
    B-tree primary keys) and never collide across processes."""
    if epoch_ms < 0:
        raise InvalidValueError("epoch_ms must be >= 0")
    return f"{epoch_ms & 0xFFFFFFFFFFFF:012x}{os.urandom(10).hex()}"
