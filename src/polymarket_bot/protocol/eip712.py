"""Minimal EIP-712 hashing and secp256k1 signing for Polymarket's fixed structs.

Only what the V2 order and the ClobAuth message need: keccak256, ABI words for the static types
(uint, address, bytes32, string-as-hash), domain separators, the `0x1901` digest, and ECDSA
sign/recover over a 32-byte digest through coincurve (libsecp256k1, RFC 6979 nonces: the same
deterministic signatures eth-account produces). A generic typed-data encoder is deliberately absent:
the structs are fixed, so hashing them by hand is both exact and ~50x cheaper.

Hot path (one order = two keccaks + one ECDSA signature): keccak256 calls pycryptodome's native
Keccak directly (see `_load_native_keccak`), address and bytes32-text words are cached, and the
order struct is one `b"".join` of 32-byte words.
"""

from __future__ import annotations

import ctypes
import importlib.machinery
import os
import re
import secrets
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

import Crypto.Hash
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
    "order_struct_bytes",
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
# secp256k1 group order; s > n/2 gives the malleable twin (EIP-2 and OpenZeppelin reject it).
_SECP256K1_N: Final = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_SECP256K1_HALF_N: Final = _SECP256K1_N // 2


class SignatureError(InvalidValueError):
    """A signature is malformed or does not recover to a usable public key."""


def _keccak256_wrapper(data: bytes) -> bytes:
    return _keccak.new(digest_bits=256, data=data).digest()


def _load_native_keccak() -> Callable[[bytes], bytes] | None:
    """keccak256 through pycryptodome's own C library, called without its Python wrapper.

    `Crypto.Hash.keccak.new(...).digest()` costs ~4 us, almost all of it ctypes plumbing (a new
    state, `c_size_t`/`c_ubyte` objects, a string buffer per call). Here the library is loaded
    once as a `ctypes.PyDLL` (the GIL stays held: the calls are far shorter than a GIL hand-off)
    and hashing states are reused from a free list: absorb, digest (which squeezes a copy), reset.
    Taking a state off the list and putting it back are single atomic list operations, so
    threads (and a re-entrant call) never share a state. ~1.1-1.6 us per call.

    Returns None if the library cannot be found or does not reproduce the wrapper's digests;
    `keccak256` then uses the wrapper.
    """
    try:
        here = Path(Crypto.Hash.__file__).parent
        path = next(
            (
                here / f"_keccak{suffix}"
                for suffix in importlib.machinery.EXTENSION_SUFFIXES
                if (here / f"_keccak{suffix}").is_file()
            ),
            None,
        )
        if path is None:
            return None
        lib = ctypes.PyDLL(str(path))
        init, destroy = lib.keccak_init, lib.keccak_destroy
        absorb, digest, reset = lib.keccak_absorb, lib.keccak_digest, lib.keccak_reset
    except (OSError, AttributeError):
        return None
    for fn in (init, destroy, absorb, digest, reset):
        fn.restype = ctypes.c_int
    # No argtypes: every argument is passed as an explicit ctypes object (or `bytes`, which
    # ctypes passes as a pointer to its buffer), the cheapest way through ctypes.
    size_t = ctypes.c_size_t
    out_len, padding = size_t(32), ctypes.c_ubyte(0x01)  # Keccak's (not SHA-3's) padding

    class State:
        __slots__ = ("out", "ptr")

        def __init__(self) -> None:
            self.ptr = ctypes.c_void_p()
            # capacity 512 bits (2 x digest), 24 rounds: as Crypto.Hash.keccak does for 256.
            if init(ctypes.byref(self.ptr), size_t(64), ctypes.c_ubyte(24)):
                raise MemoryError("keccak_init failed")
            self.out = ctypes.create_string_buffer(32)

        def __del__(self) -> None:
            destroy(self.ptr)

    pool: list[State] = []
    pop, push = pool.pop, pool.append

    def native_keccak256(data: bytes) -> bytes:
        if type(data) is not bytes:  # bytearray/memoryview: not worth a fast path
            return _keccak256_wrapper(data)
        try:
            state = pop()
        except IndexError:
            state = State()
        ptr, out = state.ptr, state.out
        if absorb(ptr, data, size_t(len(data))) or digest(ptr, out, out_len, padding):
            raise ValueError("native keccak failed")
        reset(ptr)
        result = out.raw
        push(state)
        return result

    try:
        samples = [b"", b"\x01" * 135, b"\x02" * 136, bytes(range(256)) * 3]
        if all(native_keccak256(x) == _keccak256_wrapper(x) for x in samples):
            return native_keccak256
    except (ValueError, MemoryError):
        pass
    return None


