"""The REST client reproduces the requests py-clob-client-v2 sends, byte for byte: method, path,
query, body and every POLY_* header of the golden vectors (`vectors.json`, captured from PCC2).
Also the transport-failure mapping, with httpx.MockTransport raising httpx's own errors."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from polymarket_bot.core.clock import TestClock
from polymarket_bot.core.types import OrderType
from polymarket_bot.protocol.auth import ApiCreds, verify_l2_signature
from polymarket_bot.protocol.eip712 import PrivateKeySigner
from polymarket_bot.protocol.signing import SignedOrderV2, order_from_json
from polymarket_bot.transport.errors import AmbiguousSubmitError, NetworkError, TimeoutError_
from polymarket_bot.transport.rest import ClobRestClient
from polymarket_bot.transport.retry import Backoff, RetryPolicy

VECTORS = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "polymarket" / "vectors.json").read_text()
)
L2 = {v["id"]: v for v in VECTORS["l2_headers"]}
L1 = {v["id"]: v for v in VECTORS["l1_headers"]}
MARKET = "0x5f65177b394277fd294cd75650044e32ba009a95022d88a0c1d565897d72f8f1"
TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"

ClientCall = Callable[[ClobRestClient], Awaitable[Any]]


def _post_order_call(vector: dict[str, Any]) -> ClientCall:
    envelope = json.loads(vector["outputs"]["request"]["body"])
    order, signature = order_from_json(envelope["order"])
    signed = SignedOrderV2(order=order, signature=signature, order_hash="")
    order_type = OrderType(envelope["orderType"])
    return lambda c: c.post_order(
        signed, order_type, post_only=envelope["postOnly"], defer_exec=envelope["deferExec"]
    )


CALLS: dict[str, Callable[[dict[str, Any]], ClientCall]] = {
    "l2_get_open_orders_with_query": lambda v: (
        lambda c: c.get_open_orders(market=MARKET, asset_id=TOKEN)
    ),
    "l2_get_trades_with_query": lambda v: (
        lambda c: c.get_trades(
            market=MARKET, after=1767139200, trade_id="0c357886-b9d3-44bb-9aa9-72d8abc90e6e"
        )
    ),
    "l2_get_balance_allowance": lambda v: (
        lambda c: c.get_balance_allowance("CONDITIONAL", token_id=TOKEN)
    ),
    "l2_post_order_with_body": _post_order_call,
    "l2_delete_order_with_body": lambda v: (
        lambda c: c.cancel(json.loads(v["outputs"]["request"]["body"])["orderID"])
    ),
    "l2_delete_orders_with_body": lambda v: (
        lambda c: c.cancel_orders(json.loads(v["outputs"]["request"]["body"]))
    ),
    "l2_delete_cancel_market_orders": lambda v: (
        lambda c: c.cancel_market_orders(market=MARKET, asset_id=TOKEN)
    ),
    "l2_delete_cancel_all_no_body": lambda v: lambda c: c.cancel_all(),
    "l2_post_heartbeat_first": lambda v: lambda c: c.heartbeat(""),
}
RESPONSES = {
    "/data/orders": b'{"limit":100,"count":0,"next_cursor":"LTE=","data":[]}',
    "/data/trades": b'{"limit":100,"count":0,"next_cursor":"LTE=","data":[]}',
    "/balance-allowance": b'{"balance":"0","allowances":{}}',
    "/order": b'{"success":true,"errorMsg":"","orderID":"0x1","status":"live"}',
    "/v1/heartbeats": b'{"heartbeat_id":"hb"}',
}


def _capture(sent: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        path = request.url.path.removeprefix("/clob")
        body = RESPONSES.get(path, b'{"canceled":[],"not_canceled":{}}')
        if request.method == "DELETE":
            body = b'{"canceled":[],"not_canceled":{}}'
        return httpx.Response(200, content=body)

    return httpx.MockTransport(handler)


def test_every_l2_vector_is_covered() -> None:
    assert set(CALLS) == set(L2)


@pytest.mark.parametrize("vector_id", sorted(L2))
async def test_l2_request_matches_pcc2(vector_id: str) -> None:
    vector = L2[vector_id]
    inputs, expected = vector["inputs"], vector["outputs"]
    sent: list[httpx.Request] = []
    creds = ApiCreds(inputs["api_key"], inputs["secret"], inputs["passphrase"])
    async with (
        httpx.AsyncClient(transport=_capture(sent)) as http,
        ClobRestClient(
            "https://clob.polymarket.com",
            creds=creds,
            address=inputs["address"],
            http=http,
            clock=TestClock(start=float(inputs["timestamp"])),
        ) as client,
    ):
        await CALLS[vector_id](vector)(client)
    (request,) = sent
    want = expected["request"]
    assert request.method == want["method"]
    assert request.url.path == want["path"]
    assert request.url.query.decode() == want["raw_query"]
    assert request.content == (want["body"] or "").encode()
    for name, value in expected["headers"].items():
        assert request.headers[name] == value, name


@pytest.mark.parametrize("vector_id", ["l1_create_api_key_nonce0", "l1_derive_api_key_nonce5"])
async def test_l1_request_matches_pcc2(vector_id: str) -> None:
    vector = L1[vector_id]
    inputs, expected = vector["inputs"], vector["outputs"]
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"apiKey": "k", "secret": "cw==", "passphrase": "p"})

    signer = PrivateKeySigner(inputs["private_key"])
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http,
        ClobRestClient(
            "https://clob.polymarket.com",
            http=http,
            chain_id=inputs["chain_id"],
            clock=TestClock(start=float(inputs["timestamp"])),
        ) as client,
    ):
        if expected["request"]["method"] == "POST":
            await client.create_api_key(signer, nonce=inputs["nonce"])
        else:
            await client.derive_api_key(signer, nonce=inputs["nonce"])
    (request,) = sent
    assert (request.method, request.url.path) == (
        expected["request"]["method"],
        expected["request"]["path"],
    )
    assert request.content == b""
    for name, value in expected["headers"].items():
        assert request.headers[name] == value, name


async def test_path_prefix_is_part_of_the_signed_path() -> None:
    """Behind a path prefix the server sees `/prefix/data/orders`; that is what gets signed."""
    vector = L2["l2_get_open_orders_with_query"]
    inputs = vector["inputs"]
    sent: list[httpx.Request] = []
    creds = ApiCreds(inputs["api_key"], inputs["secret"], inputs["passphrase"])
    async with (
        httpx.AsyncClient(transport=_capture(sent)) as http,
        ClobRestClient(
            "http://127.0.0.1:1/clob/",
            creds=creds,
            address=inputs["address"],
            http=http,
            clock=TestClock(start=float(inputs["timestamp"])),
        ) as client,
    ):
        await client.get_open_orders()
    (request,) = sent
    assert request.url.path == "/clob/data/orders"
    assert verify_l2_signature(
        creds.secret,
        request.headers["POLY_TIMESTAMP"],
        "GET",
        "/clob/data/orders",
        None,
        request.headers["POLY_SIGNATURE"],
    )


# --- transport failures -------------------------------------------------------------------------


def _failing(exc: Exception, calls: list[int]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise exc

    return httpx.MockTransport(handler)


async def _sleep(_: float) -> None:
    return None


@pytest.mark.parametrize(
    ("exc", "kind", "sent"),
    [
        (httpx.ConnectError("refused"), NetworkError, False),
        (httpx.ConnectTimeout("slow connect"), TimeoutError_, False),
        (httpx.ReadTimeout("no answer"), TimeoutError_, True),
        (httpx.RemoteProtocolError("peer closed"), NetworkError, True),
        (httpx.ReadError("reset"), NetworkError, True),
    ],
)
async def test_transport_failures_map_and_retry_gets(
    exc: Exception, kind: type[Exception], sent: bool
) -> None:
    calls: list[int] = []
    retry = RetryPolicy(max_attempts=4, backoff=Backoff(base=0.0))
    async with (
        httpx.AsyncClient(transport=_failing(exc, calls)) as http,
        ClobRestClient("http://127.0.0.1:1", http=http, retry=retry, sleep=_sleep) as client,
    ):
        with pytest.raises(kind) as info:
            await client.get_tick_size("1")
        assert info.value.sent is sent  # type: ignore[attr-defined]
        assert len(calls) == 4  # retried up to max_attempts
        assert client.stats()["GET /tick-size"]["retries"] == 3


@pytest.mark.parametrize(
    ("exc", "ambiguous"),
    [
        (httpx.ConnectError("refused"), False),
        (httpx.ConnectTimeout("slow connect"), False),
        (httpx.ReadTimeout("no answer"), True),
        (httpx.RemoteProtocolError("peer closed mid-response"), True),
        (httpx.WriteError("broken pipe"), True),
    ],
)
async def test_submit_failures_are_ambiguous_only_if_sent(exc: Exception, ambiguous: bool) -> None:
    calls: list[int] = []
    creds = ApiCreds("k", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "p")
    vector = L2["l2_post_order_with_body"]
    async with (
        httpx.AsyncClient(transport=_failing(exc, calls)) as http,
        ClobRestClient(
            "http://127.0.0.1:1", creds=creds, address=vector["inputs"]["address"], http=http
        ) as client,
    ):
        with pytest.raises((AmbiguousSubmitError, NetworkError, TimeoutError_)) as info:
            await _post_order_call(vector)(client)
    assert isinstance(info.value, AmbiguousSubmitError) is ambiguous
    assert len(calls) == 1  # a submit is never retried
