"""CLOB API authentication (ref §4): L1 ClobAuth EIP-712 headers, L2 HMAC headers, both sides.

Client side: `build_l1_headers`, `build_l2_headers`. Server side (the simulator): `verify_l1`,
`parse_l2_headers`, `verify_l2_signature`, `generate_api_creds`. Byte-identical to
py-clob-client-v2 1.2.1 for every request it can send; two PCC2 quirks are deliberately not
copied: it rewrites `'` to `"` in the body before hashing (we sign the bytes we send, as the
unified SDK and TS client do) and it cannot decode an unpadded secret (we re-pad).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from polymarket_bot.core.errors import PolymarketBotError
from polymarket_bot.protocol.eip712 import (
    PrivateKeySigner,
    SignatureError,
    domain_separator,
    encode_address,
    encode_string,
    encode_uint,
    is_address,
    keccak256,
    recover_address,
    typed_data_digest,
)

__all__ = [
    "CLOB_AUTH_DOMAIN_NAME",
    "CLOB_AUTH_DOMAIN_VERSION",
    "CLOB_AUTH_MESSAGE",
    "POLY_ADDRESS",
    "POLY_API_KEY",
    "POLY_NONCE",
    "POLY_PASSPHRASE",
    "POLY_SIGNATURE",
    "POLY_TIMESTAMP",
    "ApiCreds",
    "AuthError",
    "L1Headers",
    "L2Headers",
    "build_hmac_signature",
    "build_l1_headers",
    "build_l2_headers",
    "clob_auth_digest",
    "generate_api_creds",
    "l2_signed_message",
    "l2_signer",
    "parse_l1_headers",
    "parse_l2_headers",
    "verify_l1",
    "verify_l2_signature",
]

POLY_ADDRESS: Final = "POLY_ADDRESS"
POLY_SIGNATURE: Final = "POLY_SIGNATURE"
POLY_TIMESTAMP: Final = "POLY_TIMESTAMP"
POLY_NONCE: Final = "POLY_NONCE"
POLY_API_KEY: Final = "POLY_API_KEY"
POLY_PASSPHRASE: Final = "POLY_PASSPHRASE"

CLOB_AUTH_DOMAIN_NAME: Final = "ClobAuthDomain"
CLOB_AUTH_DOMAIN_VERSION: Final = "1"
CLOB_AUTH_MESSAGE: Final = "This message attests that I control the given wallet"
_CLOB_AUTH_TYPE_HASH: Final = keccak256(
    b"ClobAuth(address address,string timestamp,uint256 nonce,string message)"
)
_CLOB_AUTH_MESSAGE_HASH: Final = encode_string(CLOB_AUTH_MESSAGE)


class AuthError(PolymarketBotError):
    """Authentication headers are missing, malformed or do not verify (the venue answers 401)."""


@dataclass(frozen=True, slots=True)
class ApiCreds:
    api_key: str
    """UUID; sent as POLY_API_KEY and as the order `owner`."""
    secret: str
    """URL-safe base64 (44 chars with `=`), the HMAC key."""
    passphrase: str

    def __repr__(self) -> str:  # keep the secret out of logs
        return f"ApiCreds(api_key={self.api_key!r}, secret=***, passphrase=***)"


# --- L1 ---------------------------------------------------------------------------------------


def _clob_auth_domain(chain_id: int) -> bytes:
    return domain_separator(CLOB_AUTH_DOMAIN_NAME, CLOB_AUTH_DOMAIN_VERSION, chain_id)


def clob_auth_digest(address: str, timestamp: int | str, nonce: int, chain_id: int) -> bytes:
    """EIP-712 digest of ClobAuth{address, timestamp (as a string!), nonce, message}."""
    struct_hash = keccak256(
        _CLOB_AUTH_TYPE_HASH
        + encode_address(address)
        + encode_string(str(timestamp))
        + encode_uint(nonce)
        + _CLOB_AUTH_MESSAGE_HASH
    )
    return typed_data_digest(_clob_auth_domain(chain_id), struct_hash)


def build_l1_headers(
    signer: PrivateKeySigner, *, timestamp: int, nonce: int = 0, chain_id: int = 137
) -> dict[str, str]:
    """Headers for `POST /auth/api-key` and `GET /auth/derive-api-key` (no body)."""
    digest = clob_auth_digest(signer.address, timestamp, nonce, chain_id)
    return {
        POLY_ADDRESS: signer.address,
        POLY_SIGNATURE: "0x" + signer.sign_digest(digest).hex(),
        POLY_TIMESTAMP: str(timestamp),
        POLY_NONCE: str(nonce),
    }


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Exact name first, then case-insensitively (HTTP header names are case-insensitive)."""
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    if value is None:
        lname = name.lower()
        for key, val in headers.items():
            if key.lower() == lname:
                return val
    return value