keccak256: Final[Callable[[bytes], bytes]] = _load_native_keccak() or _keccak256_wrapper
"""keccak256 of `data` (Ethereum's Keccak, not NIST SHA3-256): 32 bytes."""


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
    try:
        return value.to_bytes(32, "big")  # OverflowError if negative or >= 2**256
    except OverflowError:
        raise InvalidValueError(f"uint256 out of range: {value}") from None


@lru_cache(maxsize=1024)
def encode_address(address: str) -> bytes:
    """The address as an ABI word (cached: an order's maker and signer are the same few)."""
    return b"\x00" * 12 + address_bytes(address)


@lru_cache(maxsize=1024)
def _bytes32_text_word(value: str) -> bytes:
    if _HEX32_RE.fullmatch(value) is None:
        raise InvalidValueError(f"not a bytes32 hex string: {value!r}")
    return bytes.fromhex(value[2:].zfill(64))


def encode_bytes32(value: str | bytes) -> bytes:
    """A bytes32 word from raw bytes or `0x` hex; short hex is left-padded with zeros like PCC2."""
    if isinstance(value, bytes):
        if len(value) != 32:
            raise InvalidValueError(f"bytes32 must be 32 bytes, got {len(value)}")
        return value
    return _bytes32_text_word(value)  # cached: metadata and builder are almost always zero


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
        order_struct_bytes(
            salt,
            encode_address(maker),
            encode_address(signer),
            encode_uint(token_id),
            maker_amount,
            taker_amount,
            side,
            signature_type,
            timestamp,
            encode_bytes32(metadata),
            encode_bytes32(builder),
        )
    )


def order_struct_bytes(
    salt: int,
    maker_word: bytes,
    signer_word: bytes,
    token_word: bytes,
    maker_amount: int,
    taker_amount: int,
    side: int,
    signature_type: int,
    timestamp: int,
    metadata_word: bytes,
    builder_word: bytes,
) -> bytes:
    """encodeData(Order) with its type hash: the 384 bytes `hash_order_struct` hashes. Address,
    token id and bytes32 members come as ready words; the integers are range-checked here."""
    try:
        return b"".join(
            (
                _ORDER_TYPE_HASH,
                salt.to_bytes(32, "big"),
                maker_word,
                signer_word,
                token_word,
                maker_amount.to_bytes(32, "big"),
                taker_amount.to_bytes(32, "big"),
                side.to_bytes(32, "big"),
                signature_type.to_bytes(32, "big"),
                timestamp.to_bytes(32, "big"),
                metadata_word,
                builder_word,
            )
        )
    except OverflowError:
        for value in (salt, maker_amount, taker_amount, side, signature_type, timestamp):
            encode_uint(value)  # raises InvalidValueError naming the value
        raise


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


_ETH_V: Final = tuple(bytes([27 + recid]) for recid in range(4))  # recovery id -> v byte


def _coincurve_sign(key: PrivateKey, digest: bytes) -> bytes:
    sig: bytes = key.sign_recoverable(digest, hasher=None)
    return sig[:64] + _ETH_V[sig[64]]


