"""Presigned nonces (`PrivateKeySigner.presign`): every signature is a valid low-s Ethereum
signature of the key, each nonce signs once, a forked child never inherits them, and without a
stock (or where coincurve cannot presign) signatures stay RFC 6979, byte for byte."""

from __future__ import annotations

import os
import random
from decimal import Decimal

import pytest
from coincurve import PublicKey

from polymarket_bot.core.types import Side, TickSize
from polymarket_bot.protocol import eip712
from polymarket_bot.protocol.eip712 import PrivateKeySigner, keccak256, recover_address
from polymarket_bot.protocol.signing import SignedOrderV2, create_limit_order

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"


def _signer(seed: int) -> PrivateKeySigner:
    rng = random.Random(seed)
    return PrivateKeySigner(rng.randbytes(32))


def _check(signer: PrivateKeySigner, digest: bytes, signature: bytes) -> None:
    assert len(signature) == 65 and signature[64] in (27, 28)
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big")
    assert 0 < r < N and 0 < s <= N // 2  # low s (EIP-2), or ecrecover-based checks refuse it
    assert recover_address(digest, signature) == signer.address
    # the plain ECDSA verification agrees (not only the recovery)
    der_free = PublicKey.from_signature_and_message(
        signature[:64] + bytes([signature[64] - 27]), digest, hasher=None
    )
    assert der_free.format() == signer._key.public_key.format()


def test_presigned_signatures_recover_to_the_key() -> None:
    rng = random.Random(7)
    parities = set()
    for seed in range(3):
        signer = _signer(seed)
        assert signer.presign(200) == 200 and signer.presigned == 200
        for i in range(200):
            digest = rng.randbytes(32)
            signature = signer.sign_digest(digest)
            _check(signer, digest, signature)
            parities.add(signature[64])
            assert signer.presigned == 199 - i  # one nonce per signature, gone before use
    assert parities == {27, 28}


def test_awkward_digests_sign_with_a_nonce() -> None:
    """Digests at or above the group order (reduced mod n), zero and all-ones (a digest that is
    0 mod n spends its nonce and is signed the RFC 6979 way)."""
    signer = _signer(11)
    for digest in (bytes(32), b"\xff" * 32, N.to_bytes(32, "big"), (N + 5).to_bytes(32, "big")):
        signer.presign(1)
        signature = signer.sign_digest(digest)
        assert signer.presigned == 0
        _check(signer, digest, signature)


def test_a_nonce_is_never_reused() -> None:
    signer = _signer(3)
    signer.presign(50)
    digest = keccak256(b"same message")
    signatures = [signer.sign_digest(digest) for _ in range(50)]
    assert len({sig[:32] for sig in signatures}) == 50  # 50 different R: 50 different k
    for signature in signatures:
        _check(signer, digest, signature)


def test_without_stock_signatures_are_rfc6979() -> None:
    signer, fresh = _signer(5), _signer(5)
    digest = keccak256(b"deterministic")
    signer.presign(2)
    presigned = [signer.sign_digest(digest), signer.sign_digest(digest)]
    assert signer.presigned == 0
    assert signer.sign_digest(digest) == fresh.sign_digest(digest)  # stock spent: RFC 6979
    assert fresh.sign_digest(digest) not in presigned


def test_presign_targets_and_limits() -> None:
    signer = _signer(9)
    assert signer.presign(10, at_most=3) == 3 and signer.presigned == 3
    assert signer.presign(10) == 7 and signer.presigned == 10
    assert signer.presign(10) == 0 and signer.presign(4) == 0 and signer.presigned == 10


def test_an_order_signed_with_a_nonce_has_the_same_hash_and_recovers() -> None:
    signer, plain = _signer(21), _signer(21)
    signer.presign(1)

    def order(key: PrivateKeySigner) -> SignedOrderV2:
        return create_limit_order(
            key,
            token_id=TOKEN,
            side=Side.BUY,
            price=Decimal("0.45"),
            size=Decimal(10),
            tick_size=TickSize.parse("0.01"),
            neg_risk=True,
            salt=123456789,
            timestamp_ms=1_700_000_000_000,
        )

    fast, slow = order(signer), order(plain)
    assert fast.order_hash == slow.order_hash and fast.order == slow.order
    assert fast.signature != slow.signature
    digest = bytes.fromhex(fast.order_hash[2:])
    _check(signer, digest, bytes.fromhex(fast.signature[2:]))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_a_forked_child_does_not_inherit_the_stock() -> None:
    signer = _signer(13)
    signer.presign(8)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its stock and leave at once
        try:
            os.write(write, str(signer.presigned).encode())
        finally:
            os._exit(0)
    os.close(write)
    try:
        child_stock = os.read(read, 16).decode()
    finally:
        os.close(read)
        os.waitpid(pid, 0)
    assert child_stock == "0" and signer.presigned == 8


def test_a_presigner_that_does_not_verify_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """If coincurve's internals misbehave, the probe catches it: no stock, RFC 6979 only."""

    def wrong(self: object, digest: bytes, nonce: tuple[bytes, bytes, bytes, int]) -> bytes:
        return nonce[2] + (1).to_bytes(32, "big") + b"\x1b"

    monkeypatch.setattr(eip712._Presigner, "sign", wrong)
    signer, fresh = _signer(17), _signer(17)
    assert signer.presign(5) == 0 and signer.presigned == 0
    digest = keccak256(b"x")
    assert signer.sign_digest(digest) == fresh.sign_digest(digest)


def test_repr_holds_no_key_material() -> None:
    signer = _signer(19)
    signer.presign(1)
    text = repr(signer)
    assert signer._key.secret.hex() not in text and "nonce" not in text.lower()
