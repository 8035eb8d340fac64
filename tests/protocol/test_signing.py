"""V2 order signing: every golden vector byte for byte, server-side verification, and a seeded
cross-check against the official py-clob-client-v2 (run offline, salt and clock pinned)."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from py_clob_client_v2.clob_types import (
    CreateOrderOptions,
    MarketOrderArgsV2,
    OrderArgsV2,
)
from py_clob_client_v2.order_builder import builder as pcc2_builder
from py_clob_client_v2.order_builder import helpers as pcc2_helpers
from py_clob_client_v2.order_utils.exchange_order_builder_v2 import (
    ExchangeOrderBuilderV2 as Pcc2ExchangeOrderBuilderV2,
)
from py_clob_client_v2.order_utils.model.order_data_v2 import order_to_json_v2
from py_clob_client_v2.signer import Signer as Pcc2Signer

from polymarket_bot.core.errors import InvalidValueError
from polymarket_bot.core.types import OrderType, Side, TickSize
from polymarket_bot.protocol.amounts import ROUNDING_CONFIG, market_price_from_book
from polymarket_bot.protocol.auth import ApiCreds, build_l2_headers
from polymarket_bot.protocol.eip712 import (
    ORDER_TYPE_STRING,
    PrivateKeySigner,
    decode_poly_1271_signature,
    recover_address,
    signature_bytes,
)
from polymarket_bot.protocol.signing import (
    BYTES32_ZERO,
    SignatureType,
    SignedOrderV2,
    build_order,
    create_limit_order,
    create_market_order,
    encode_post_order_body,
    encode_post_orders_body,
    exchange_domain,
    generate_salt,
    is_v2_position_id,
    make_exchange_domain,
    order_digest,
    order_from_json,
    order_hash,
    recover_order_signer,
    sign_order,
    verify_order_signature,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "fixtures/polymarket/vectors.json").read_text()
)
FIXED = VECTORS["meta"]["fixed_inputs"]
CREDS = ApiCreds(FIXED["api_key"], FIXED["api_secret"], FIXED["api_passphrase"])
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _dec(x: float | int) -> Decimal:
    return Decimal(str(x))


def _sign_vector(v: dict[str, Any]) -> SignedOrderV2:
    i = v["inputs"]
    side = Side(i["side"])
    common: dict[str, Any] = {
        "token_id": i["token_id"],
        "side": side,
        "tick_size": TickSize(i["tick_size"]),
        "neg_risk": i["neg_risk"],
        "salt": i["salt"],
        "timestamp_ms": i["timestamp_ms"],
        "chain_id": i["chain_id"],
        "signature_type": SignatureType(i["signature_type"]),
        "funder": i["funder"],
    }
    signer = PrivateKeySigner(i["private_key"])
    if i["kind"] == "limit":
        return create_limit_order(
            signer,
            price=_dec(i["price"]),
            size=_dec(i["size"]),
            expiration=i["expiration"],
            **common,
        )
    price = _dec(i["price"])
    if not price:  # the SDK walked the book for the price
        book = i["book_used_for_price"]
        levels = [
            (Decimal(lv["price"]), Decimal(lv["size"]))
            for lv in book["asks" if side is Side.BUY else "bids"]
        ]
        price = market_price_from_book(side, levels, _dec(i["amount"]), OrderType(i["order_type"]))
        assert price == _dec(i["price_from_book"])
    return create_market_order(signer, amount=_dec(i["amount"]), price=price, **common)


@pytest.mark.parametrize("vector", VECTORS["orders"], ids=lambda v: v["id"])
def test_order_vector_byte_for_byte(vector: dict[str, Any]) -> None:
    i, out = vector["inputs"], vector["outputs"]
    signed = _sign_vector(vector)
    o = signed.order
    assert str(o.maker_amount) == out["makerAmount"]
    assert str(o.taker_amount) == out["takerAmount"]
    msg = out["typed_data"]["message"]
    assert {
        "salt": str(o.salt),
        "maker": o.maker,
        "signer": o.signer,
        "tokenId": o.token_id,
        "makerAmount": str(o.maker_amount),
        "takerAmount": str(o.taker_amount),
        "side": str(o.side.as_uint8),
        "signatureType": str(int(o.signature_type)),
        "timestamp": str(o.timestamp_ms),
        "metadata": o.metadata,
        "builder": o.builder,
    } == msg
    domain = exchange_domain(i["chain_id"], neg_risk=i["neg_risk"])
    vdom = out["typed_data"]["domain"]
    assert (vdom["name"], vdom["version"], vdom["chainId"], vdom["verifyingContract"]) == (
        "Polymarket CTF Exchange",
        domain.version,
        domain.chain_id,
        domain.verifying_contract,
    )
    assert signed.order_hash == out["order_hash"]
    assert signed.signature == out["signature"]
    assert recover_order_signer(o, signed.signature, domain) == out["recovered_signer"]
    body = encode_post_order_body(
        signed, i["owner"], OrderType(i["order_type"]), post_only=i["post_only"]
    )
    assert body == out["post_body"]
    headers = build_l2_headers(
        CREDS, FIXED["signer_address"], "POST", "/order", body, i["l2_timestamp"]
    )
    assert headers == out["post_headers"]
    assert f"{i['l2_timestamp']}POST/order{body}" == out["post_signed_message"]
    # The unified SDK's independent rebuild agrees on everything but key order.
    cross = vector["cross_check_polymarket_client"]
    assert signed.order_hash == cross["order_hash"]
    ours, uni = json.loads(body), json.loads(cross["post_body"])
    assert ours["order"] == uni["order"]
    assert (ours["owner"], ours["orderType"]) == (uni["owner"], uni["orderType"])
    assert ours["postOnly"] == uni.get("postOnly", False)  # UNI sends postOnly only when true


def test_batch_vector_byte_for_byte() -> None:
    v = VECTORS["batch_orders"][0]
    i, out = v["inputs"], v["outputs"]
    signer = PrivateKeySigner(FIXED["private_key"])
    signed = [
        create_limit_order(
            signer,
            token_id=i["token_id"],
            side=Side(leg["side"]),
            price=_dec(leg["price"]),
            size=_dec(leg["size"]),
            tick_size=TickSize(i["tick_size"]),
            neg_risk=i["neg_risk"],
            salt=leg["salt"],
            timestamp_ms=leg["timestamp_ms"],
            signature_type=SignatureType(i["signature_type"]),
        )
        for leg in i["orders"]
    ]
    assert [s.order_hash for s in signed] == out["order_hashes"]
    body = encode_post_orders_body([(s, OrderType.GTC) for s in signed], i["owner"], post_only=True)
    assert body == out["post_body"]
    headers = build_l2_headers(CREDS, signer.address, "POST", "/orders", body, i["l2_timestamp"])
    assert headers == out["post_headers"]
    assert f"{i['l2_timestamp']}POST/orders{body}" == out["post_signed_message"]


@pytest.mark.parametrize("vector", VECTORS["poly_1271"], ids=lambda v: v["id"])
def test_poly_1271_vector_byte_for_byte(vector: dict[str, Any]) -> None:
    i, out = vector["inputs"], vector["outputs"]
    owner = PrivateKeySigner(i["owner_private_key"])
    domain = make_exchange_domain(i["chain_id"], i["verifyingContract"])
    order = build_order(
        owner.address,
        token_id=i["token_id"],
        side=Side(i["side"]),
        maker_amount=int(i["makerAmount"]),
        taker_amount=int(i["takerAmount"]),
        salt=i["salt"],
        timestamp_ms=i["timestamp_ms"],
        signature_type=SignatureType.POLY_1271,
        funder=i["deposit_wallet"],
    )
    assert order.maker == order.signer == i["deposit_wallet"]
    signed = sign_order(order, owner, domain)
    assert signed.order_hash == out["order_hash"]
    assert signed.signature == out["signature"]
    parts = decode_poly_1271_signature(signed.signature)
    assert parts.app_domain_separator == domain.separator
    assert parts.contents_type == ORDER_TYPE_STRING
    assert recover_order_signer(order, signed.signature, domain) == owner.address
    assert verify_order_signature(order, signed.signature, domain)
    # The blob is bound to its order and domain.
    other = replace(order, maker_amount=order.maker_amount + 1)
    assert not verify_order_signature(other, signed.signature, domain)
    assert not verify_order_signature(order, signed.signature, exchange_domain(neg_risk=True))


def _vector_order(index: int = 0) -> tuple[SignedOrderV2, dict[str, Any]]:
    v = VECTORS["orders"][index]
    return _sign_vector(v), v


def test_server_decodes_body_and_verifies_signature() -> None:
    signed, v = _vector_order()
    body = json.loads(v["outputs"]["post_body"])
    order, signature = order_from_json(body["order"])
    assert order == signed.order
    assert signature == signed.signature
    domain = exchange_domain(neg_risk=False)
    assert order_hash(order, domain) == v["outputs"]["order_hash"]
    assert verify_order_signature(order, signature, domain)
    # Wrong exchange (neg-risk flag mismatch) recovers some other address.
    assert not verify_order_signature(order, signature, exchange_domain(neg_risk=True))
    # Any signed field changed breaks it; the unsigned expiration does not.
    assert not verify_order_signature(replace(order, taker_amount=1), signature, domain)
    assert not verify_order_signature(replace(order, side=Side.SELL), signature, domain)
    assert verify_order_signature(replace(order, expiration=1767232800), signature, domain)


def test_server_rejects_malformed_and_malleable_signatures() -> None:
    signed, _ = _vector_order()
    domain = exchange_domain(neg_risk=False)
    order = signed.order
    assert not verify_order_signature(order, "0x1234", domain)
    assert not verify_order_signature(order, "not hex", domain)
    raw = signature_bytes(signed.signature)
    s = int.from_bytes(raw[32:64], "big")
    twin = raw[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([raw[64] ^ 1])
    assert not verify_order_signature(order, "0x" + twin.hex(), domain)
    # v as 0/1 is accepted by recover (some signers emit it).
    digest = order_digest(order, domain)
    low_v = raw[:64] + bytes([raw[64] - 27])
    assert recover_address(digest, low_v) == order.signer


def test_order_from_json_rejects_bad_fields() -> None:
    _, v = _vector_order()
    good = json.loads(v["outputs"]["post_body"])["order"]
    for key, bad in [
        ("salt", "900000007919"),
        ("salt", True),
        ("makerAmount", 8638000),
        ("makerAmount", "-1"),
        ("takerAmount", str(2**256)),
        ("salt", -1),
        ("side", "HOLD"),
        ("signatureType", 7),
        ("maker", "0x123"),
        ("tokenId", "12a"),
        ("metadata", "0xzz"),
        ("expiration", 0),
    ]:
        with pytest.raises(InvalidValueError):
            order_from_json({**good, key: bad})
    # The docs' example sends "" for metadata: that means 32 zero bytes.
    order, _ = order_from_json({**good, "metadata": ""})
    assert order.metadata == BYTES32_ZERO


def test_type0_sign_refuses_foreign_signer_and_1271_needs_wallet() -> None:
    signed, _ = _vector_order()
    stranger = PrivateKeySigner(b"\x01" * 32)
    with pytest.raises(InvalidValueError, match="signer does not match"):
        sign_order(signed.order, stranger, exchange_domain(neg_risk=False))
    with pytest.raises(InvalidValueError):
        build_order(
            stranger.address,
            token_id="1",
            side=Side.BUY,
            maker_amount=1,
            taker_amount=2,
            salt=1,
            timestamp_ms=1,
            signature_type=SignatureType.POLY_1271,
        )


def test_domains_and_position_ids() -> None:
    std, nr = exchange_domain(137, neg_risk=False), exchange_domain(137, neg_risk=True)
    assert std.verifying_contract == FIXED["exchange_v2"]
    assert nr.verifying_contract == FIXED["neg_risk_exchange_v2"]
    v3 = exchange_domain(137, neg_risk=True, version=3)
    assert (v3.version, v3.verifying_contract) == (
        "3",
        "0xe3333700cA9d93003F00f0F71f8515005F6c00Aa",
    )
    assert exchange_domain(80002, neg_risk=False, version=3).verifying_contract.startswith("0x9fE6")
    assert len({std.separator, nr.separator, v3.separator}) == 3
    with pytest.raises(InvalidValueError):
        exchange_domain(1, neg_risk=False)
    assert is_v2_position_id("1234")
    assert not is_v2_position_id(FIXED["token_std"])
    assert not is_v2_position_id(FIXED["token_neg_risk"])


def test_generate_salt_is_seeded_and_below_now() -> None:
    now_ms = 1767225600000
    a = [generate_salt(random.Random(7), now_ms) for _ in range(2)]
    assert a[0] == a[1]
    rng = random.Random(7)
    salts = {generate_salt(rng, now_ms) for _ in range(100)}
    assert len(salts) == 100
    assert all(0 <= s < now_ms for s in salts)


# --- cross-check against py-clob-client-v2 ----------------------------------------------------

TOKENS = [(FIXED["token_std"], False), (FIXED["token_neg_risk"], True)]


def _random_price(rng: random.Random, tick: TickSize) -> Decimal:
    t = tick.decimal
    return t * rng.randint(1, int(1 / t) - 1)


def _float_exact(value: Decimal, decimals: int) -> bool:
    """True if PCC2's float truncation of `value` to `decimals` places is exact (it is not for
    e.g. 0.29 -> floor(28.999999999999996) -> 0.28; see test_amounts)."""
    exact = value.quantize(Decimal(1).scaleb(-decimals), rounding="ROUND_DOWN")
    return bool(pcc2_helpers.round_down(float(value), decimals) == float(exact))


def _pcc2_sign(
    monkeypatch: pytest.MonkeyPatch,
    key_hex: str,
    chain_id: int,
    sig_type: SignatureType,
    funder: str | None,
    args: OrderArgsV2 | MarketOrderArgsV2,
    tick: TickSize,
    neg_risk: bool,
    salt: int,
    ts_ms: int,
) -> tuple[Any, str]:
    """Run PCC2's OrderBuilder with its salt generator and clock pinned (as vectors.json did)."""

    class PinnedSalt(Pcc2ExchangeOrderBuilderV2):  # type: ignore[misc]
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, generate_salt=lambda: str(salt), **kw)

    monkeypatch.setattr(pcc2_builder, "ExchangeOrderBuilderV2", PinnedSalt)
    monkeypatch.setattr(pcc2_builder, "time", SimpleNamespace(time_ns=lambda: ts_ms * 1_000_000))
    ob = pcc2_builder.OrderBuilder(
        Pcc2Signer(key_hex, chain_id), signature_type=int(sig_type), funder=funder
    )
    opts = CreateOrderOptions(tick_size=tick.value, neg_risk=neg_risk)
    if isinstance(args, OrderArgsV2):
        order = ob.build_order(args, opts)
    else:
        order = ob.build_market_order(args, opts)
    address = exchange_domain(chain_id, neg_risk=neg_risk).verifying_contract
    hasher = Pcc2ExchangeOrderBuilderV2(address, chain_id, ob.signer)
    return order, hasher.build_order_hash(hasher.build_order_typed_data(order))


