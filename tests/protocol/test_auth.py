"""L1/L2 auth: golden vectors, server-side verification, and a seeded cross-check against
py-clob-client-v2's header functions (offline)."""

from __future__ import annotations

import base64
import json
import random
import uuid
from pathlib import Path
from typing import Any

import pytest
from py_clob_client_v2.clob_types import ApiCreds as Pcc2Creds
from py_clob_client_v2.clob_types import RequestArgs
from py_clob_client_v2.headers.headers import create_level_1_headers, create_level_2_headers
from py_clob_client_v2.signer import Signer as Pcc2Signer
from py_clob_client_v2.signing.hmac import build_hmac_signature as pcc2_hmac

from polymarket_bot.protocol.auth import (
    POLY_ADDRESS,
    POLY_NONCE,
    POLY_SIGNATURE,
    POLY_TIMESTAMP,
    ApiCreds,
    AuthError,
    build_hmac_signature,
    build_l1_headers,
    build_l2_headers,
    clob_auth_digest,
    generate_api_creds,
    l2_signed_message,
    parse_l2_headers,
    verify_l1,
    verify_l2_signature,
)
from polymarket_bot.protocol.eip712 import PrivateKeySigner

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "fixtures/polymarket/vectors.json").read_text()
)
ZERO_SECRET = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


@pytest.mark.parametrize("vector", VECTORS["l1_headers"], ids=lambda v: v["id"])
def test_l1_vector_byte_for_byte(vector: dict[str, Any]) -> None:
    i, out = vector["inputs"], vector["outputs"]
    signer = PrivateKeySigner(i["private_key"])
    digest = clob_auth_digest(signer.address, i["timestamp"], i["nonce"], i["chain_id"])
    if "digest" in out:
        assert "0x" + digest.hex() == out["digest"]
    headers = build_l1_headers(
        signer, timestamp=i["timestamp"], nonce=i["nonce"], chain_id=i["chain_id"]
    )
    assert headers == out["headers"]
    assert verify_l1(out["headers"], chain_id=i["chain_id"]) == signer.address