def _direct_signer(key: PrivateKey) -> Callable[[bytes], bytes] | None:
    """`_coincurve_sign` calling libsecp256k1 through coincurve's own cffi module, skipping
    `sign_recoverable`'s Python layers (~0.8 us of its ~20 us): the same two C calls with the
    same context, secret and default (RFC 6979) nonce. None if coincurve's internals differ or
    the result is not identical to the public API's on a probe digest."""
    try:
        from coincurve._libsecp256k1 import ffi, lib

        ctx, secret = key.context.ctx, key.secret
        new, buffer, null = ffi.new, ffi.buffer, ffi.NULL
        sign = lib.secp256k1_ecdsa_sign_recoverable
        serialize = lib.secp256k1_ecdsa_recoverable_signature_serialize_compact
    except (ImportError, AttributeError):
        return None

    def sign_digest(digest: bytes) -> bytes:
        sig = new("secp256k1_ecdsa_recoverable_signature *")
        if not sign(ctx, sig, digest, secret, null, null):
            raise ValueError("secp256k1 signing failed")
        out, recid = new("unsigned char[64]"), new("int *")
        serialize(ctx, out, recid, sig)
        v: bytes = _ETH_V[recid[0]]
        return bytes(buffer(out)) + v

    try:
        probe = keccak256(b"probe")
        if sign_digest(probe) == _coincurve_sign(key, probe):
            return sign_digest
    except Exception:  # any mismatch in the private API: use the public one
        pass
    return None


_Nonce = tuple[bytes, bytes, bytes, int]
"""A presigned nonce: (k^-1, k^-1 r d mod n, r = x(kG), parity of y(kG))."""
_HALF_N_BYTES: Final = _SECP256K1_HALF_N.to_bytes(32, "big")
_N_BYTES: Final = _SECP256K1_N.to_bytes(32, "big")


class _Presigner:
    """ECDSA with the nonce's expensive half done in advance (see `PrivateKeySigner.presign`).

    Signing is `s = k^-1 (z + r d) = k^-1 z + k^-1 r d mod n`: R = kG (the ~20 us point
    multiplication), k^-1 and k^-1 r d depend only on the random k and the key, not on the
    message, so they are computed ahead; what is left is a multiplication and an addition of
    scalars, constant-time in libsecp256k1 (the secret never enters Python integer
    arithmetic). k comes from `secrets` (the OS CSPRNG), is used for one signature
    and dropped; its inverse is computed blinded (the variable-time `pow` sees k*b for a random
    b, not k). Signatures are standard low-s Ethereum signatures (ecrecover gives the key's
    address) but not RFC 6979's deterministic ones.
    """

    def __init__(self, key: PrivateKey) -> None:
        from coincurve._libsecp256k1 import ffi, lib  # private API: `create` checks it works

        self._ctx, self._secret = key.context.ctx, key.secret
        self._new, self._buffer = ffi.new, ffi.buffer
        self._pubkey_create = lib.secp256k1_ec_pubkey_create
        self._serialize = lib.secp256k1_ec_pubkey_serialize
        self._compressed = lib.SECP256K1_EC_COMPRESSED
        self._mul = lib.secp256k1_ec_seckey_tweak_mul
        self._add = lib.secp256k1_ec_seckey_tweak_add
        self._negate = lib.secp256k1_ec_seckey_negate

    @classmethod
    def create(cls, key: PrivateKey, address: str) -> _Presigner | None:
        """A presigner for `key`, or None if coincurve's internals differ or a probe signature
        does not recover to `address` with a low s."""
        try:
            presigner = cls(key)
            nonce = presigner.nonce()
            probe = keccak256(b"presign probe")
            signature = presigner.sign(probe, nonce) if nonce is not None else None
            if signature is not None and recover_address(probe, signature) == address:
                return presigner
        except Exception:  # any difference in the private API: sign the RFC 6979 way only
            pass
        return None

    def nonce(self) -> _Nonce | None:
        """A fresh (k^-1, k^-1 r d, r, y parity); None in the ~2^-128 cases a k is unusable."""
        n = _SECP256K1_N
        k = secrets.randbelow(n - 1) + 1
        point = self._new("secp256k1_pubkey *")
        if not self._pubkey_create(self._ctx, point, k.to_bytes(32, "big")):
            return None
        out, size = self._new("unsigned char[33]"), self._new("size_t *", 33)
        self._serialize(self._ctx, out, size, point, self._compressed)
        raw = bytes(self._buffer(out))
        r = int.from_bytes(raw[1:], "big")
        if not 0 < r < n:  # x(R) >= n would need recovery id 2/3, which Ethereum cannot carry
            return None
        blind = secrets.randbelow(n - 1) + 1
        k_inv = (pow(k * blind % n, -1, n) * blind % n).to_bytes(32, "big")
        rd = self._new("unsigned char[32]", self._secret)
        if not (self._mul(self._ctx, rd, raw[1:]) and self._mul(self._ctx, rd, k_inv)):
            return None
        return k_inv, bytes(self._buffer(rd)), raw[1:], raw[0] & 1

    def sign(self, digest: bytes, nonce: _Nonce) -> bytes | None:
        """r‖s‖v over `digest` with `nonce`; None if s came out zero or the digest is 0 mod n
        (then sign otherwise)."""
        k_inv, k_inv_rd, r, parity = nonce
        ctx = self._ctx
        if digest >= _N_BYTES:  # z mod n (2^-128 of digests): a tweak must be below n
            digest = (int.from_bytes(digest, "big") - _SECP256K1_N).to_bytes(32, "big")
        s = self._new("unsigned char[32]", k_inv)
        if not (self._mul(ctx, s, digest) and self._add(ctx, s, k_inv_rd)):
            return None
        out = bytes(self._buffer(s))
        if out > _HALF_N_BYTES:  # low s (EIP-2): -s signs with -k, whose R has the other y
            self._negate(ctx, s)
            out, parity = bytes(self._buffer(s)), parity ^ 1
        return r + out + _ETH_V[parity]


