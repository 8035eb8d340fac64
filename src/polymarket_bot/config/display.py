"""Showing configuration values to an operator: JSON-friendly and with every secret masked.

Masked: `SecretStr` values, any key whose name says secret (`api_key`, `password`, `*_token`,
`webhook_url`...), and the password inside URLs (`mysql+pymysql://user:***@host/db`, PROXY_URL).
Unset secrets show as null so that "is it set?" stays answerable.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from polymarket_bot.core.redaction import REDACTED, is_secret_name, redact_url


def display_value(path: str, value: Any) -> Any:
    """`value` of key `path` as it may be printed or written to a result file."""
    if value is None:
        return None
    if isinstance(value, SecretStr):
        return REDACTED if value.get_secret_value() else None
    if is_secret_name(path) and not isinstance(value, bool):
        return REDACTED if value not in ("", (), [], {}) else value
    if isinstance(value, str):
        return redact_url(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (Decimal, Path)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [display_value(path, item) for item in value]
    if isinstance(value, Mapping):
        return {str(k): display_value(f"{path}.{k}", v) for k, v in value.items()}
    if isinstance(value, (bool, int, float)):
        return value
    return redact_url(str(value))


def display_text(value: Any) -> str:
    """A displayed value as one short string for a table cell."""
    if value is None:
        return "null"
    if value == "":
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(display_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {display_text(v)}" for k, v in value.items()) + "}"
    return str(value)
