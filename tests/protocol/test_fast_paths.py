"""The signing hot path's shortcuts give exactly what the plain implementations give.

Each fast path (native keccak, direct libsecp256k1 call, integer limit amounts, the hand-built
POST body, the cached HMAC key, the domain cache) is checked against the generic code it
replaces, on seeded random inputs and on the awkward ones (block boundaries, odd strings,
threads). The golden vectors in test_signing/test_auth/test_amounts check the end result.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import sys
import threading
from decimal import ROUND_DOWN, Decimal
from typing import Any

import pytest
from Crypto.Hash import keccak as pycryptodome_keccak
from hypothesis import given
from hypothesis import strategies as st

from polymarket_bot.core.errors import InvalidValueError
from polymarket_bot.core.types import OrderType, Side, TickSize
from polymarket_bot.protocol import amounts, eip712
from polymarket_bot.protocol.auth import (
    AuthError,
    build_hmac_signature,
    generate_api_creds,
    l2_signer,
)
from polymarket_bot.protocol.eip712 import PrivateKeySigner, hash_order_struct, keccak256
from polymarket_bot.protocol.signing import (
    BYTES32_ZERO,
    OrderV2,
    SignatureType,
    SignedOrderV2,
    create_limit_order,
    encode_post_order_body,
    encode_post_orders_body,
    exchange_domain,
    make_exchange_domain,
    order_struct_hash,
    order_to_json,
)


def _reference_keccak(data: bytes) -> bytes:
    return pycryptodome_keccak.new(digest_bits=256, data=data).digest()


def test_native_keccak_is_in_use_and_matches_pycryptodome() -> None:
    assert keccak256.__name__ == "native_keccak256", "fell back to the slow keccak wrapper"
    rng = random.Random(1)
    lengths = [0, 1, 31, 32, 33, 66, 134, 135, 136, 137, 271, 272, 273, 384, 1000, 5000]
    for n in lengths + [rng.randrange(2000) for _ in range(200)]:
        data = rng.randbytes(n)
        assert keccak256(data) == _reference_keccak(data), n
    assert keccak256(bytearray(b"abc")) == _reference_keccak(b"abc")  # type: ignore[arg-type]
    assert keccak256(b"").hex().startswith("c5d2460186f7233c")  # keccak256 of nothing


def test_native_keccak_is_thread_safe() -> None:
    """Hashing states are never shared, even with the interpreter switching threads as often
    as it can."""
    rng = random.Random(2)
    inputs = [rng.randbytes(rng.randrange(400)) for _ in range(64)]
    expected = [_reference_keccak(x) for x in inputs]
    wrong: list[int] = []

    def work() -> None:
        for _ in range(150):
            for i, data in enumerate(inputs):
                if keccak256(data) != expected[i]:
                    wrong.append(i)

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old_interval)
    assert wrong == []


def test_direct_secp256k1_call_matches_coincurve(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(3)
    for _ in range(20):
        signer = PrivateKeySigner(rng.randbytes(32))
        assert signer._sign.__name__ == "sign_digest", "fell back to coincurve's wrapper"
        for _ in range(10):
            digest = rng.randbytes(32)
            assert signer.sign_digest(digest) == eip712._coincurve_sign(signer._key, digest)
    # Without the direct call the public API gives the same signatures.
    monkeypatch.setattr(eip712, "_direct_signer", lambda key: None)
    key = rng.randbytes(32)
    plain, digest = PrivateKeySigner(key), rng.randbytes(32)
    assert plain._sign.__name__ == "<lambda>"
    assert plain.sign_digest(digest) == eip712._coincurve_sign(plain._key, digest)
    with pytest.raises(InvalidValueError):
        plain.sign_digest(b"short")


def test_order_struct_hash_matches_the_generic_encoder() -> None:
    rng = random.Random(4)
    for _ in range(200):
        order = OrderV2(
            salt=rng.randrange(2**53),
            maker="0x" + rng.randbytes(20).hex(),
            signer="0x" + rng.randbytes(20).hex().upper(),
            token_id=str(rng.randrange(2**256)),
            maker_amount=rng.randrange(10**12),
            taker_amount=rng.randrange(10**12),
            side=rng.choice([Side.BUY, Side.SELL]),
            signature_type=rng.choice(list(SignatureType)),
            timestamp_ms=rng.randrange(2**45),
            metadata=rng.choice([BYTES32_ZERO, "0x" + rng.randbytes(32).hex(), "0x1"]),
            builder=rng.choice([BYTES32_ZERO, "0x" + rng.randbytes(rng.randrange(1, 33)).hex()]),
        )
        assert order_struct_hash(order) == hash_order_struct(
            salt=order.salt,
            maker=order.maker,
            signer=order.signer,
            token_id=int(order.token_id),
            maker_amount=order.maker_amount,
            taker_amount=order.taker_amount,
            side=order.side.as_uint8,
            signature_type=int(order.signature_type),
            timestamp=order.timestamp_ms,
            metadata=order.metadata,
            builder=order.builder,
        )
    base = OrderV2(1, "0x" + "11" * 20, "0x" + "22" * 20, "1", 1, 1, Side.BUY, SignatureType.EOA, 1)
    for bad in (
        {"salt": -1},
        {"maker_amount": 2**256},
        {"timestamp_ms": -5},
        {"token_id": str(2**256)},
        {"token_id": "12a"},
        {"maker": "0x12"},
        {"metadata": "0xzz"},
    ):
        with pytest.raises(InvalidValueError):
            order_struct_hash(OrderV2(**{**_fields(base), **bad}))


def _fields(order: OrderV2) -> dict[str, Any]:
    return {name: getattr(order, name) for name in OrderV2.__dataclass_fields__}


ODD_STRINGS = [
    "",
    "plain",
    "f4f2d3a8-0000-4000-8000-123456789abc",
    'quote " and \\ backslash',
    "control \x00\x01\x1f\n\r\t\b\f chars",
    "del \x7f, line sep \u2028, nbsp \xa0",
    "ünïcödé €, 😀, \U0010ffff",
    "lone surrogate \ud800",
]


def _generic_body(signed: SignedOrderV2, owner: str, order_type: Any, **flags: Any) -> str:
    return json.dumps(
        order_to_json(signed, owner, order_type, **flags), separators=(",", ":"), ensure_ascii=False
    )


def test_post_body_matches_generic_json() -> None:
    rng = random.Random(5)
    signer = PrivateKeySigner(rng.randbytes(32))
    signed_orders = []
    for i in range(60):
        signed = create_limit_order(
            signer,
            token_id=str(rng.randrange(2**256)),
            side=rng.choice([Side.BUY, Side.SELL]),
            price=Decimal("0.01") * rng.randint(1, 99),
            size=Decimal(rng.randint(1, 10**6)) / 100,
            tick_size=TickSize.T0_01,
            neg_risk=rng.random() < 0.5,
            salt=rng.randrange(2**53),
            timestamp_ms=1767225600000 + i,
            expiration=rng.choice([0, 1767232800]),
        )
        signed_orders.append(signed)
        for owner in ODD_STRINGS:
            for order_type in (*OrderType, "GTC"):
                flags = {"post_only": rng.random() < 0.5, "defer_exec": rng.random() < 0.5}
                body = encode_post_order_body(signed, owner, order_type, **flags)
                assert body == _generic_body(signed, owner, order_type, **flags)
    # Values the typed API never makes still encode as json.dumps would.
    odd = OrderV2(True, 'a"b', "\n", "1", -1, 2, Side.SELL, SignatureType.POLY_1271, 3, "", "x\\")
    odd_signed = SignedOrderV2(odd, "0x\x00", "h")
    assert encode_post_order_body(
        odd_signed,
        "o",
        OrderType.FOK,
        post_only=1,  # type: ignore[arg-type]
        defer_exec=None,  # type: ignore[arg-type]
    ) == _generic_body(odd_signed, "o", OrderType.FOK, post_only=1, defer_exec=None)
    for n in (0, 1, 2, 15):
        batch = [(s, rng.choice(list(OrderType))) for s in signed_orders[:n]]
        assert encode_post_orders_body(batch, ODD_STRINGS[4], post_only=True) == json.dumps(
            [order_to_json(s, ODD_STRINGS[4], t, post_only=True) for s, t in batch],
            separators=(",", ":"),
            ensure_ascii=False,
        )


def _reference_limit_amounts(side: Side, price: Decimal, size: Decimal, tick: TickSize) -> Any:
    """The general Decimal recipe (PCC2's fit at amount + 4 places, then truncation), exact."""
    ctx = amounts._CTX
    cfg = amounts.ROUNDING_CONFIG[tick]
    shares = size.quantize(Decimal(1).scaleb(-cfg.size), rounding=ROUND_DOWN, context=ctx)
    notional = amounts._fit_amount(ctx.multiply(shares, price), cfg.amount)
    units = (int(ctx.scaleb(notional, 6)), int(ctx.scaleb(shares, 6)))
    return units if side is Side.BUY else units[::-1]


@st.composite
def _limit_cases(draw: st.DrawFn) -> tuple[Side, Decimal, Decimal, TickSize]:
    tick = draw(st.sampled_from(list(TickSize)))
    price = tick.decimal * draw(st.integers(1, int(1 / tick.decimal) - 1))
    price = Decimal(str(price) + "0" * draw(st.integers(0, 30)))  # trailing zeros are allowed
    size = Decimal(draw(st.integers(1, 10**30))).scaleb(-draw(st.integers(0, 12)))
    return draw(st.sampled_from([Side.BUY, Side.SELL])), price, size, tick


@given(_limit_cases())
def test_integer_limit_amounts_match_the_decimal_recipe(
    case: tuple[Side, Decimal, Decimal, TickSize],
) -> None:
    side, price, size, tick = case
    if size < Decimal("0.01"):
        with pytest.raises(InvalidValueError):
            amounts.limit_order_units(side, price=price, size=size, tick_size=tick)
        return
    for px in (price, str(price), price):  # the second Decimal call hits the price cache
        maker, taker, got_px = amounts.limit_order_units(side, price=px, size=size, tick_size=tick)
        assert (maker, taker) == _reference_limit_amounts(side, price, size, tick)
        assert got_px == price


def test_price_cache_keeps_only_valid_prices() -> None:
    tick = TickSize.T0_01
    for bad in ("0.555", "0", "1", "-0.5", "0.5000001"):
        with pytest.raises(InvalidValueError):
            amounts.limit_order_units(Side.BUY, price=bad, size="10", tick_size=tick)
        assert Decimal(bad) not in amounts._GRID_UNITS[tick]
    assert amounts.limit_order_units(Side.BUY, price="0.55", size="1", tick_size=tick)[:2] == (
        550000,
        1000000,
    )
    assert amounts._GRID_UNITS[tick][Decimal("0.55")] == 550000


def test_cached_hmac_key_matches_fresh_hmac() -> None:
    rng = random.Random(6)
    secrets = [generate_api_creds(rng).secret for _ in range(4)]
    for i in range(300):  # interleaved secrets: a cached key object must never be mutated
        secret = rng.choice(secrets)
        body = rng.choice([None, "", '{"a":"ü"}', b'{"x":1}', "x" * rng.randrange(2000)])
        path = rng.choice(["/order", "/orders", "/data/orders?market=0x1", "/a?b?c"])
        ts = 1767225600 + i
        key = base64.urlsafe_b64decode(secret)
        raw = body.encode() if isinstance(body, str) else (body or b"")
        message = f"{ts}POST{path.split('?')[0]}".encode() + raw
        expected = base64.urlsafe_b64encode(hmac.new(key, message, hashlib.sha256).digest())
        assert build_hmac_signature(secret, ts, "POST", path, body) == expected.decode()


def test_l2_signer_matches_build_hmac_signature() -> None:
    """The submit path's signer (HMAC pads made once) signs what `build_hmac_signature` signs,
    for any secret length (a key longer than SHA-256's 64-byte block is hashed first)."""
    rng = random.Random(8)
    secrets = [generate_api_creds(rng).secret for _ in range(3)]
    secrets += [base64.urlsafe_b64encode(rng.randbytes(n)).decode() for n in (1, 63, 64, 65, 200)]
    for i in range(200):
        secret = rng.choice(secrets)
        method = rng.choice(["POST", "GET", "DELETE"])
        path = rng.choice(["/order", "/orders", "/clob/orders", "/data/orders?market=0x1"])
        sign = l2_signer(secret, method, path)
        body = rng.choice([b"", b'{"a":"\xc3\xbc"}', rng.randbytes(rng.randrange(3000))])
        ts = 1767225600 + i
        key = base64.urlsafe_b64decode(secret)
        message = f"{ts}{method}{path.split('?')[0]}".encode() + body
        expected = base64.urlsafe_b64encode(hmac.new(key, message, hashlib.sha256).digest())
        assert sign(str(ts).encode(), body) == expected
        assert build_hmac_signature(secret, ts, method, path, body) == expected.decode()
        assert sign(str(ts).encode(), body) == expected  # the pads are copied, never consumed
    with pytest.raises(AuthError):
        l2_signer("AAAA*AAA", "POST", "/order")


def test_exchange_domain_cache() -> None:
    for chain_id in (137, 80002):
        for neg_risk in (False, True):
            for version in (2, 3):
                domain = exchange_domain(chain_id, neg_risk=neg_risk, version=version)
                assert domain is exchange_domain(chain_id, neg_risk=neg_risk, version=version)
                assert domain == make_exchange_domain(
                    chain_id, domain.verifying_contract, str(version)
                )
    with pytest.raises(InvalidValueError):
        exchange_domain(137, neg_risk=False, version=4)
    with pytest.raises(InvalidValueError):
        exchange_domain(1, neg_risk=False)


def test_memoized_limit_amounts_match_the_plain_computation() -> None:
    """`create_limit_order` keeps the amounts of the (price, size) pairs it signed: equal values
    in other spellings (0.5 / 0.50, 5 / 5.00) give the same amounts, and bad input still raises
    the usual error (an unhashable signaling NaN included)."""
    from polymarket_bot.protocol.amounts import limit_order_units

    signer = PrivateKeySigner(random.Random(42).randbytes(32))  # a throwaway key
    tick = TickSize.parse("0.01")
    rng = random.Random(5)
    for _ in range(200):
        side = rng.choice([Side.BUY, Side.SELL])
        cents = rng.randint(1, 99)
        size = Decimal(rng.randint(1, 5000)) / 100
        for price in (Decimal(cents) / 100, Decimal(f"{cents / 100:.2f}0"), f"{cents / 100:.2f}"):
            for sz in (size, size.quantize(Decimal("0.0001"))):
                order = create_limit_order(
                    signer, token_id="7", side=side, price=price, size=sz, tick_size=tick,
                    neg_risk=False, salt=1, timestamp_ms=1,
                )  # fmt: skip
                maker, taker, _ = limit_order_units(side, price=price, size=sz, tick_size=tick)
                assert (order.order.maker_amount, order.order.taker_amount) == (maker, taker)
    for bad in (Decimal("sNaN"), Decimal("0.005"), Decimal("1.5")):
        with pytest.raises(InvalidValueError):
            create_limit_order(
                signer, token_id="7", side=Side.BUY, price=bad, size=Decimal(5), tick_size=tick,
                neg_risk=False, salt=1, timestamp_ms=1,
            )  # fmt: skip
