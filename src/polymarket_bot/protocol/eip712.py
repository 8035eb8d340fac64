"""Minimal EIP-712 hashing and secp256k1 signing for Polymarket's fixed structs.

Only what the V2 order and the ClobAuth message need: keccak256, ABI words for the static types
(uint, address, bytes32, string-as-hash), domain separators, the `0x1901` digest, and ECDSA
sign/recover over a 32-byte digest through coincurve (libsecp256k1, RFC 6979 nonces: the same
deterministic signatures eth-account produces). A generic typed-data encoder is deliberately absent:
the structs are fixed, so hashing them by hand is both exact and ~50x cheaper.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from coincurve import PrivateKey, PublicKey
from Crypto.Hash import keccak as _keccak

from polymarket_bot.core.errors import InvalidValueError

__all__ = [
    "DOMAIN_TYPE_STRING",
    "DOMAIN_TYPE_STRING_NO_CONTRACT",
    "ORDER_TYPE_STRING",
    "Poly1271Signature",
    "PrivateKeySigner",
    "SignatureError",
    "address_bytes",
    "decode_poly_1271_signature",
    "deposit_wallet_digest",
    "domain_separator",
    "encode_address",
    "encode_bytes32",
    "encode_string",
    "encode_uint",
    "hash_order_struct",
    "is_address",
    "keccak256",
    "recover_address",
    "signature_bytes",
    "to_checksum_address",
    "typed_data_digest",
    "wrap_poly_1271_signature",
]

DOMAIN_TYPE_STRING: Final = (
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
DOMAIN_TYPE_STRING_NO_CONTRACT: Final = "EIP712Domain(string name,string version,uint256 chainId)"

_ADDRESS_RE: Final = re.compile(r"0x[0-9a-fA-F]{40}")
_HEX32_RE: Final = re.compile(r"0x[0-9a-fA-F]{1,64}")
_UINT256_MAX: Final = (1 << 256) - 1
# secp256k1 group order; s > n/2 gives the malleable twin (EIP-2 and OpenZeppelin reject it).
_SECP256K1_N: Final = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_SECP256K1_HALF_N: Final = _SECP256K1_N // 2


class SignatureError(InvalidValueError):
    """A signature is malformed or does not recover to a usable public key."""


def keccak256(data: bytes) -> bytes:
    return _keccak.new(digest_bits=256, data=data).digest()


def is_address(value: str) -> bool:
    """`0x` + 40 hex digits (any case; the checksum is not enforced)."""
    return _ADDRESS_RE.fullmatch(value) is not None


def address_bytes(address: str) -> bytes:
    """The 20 raw bytes of a `0x` hex address."""
    if not is_address(address):
        raise InvalidValueError(f"not an address: {address!r}")
    return bytes.fromhex(address[2:])


def to_checksum_address(address: str | bytes) -> str:
    """EIP-55 mixed-case checksum form, as eth-account reports addresses."""
    raw = address if isinstance(address, bytes) else address_bytes(address)
    if len(raw) != 20:
        raise InvalidValueError(f"address must be 20 bytes, got {len(raw)}")
    hex_lower = raw.hex()
    digest = keccak256(hex_lower.encode("ascii")).hex()
    return "0x" + "".join(
        ch.upper() if ch.isalpha() and int(digest[i], 16) >= 8 else ch
        for i, ch in enumerate(hex_lower)
    )


def encode_uint(value: int) -> bytes:
    """One ABI word for a uint (uint8 and uint256 encode the same way; range is the caller's)."""
    if value < 0 or value > _UINT256_MAX:
        raise InvalidValueError(f"uint256 out of range: {value}")
    return value.to_bytes(32, "big")


def encode_address(address: str) -> bytes:
    return b"\x00" * 12 + address_bytes(address)


def encode_bytes32(value: str | bytes) -> bytes:
    """A bytes32 word from raw bytes or `0x` hex; short hex is left-padded with zeros like PCC2."""
    if isinstance(value, bytes):
        if len(value) != 32:
            raise InvalidValueError(f"bytes32 must be 32 bytes, got {len(value)}")
        return value
    if _HEX32_RE.fullmatch(value) is None:
        raise InvalidValueError(f"not a bytes32 hex string: {value!r}")
    return bytes.fromhex(value[2:].zfill(64))


def encode_string(value: str) -> bytes:
    """EIP-712 encodes dynamic `string` members as the keccak of their UTF-8 bytes."""
    return keccak256(value.encode("utf-8"))


def domain_separator(
    name: str, version: str, chain_id: int, verifying_contract: str | None = None
) -> bytes:
    """hashStruct(EIP712Domain); `verifying_contract=None` drops the field (ClobAuth's domain)."""
    if verifying_contract is None:
        return keccak256(
            keccak256(DOMAIN_TYPE_STRING_NO_CONTRACT.encode())
            + encode_string(name)
            + encode_string(version)
            + encode_uint(chain_id)
        )
    return keccak256(
        keccak256(DOMAIN_TYPE_STRING.encode())
        + encode_string(name)
        + encode_string(version)
        + encode_uint(chain_id)
        + encode_address(verifying_contract)
    )


def typed_data_digest(domain_sep: bytes, struct_hash: bytes) -> bytes:
    """keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(message)): what gets signed."""
    return keccak256(b"\x19\x01" + domain_sep + struct_hash)


# --- the CTF Exchange V2 Order struct --------------------------------------------------------

ORDER_TYPE_STRING: Final = (
    "Order(uint256 salt,address maker,address signer,uint256 tokenId,"
    "uint256 makerAmount,uint256 takerAmount,uint8 side,uint8 signatureType,"
    "uint256 timestamp,bytes32 metadata,bytes32 builder)"
)
_ORDER_TYPE_HASH: Final = keccak256(ORDER_TYPE_STRING.encode())


def hash_order_struct(
    *,
    salt: int,
    maker: str,
    signer: str,
    token_id: int,
    maker_amount: int,
    taker_amount: int,
    side: int,
    signature_type: int,
    timestamp: int,
    metadata: str | bytes,
    builder: str | bytes,
) -> bytes:
    """hashStruct(Order) for the V2/V3 exchanges (all members are static ABI words)."""
    return keccak256(
        _ORDER_TYPE_HASH
        + encode_uint(salt)
        + encode_address(maker)
        + encode_address(signer)
        + encode_uint(token_id)
        + encode_uint(maker_amount)
        + encode_uint(taker_amount)
        + encode_uint(side)
        + encode_uint(signature_type)
        + encode_uint(timestamp)
        + encode_bytes32(metadata)
        + encode_bytes32(builder)
    )


# --- POLY_1271: deposit wallets sign a Solady ERC-1271 nested "TypedDataSign" ---------------

_TYPED_DATA_SIGN_TYPE_HASH: Final = keccak256(
    (
        "TypedDataSign(Order contents,string name,string version,uint256 chainId,"
        "address verifyingContract,bytes32 salt)" + ORDER_TYPE_STRING
    ).encode()
)
_DEPOSIT_WALLET_NAME_HASH: Final = encode_string("DepositWallet")
_DEPOSIT_WALLET_VERSION_HASH: Final = encode_string("1")
_ORDER_TYPE_BYTES: Final = ORDER_TYPE_STRING.encode("utf-8")


def deposit_wallet_digest(
    contents_hash: bytes, wallet: str, chain_id: int, app_domain_separator: bytes
) -> bytes:
    """What the wallet owner signs: TypedDataSign{contents, the wallet's own domain
    (DepositWallet/1/chainId/wallet/zero salt)} under the exchange's domain."""
    typed_data_sign = keccak256(
        _TYPED_DATA_SIGN_TYPE_HASH
        + contents_hash
        + _DEPOSIT_WALLET_NAME_HASH
        + _DEPOSIT_WALLET_VERSION_HASH
        + encode_uint(chain_id)
        + encode_address(wallet)
        + b"\x00" * 32
    )
    return typed_data_digest(app_domain_separator, typed_data_sign)


def wrap_poly_1271_signature(
    inner: bytes, app_domain_separator: bytes, contents_hash: bytes
) -> bytes:
    """PCC2's blob: inner sig ‖ app domain separator ‖ contents hash ‖ type string ‖ uint16 len."""
    return (
        inner
        + app_domain_separator
        + contents_hash
        + _ORDER_TYPE_BYTES
        + len(_ORDER_TYPE_BYTES).to_bytes(2, "big")
    )


@dataclass(frozen=True, slots=True)
class Poly1271Signature:
    inner: bytes
    """65-byte ECDSA signature of the wallet owner."""
    app_domain_separator: bytes
    contents_hash: bytes
    contents_type: str


def _hex_bytes(value: str | bytes) -> bytes:
    if isinstance(value, bytes):
        return value
    text = value[2:] if value[:2] in ("0x", "0X") else value
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise SignatureError("signature is not hex") from None


def decode_poly_1271_signature(signature: str | bytes) -> Poly1271Signature:
    """Split a POLY_1271 blob (see `wrap_poly_1271_signature`); SignatureError if malformed.
    Session-key wrappings the unified SDK makes are not this layout and are rejected."""
    raw = _hex_bytes(signature)
    if len(raw) < 65 + 32 + 32 + 2:
        raise SignatureError("POLY_1271 signature too short")
    type_len = int.from_bytes(raw[-2:], "big")
    if len(raw) != 65 + 32 + 32 + type_len + 2:
        raise SignatureError("POLY_1271 signature length does not match its layout")
    try:
        contents_type = raw[129 : 129 + type_len].decode("utf-8")
    except UnicodeDecodeError:
        raise SignatureError("POLY_1271 contents type is not UTF-8") from None
    return Poly1271Signature(raw[:65], raw[65:97], raw[97:129], contents_type)


# --- ECDSA -------------------------------------------------------------------------------------


def signature_bytes(signature: str | bytes) -> bytes:
    """Parse a 65-byte r‖s‖v signature from bytes or `0x` hex."""
    raw = _hex_bytes(signature)
    if len(raw) != 65:
        raise SignatureError(f"signature must be 65 bytes, got {len(raw)}")
    return raw


def recover_address(digest: bytes, signature: str | bytes) -> str:
    """ecrecover: the checksummed address whose key made `signature` over `digest`.

    Accepts v in {27, 28} (Ethereum) or {0, 1}; rejects high-s twins, which no SDK produces.
    """
    raw = signature_bytes(signature)
    v = raw[64]
    recid = v - 27 if v >= 27 else v
    if recid not in (0, 1):
        raise SignatureError(f"invalid signature v={v}")
    s = int.from_bytes(raw[32:64], "big")
    if s == 0 or s > _SECP256K1_HALF_N:
        raise SignatureError("signature s value out of range (malleable or zero)")
    try:
        pub = PublicKey.from_signature_and_message(raw[:64] + bytes([recid]), digest, hasher=None)
    except Exception as exc:  # coincurve raises bare Exception/ValueError on bad points
        raise SignatureError(f"signature does not recover: {exc}") from None
    return _pubkey_address(pub)


def _pubkey_address(pub: PublicKey) -> str:
    return to_checksum_address(keccak256(pub.format(compressed=False)[1:])[-20:])


class PrivateKeySigner:
    """A local secp256k1 key that signs 32-byte digests the Ethereum way (r‖s‖v, v = 27 + recid)."""

    __slots__ = ("_address", "_key")

    def __init__(self, private_key: str | bytes) -> None:
        if isinstance(private_key, str):
            text = private_key[2:] if private_key[:2] in ("0x", "0X") else private_key
            try:
                raw = bytes.fromhex(text)
            except ValueError:
                raise InvalidValueError("private key is not hex") from None
        else:
            raw = private_key
        if len(raw) != 32:
            raise InvalidValueError(f"private key must be 32 bytes, got {len(raw)}")
        try:
            self._key = PrivateKey(raw)
        except Exception:
            raise InvalidValueError("private key out of range") from None
        self._address = _pubkey_address(self._key.public_key)

    @property
    def address(self) -> str:
        """Checksummed address of this key (what PCC2 puts in `signer` and `POLY_ADDRESS`)."""
        return self._address

    def sign_digest(self, digest: bytes) -> bytes:
        """65-byte signature over an already-hashed 32-byte digest."""
        if len(digest) != 32:
            raise InvalidValueError(f"digest must be 32 bytes, got {len(digest)}")
        sig = self._key.sign_recoverable(digest, hasher=None)
        return sig[:64] + bytes([27 + sig[64]])

    def __repr__(self) -> str:  # never print key material
        return f"PrivateKeySigner(address={self._address})"