def test_l1_ref_polygon_vector() -> None:
    signer = PrivateKeySigner("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
    headers = build_l1_headers(signer, timestamp=1700000000)
    assert headers[POLY_SIGNATURE] == (
        "0x659ed4b28ae28e0f038fdf0023c00863c9559caacb9ebc83f44eea87059a099a"
        "36f1e1dee110e7faa1c4f65d17489b2da1333ebef78bbe2116d81207b975052d1c"
    )
    assert headers[POLY_NONCE] == "0"


def test_verify_l1_rejects_tampering() -> None:
    signer = PrivateKeySigner(b"\x07" * 32)
    good = build_l1_headers(signer, timestamp=1767225600, nonce=3)
    assert verify_l1(good) == signer.address
    # Header names are case-insensitive on the wire.
    assert verify_l1({k.lower(): v for k, v in good.items()}) == signer.address
    for change in (
        {POLY_NONCE: "4"},
        {POLY_TIMESTAMP: "1767225601"},
        {POLY_ADDRESS: PrivateKeySigner(b"\x08" * 32).address},
        {POLY_SIGNATURE: "0x" + "00" * 65},
        {POLY_SIGNATURE: "0xzz"},
        {POLY_TIMESTAMP: "-5"},
    ):
        with pytest.raises(AuthError):
            verify_l1({**good, **change})
    with pytest.raises(AuthError):
        verify_l1(good, chain_id=80002)  # signed for another chain
    missing = dict(good)
    del missing[POLY_SIGNATURE]
    with pytest.raises(AuthError, match="POLY_SIGNATURE"):
        verify_l1(missing)
    # Freshness window, only when asked for.
    assert verify_l1(good, now_s=1767225660, max_skew_s=60) == signer.address
    with pytest.raises(AuthError, match="window"):
        verify_l1(good, now_s=1767225661, max_skew_s=60)


@pytest.mark.parametrize("vector", VECTORS["l2_headers"], ids=lambda v: v["id"])
def test_l2_vector_byte_for_byte(vector: dict[str, Any]) -> None:
    i, out = vector["inputs"], vector["outputs"]
    req = out["request"]
    creds = ApiCreds(i["api_key"], i["secret"], i["passphrase"])
    message = l2_signed_message(i["timestamp"], req["method"], req["path"], req["body"])
    assert message.decode() == out["signed_message"]
    headers = build_l2_headers(
        creds, i["address"], req["method"], req["path"], req["body"], i["timestamp"]
    )
    assert headers == out["headers"]
    # Server side: the raw body bytes as received; the query string never takes part.
    raw = None if req["body"] is None else req["body"].encode()
    path_with_query = req["path"] + ("?" + req["raw_query"] if req["raw_query"] else "")
    for path in (req["path"], path_with_query):
        assert verify_l2_signature(
            i["secret"], i["timestamp"], req["method"], path, raw, headers[POLY_SIGNATURE]
        )
    assert not verify_l2_signature(
        i["secret"], i["timestamp"] + 1, req["method"], req["path"], raw, headers[POLY_SIGNATURE]
    )
    assert not verify_l2_signature(
        ZERO_SECRET, i["timestamp"], req["method"], req["path"], raw, headers[POLY_SIGNATURE]
    )
    tampered = (raw or b"") + b" "
    assert not verify_l2_signature(
        i["secret"], i["timestamp"], req["method"], req["path"], tampered, headers[POLY_SIGNATURE]
    )
    parsed = parse_l2_headers(headers)
    assert (parsed.api_key, parsed.passphrase, parsed.address) == (
        i["api_key"],
        i["passphrase"],
        i["address"],
    )


@pytest.mark.parametrize(
    ("ts", "method", "path", "body", "expected"),
    [
        # official vector (py-clob-client tests/signing/test_hmac.py, clob-client-v2 hmac.test.ts)
        (
            1000000,
            "test-sign",
            "/orders",
            '{"hash": "0x123"}',
            "ZwAdJKvoYRlEKDkNMwd5BuwNNtg93kNaR_oU2HrfVvc=",
        ),
        (1700000000, "GET", "/data/orders", None, "m6lGS9WyES7JjpAYNd7zIdW5bfHxAAI_pIa1St9vLO4="),
        (
            1700000000,
            "DELETE",
            "/order",
            '{"orderID":"0x9a5c03e1e68d332686aba0ff15be80abccd917f28873c37304487b6ca6578471"}',
            "whkjCdBfIgNfKriffvNwaqcL2xctjZZEkw3z7J1VV5k=",
        ),
    ],
)  # fmt: skip
def test_hmac_reference_vectors(
    ts: int, method: str, path: str, body: str | None, expected: str
) -> None:
    assert build_hmac_signature(ZERO_SECRET, ts, method, path, body) == expected
    assert verify_l2_signature(ZERO_SECRET, ts, method, path, body, expected)


def test_unpadded_secret_and_bad_inputs() -> None:
    sig = build_hmac_signature(ZERO_SECRET, 1, "GET", "/x")
    assert build_hmac_signature(ZERO_SECRET.rstrip("="), 1, "GET", "/x") == sig
    assert not verify_l2_signature("%%%", 1, "GET", "/x", None, sig)
    assert not verify_l2_signature("", 1, "GET", "/x", None, sig)
    with pytest.raises(AuthError):
        build_hmac_signature("AAAA*AAA", 1, "GET", "/x")
    # The standard alphabet is tolerated too (TS client maps it), same key bytes.
    secret = VECTORS["meta"]["fixed_inputs"]["api_secret"]
    assert "-" in secret and "_" in secret
    std = secret.replace("-", "+").replace("_", "/")
    assert build_hmac_signature(std, 1, "GET", "/x") == build_hmac_signature(secret, 1, "GET", "/x")
    assert not verify_l2_signature(ZERO_SECRET, 1, "GET", "/x", None, "é")
    with pytest.raises(AuthError, match="POLY_API_KEY"):
        parse_l2_headers({POLY_ADDRESS: "0x", POLY_SIGNATURE: "s", POLY_TIMESTAMP: "1"})
    with pytest.raises(AuthError):
        parse_l2_headers(
            {
                POLY_ADDRESS: "0x",
                POLY_SIGNATURE: "s",
                POLY_TIMESTAMP: "1.5",
                "POLY_API_KEY": "k",
                "POLY_PASSPHRASE": "p",
            }
        )


def test_generate_api_creds_shape_and_determinism() -> None:
    a = generate_api_creds(random.Random(42))
    assert a == generate_api_creds(random.Random(42))
    assert a != generate_api_creds(random.Random(43))
    assert uuid.UUID(a.api_key).version == 4
    assert str(uuid.UUID(a.api_key)) == a.api_key
    assert len(a.secret) == 44
    assert a.secret.endswith("=")
    assert len(base64.urlsafe_b64decode(a.secret)) == 32
    assert len(a.passphrase) == 64
    int(a.passphrase, 16)
    assert "secret" not in repr(a).replace("secret=***", "")
    # The official client can sign with them and agrees with us.
    assert pcc2_hmac(a.secret, "1", "GET", "/x", None) == build_hmac_signature(
        a.secret, 1, "GET", "/x"
    )
    # Production passes a CSPRNG.
    assert generate_api_creds(random.SystemRandom()) != a


def test_cross_check_random_headers_against_pcc2() -> None:
    rng = random.Random(77)
    methods = ["GET", "POST", "DELETE"]
    paths = ["/order", "/orders", "/data/orders", "/cancel-all", "/v1/heartbeats", "/auth/api-key"]
    for _ in range(50):
        key = rng.randbytes(32)
        chain_id = rng.choice([137, 80002])
        ours = PrivateKeySigner(key)
        theirs = Pcc2Signer("0x" + key.hex(), chain_id)
        ts = rng.randrange(1_600_000_000, 1_900_000_000)
        nonce = rng.choice([0, rng.randrange(1, 2**64)])
        assert build_l1_headers(
            ours, timestamp=ts, nonce=nonce, chain_id=chain_id
        ) == create_level_1_headers(theirs, nonce, ts)
        creds = generate_api_creds(rng)
        method, path = rng.choice(methods), rng.choice(paths)
        body = rng.choice(
            [
                None,
                json.dumps({"orderID": "0x" + rng.randbytes(32).hex()}, separators=(",", ":")),
                json.dumps({"heartbeat_id": str(uuid.UUID(int=rng.getrandbits(128)))}),
                json.dumps({"note": "prix €"}, ensure_ascii=False, separators=(",", ":")),
            ]
        )
        theirs_l2 = create_level_2_headers(
            theirs,
            Pcc2Creds(creds.api_key, creds.secret, creds.passphrase),
            RequestArgs(method=method, request_path=path, serialized_body=body),
            timestamp=ts,
        )
        assert build_l2_headers(creds, ours.address, method, path, body, ts) == theirs_l2
        raw = None if body is None else body.encode()
        assert verify_l2_signature(creds.secret, ts, method, path, raw, theirs_l2[POLY_SIGNATURE])
