"""ClobRestClient against a real HTTP server on 127.0.0.1 (uvicorn in-process): L2 headers verified
server-side over the raw body, pagination, 429/5xx handling, submits never retried."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from transport_kit import ADDRESS, CREDS, PRIVATE_KEY, FakeClob, FakeSleep, Reply, Seen

from polymarket_bot.core.clock import TestClock
from polymarket_bot.core.events import OrderStatus
from polymarket_bot.core.types import OrderType, Side, TickSize
from polymarket_bot.protocol.auth import verify_l1
from polymarket_bot.protocol.eip712 import PrivateKeySigner
from polymarket_bot.protocol.errors import DecodeError
from polymarket_bot.protocol.signing import (
    SignedOrderV2,
    create_limit_order,
    encode_post_order_body,
    encode_post_orders_body,
)
from polymarket_bot.protocol.wire_rest import END_CURSOR, OrderBookSummary
from polymarket_bot.transport.errors import (
    AmbiguousSubmitError,
    ApiError,
    AuthError,
    RateLimitedError,
    ServerError,
    TimeoutError_,
)
from polymarket_bot.transport.http import HttpEngine
from polymarket_bot.transport.ratelimit import RestLimiter
from polymarket_bot.transport.rest import ClobRestClient
from polymarket_bot.transport.retry import Backoff, RetryPolicy

HTTP_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "polymarket" / "http_responses"
TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
MARKET = "0x5f65177b394277fd294cd75650044e32ba009a95022d88a0c1d565897d72f8f1"
SIGNER = PrivateKeySigner(PRIVATE_KEY)


def signed_order(salt: int = 1) -> SignedOrderV2:
    return create_limit_order(
        SIGNER,
        token_id=TOKEN,
        side=Side.BUY,
        price="0.5",
        size="10",
        tick_size=TickSize.T0_01,
        neg_risk=False,
        salt=salt,
        timestamp_ms=1_767_225_600_000,
    )


def open_order(order_id: str, status: str = "LIVE") -> dict[str, object]:
    return {
        "id": order_id,
        "status": status,
        "owner": CREDS.api_key,
        "maker_address": ADDRESS,
        "market": MARKET,
        "asset_id": TOKEN,
        "side": "BUY",
        "original_size": "10",
        "size_matched": "0",
        "price": "0.5",
        "outcome": "Yes",
        "expiration": "0",
        "order_type": "GTC",
        "associate_trades": [],
        "created_at": 1767225600,
    }


def page(rows: list[dict[str, object]], next_cursor: str) -> str:
    return json.dumps({"limit": 2, "count": len(rows), "next_cursor": next_cursor, "data": rows})


ACCEPTED = json.dumps(
    {
        "success": True,
        "errorMsg": "",
        "orderID": "0xabc",
        "status": "live",
        "makingAmount": "",
        "takingAmount": "",
    }
)


@pytest.fixture(params=["httpx", "http1"])
async def client(
    request: pytest.FixtureRequest, clob: FakeClob, clock: TestClock, fake_sleep: FakeSleep
) -> AsyncIterator[ClobRestClient]:
    """Every test using this client runs on both HTTP engines."""
    limiter = RestLimiter(clock=clock, sleep=fake_sleep)
    retry = RetryPolicy(max_attempts=3, backoff=Backoff(base=0.5, cap=4.0))
    async with ClobRestClient(
        clob.url,
        creds=CREDS,
        address=ADDRESS,
        limiter=limiter,
        timeout=5.0,
        clock=clock,
        retry=retry,
        sleep=fake_sleep,
        engine=request.param,
    ) as c:
        assert c._core.engine == request.param
        yield c


# --- public reads -------------------------------------------------------------------------------


async def test_book_decodes_fixture_and_sends_no_auth(
    clob: FakeClob, client: ClobRestClient
) -> None:
    clob.on("GET", "/book", Reply(body=(HTTP_FIXTURES / "book.json").read_bytes()))
    book = await client.get_book(TOKEN)
    assert isinstance(book, OrderBookSummary)
    assert book.market.startswith("0x1a4f04c2") and len(book.bids) > 0
    (seen,) = clob.requests("GET", "/book")
    assert seen.query == [("token_id", TOKEN)]
    assert seen.l2_ok is None and "poly_signature" not in seen.headers
    stats = client.stats()["GET /book"]
    assert stats["requests"] == 1 and stats["successes"] == 1 and stats["errors"] == 0


async def test_batch_reads_post_compact_json(clob: FakeClob, client: ClobRestClient) -> None:
    clob.on(
        "POST",
        "/books",
        Reply(body=json.dumps([json.loads((HTTP_FIXTURES / "book.json").read_text())])),
    )
    clob.on("POST", "/prices", Reply(body=json.dumps({TOKEN: {"BUY": "0.45", "SELL": "0.46"}})))
    clob.on("POST", "/midpoints", Reply(body=json.dumps({TOKEN: "0.455"})))
    books = await client.get_books([TOKEN])
    prices = await client.get_prices([(TOKEN, Side.BUY), (TOKEN, Side.SELL)])
    mids = await client.get_midpoints([TOKEN])
    assert len(books) == 1 and prices[TOKEN]["SELL"] == "0.46" and mids == {TOKEN: "0.455"}
    assert clob.requests("POST", "/books")[0].body == f'[{{"token_id":"{TOKEN}"}}]'.encode()
    assert clob.requests("POST", "/prices")[0].body == (
        f'[{{"token_id":"{TOKEN}","side":"BUY"}},{{"token_id":"{TOKEN}","side":"SELL"}}]'.encode()
    )
    assert await client.get_books([]) == []  # no request for nothing
    assert len(clob.requests("POST", "/books")) == 1


async def test_scalar_reads(clob: FakeClob, client: ClobRestClient) -> None:
    clob.on("GET", "/time", Reply(body="1767225642"))
    clob.on("GET", "/version", Reply(body='{"version": 2}'))
    clob.on("GET", "/tick-size", Reply(body='{"minimum_tick_size": 0.001}'))
    clob.on("GET", "/neg-risk", Reply(body='{"neg_risk": true}'))
    clob.on("GET", "/midpoint", Reply(body='{"mid": "0.455"}'))
    clob.on("GET", "/spread", Reply(body='{"spread": "0.01"}'))
    clob.on("GET", "/price", Reply(body='{"price": "0.45"}'))
    clob.on("GET", "/last-trade-price", Reply(body='{"price": "0.45", "side": ""}'))
    clob.on("GET", f"/markets-by-token/{TOKEN}", Reply(body=f'{{"condition_id": "{MARKET}"}}'))
    clob.on("GET", f"/clob-markets/{MARKET}", Reply(body='{"t":[{"t":"1","o":"Yes"}],"mts":0.01}'))
    clob.on("GET", f"/markets/{MARKET}", Reply(body=(HTTP_FIXTURES / "market.json").read_bytes()))
    assert await client.get_server_time() == 1767225642
    assert await client.sync_server_time() == 42 and client.time_offset_s == 42
    assert await client.get_version() == 2
    assert (await client.get_tick_size(TOKEN)).minimum_tick_size == Decimal("0.001")
    assert (await client.get_neg_risk(TOKEN)).neg_risk is True
    assert (await client.get_midpoint(TOKEN)).value == "0.455"
    assert (await client.get_spread(TOKEN)).spread == "0.01"
    assert (await client.get_price(TOKEN, Side.BUY)).price == "0.45"
    assert clob.requests("GET", "/price")[0].query == [("token_id", TOKEN), ("side", "BUY")]
    assert (await client.get_last_trade_price(TOKEN)).side == ""
    assert (await client.get_market_by_token(TOKEN)).condition_id == MARKET
    assert (await client.get_clob_market_info(MARKET)).mts == Decimal("0.01")
    assert (await client.get_market(MARKET)).condition_id.startswith("0xdd22472e")
    assert "GET /markets/{condition_id}" in client.stats()


async def test_markets_cursor_pagination(clob: FakeClob, client: ClobRestClient) -> None:
    fixture = json.loads((HTTP_FIXTURES / "markets.json").read_text())
    rows = fixture["data"]

    def handler(seen: Seen) -> Reply:
        cursor = dict(seen.query)["next_cursor"]
        if cursor == "MA==":
            return Reply(body=json.dumps({**fixture, "data": rows[:60], "next_cursor": "NjA="}))
        assert cursor == "NjA="
        return Reply(body=json.dumps({**fixture, "data": rows[60:], "next_cursor": END_CURSOR}))

    clob.on("GET", "/markets", handler)
    markets = await client.get_all_markets()
    assert [m.condition_id for m in markets] == [r["condition_id"] for r in rows]
    assert [dict(s.query)["next_cursor"] for s in clob.requests("GET", "/markets")] == [
        "MA==",
        "NjA=",
    ]
    # The raw query is percent-encoded like PCC2/httpx send it.
    assert clob.requests("GET", "/markets")[0].raw_query == "next_cursor=MA%3D%3D"


# --- L2 ----------------------------------------------------------------------------------------


async def test_open_orders_pagination_with_l2_verified(
    clob: FakeClob, client: ClobRestClient
) -> None:
    def handler(seen: Seen) -> Reply:
        cursor = dict(seen.query)["next_cursor"]
        if cursor == "MA==":
            return Reply(body=page([open_order("0x01"), open_order("0x02")], "Mg=="))
        return Reply(body=page([open_order("0x03", "ORDER_STATUS_LIVE")], END_CURSOR))

    clob.on("GET", "/data/orders", handler)
    orders = await client.get_all_open_orders(market=MARKET, asset_id=TOKEN)
    assert [o.id for o in orders] == ["0x01", "0x02", "0x03"]
    assert all(o.status is OrderStatus.LIVE for o in orders)
    seen = clob.requests("GET", "/data/orders")
    assert len(seen) == 2 and all(s.l2_ok for s in seen)
    assert seen[1].query == [("market", MARKET), ("asset_id", TOKEN), ("next_cursor", "Mg==")]
    assert seen[0].headers["poly_address"] == ADDRESS
    assert seen[0].headers["poly_timestamp"] == "1767225600"


async def test_repeating_cursor_is_refused(clob: FakeClob, client: ClobRestClient) -> None:
    clob.on("GET", "/data/orders", Reply(body=page([open_order("0x01")], "Mg==")))
    with pytest.raises(DecodeError, match="loop"):
        await client.get_all_open_orders()
    assert len(clob.requests("GET", "/data/orders")) == 2


async def test_wrong_secret_is_rejected_by_the_server(clob: FakeClob, clock: TestClock) -> None:
    bad = type(CREDS)(CREDS.api_key, "A" * 43 + "=", CREDS.passphrase)
    async with ClobRestClient(clob.url, creds=bad, address=ADDRESS, clock=clock) as c:
        with pytest.raises(AuthError) as info:
            await c.get_open_orders()
    assert info.value.status == 401 and info.value.error == "Unauthorized/Invalid api key"
    assert len(clob.requests("GET", "/data/orders")) == 1  # 401 is never retried


async def test_post_order_signs_the_exact_body(clob: FakeClob, client: ClobRestClient) -> None:
    clob.on("POST", "/order", Reply(body=ACCEPTED))
    order = signed_order()
    response = await client.post_order(order, OrderType.GTC, post_only=True)
    assert response.accepted and response.orderID == "0xabc"
    (seen,) = clob.requests("POST", "/order")
    assert seen.l2_ok is True
    assert (
        seen.body
        == encode_post_order_body(order, CREDS.api_key, OrderType.GTC, post_only=True).encode()
    )
    assert seen.headers["content-type"] == "application/json"
    assert json.loads(seen.body)["postOnly"] is True


async def test_post_order_rejection_in_a_200_is_returned(
    clob: FakeClob, client: ClobRestClient
) -> None:
    clob.on(
        "POST",
        "/order",
        Reply(
            body='{"success": false, "errorMsg": "not enough balance / allowance", "orderID": ""}'
        ),
    )
    response = await client.post_order(signed_order(), OrderType.GTC)
    assert not response.accepted and response.errorMsg.startswith("not enough balance")


async def test_post_order_400_raises_api_error_once(clob: FakeClob, client: ClobRestClient) -> None:
    clob.on(
        "POST", "/order", Reply(400, '{"error": "invalid post-only order: order crosses book"}')
    )
    with pytest.raises(ApiError) as info:
        await client.post_order(signed_order(), OrderType.GTC, post_only=True)
    assert info.value.error == "invalid post-only order: order crosses book"
    assert len(clob.requests("POST", "/order")) == 1


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply(500, '{"error": "could not run the execution"}'), AmbiguousSubmitError),
        (Reply(502, "<html>Bad Gateway</html>"), AmbiguousSubmitError),
        (Reply(500, '{"error": "order timed out"}'), ServerError),
        (
            Reply(503, '{"error": "Trading is currently disabled. Check polymarket.com"}'),
            ServerError,
        ),
        (Reply(425, '{"error": "Too Early"}', {"Retry-After": "3"}), ServerError),
        (Reply(429, '{"error": "Too Many Requests"}', {"Retry-After": "2"}), RateLimitedError),
    ],
)
async def test_post_order_is_never_retried(
    clob: FakeClob, client: ClobRestClient, reply: Reply, expected: type[Exception]
) -> None:
    clob.on("POST", "/order", reply, Reply(body=ACCEPTED))
    with pytest.raises(expected) as info:
        await client.post_order(signed_order(), OrderType.GTC)
    assert len(clob.requests("POST", "/order")) == 1
    if expected is AmbiguousSubmitError:
        assert isinstance(info.value, AmbiguousSubmitError)
        assert isinstance(info.value.cause, ServerError)
        assert client.stats()["POST /order"]["ambiguous"] == 1


@pytest.mark.parametrize("engine", ["httpx", "http1"])
async def test_post_order_timeout_is_ambiguous(
    clob: FakeClob, clock: TestClock, engine: HttpEngine
) -> None:
    clob.on("POST", "/order", Reply(body=ACCEPTED, delay=5.0))
    async with ClobRestClient(
        clob.url, creds=CREDS, address=ADDRESS, clock=clock, timeout=0.2, engine=engine
    ) as c:
        with pytest.raises(AmbiguousSubmitError) as info:
            await c.post_order(signed_order(), OrderType.GTC)
    assert isinstance(info.value.cause, TimeoutError_) and info.value.cause.sent
    assert len(clob.requests("POST", "/order")) == 1


async def test_post_orders_batch(clob: FakeClob, client: ClobRestClient) -> None:
    clob.on("POST", "/orders", Reply(body=f"[{ACCEPTED},{ACCEPTED}]"))
    batch = [(signed_order(1), OrderType.GTC), (signed_order(2), OrderType.GTD)]
    responses = await client.post_orders(batch)
    assert [r.accepted for r in responses] == [True, True]
    (seen,) = clob.requests("POST", "/orders")
    assert seen.l2_ok and seen.body == encode_post_orders_body(batch, CREDS.api_key).encode()


async def test_post_orders_refuses_more_than_15(clob: FakeClob, client: ClobRestClient) -> None:
    batch = [(signed_order(i), OrderType.GTC) for i in range(16)]
    with pytest.raises(ValueError, match="15"):
        await client.post_orders(batch)
    with pytest.raises(ValueError):
        await client.post_orders([])
    assert clob.requests("POST", "/orders") == []


async def test_cancels(clob: FakeClob, client: ClobRestClient) -> None:
    reply = Reply(
        body='{"canceled": ["0x01"], "not_canceled": {"0x02": "already canceled or matched"}}'
    )
    for path in ("/order", "/orders", "/cancel-all", "/cancel-market-orders"):
        clob.on("DELETE", path, reply)
    one = await client.cancel("0x01")
    assert one.canceled == ("0x01",) and one.not_canceled == {"0x02": "already canceled or matched"}
    await client.cancel_orders(["0x01", "0x02"])
    await client.cancel_all()
    await client.cancel_market_orders(market=MARKET)
    assert (await client.cancel_orders([])).canceled == ()
    bodies = {s.path: s.body for s in clob.seen}
    assert bodies["/order"] == b'{"orderID":"0x01"}'
    assert bodies["/orders"] == b'["0x01","0x02"]'
    assert bodies["/cancel-all"] == b""
    assert bodies["/cancel-market-orders"] == f'{{"market":"{MARKET}","asset_id":""}}'.encode()
    assert all(s.l2_ok for s in clob.seen)
    with pytest.raises(ValueError):
        await client.cancel_market_orders()


async def test_get_order_null_and_missing_are_none(clob: FakeClob, client: ClobRestClient) -> None:
    clob.on("GET", "/data/order/0xnull", Reply(body="null"))
    clob.on("GET", "/data/order/0xempty", Reply(body=""))
    clob.on("GET", "/data/order/0xlive", Reply(body=json.dumps(open_order("0xlive"))))
    assert await client.get_order("0xnull") is None
    assert await client.get_order("0xempty") is None
    assert await client.get_order("0xunknown") is None  # the fake answers 404 "not found"
    live = await client.get_order("0xlive")
    assert live is not None and live.id == "0xlive" and live.created_at == 1767225600
    assert all(s.l2_ok for s in clob.seen)


async def test_trades_filters(clob: FakeClob, client: ClobRestClient) -> None:
    clob.on("GET", "/data/trades", Reply(body=page([], END_CURSOR)))
    trades = await client.get_all_trades(market=MARKET, after=1767139200, trade_id="t-1")
    assert trades == []
    (seen,) = clob.requests("GET", "/data/trades")
    assert seen.l2_ok
    assert seen.query == [
        ("market", MARKET),
        ("after", "1767139200"),
        ("id", "t-1"),
        ("next_cursor", "MA=="),
    ]


async def test_balance_allowance_and_heartbeat(clob: FakeClob, client: ClobRestClient) -> None:
    clob.on(
        "GET",
        "/balance-allowance",
        Reply(body='{"balance": "1000000000", "allowances": {"0xE1": "5"}}'),
    )
    clob.on("GET", "/balance-allowance/update", Reply(body=""))
    clob.on(
        "POST",
        "/v1/heartbeats",
        Reply(body='{"heartbeat_id": "hb-1"}'),
        Reply(400, '{"heartbeat_id": "hb-9", "error": "Invalid Heartbeat ID"}'),
    )
    balance = await client.get_balance_allowance("CONDITIONAL", token_id=TOKEN)
    assert balance.balance == "1000000000" and balance.allowances == {"0xE1": "5"}
    await client.update_balance_allowance()
    assert clob.requests("GET", "/balance-allowance")[0].query == [
        ("signature_type", "0"),
        ("asset_type", "CONDITIONAL"),
        ("token_id", TOKEN),
    ]
    first = await client.heartbeat()
    assert first.heartbeat_id == "hb-1" and first.error is None
    stale = await client.heartbeat("hb-0")
    assert stale.heartbeat_id == "hb-9" and stale.error == "Invalid Heartbeat ID"
    assert [s.body for s in clob.requests("POST", "/v1/heartbeats")] == [
        b'{"heartbeat_id":""}',
        b'{"heartbeat_id":"hb-0"}',
    ]
    assert all(s.l2_ok for s in clob.seen)
    with pytest.raises(ValueError):
        await client.get_balance_allowance("CONDITIONAL")
    with pytest.raises(ValueError):
        await client.get_balance_allowance("USDC")


async def test_l2_without_creds_fails_locally(clob: FakeClob, clock: TestClock) -> None:
    async with ClobRestClient(clob.url, clock=clock) as c:
        with pytest.raises(AuthError):
            await c.cancel_all()
        with pytest.raises(AuthError):
            await c.post_order(signed_order(), OrderType.GTC)
    assert clob.seen == []


# --- L1 ----------------------------------------------------------------------------------------


async def test_create_or_derive_api_key(clob: FakeClob, client: ClobRestClient) -> None:
    creds = json.dumps(
        {
            "apiKey": "k-1",
            "secret": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=",
            "passphrase": "p",
        }
    )
    clob.on("POST", "/auth/api-key", Reply(400, '{"error": "Could not create api key"}'))
    clob.on("GET", "/auth/derive-api-key", Reply(body=creds))
    got = await client.create_or_derive_api_key(SIGNER, nonce=3)
    assert got.api_key == "k-1" and got.passphrase == "p"
    create, derive = (
        clob.requests("POST", "/auth/api-key")[0],
        clob.requests("GET", "/auth/derive-api-key")[0],
    )
    for seen in (create, derive):
        assert verify_l1(seen.headers, chain_id=137) == ADDRESS
        assert seen.headers["poly_nonce"] == "3" and seen.body == b""


async def test_create_api_key_auth_error_does_not_derive(
    clob: FakeClob, client: ClobRestClient
) -> None:
    clob.on("POST", "/auth/api-key", Reply(401, '{"error": "Invalid L1 Request headers"}'))
    with pytest.raises(AuthError):
        await client.create_or_derive_api_key(SIGNER)
    assert clob.requests("GET", "/auth/derive-api-key") == []


# --- retries, 429 and cool-down ------------------------------------------------------------------


async def test_429_retry_after_is_honoured(
    clob: FakeClob, client: ClobRestClient, clock: TestClock, fake_sleep: FakeSleep
) -> None:
    book = (HTTP_FIXTURES / "book.json").read_bytes()
    clob.on(
        "GET",
        "/book",
        Reply(429, '{"error": "Too Many Requests"}', {"Retry-After": "7"}),
        Reply(body=book),
    )
    await client.get_book(TOKEN)
    first, second = clob.requests("GET", "/book")
    assert second.mono - first.mono == pytest.approx(7.0)  # waited out on the injected clock
    assert fake_sleep.calls == [7.0]
    stats = client.stats()["GET /book"]
    assert stats["rate_limited"] == 1 and stats["retries"] == 1 and stats["successes"] == 1
    assert stats["errors_by_kind"] == {"rate_limited": 1}
    assert client.limiter.cooldowns == 1


async def test_429_cools_down_every_other_request(
    clob: FakeClob, client: ClobRestClient, clock: TestClock
) -> None:
    clob.on("POST", "/order", Reply(429, '{"error": "slow down"}', {"Retry-After": "30"}))
    clob.on("GET", "/time", Reply(body="1767225600"))
    with pytest.raises(RateLimitedError) as info:
        await client.post_order(signed_order(), OrderType.GTC)
    assert info.value.retry_after == 30.0
    before = clock.monotonic()
    await client.get_server_time()  # another endpoint still waits out the venue's Retry-After
    assert clob.requests("GET", "/time")[0].mono - before == pytest.approx(30.0)


async def test_post_only_mode_does_not_block_cancels(
    clob: FakeClob, client: ClobRestClient, clock: TestClock
) -> None:
    body = json.dumps(
        {
            "error": "post-only mode: only post-only orders and cancels are allowed",
            "code": "post_only_mode",
            "retry_after_seconds": 79,
        }
    )
    clob.on("POST", "/order", Reply(503, body))
    clob.on("DELETE", "/cancel-all", Reply(body='{"canceled": [], "not_canceled": {}}'))
    with pytest.raises(ServerError) as info:
        await client.post_order(signed_order(), OrderType.GTC)
    assert info.value.code == "post_only_mode" and info.value.retry_after == 79.0
    assert client.limiter.cooldown_remaining() == 0.0
    before = clock.monotonic()
    await client.cancel_all()  # cancels are allowed in post-only mode: no wait
    assert clob.requests("DELETE", "/cancel-all")[0].mono == before


async def test_425_engine_restart_cools_everything_down(
    clob: FakeClob, client: ClobRestClient, clock: TestClock
) -> None:
    clob.on("GET", "/midpoint", Reply(425, '{"error": "Too Early"}', {"Retry-After": "4"}))
    clob.on("GET", "/spread", Reply(body='{"spread": "0.01"}'))
    with pytest.raises(ServerError):
        await client.get_midpoint("1")  # retried twice, each after the 4 s cool-down
    arrivals = [s.mono for s in clob.requests("GET", "/midpoint")]
    assert [b - a for a, b in itertools.pairwise(arrivals)] == [4.0, 4.0]
    before = clock.monotonic()
    await client.get_spread("1")  # another endpoint waits out the last 425's Retry-After
    assert clob.requests("GET", "/spread")[0].mono - before == pytest.approx(4.0)


async def test_5xx_retry_after_delays_only_that_retry(
    clob: FakeClob, client: ClobRestClient, fake_sleep: FakeSleep
) -> None:
    clob.on(
        "GET",
        "/neg-risk",
        Reply(503, '{"error": "maintenance"}', {"Retry-After": "9"}),
        Reply(body='{"neg_risk": false}'),
    )
    assert (await client.get_neg_risk("1")).neg_risk is False
    assert fake_sleep.calls == [9.0]
    assert client.limiter.cooldown_remaining() == 0.0


async def test_5xx_get_is_retried_with_backoff(
    clob: FakeClob, client: ClobRestClient, fake_sleep: FakeSleep
) -> None:
    clob.on(
        "GET",
        "/tick-size",
        Reply(503, "unavailable"),
        Reply(500, '{"error": "boom"}'),
        Reply(body='{"minimum_tick_size": 0.01}'),
    )
    assert (await client.get_tick_size(TOKEN)).minimum_tick_size == Decimal("0.01")
    assert len(clob.requests("GET", "/tick-size")) == 3
    assert len(fake_sleep.calls) == 2
    assert 0 <= fake_sleep.calls[0] <= 0.5 and 0 <= fake_sleep.calls[1] <= 1.0
    assert client.stats()["GET /tick-size"]["errors_by_kind"] == {"server": 2}


async def test_5xx_get_gives_up_after_max_attempts(clob: FakeClob, client: ClobRestClient) -> None:
    clob.on("GET", "/tick-size", Reply(502, "bad gateway"))
    with pytest.raises(ServerError) as info:
        await client.get_tick_size(TOKEN)
    assert info.value.status == 502 and info.value.error == "bad gateway"
    assert len(clob.requests("GET", "/tick-size")) == 3


async def test_4xx_get_is_not_retried(clob: FakeClob, client: ClobRestClient) -> None:
    clob.on(
        "GET", "/book", Reply(404, '{"error": "No orderbook exists for the requested token id"}')
    )
    with pytest.raises(ApiError) as info:
        await client.get_book("1")
    assert info.value.status == 404
    assert info.value.error == "No orderbook exists for the requested token id"
    assert len(clob.requests("GET", "/book")) == 1


async def test_undecodable_body_raises_decode_error(clob: FakeClob, client: ClobRestClient) -> None:
    clob.on("GET", "/book", Reply(body='{"market": 1}'))
    with pytest.raises(DecodeError):
        await client.get_book(TOKEN)
    assert client.stats()["GET /book"]["errors_by_kind"] == {"decode": 1}


async def test_huge_retry_after_is_capped_and_not_retried(
    clob: FakeClob, client: ClobRestClient
) -> None:
    clob.on("GET", "/book", Reply(429, '{"error": "Too Many Requests"}', {"Retry-After": "3600"}))
    with pytest.raises(RateLimitedError) as info:
        await client.get_book(TOKEN)
    assert info.value.retry_after == 3600.0
    assert len(clob.requests("GET", "/book")) == 1  # beyond max_retry_after: raise at once
    assert client.limiter.cooldown_remaining() == pytest.approx(60.0)  # capped cool-down
