"""Masking secrets in text: known secret values, secret-looking `key=value` pairs, URL passwords,
and bare 32-byte hex strings (the shape of a private key).

Pure string functions, shared by the logging filter (observability), `config show` and the config
reload diff (config), so that one set of rules decides what an operator can ever see.

A bare `0x` + 64 hex string cannot be told apart from an order id or a condition id (same shape),
so it is shortened to `0x1234..cdef` rather than fully masked: an unregistered private key never
appears whole, and ids stay recognisable in logs. Registered secret values are always fully masked.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

REDACTED = "***"

# A secret registered for exact masking must be at least this long: masking "a" or "1" everywhere
# would wreck every log line and protect nothing.
MIN_SECRET_LENGTH = 4

_SECRET_NAME_WORDS = (
    "secret",
    "passphrase",
    "password",
    "passwd",
    "credential",
    "webhook",
    "authorization",
)
# "key"/"token" only as the last word, so `token_id` or `token_ids` stay visible.
_SECRET_NAME_SUFFIX = re.compile(r"(?:key|keys|token|tokens)$")
_NOT_SECRET_NAMES = frozenset({"tokens", "max_tokens"})

_URL_PASSWORD = re.compile(r"(?P<prefix>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@]*:)[^\s@/]+@")

_BEARER = re.compile(r"\b(?P<word>bearer)\s+[A-Za-z0-9\-._~+/]+=*", re.IGNORECASE)

_SECRET_PAIR = re.compile(
    r"(?P<key>\b[\w.\-]*?(?:secret|passphrase|password|passwd|private[_\-]?key|api[_\-]?key|"
    r"signature|authorization|token))"
    r"(?P<sep>[\"']?\s*[:=]\s*)(?P<quote>[\"']?)(?P<value>[^\s\"',;&}\])]+)",
    re.IGNORECASE,
)

_HEX32 = re.compile(r"(?<![0-9A-Za-z])(?P<prefix>0x)?(?P<hex>[0-9a-fA-F]{64})(?![0-9A-Za-z])")


def is_secret_name(name: str) -> bool:
    """True when a setting/field name says its value is secret (`api_key`, `alert.password`...).

    For a dotted key path only the last segment counts (`credentials.api_key`).
    """
    last = name.rsplit(".", 1)[-1].lower()
    if last in _NOT_SECRET_NAMES:
        return False
    if any(word in last for word in _SECRET_NAME_WORDS):
        return True
    return _SECRET_NAME_SUFFIX.search(last) is not None


def redact_url(url: str) -> str:
    """`scheme://user:password@host` -> `scheme://user:***@host`; anything else unchanged."""
    return _URL_PASSWORD.sub(lambda m: f"{m.group('prefix')}{REDACTED}@", url)


def url_password(url: str) -> str | None:
    """The password inside a URL, if any (to register it as a known secret)."""
    match = re.match(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@]*:(?P<pw>[^\s@/]+)@", url)
    return match.group("pw") if match else None


def _mask_pair(match: re.Match[str]) -> str:
    return f"{match.group('key')}{match.group('sep')}{match.group('quote')}{REDACTED}"


def _shorten_hex(match: re.Match[str]) -> str:
    digits = match.group("hex")
    return f"{match.group('prefix') or ''}{digits[:4]}..{digits[-4:]}"


def redact_patterns(text: str) -> str:
    """Mask what looks secret without knowing any value: URL passwords, bearer tokens,
    `secret=...`-like pairs (incl. the L2 headers POLY_PASSPHRASE / POLY_SIGNATURE / POLY_API_KEY)
    and 32-byte hex strings."""
    text = _URL_PASSWORD.sub(lambda m: f"{m.group('prefix')}{REDACTED}@", text)
    text = _BEARER.sub(lambda m: f"{m.group('word')} {REDACTED}", text)
    text = _SECRET_PAIR.sub(_mask_pair, text)
    return _HEX32.sub(_shorten_hex, text)


def secret_variants(value: str) -> set[str]:
    """The spellings of one secret worth masking (a hex key with and without `0x`)."""
    value = value.strip()
    if len(value) < MIN_SECRET_LENGTH:
        return set()
    variants = {value}
    if re.fullmatch(r"(0x)?[0-9a-fA-F]{64}", value):
        bare = value[2:] if value.lower().startswith("0x") else value
        variants |= {bare, "0x" + bare}
    return variants


class Redactor:
    """Masks registered secret values (exactly, case-insensitively), then the patterns above.

    `add` may be called at any time (e.g. after API credentials are derived); readers always see a
    consistent compiled pattern because it is replaced by a single reference assignment.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()
        self._pattern: re.Pattern[str] | None = None
        self.add(*secrets)

    @property
    def secret_count(self) -> int:
        return len(self._secrets)

    def add(self, *secrets: str | None) -> None:
        with self._lock:
            found: set[str] = set(self._secrets)
            for secret in secrets:
                if secret:
                    found |= secret_variants(secret)
            if found == self._secrets:
                return
            self._secrets = frozenset(found)
            # Longest first so that a secret containing another is masked whole.
            alternatives = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, alternatives)), re.IGNORECASE)

    def clear(self) -> None:
        with self._lock:
            self._secrets = frozenset()
            self._pattern = None

    def __call__(self, text: str) -> str:
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(REDACTED, text)
        return redact_patterns(text)