_SIGNERS: weakref.WeakSet[PrivateKeySigner] = weakref.WeakSet()


def _forget_nonces_after_fork() -> None:
    """A forked child must never use its parent's nonces: the same k for two messages (one
    signed in each process) reveals the key."""
    for signer in list(_SIGNERS):
        signer._nonces.clear()


os.register_at_fork(after_in_child=_forget_nonces_after_fork)


class PrivateKeySigner:
    """A local secp256k1 key that signs 32-byte digests the Ethereum way (r‖s‖v, v = 27 + recid).

    Signatures are RFC 6979 (deterministic), as the SDKs make them, until `presign` has stocked
    nonces: then `sign_digest` spends one per signature (random k, about 1 us instead of ~20).
    """

    __slots__ = ("__weakref__", "_address", "_key", "_nonces", "_presigner", "_sign")

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
        key = self._key
        self._sign = _direct_signer(key) or (lambda digest: _coincurve_sign(key, digest))
        self._presigner: _Presigner | bool | None = False  # False: not made yet
        self._nonces: deque[_Nonce] = deque()
        _SIGNERS.add(self)

    @property
    def address(self) -> str:
        """Checksummed address of this key (what PCC2 puts in `signer` and `POLY_ADDRESS`)."""
        return self._address

    def sign_digest(self, digest: bytes) -> bytes:
        """65-byte signature over an already-hashed 32-byte digest (with a presigned nonce if
        one is stocked, else RFC 6979)."""
        if len(digest) != 32:
            raise InvalidValueError(f"digest must be 32 bytes, got {len(digest)}")
        if self._nonces:
            try:
                nonce = self._nonces.popleft()  # never reused: gone from the pool before use
            except IndexError:
                pass
            else:
                assert isinstance(self._presigner, _Presigner)
                signature = self._presigner.sign(digest, nonce)
                if signature is not None:
                    return signature
        return self._sign(digest)

    def presign(self, target: int, *, at_most: int | None = None) -> int:
        """Stock nonces until `target` are ready, making `at_most` per call (all if None); the
        number made. Each costs what a signature costs (R = kG) and makes a later signature
        ~20x cheaper: call it when idle, off the path that must be fast. 0 if this
        environment's coincurve cannot presign (signatures then stay RFC 6979)."""
        if self._presigner is False:
            self._presigner = _Presigner.create(self._key, self._address)
        presigner = self._presigner
        if not isinstance(presigner, _Presigner):
            return 0
        missing = target - len(self._nonces)
        made = 0
        while made < missing and (at_most is None or made < at_most):
            nonce = presigner.nonce()
            if nonce is not None:
                self._nonces.append(nonce)
                made += 1
        return made

    @property
    def presigned(self) -> int:
        """Nonces stocked by `presign` and not yet spent."""
        return len(self._nonces)

    def __repr__(self) -> str:  # never print key material
        return f"PrivateKeySigner(address={self._address})"