def _required(headers: Mapping[str, str], name: str) -> str:
    value = _header(headers, name)
    if value is None or value == "":
        raise AuthError(f"missing header {name}")
    return value


def _int_header(value: str, name: str) -> int:
    if not value.isascii() or not value.isdigit():
        raise AuthError(f"{name} must be a decimal integer")
    return int(value)


@dataclass(frozen=True, slots=True)
class L1Headers:
    address: str
    signature: str
    timestamp: str
    nonce: int


def parse_l1_headers(headers: Mapping[str, str]) -> L1Headers:
    address = _required(headers, POLY_ADDRESS)
    if not is_address(address):
        raise AuthError("POLY_ADDRESS is not an address")
    timestamp = _required(headers, POLY_TIMESTAMP)
    _int_header(timestamp, POLY_TIMESTAMP)
    nonce_text = _header(headers, POLY_NONCE)
    nonce = 0 if nonce_text in (None, "") else _int_header(nonce_text, POLY_NONCE)
    return L1Headers(address, _required(headers, POLY_SIGNATURE), timestamp, nonce)


def _check_skew(timestamp: str, now_s: int | None, max_skew_s: int | None) -> None:
    if now_s is not None and max_skew_s is not None and abs(int(timestamp) - now_s) > max_skew_s:
        raise AuthError("POLY_TIMESTAMP outside the accepted window")


def verify_l1(
    headers: Mapping[str, str],
    *,
    chain_id: int = 137,
    now_s: int | None = None,
    max_skew_s: int | None = None,
) -> str:
    """Server check of L1 headers; returns the checksummed signer address.

    The timestamp is signed as the exact header text. If both `now_s` and `max_skew_s` are
    given the timestamp must be within that many seconds of now (the venue's window is
    undocumented, ~60 s by community reports). Raises AuthError.
    """
    h = parse_l1_headers(headers)
    _check_skew(h.timestamp, now_s, max_skew_s)
    digest = clob_auth_digest(h.address, h.timestamp, h.nonce, chain_id)
    try:
        recovered = recover_address(digest, h.signature)
    except SignatureError as exc:
        raise AuthError(f"invalid L1 signature: {exc}") from None
    if recovered.lower() != h.address.lower():
        raise AuthError("L1 signature does not match POLY_ADDRESS")
    return recovered


# --- L2 ---------------------------------------------------------------------------------------


def _secret_key(secret: str) -> bytes:
    # Re-pad like the unified SDK; accept both alphabets, reject anything else (PCC2 would
    # silently drop stray characters and sign with a different key).
    padded = secret + "=" * (-len(secret) % 4)
    try:
        key = base64.b64decode(padded, altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise AuthError("API secret is not base64") from None
    if not key:
        raise AuthError("API secret is empty")
    return key


_SHA256_BLOCK: Final = 64
_IPAD: Final = bytes.maketrans(bytes(range(256)), bytes(x ^ 0x36 for x in range(256)))
_OPAD: Final = bytes.maketrans(bytes(range(256)), bytes(x ^ 0x5C for x in range(256)))


@lru_cache(maxsize=64)
def _hmac_pads(secret: str) -> tuple[hashlib._Hash, hashlib._Hash]:
    """HMAC-SHA256 (RFC 2104) keyed with the decoded secret, as its inner and outer SHA-256
    states after the padded key block; callers `.copy()` them. Cheaper than re-keying per
    request, and than copying an `hmac.HMAC` (three contexts, Python-level wrappers)."""
    key = _secret_key(secret)
    if len(key) > _SHA256_BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_SHA256_BLOCK, b"\0")
    return hashlib.sha256(key.translate(_IPAD)), hashlib.sha256(key.translate(_OPAD))


def _body_bytes(body: str | bytes | None) -> bytes:
    if not body:
        return b""  # PCC2 appends the body only when it is non-empty
    return body if isinstance(body, bytes) else body.encode("utf-8")


