"""Logging: rotating file + console, and no secret ever reaches either."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from polymarket_bot.core.redaction import (
    REDACTED,
    Redactor,
    is_secret_name,
    redact_patterns,
    redact_url,
    url_password,
)
from polymarket_bot.observability.logging import (
    RedactingFilter,
    clear_registered_secrets,
    redact,
    register_secrets,
    setup_logging,
)

PRIVATE_KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
API_SECRET = "dGhpcy1pcy1hLXRlc3Qtc2VjcmV0LW9mLTQ0LWNoYXJzIQ=="
PASSPHRASE = "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0"
API_KEY = "7b3c1e2a-1111-4222-8333-944455556666"
SECRETS = (PRIVATE_KEY, API_SECRET, PASSPHRASE, API_KEY)


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        for f in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
            handler.removeFilter(f)
    root.setLevel(level)
    clear_registered_secrets()


def flush() -> None:
    for handler in logging.getLogger().handlers:
        handler.flush()


def test_secrets_in_message_args_exception_and_extra_never_reach_file_or_console(
    tmp_path: Path,
) -> None:
    log_file = tmp_path / "logs" / "polymarket.log"
    console = io.StringIO()
    setup_logging("DEBUG", log_file=log_file, secrets=SECRETS, stream=console)
    log = logging.getLogger("polymarket_bot.test")

    log.info(f"signing with {PRIVATE_KEY} secret {API_SECRET}")
    log.warning("creds %s / %s / %s", API_KEY, API_SECRET, PASSPHRASE)
    log.info("as dict %r", {"apiKey": API_KEY, "secret": API_SECRET, "passphrase": PASSPHRASE})
    try:
        raise RuntimeError(f"auth failed for passphrase {PASSPHRASE} key {PRIVATE_KEY}")
    except RuntimeError:
        log.exception("order post failed with %s", API_SECRET)
    log.error("extra field", extra={"detail": f"key={PRIVATE_KEY}"})
    flush()

    written = log_file.read_text(encoding="utf-8")
    shown = console.getvalue()
    for text in (written, shown):
        assert text.count("\n") >= 6  # every record arrived (with the traceback)
        assert "RuntimeError: auth failed for passphrase ***" in text
        assert "Traceback (most recent call last)" in text
        for secret in SECRETS:
            assert secret not in text
            assert secret.removeprefix("0x") not in text
        assert text.count(REDACTED) >= 10


def test_unregistered_secrets_are_caught_by_patterns(tmp_path: Path) -> None:
    log_file = tmp_path / "p.log"
    setup_logging("INFO", log_file=log_file, console=False)
    log = logging.getLogger("polymarket_bot.test")
    headers = {"POLY_API_KEY": API_KEY, "POLY_PASSPHRASE": PASSPHRASE, "POLY_SIGNATURE": "c2lnbmF0"}

    log.info("raw key %s", PRIVATE_KEY)
    log.info("headers %s", headers)
    log.info("POLY_PASSPHRASE=%s POLY_SIGNATURE=%s", PASSPHRASE, "c2lnbmF0dXJl")
    log.info("db mysql+pymysql://bot:hunter2pw@db:3306/poly proxy http://u:pr0xypw@127.0.0.1:8080")
    log.info("Authorization: Bearer abc.def.ghi")
    flush()

    text = log_file.read_text(encoding="utf-8")
    for leaked in (
        PRIVATE_KEY[2:],
        API_KEY,
        PASSPHRASE,
        "c2lnbmF0",
        "hunter2pw",
        "pr0xypw",
        "abc.def",
    ):
        assert leaked not in text
    assert "raw key 0x4c08..2318" in text  # shortened, not whole
    assert "mysql+pymysql://bot:***@db:3306/poly" in text


def test_secrets_registered_after_setup_are_masked(tmp_path: Path) -> None:
    log_file = tmp_path / "late.log"
    setup_logging("INFO", log_file=log_file, console=False)
    derived = "derived-api-secret-value"

    register_secrets(derived)
    logging.getLogger("x").info("derived %s", derived)
    flush()

    assert derived not in log_file.read_text(encoding="utf-8")


def test_file_rotates_at_the_configured_size(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "polymarket.log"
    setup = setup_logging("INFO", log_file=log_file, max_bytes=2_000, backup_count=2, console=False)
    log = logging.getLogger("rotation")

    for i in range(200):
        log.info("line %04d %s", i, "x" * 40)
    flush()

    assert setup.log_file == log_file
    files = sorted(p.name for p in log_file.parent.iterdir())
    assert files == ["polymarket.log", "polymarket.log.1", "polymarket.log.2"]
    assert all(p.stat().st_size <= 2_000 for p in log_file.parent.iterdir())
    assert "line 0199" in log_file.read_text(encoding="utf-8")


def test_setup_twice_replaces_its_handlers(tmp_path: Path) -> None:
    before = len(logging.getLogger().handlers)
    setup_logging("INFO", log_file=tmp_path / "a.log", stream=io.StringIO())
    setup = setup_logging("WARNING", log_file=tmp_path / "b.log", stream=io.StringIO())

    root = logging.getLogger()
    assert len(root.handlers) == before + 2
    assert root.level == logging.WARNING and setup.level == logging.WARNING
    assert all(any(isinstance(f, RedactingFilter) for f in h.filters) for h in root.handlers)


def test_unwritable_log_location_falls_back_to_console(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("", encoding="utf-8")
    console = io.StringIO()

    setup = setup_logging("INFO", log_file=blocker / "polymarket.log", stream=console)

    assert setup.log_file is None and setup.problem is not None
    assert "logging to the console only" in console.getvalue()


def test_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        setup_logging("LOUD", log_file=None, console=False)


def test_a_record_with_a_bad_format_is_kept_and_masked(tmp_path: Path) -> None:
    console = io.StringIO()
    setup_logging("INFO", log_file=None, stream=console, secrets=[API_SECRET])

    logging.getLogger("x").info("two %s %s", API_SECRET)  # one arg for two placeholders

    assert "two %s %s" in console.getvalue() and API_SECRET not in console.getvalue()


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("credentials.api_key", True),
        ("credentials.private_key", True),
        ("alert.password", True),
        ("monitor.control_token", True),
        ("alert.webhook_url", True),
        ("credentials.api_passphrase", True),
        ("apiKey", True),
        ("service.ws_static_assets", False),
        ("params.token_id", False),
        ("params.token_ids", False),
        ("risk.kill_switch_file", False),
        ("credentials.signature_type", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_url_helpers() -> None:
    assert redact_url("mysql+pymysql://u:p@h:3306/db") == "mysql+pymysql://u:***@h:3306/db"
    assert redact_url("http://host:8080/path@x") == "http://host:8080/path@x"
    assert url_password("socks5://me:pw@127.0.0.1:1080") == "pw"
    assert url_password("sqlite:///reports/x.db") is None


def test_patterns_keep_ordinary_text_and_ids() -> None:
    text = "token_id=1234567 size=10 price=0.55 market SIM-1 order 0xabc"
    assert redact_patterns(text) == text
    condition = "0x" + "1f" * 32
    assert redact_patterns(f"condition {condition}") == "condition 0x1f1f..1f1f"


def test_redactor_masks_hex_keys_in_any_case_and_without_prefix() -> None:
    redactor = Redactor([PRIVATE_KEY, "ab"])  # too-short secrets are ignored

    assert redactor(PRIVATE_KEY.upper()[2:]) == REDACTED
    assert redactor("ab cd") == "ab cd"
    assert redactor.secret_count == 2  # with and without 0x
    assert redact("nothing registered here") == "nothing registered here"
