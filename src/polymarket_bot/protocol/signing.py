"""CLOB V2 orders: EIP-712 hashing, signing, the POST /order body, and server-side verification.

Byte-identical to py-clob-client-v2 1.2.1 (PCC2): same domains, struct hash, order hash (= the
venue order id), RFC 6979 signatures, the POLY_1271 wrapping and the compact JSON body with PCC2's
key order (ref §6.2, §6.5). Everything is explicit input: salt and timestamp are arguments, so the
same call always gives the same bytes.
"""

from __future__ import annotations

import enum
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from json.encoder import encode_basestring as _quote
from typing import Any, Final

from polymarket_bot.core.errors import InvalidValueError
from polymarket_bot.core.types import OrderType, Side, TickSize
from polymarket_bot.protocol.amounts import limit_order_units, market_order_amounts
from polymarket_bot.protocol.eip712 import (
    ORDER_TYPE_STRING,
    PrivateKeySigner,
    SignatureError,
    decode_poly_1271_signature,
    deposit_wallet_digest,
    domain_separator,
    encode_address,
    encode_bytes32,
    encode_uint,
    is_address,
    keccak256,
    order_struct_bytes,
    recover_address,
    typed_data_digest,
    wrap_poly_1271_signature,
)

__all__ = [
    "AMOY",
    "BYTES32_ZERO",
    "CONTRACTS",
    "EXCHANGE_DOMAIN_NAME",
    "POLYGON",
    "ExchangeContracts",
    "ExchangeDomain",
    "OrderV2",
    "SignatureType",
    "SignedOrderV2",
    "build_order",
    "create_limit_order",
    "create_market_order",
    "encode_post_order_body",
    "encode_post_orders_body",
    "exchange_domain",
    "generate_salt",
    "is_v2_position_id",
    "make_exchange_domain",
    "order_digest",
    "order_from_json",
    "order_hash",
    "order_struct_hash",
    "order_to_json",
    "recover_order_signer",
    "sign_order",
    "verify_order_signature",
]

POLYGON: Final = 137
AMOY: Final = 80002
BYTES32_ZERO: Final = "0x" + "0" * 64
EXCHANGE_DOMAIN_NAME: Final = "Polymarket CTF Exchange"

_JSON_SEPARATORS: Final = (",", ":")


class SignatureType(enum.IntEnum):
    EOA = 0
    POLY_PROXY = 1
    POLY_GNOSIS_SAFE = 2
    POLY_1271 = 3


@dataclass(frozen=True, slots=True)
class ExchangeContracts:
    exchange_v2: str
    neg_risk_exchange_v2: str
    exchange_v3: str


CONTRACTS: Final[Mapping[int, ExchangeContracts]] = {
    POLYGON: ExchangeContracts(
        exchange_v2="0xE111180000d2663C0091e4f400237545B87B996B",
        neg_risk_exchange_v2="0xe2222d279d744050d28e00520010520000310F59",
        exchange_v3="0xe3333700cA9d93003F00f0F71f8515005F6c00Aa",
    ),
    AMOY: ExchangeContracts(
        exchange_v2="0xE111180000d2663C0091e4f400237545B87B996B",
        neg_risk_exchange_v2="0xe2222d279d744050d28e00520010520000310F59",
        exchange_v3="0x9fE6e61422AdB6F610d8597F9684b16912D50C3D",
    ),
}


@dataclass(frozen=True, slots=True)
class ExchangeDomain:
    """One exchange's EIP-712 domain with its precomputed separator."""

    chain_id: int
    verifying_contract: str
    version: str
    separator: bytes


@lru_cache(maxsize=64)
def make_exchange_domain(
    chain_id: int, verifying_contract: str, version: str = "2"
) -> ExchangeDomain:
    """A domain for any exchange address (the simulator may deploy its own)."""
    sep = domain_separator(EXCHANGE_DOMAIN_NAME, version, chain_id, verifying_contract)
    return ExchangeDomain(chain_id, verifying_contract, version, sep)


_DOMAINS: dict[tuple[int, bool, int], ExchangeDomain] = {}


def exchange_domain(chain_id: int = POLYGON, *, neg_risk: bool, version: int = 2) -> ExchangeDomain:
    """The official domain: V2 standard or neg-risk exchange, or V3 (position ids; as in PCC2,
    `neg_risk` is ignored there: there is a single V3 exchange). Cached per
    (chain_id, neg_risk, version)."""
    key = (chain_id, neg_risk, version)
    domain = _DOMAINS.get(key)
    if domain is None:
        domain = _DOMAINS[key] = _exchange_domain(chain_id, neg_risk, version)
    return domain