def l2_signed_message(
    timestamp: int | str, method: str, path: str, body: str | bytes | None = None
) -> bytes:
    """`POLY_TIMESTAMP + METHOD + path + body`; a query string in `path` is dropped (unsigned)."""
    path_only = path.split("?", 1)[0] if "?" in path else path
    return f"{timestamp}{method}{path_only}".encode() + _body_bytes(body)


_URLSAFE: Final = bytes.maketrans(b"+/", b"-_")


def build_hmac_signature(
    secret: str, timestamp: int | str, method: str, path: str, body: str | bytes | None = None
) -> str:
    """URL-safe base64 (with `=`) of HMAC-SHA256(urlsafe_b64decode(secret), message)."""
    inner_pad, outer_pad = _hmac_pads(secret)
    inner = inner_pad.copy()
    inner.update(l2_signed_message(timestamp, method, path, body))
    outer = outer_pad.copy()
    outer.update(inner.digest())
    return binascii.b2a_base64(outer.digest(), newline=False).translate(_URLSAFE).decode("ascii")


def l2_signer(secret: str, method: str, path: str) -> Callable[[bytes, bytes], bytes]:
    """`build_hmac_signature` for one secret, method and path, done once: returns
    `sign(timestamp, body)` taking the POLY_TIMESTAMP text and the exact body as bytes and
    giving the signature as ASCII bytes (the order-submit hot path). Raises AuthError now for
    a bad secret."""
    inner_pad, outer_pad = _hmac_pads(secret)
    path_only = path.split("?", 1)[0] if "?" in path else path
    method_path = f"{method}{path_only}".encode()
    b2a, urlsafe = binascii.b2a_base64, _URLSAFE

    def sign(timestamp: bytes, body: bytes) -> bytes:
        inner = inner_pad.copy()
        inner.update(timestamp + method_path)
        inner.update(body)
        outer = outer_pad.copy()
        outer.update(inner.digest())
        return b2a(outer.digest(), newline=False).translate(urlsafe)

    return sign


def build_l2_headers(
    creds: ApiCreds,
    address: str,
    method: str,
    path: str,
    body: str | bytes | None,
    timestamp: int,
) -> dict[str, str]:
    """Headers of an authenticated request. `body` must be the exact bytes sent (compact JSON);
    `address` is the signing key's address, never the funder. Key order as PCC2 builds them."""
    return {
        POLY_ADDRESS: address,
        POLY_SIGNATURE: build_hmac_signature(creds.secret, timestamp, method, path, body),
        POLY_TIMESTAMP: str(timestamp),
        POLY_API_KEY: creds.api_key,
        POLY_PASSPHRASE: creds.passphrase,
    }


@dataclass(frozen=True, slots=True)
class L2Headers:
    address: str
    signature: str
    timestamp: str
    api_key: str
    passphrase: str


def parse_l2_headers(headers: Mapping[str, str]) -> L2Headers:
    """The five POLY_* headers of an L2 request, or AuthError if one is missing or malformed."""
    timestamp = _required(headers, POLY_TIMESTAMP)
    _int_header(timestamp, POLY_TIMESTAMP)
    return L2Headers(
        address=_required(headers, POLY_ADDRESS),
        signature=_required(headers, POLY_SIGNATURE),
        timestamp=timestamp,
        api_key=_required(headers, POLY_API_KEY),
        passphrase=_required(headers, POLY_PASSPHRASE),
    )


def verify_l2_signature(
    secret: str,
    timestamp: int | str,
    method: str,
    path: str,
    raw_body: str | bytes | None,
    signature: str,
) -> bool:
    """Recompute the HMAC over the raw received body and compare in constant time.

    The caller also checks that the API key exists, the passphrase matches, POLY_ADDRESS owns
    the key and the timestamp is fresh. A malformed secret or signature gives False.
    """
    try:
        expected = build_hmac_signature(secret, timestamp, method, path, raw_body)
    except AuthError:
        return False
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8"))


def generate_api_creds(rng: random.Random) -> ApiCreds:
    """Fresh credentials shaped like the venue's: UUID4 key, 44-char URL-safe base64 secret
    (32 random bytes, `=` kept), 64-hex passphrase. Pass `random.SystemRandom()` in production,
    a seeded `random.Random` in tests."""
    key = uuid.UUID(bytes=rng.randbytes(16), version=4)
    secret = base64.urlsafe_b64encode(rng.randbytes(32)).decode("ascii")
    return ApiCreds(api_key=str(key), secret=secret, passphrase=rng.randbytes(32).hex())