def test_cross_check_random_orders_against_pcc2(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(20261127)
    checked = skipped = 0
    while checked < 60:
        key = rng.randbytes(32)
        ours = PrivateKeySigner(key)
        tick = rng.choice(list(TickSize))
        side = rng.choice([Side.BUY, Side.SELL])
        token_id, neg_risk = rng.choice(TOKENS)
        sig_type = rng.choice([SignatureType.EOA, SignatureType.POLY_GNOSIS_SAFE])
        funder = (
            PrivateKeySigner(rng.randbytes(32)).address
            if sig_type is SignatureType.POLY_GNOSIS_SAFE
            else None
        )
        chain_id = rng.choice([137, 137, 80002])
        price = _random_price(rng, tick)
        salt = rng.randrange(1, 2**41)
        ts_ms = 1767225600000 + rng.randrange(10**9)
        market = rng.random() < 0.3
        decimals = rng.choice([0, 1, 2, 3])
        qty = Decimal(rng.randint(10**decimals, 5000 * 10**decimals)).scaleb(-decimals)
        price_places = ROUNDING_CONFIG[tick].price
        if not _float_exact(qty, 2) or (market and not _float_exact(price, price_places)):
            skipped += 1  # a PCC2 float-truncation artifact, covered in test_amounts
            continue
        expiration = rng.choice([0, 0, 1767232800])
        order_type = OrderType.FOK if market else rng.choice([OrderType.GTC, OrderType.GTD])
        common: dict[str, Any] = {
            "token_id": token_id,
            "side": side,
            "tick_size": tick,
            "neg_risk": neg_risk,
            "salt": salt,
            "timestamp_ms": ts_ms,
            "chain_id": chain_id,
            "signature_type": sig_type,
            "funder": funder,
        }
        args: OrderArgsV2 | MarketOrderArgsV2
        if market:
            signed = create_market_order(ours, amount=qty, price=price, **common)
            args = MarketOrderArgsV2(
                token_id=token_id, amount=float(qty), side=side.value, price=float(price)
            )
        else:
            signed = create_limit_order(
                ours, price=price, size=qty, expiration=expiration, **common
            )
            args = OrderArgsV2(
                token_id=token_id,
                price=float(price),
                size=float(qty),
                side=side.value,
                expiration=expiration,
            )
        theirs, their_hash = _pcc2_sign(
            monkeypatch,
            "0x" + key.hex(),
            chain_id,
            sig_type,
            funder,
            args,
            tick,
            neg_risk,
            salt,
            ts_ms,
        )
        assert (signed.order.maker_amount, signed.order.taker_amount) == (
            int(theirs.makerAmount),
            int(theirs.takerAmount),
        )
        assert signed.signature == theirs.signature
        assert signed.order_hash == their_hash
        owner = f"{rng.getrandbits(128):032x}"
        post_only = order_type is not OrderType.FOK and rng.random() < 0.5
        body = encode_post_order_body(signed, owner, order_type, post_only=post_only)
        their_body = json.dumps(
            order_to_json_v2(theirs, owner, order_type.value, post_only, False),
            separators=(",", ":"),
            ensure_ascii=False,
        )
        assert body == their_body
        checked += 1
    assert skipped < checked  # the filter must not hollow the check out