def _exchange_domain(chain_id: int, neg_risk: bool, version: int) -> ExchangeDomain:
    try:
        contracts = CONTRACTS[chain_id]
    except KeyError:
        raise InvalidValueError(f"unknown chain id {chain_id}") from None
    if version == 3:
        return make_exchange_domain(chain_id, contracts.exchange_v3, "3")
    if version != 2:
        raise InvalidValueError(f"unsupported exchange version {version}")
    address = contracts.neg_risk_exchange_v2 if neg_risk else contracts.exchange_v2
    return make_exchange_domain(chain_id, address, "2")


def is_v2_position_id(token_id: int | str) -> bool:
    """True for protocol-v2 position ids (bits 40..103 all zero), which the unified SDK routes to
    Exchange V3. Real CTF token ids are ~77-digit hashes and never match."""
    return (int(token_id) >> 40) & ((1 << 64) - 1) == 0


@dataclass(frozen=True, slots=True)
class OrderV2:
    """The 11 signed fields plus the unsigned `expiration` (Unix seconds, "0" = none).

    Strings keep the exact text that goes on the wire (addresses, tokenId, metadata, builder).
    """

    salt: int
    maker: str
    signer: str
    token_id: str
    maker_amount: int
    taker_amount: int
    side: Side
    signature_type: SignatureType
    timestamp_ms: int
    metadata: str = BYTES32_ZERO
    builder: str = BYTES32_ZERO
    expiration: int = 0


@dataclass(frozen=True, slots=True)
class SignedOrderV2:
    order: OrderV2
    signature: str
    """`0x` hex: 65 bytes for types 0-2, the POLY_1271 blob for type 3."""
    order_hash: str
    """`0x` + 64 hex EIP-712 digest = the venue's order id."""


def generate_salt(rng: random.Random, now_ms: int) -> int:
    """PCC2's salt recipe `int(random() * now_ms)` (< 2**53) with an injected random source."""
    return int(rng.random() * now_ms)


def _uint_str(value: str, name: str) -> int:
    if not value.isascii() or not value.isdigit():
        raise InvalidValueError(f"{name} must be a decimal integer string, got {value!r}")
    return int(value)


@lru_cache(maxsize=1024)
def _token_word(token_id: str) -> bytes:
    """The tokenId ABI word from its decimal text (cached: a strategy quotes a few tokens)."""
    return encode_uint(_uint_str(token_id, "tokenId"))


def order_struct_hash(order: OrderV2) -> bytes:
    """hashStruct(Order); also the POLY_1271 "contents" hash. InvalidValueError if a field does
    not fit its ABI type."""
    return keccak256(
        order_struct_bytes(
            order.salt,
            encode_address(order.maker),
            encode_address(order.signer),
            _token_word(order.token_id),
            order.maker_amount,
            order.taker_amount,
            order.side.as_uint8,
            int(order.signature_type),
            order.timestamp_ms,
            _bytes32_word(order.metadata),
            _bytes32_word(order.builder),
        )
    )


def order_digest(order: OrderV2, domain: ExchangeDomain) -> bytes:
    return keccak256(b"\x19\x01" + domain.separator + order_struct_hash(order))


def order_hash(order: OrderV2, domain: ExchangeDomain) -> str:
    """The order id the venue will report: `0x` + hex of the EIP-712 digest."""
    return "0x" + order_digest(order, domain).hex()


def sign_order(order: OrderV2, signer: PrivateKeySigner, domain: ExchangeDomain) -> SignedOrderV2:
    """Sign with the key; for types 0-2 it must be `order.signer` (PCC2's "signer does not match"),
    for POLY_1271 it is the deposit wallet's owner and `order.signer` is the wallet."""
    struct_hash = order_struct_hash(order)
    digest = keccak256(b"\x19\x01" + domain.separator + struct_hash)
    if order.signature_type == SignatureType.POLY_1271:
        wallet_digest = deposit_wallet_digest(
            struct_hash, order.signer, domain.chain_id, domain.separator
        )
        inner = signer.sign_digest(wallet_digest)
        signature = "0x" + wrap_poly_1271_signature(inner, domain.separator, struct_hash).hex()
    else:
        address = signer.address
        if order.signer != address and order.signer.lower() != address.lower():
            raise InvalidValueError("signer does not match")
        signature = "0x" + signer.sign_digest(digest).hex()
    return SignedOrderV2(order, signature, "0x" + digest.hex())


