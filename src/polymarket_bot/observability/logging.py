"""Logging setup: a rotating file (`logs/polymarket.log`, 10 MB x 5 by default, seed §14), a console
handler, and a redaction filter on every handler so that no secret reaches a log.

    setup_logging("INFO", log_file=settings.logging.file, max_bytes=settings.logging.max_bytes,
                  backup_count=settings.logging.backup_count, secrets=settings.secret_values())
    register_secrets(derived_api_secret)   # any time later (e.g. after L1 key derivation)

The filter masks registered secret values and secret-looking patterns (see core/redaction.py) in
the formatted message (so in `args` too), in the exception text and the stack text, and in string
`extra=` fields. One process writes one file: give concurrent processes their own `log_file`,
because size-based rotation is not coordinated between processes.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from polymarket_bot.core.redaction import Redactor

DEFAULT_LOG_FILE = Path("logs/polymarket.log")
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_BACKUP_COUNT = 5
LOG_FORMAT = "%(asctime)s.%(msecs)03dZ %(levelname)-8s %(name)s[%(process)d] %(message)s"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
# Libraries that are chatty at INFO (httpx logs every request line); quiet unless DEBUG.
NOISY_LOGGERS = ("httpx", "httpcore", "websockets", "hpack", "aiosmtplib")

_REDACTOR = Redactor()
_OURS = "_polymarket_bot_handler"
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "_polymarket_redacted",
}


def register_secrets(*values: str | None) -> None:
    """Mask these exact values in every log line from now on (values shorter than 4 are ignored)."""
    _REDACTOR.add(*values)


def redact(text: str) -> str:
    """The text as the log would show it."""
    return _REDACTOR(text)


def clear_registered_secrets() -> None:
    """Forget registered values (tests)."""
    _REDACTOR.clear()


def _formatter() -> logging.Formatter:
    formatter = logging.Formatter(LOG_FORMAT, DATE_FORMAT)
    formatter.converter = time.gmtime
    return formatter


class RedactingFilter(logging.Filter):
    """Rewrites each record in place, before any formatter sees it: the message is formatted with
    its args and masked, the exception is rendered to text and masked (the raw exception is dropped
    from the record so that no later formatter renders it unmasked)."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self._redact = redactor or _REDACTOR
        self._render = _formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_polymarket_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record (nor leak its args)
            message = f"{record.msg!s} {record.args!r}"
        record.msg = self._redact(message)
        record.args = None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = self._render.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, self._redact(value))
        record._polymarket_redacted = True
        return True


def install_redaction(handler: logging.Handler) -> None:
    """Add the redaction filter to a handler created elsewhere (e.g. uvicorn's); idempotent."""
    if not any(isinstance(f, RedactingFilter) for f in handler.filters):
        handler.addFilter(RedactingFilter())


@dataclass(frozen=True)
class LoggingSetup:
    level: int
    log_file: Path | None
    """The file being written, None if disabled or not writable."""
    handlers: tuple[logging.Handler, ...]
    problem: str | None = None
    """Why the file handler could not be created, if it could not."""


def _parse_level(level: str | int) -> int:
    if isinstance(level, int):
        return level
    value = logging.getLevelName(level.upper())
    if not isinstance(value, int):
        raise ValueError(f"unknown log level {level!r}")
    return value


def setup_logging(
    level: str | int = "INFO",
    *,
    log_file: Path | str | None = DEFAULT_LOG_FILE,
    max_bytes: int = DEFAULT_MAX_BYTES,
    backup_count: int = DEFAULT_BACKUP_COUNT,
    console: bool = True,
    secrets: Iterable[str | None] = (),
    stream: TextIO | None = None,
) -> LoggingSetup:
    """Configure the root logger; calling it again replaces the handlers it installed before.

    log_file: None = no file. A file that cannot be created does not stop the process: the
    problem is logged on the console and returned in `LoggingSetup.problem`.
    stream: console stream (default stderr, so command output on stdout stays clean).
    """
    numeric = _parse_level(level)
    register_secrets(*secrets)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _OURS, False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(numeric)
    formatter = _formatter()
    created: list[logging.Handler] = []
    if console:
        created.append(logging.StreamHandler(stream or sys.stderr))
    problem: str | None = None
    path = Path(log_file) if log_file is not None else None
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            created.append(
                logging.handlers.RotatingFileHandler(
                    path, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8"
                )
            )
        except OSError as exc:
            problem = f"cannot write log file {path}: {exc.strerror or exc}"
            path = None
    for handler in created:
        handler.setFormatter(formatter)
        setattr(handler, _OURS, True)
        root.addHandler(handler)
    for handler in root.handlers:
        install_redaction(handler)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(
            logging.NOTSET if numeric <= logging.DEBUG else logging.WARNING
        )
    if problem:
        logging.getLogger(__name__).warning("%s; logging to the console only", problem)
    return LoggingSetup(level=numeric, log_file=path, handlers=tuple(created), problem=problem)