_bytes32_word = lru_cache(maxsize=256)(encode_bytes32)
"""`encode_bytes32` memoized (in C, no Python call): metadata and builder are the same zero word
on almost every order."""


def build_order(
    signer_address: str,
    *,
    token_id: str,
    side: Side,
    maker_amount: int,
    taker_amount: int,
    salt: int,
    timestamp_ms: int,
    signature_type: SignatureType = SignatureType.EOA,
    funder: str | None = None,
    expiration: int = 0,
    metadata: str = BYTES32_ZERO,
    builder: str = BYTES32_ZERO,
) -> OrderV2:
    """Assemble the order as PCC2's OrderBuilder does: `maker` = funder (default the signing
    address); `signer` = the signing address, except POLY_1271 where both are the deposit wallet."""
    if type(signature_type) is not SignatureType:
        try:
            signature_type = SignatureType(signature_type)
        except ValueError:
            raise InvalidValueError(f"unknown signature type {signature_type!r}") from None
    maker = funder if funder is not None else signer_address
    if signature_type == SignatureType.POLY_1271:
        if funder is None:
            raise InvalidValueError("POLY_1271 orders need the deposit wallet as funder")
        order_signer = funder
    else:
        order_signer = signer_address
    _check_address(maker, "maker")
    if order_signer is not maker:
        _check_address(order_signer, "signer")
    if not (token_id.isascii() and token_id.isdigit()):
        _uint_str(token_id, "tokenId")  # raises with the usual message
    if salt < 0 or timestamp_ms < 0 or expiration < 0:
        raise InvalidValueError("salt, timestamp and expiration must be non-negative")
    _bytes32_word(metadata)  # validated here; the text itself goes on the wire unchanged
    _bytes32_word(builder)
    return OrderV2(
        salt,
        maker,
        order_signer,
        token_id,
        maker_amount,
        taker_amount,
        side,
        signature_type,
        timestamp_ms,
        metadata,
        builder,
        expiration,
    )


def _check_address(address: str, name: str) -> None:
    try:
        encode_address(address)  # cached: the same few addresses sign every order
    except InvalidValueError:
        raise InvalidValueError(f"{name} is not an address: {address!r}") from None


@lru_cache(maxsize=4096)
def _limit_units(
    side: Side, price: Decimal | str | int, size: Decimal | str | int, tick_size: TickSize
) -> tuple[int, int]:
    """`limit_order_units`' amounts, memoized: a quoting strategy signs the same few (price,
    size) pairs again and again, and the Decimal work is ~10 us of the order path when the
    caches are cold (equal prices give equal amounts whatever their exponent: 0.5 == 0.50)."""
    maker_amount, taker_amount, _ = limit_order_units(
        side, price=price, size=size, tick_size=tick_size
    )
    return maker_amount, taker_amount


def create_limit_order(
    signer: PrivateKeySigner,
    *,
    token_id: str,
    side: Side,
    price: Decimal | str | int,
    size: Decimal | str | int,
    tick_size: TickSize,
    neg_risk: bool,
    salt: int,
    timestamp_ms: int,
    chain_id: int = POLYGON,
    signature_type: SignatureType = SignatureType.EOA,
    funder: str | None = None,
    expiration: int = 0,
    metadata: str = BYTES32_ZERO,
    builder: str = BYTES32_ZERO,
    exchange_version: int = 2,
) -> SignedOrderV2:
    """PCC2 `create_order` offline: amounts (§6.4), order, domain by `neg_risk`, signature."""
    try:
        maker_amount, taker_amount = _limit_units(side, price, size, tick_size)
    except TypeError:  # an unhashable argument (a signaling-NaN Decimal): computed, not kept
        maker_amount, taker_amount, _ = limit_order_units(
            side, price=price, size=size, tick_size=tick_size
        )
    order = build_order(
        signer.address,
        token_id=token_id,
        side=side,
        maker_amount=maker_amount,
        taker_amount=taker_amount,
        salt=salt,
        timestamp_ms=timestamp_ms,
        signature_type=signature_type,
        funder=funder,
        expiration=expiration,
        metadata=metadata,
        builder=builder,
    )
    return _sign_for_market(order, signer, chain_id, neg_risk, exchange_version)


def _sign_for_market(
    order: OrderV2, signer: PrivateKeySigner, chain_id: int, neg_risk: bool, version: int
) -> SignedOrderV2:
    """Sign against the exchange the market trades on (neg-risk markets have their own)."""
    return sign_order(order, signer, exchange_domain(chain_id, neg_risk=neg_risk, version=version))


def create_market_order(
    signer: PrivateKeySigner,
    *,
    token_id: str,
    side: Side,
    amount: Decimal | str | int,
    price: Decimal | str | int,
    tick_size: TickSize,
    neg_risk: bool,
    salt: int,
    timestamp_ms: int,
    chain_id: int = POLYGON,
    signature_type: SignatureType = SignatureType.EOA,
    funder: str | None = None,
    metadata: str = BYTES32_ZERO,
    builder: str = BYTES32_ZERO,
    exchange_version: int = 2,
) -> SignedOrderV2:
    """PCC2 `create_market_order` offline: BUY `amount` in pUSD, SELL in shares; `price` is the
    worst price (see `amounts.market_price_from_book`); expiration is always 0."""
    amounts = market_order_amounts(side, amount=amount, price=price, tick_size=tick_size)
    order = build_order(
        signer.address,
        token_id=token_id,
        side=side,
        maker_amount=amounts.maker_amount,
        taker_amount=amounts.taker_amount,
        salt=salt,
        timestamp_ms=timestamp_ms,
        signature_type=signature_type,
        funder=funder,
        metadata=metadata,
        builder=builder,
    )
    return _sign_for_market(order, signer, chain_id, neg_risk, exchange_version)


# --- POST /order body (PCC2 key order, compact) -------------------------------------------


def order_to_json(
    signed: SignedOrderV2,
    owner: str,
    order_type: OrderType,
    *,
    post_only: bool = False,
    defer_exec: bool = False,
) -> dict[str, Any]:
    """The envelope dict in PCC2's key order (`order_to_json_v2`)."""
    o = signed.order
    return {
        "order": {
            "salt": o.salt,
            "maker": o.maker,
            "signer": o.signer,
            "tokenId": o.token_id,
            "makerAmount": str(o.maker_amount),
            "takerAmount": str(o.taker_amount),
            "side": o.side.value,
            "expiration": str(o.expiration),
            "signatureType": int(o.signature_type),
            "timestamp": str(o.timestamp_ms),
            "metadata": o.metadata,
            "builder": o.builder,
            "signature": signed.signature,
        },
        "owner": owner,
        "orderType": OrderType(order_type).value,
        "deferExec": defer_exec,
        "postOnly": post_only,
    }


def _dumps(obj: object) -> str:
    return json.dumps(obj, separators=_JSON_SEPARATORS, ensure_ascii=False)


def _json_bool(value: bool) -> str:
    return "true" if value is True else "false" if value is False else _dumps(value)


def _order_body(
    signed: SignedOrderV2, owner: str, order_type: OrderType, post_only: bool, defer_exec: bool
) -> str:
    """`_dumps(order_to_json(...))` written directly, byte for byte: every string goes through
    `json.encoder.encode_basestring`, the very function `json.dumps(..., ensure_ascii=False)`
    quotes strings with, ints print as json prints them, and the keys are in the same order
    (`tests/protocol/test_fast_paths.py` checks both against each other)."""
    o = signed.order
    salt = o.salt
    # `_value_` is what `.value` returns, without the enum property's overhead.
    side = o.side._value_
    kind = order_type._value_ if type(order_type) is OrderType else OrderType(order_type).value
    return (
        f'{{"order":{{"salt":{str(salt) if type(salt) is int else _dumps(salt)},'
        f'"maker":{_quote(o.maker)},'
        f'"signer":{_quote(o.signer)},'
        f'"tokenId":{_quote(o.token_id)},'
        f'"makerAmount":{_quote(str(o.maker_amount))},'
        f'"takerAmount":{_quote(str(o.taker_amount))},'
        f'"side":{_quote(side)},'
        f'"expiration":{_quote(str(o.expiration))},'
        f'"signatureType":{int(o.signature_type)},'
        f'"timestamp":{_quote(str(o.timestamp_ms))},'
        f'"metadata":{_quote(o.metadata)},'
        f'"builder":{_quote(o.builder)},'
        f'"signature":{_quote(signed.signature)}}},'
        f'"owner":{_quote(owner)},'
        f'"orderType":{_quote(kind)},'
        f'"deferExec":{_json_bool(defer_exec)},'
        f'"postOnly":{_json_bool(post_only)}}}'
    )


def encode_post_order_body(
    signed: SignedOrderV2,
    owner: str,
    order_type: OrderType,
    *,
    post_only: bool = False,
    defer_exec: bool = False,
) -> str:
    """Exact `POST /order` body text PCC2 sends (and signs with L2 HMAC): the compact JSON of
    `order_to_json`, built without the generic encoder."""
    return _order_body(signed, owner, order_type, post_only, defer_exec)


def encode_post_orders_body(
    orders: Sequence[tuple[SignedOrderV2, OrderType]],
    owner: str,
    *,
    post_only: bool = False,
    defer_exec: bool = False,
) -> str:
    """Exact `POST /orders` body: PCC2 applies one post_only/defer_exec to every element.
    The venue caps a batch at 15 orders; enforcing that is the caller's job."""
    return "[" + ",".join(_order_body(s, owner, t, post_only, defer_exec) for s, t in orders) + "]"


# --- server side: decode and verify ---------------------------------------------------------


def _field(obj: Mapping[str, Any], key: str, kind: type) -> Any:
    value = obj.get(key)
    # bool is an int subclass; a JSON true must not pass as a salt.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InvalidValueError(f"order.{key} must be a {kind.__name__}")
    return value


def _bytes32_field(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key, BYTES32_ZERO)
    if value in ("", None):  # the docs' example sends "", SDKs send 32 zero bytes
        return BYTES32_ZERO
    if not isinstance(value, str):
        raise InvalidValueError(f"order.{key} must be a hex string")
    try:
        encode_bytes32(value)
    except InvalidValueError:
        raise InvalidValueError(f"order.{key} is not bytes32 hex") from None
    return value


def order_from_json(obj: Mapping[str, Any]) -> tuple[OrderV2, str]:
    """Rebuild the signed order and its signature from the `order` object of a POST body.

    Raises InvalidValueError on any malformed field (the venue answers "Invalid order payload").
    """
    try:
        side = Side(_field(obj, "side", str))
        sig_type = SignatureType(_field(obj, "signatureType", int))
    except ValueError as exc:
        raise InvalidValueError(f"invalid order field: {exc}") from None
    expiration = obj.get("expiration", "0")
    order = OrderV2(
        salt=_field(obj, "salt", int),
        maker=_field(obj, "maker", str),
        signer=_field(obj, "signer", str),
        token_id=_field(obj, "tokenId", str),
        maker_amount=_uint_str(_field(obj, "makerAmount", str), "makerAmount"),
        taker_amount=_uint_str(_field(obj, "takerAmount", str), "takerAmount"),
        side=side,
        signature_type=sig_type,
        timestamp_ms=_uint_str(_field(obj, "timestamp", str), "timestamp"),
        metadata=_bytes32_field(obj, "metadata"),
        builder=_bytes32_field(obj, "builder"),
        expiration=_uint_str(expiration if isinstance(expiration, str) else "x", "expiration"),
    )
    for name in ("maker", "signer"):
        if not is_address(getattr(order, name)):
            raise InvalidValueError(f"order.{name} is not an address")
    if order.salt < 0:
        raise InvalidValueError("order.salt must be non-negative")
    order_struct_hash(order)  # every signed field must fit its ABI type (uint256 range)
    return order, _field(obj, "signature", str)


def recover_order_signer(order: OrderV2, signature: str, domain: ExchangeDomain) -> str:
    """Checksummed address of the key that signed this order.

    Types 0-2: ecrecover over the order digest (must equal `order.signer`). POLY_1271: the blob
    must wrap exactly this order for this domain; returns the inner key (the deposit wallet's
    owner). Whether that key controls the wallet needs the wallet contract, which the simulator
    models by configuration. Raises SignatureError when the signature is malformed.
    """
    struct_hash = order_struct_hash(order)
    if order.signature_type != SignatureType.POLY_1271:
        return recover_address(typed_data_digest(domain.separator, struct_hash), signature)
    parts = decode_poly_1271_signature(signature)
    if (
        parts.app_domain_separator != domain.separator
        or parts.contents_hash != struct_hash
        or parts.contents_type != ORDER_TYPE_STRING
    ):
        raise SignatureError("POLY_1271 signature wraps a different order or domain")
    wallet_digest = deposit_wallet_digest(
        struct_hash, order.signer, domain.chain_id, domain.separator
    )
    return recover_address(wallet_digest, parts.inner)


def verify_order_signature(order: OrderV2, signature: str, domain: ExchangeDomain) -> bool:
    """Types 0-2: True iff the signature recovers to `order.signer`. POLY_1271: True iff the blob
    is well formed for this order (the inner signer is `recover_order_signer`'s job)."""
    try:
        recovered = recover_order_signer(order, signature, domain)
    except SignatureError:
        return False
    if order.signature_type == SignatureType.POLY_1271:
        return True
    return recovered.lower() == order.signer.lower()
