"""REST face of the simulator over real loopback sockets: shapes, pagination, auth and the
venue's error answers (never a 500 for a bad request)."""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import sys
import time
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import pytest
from server_kit import (
    ALICE_KEY,
    BOB_KEY,
    VenueClient,
    admin,
    inside_spread_market,
    running_server,
    wait_for,
)

from polymarket_bot.core.types import OrderType, Side
from polymarket_bot.protocol.book_hash import sdk_book_hash
from polymarket_bot.protocol.codec import decode_rest
from polymarket_bot.protocol.eip712 import PrivateKeySigner
from polymarket_bot.protocol.signing import (
    build_order,
    exchange_domain,
    sign_order,
)
from polymarket_bot.protocol.wire_gamma import GammaEvent, GammaMarket, gamma_dec_hook
from polymarket_bot.protocol.wire_rest import (
    BalanceAllowance,
    CancelResponse,
    ClobMarketInfo,
    CursorPage,
    Market,
    OpenOrder,
    OrderBookSummary,
    OrderResponse,
)
from polymarket_bot.sim.exchange import SimConfig
from polymarket_bot.sim.server import SimServer, make_app
from polymarket_bot.sim.state import ServerConfig

UNIT = 10**6


def std_market(server: SimServer) -> tuple[str, str, str]:
    m = next(m for m in server.state.markets if not m.neg_risk)
    return m.condition_id, m.token_ids[0], m.token_ids[1]


async def keyed(server: SimServer, key: str = ALICE_KEY) -> VenueClient:
    client = VenueClient(server, key)
    await client.create_key()
    return client


# --- public endpoints ---------------------------------------------------------------------


async def test_public_shapes_decode_and_agree() -> None:
    async with (
        running_server(with_flow=False) as server,
        httpx.AsyncClient(base_url=server.rest_url) as http,
    ):
        assert (await http.get("/ok")).json() == "OK"
        t = (await http.get("/time")).text
        assert t.isdigit() and abs(int(t) - time.time()) < 5
        assert (await http.get("/version")).json() == {"version": 2}

        cid, yes, no = std_market(server)
        market = decode_rest((await http.get(f"/markets/{cid}")).content, Market)
        assert market.tokens[0].token_id == yes and market.minimum_tick_size == Decimal("0.01")
        raw = (await http.get(f"/tick-size?token_id={yes}")).text
        assert raw == '{"minimum_tick_size":0.01}'  # a JSON number printed exactly
        info = decode_rest((await http.get(f"/clob-markets/{cid}")).content, ClobMarketInfo)
        assert [t.t for t in info.t] == [yes, no] and info.nr is False
        assert "nr" not in (await http.get(f"/clob-markets/{cid}")).json()
        neg = next(m for m in server.state.markets if m.neg_risk)
        assert (await http.get(f"/clob-markets/{neg.condition_id}")).json()["nr"] is True
        by_token = (await http.get(f"/markets-by-token/{no}")).json()
        assert by_token["condition_id"] == cid

        raw_book = (await http.get(f"/book?token_id={yes}")).json()
        assert list(raw_book) == [
            "market",
            "asset_id",
            "timestamp",
            "hash",
            "bids",
            "asks",
            "min_order_size",
            "tick_size",
            "neg_risk",
            "last_trade_price",
        ]
        assert raw_book["hash"] == sdk_book_hash(raw_book)
        book = decode_rest(json.dumps(raw_book), OrderBookSummary)
        best_bid, best_ask = Decimal(book.bids[-1].price), Decimal(book.asks[-1].price)
        assert all(Decimal(b.price) < best_bid for b in book.bids[:-1])
        assert all(Decimal(a.price) > best_ask for a in book.asks[:-1])
        no_book = (await http.get(f"/book?token_id={no}")).json()
        # The NO book mirrors the YES book: NO best bid = 1 - YES best ask.
        assert Decimal(no_book["bids"][-1]["price"]) == 1 - best_ask

        assert (await http.get(f"/price?token_id={yes}&side=BUY")).json() == {
            "price": book.bids[-1].price
        }
        assert (await http.get(f"/price?token_id={yes}&side=SELL")).json() == {
            "price": book.asks[-1].price
        }
        mid = (await http.get(f"/midpoint?token_id={yes}")).json()["mid"]
        assert Decimal(mid) == (best_bid + best_ask) / 2
        spread = (await http.get(f"/spread?token_id={yes}")).json()["spread"]
        assert Decimal(spread) == best_ask - best_bid
        items = [{"token_id": yes}, {"token_id": no}]
        assert set((await http.post("/midpoints", json=items)).json()) == {yes, no}
        assert set((await http.post("/spreads", json=items)).json()) == {yes, no}
        prices = (await http.post("/prices", json=[{"token_id": yes, "side": "SELL"}])).json()
        assert prices == {yes: {"SELL": book.asks[-1].price}}
        books = (await http.post("/books", json=items)).json()
        assert [b["asset_id"] for b in books] == [yes, no] and books[0] == raw_book
        last = (await http.get(f"/last-trade-price?token_id={yes}")).json()
        assert last == {"price": "0.5", "side": ""}
        assert (await http.get(f"/neg-risk?token_id={yes}")).json() == {"neg_risk": False}
        assert (await http.get(f"/neg-risk?token_id={neg.token_ids[0]}")).json() == {
            "neg_risk": True
        }
        assert "base_fee" in (await http.get(f"/fee-rate?token_id={yes}")).json()
        assert (
            await http.get("/midpoints", params={"token_ids": f"{yes},{no}"})
        ).status_code == 200


async def test_markets_cursor_pagination_walks_to_lte() -> None:
    config = ServerConfig(page_size=3)
    async with (
        running_server(with_flow=False, config=config) as server,
        httpx.AsyncClient(base_url=server.rest_url) as http,
    ):
        cursor, seen, pages = "MA==", [], 0
        while cursor != "LTE=":
            page = decode_rest(
                (await http.get("/markets", params={"next_cursor": cursor})).content,
                CursorPage[Market],
            )
            seen += [m.condition_id for m in page.data]
            cursor = page.next_cursor or ""
            pages += 1
        assert pages == 3 and len(seen) == 8
        assert seen == [m.condition_id for m in server.state.markets]
        assert base64.b64decode((await http.get("/markets")).json()["next_cursor"]) == b"3"
        bad = await http.get("/markets", params={"next_cursor": "not base64!"})
        assert bad.status_code == 400 and "error" in bad.json()
        simple = (await http.get("/simplified-markets", params={"next_cursor": "Ng=="})).json()
        assert simple["count"] == 2 and simple["next_cursor"] == "LTE="


async def test_gamma_under_prefix() -> None:
    async with (
        running_server(with_flow=False) as server,
        httpx.AsyncClient(base_url=server.gamma_url) as http,
    ):
        decoder = msgspec.json.Decoder(list[GammaMarket], dec_hook=gamma_dec_hook)
        raw = (await http.get("/markets", params={"closed": "false"})).content
        markets = decoder.decode(raw)
        assert len(markets) == 8
        first = json.loads(raw)[0]
        # Double-encoded arrays, as the live API sends them.
        assert isinstance(first["clobTokenIds"], str) and first["outcomes"] == '["Yes", "No"]'
        sim = server.state.markets[0]
        assert markets[0].token_ids == sim.token_ids
        one = (await http.get("/markets", params={"clob_token_ids": sim.token_ids[1]})).json()
        assert [m["conditionId"] for m in one] == [sim.condition_id]
        by_cid = await http.get("/markets", params=[("condition_ids", sim.condition_id)])
        assert len(by_cid.json()) == 1
        assert len((await http.get("/markets", params={"limit": 3, "offset": 6})).json()) == 2
        assert (await http.get("/markets", params={"offset": 20_000})).status_code == 422
        assert (await http.get(f"/markets/{sim.gamma_id}")).json()["slug"] == sim.slug
        assert (await http.get(f"/markets/slug/{sim.slug}")).json()["id"] == sim.gamma_id
        assert (await http.get("/markets/999")).status_code == 404
        events = msgspec.json.decode(
            (await http.get("/events")).content, type=list[GammaEvent], dec_hook=gamma_dec_hook
        )
        neg_events = [e for e in events if e.negRisk]
        assert neg_events and all(len(e.markets) > 1 for e in neg_events)
        event = (await http.get(f"/events/{neg_events[0].id}")).json()
        assert event["negRisk"] is True and event["enableNegRisk"] is True
        keyset = (await http.get("/markets/keyset", params={"limit": 5})).json()
        assert len(keyset["markets"]) == 5 and keyset["next_cursor"]
        rest = await http.get("/markets/keyset", params={"after_cursor": keyset["next_cursor"]})
        assert len(rest.json()["markets"]) == 3 and "next_cursor" not in rest.json()


# --- auth ---------------------------------------------------------------------------------


async def test_l1_key_lifecycle_and_errors() -> None:
    async with running_server(with_flow=False) as server, VenueClient(server, ALICE_KEY) as alice:
        creds = await alice.create_key()
        http = alice.http
        again = await http.post("/auth/api-key", headers=alice.l1_headers())
        assert (again.status_code, again.json()) == (400, {"error": "Could not create api key"})
        derived = await http.get("/auth/derive-api-key", headers=alice.l1_headers())
        assert derived.json()["apiKey"] == creds.api_key
        other_nonce = await http.get("/auth/derive-api-key", headers=alice.l1_headers(nonce=7))
        assert other_nonce.status_code == 400
        assert other_nonce.json() == {"error": "Could not derive api key!"}
        stale = alice.l1_headers(timestamp=int(time.time()) - 3600)
        r = await http.post("/auth/api-key", headers=stale)
        assert (r.status_code, r.json()) == (401, {"error": "Invalid L1 Request headers"})
        forged = dict(alice.l1_headers())
        forged["POLY_ADDRESS"] = PrivateKeySigner(BOB_KEY).address
        r = await http.get("/auth/derive-api-key", headers=forged)
        assert (r.status_code, r.json()) == (401, {"error": "Invalid L1 Request headers"})
        r = await http.post("/auth/api-key")
        assert r.status_code == 401


async def test_l2_rejections_are_401_with_the_venue_text() -> None:
    async with running_server(with_flow=False) as server:
        alice = await keyed(server)
        bob = await keyed(server, BOB_KEY)
        try:
            ok = await alice.l2("GET", "/data/orders")
            assert ok.status_code == 200
            headers = alice.l2_headers("GET", "/data/orders")
            variants: list[dict[str, str]] = [
                {
                    **headers,
                    "POLY_SIGNATURE": bob.l2_headers("GET", "/data/orders")["POLY_SIGNATURE"],
                },
                {**headers, "POLY_API_KEY": "00000000-0000-4000-8000-000000000000"},
                {**headers, "POLY_PASSPHRASE": "wrong"},
                {**headers, "POLY_ADDRESS": bob.address},
                alice.l2_headers("GET", "/data/orders", timestamp=int(time.time()) - 3600),
                {k: v for k, v in headers.items() if k != "POLY_SIGNATURE"},
                alice.l2_headers("GET", "/data/trades"),  # signed for another path
            ]
            for hdrs in variants:
                r = await alice.http.get("/data/orders", headers=hdrs)
                assert (r.status_code, r.json()) == (401, {"error": "Unauthorized/Invalid api key"})
            # The body is part of the HMAC: a body changed after signing is refused.
            body = '{"orderID":"0x' + "1" * 64 + '"}'
            hdrs = alice.l2_headers("DELETE", "/order", body)
            r = await alice.http.request("DELETE", "/order", content=body + " ", headers=hdrs)
            assert r.status_code == 401
            # The query string is not signed (SDKs sign the path only).
            r = await alice.http.get(
                "/data/orders",
                params={"next_cursor": "MA=="},
                headers=alice.l2_headers("GET", "/data/orders"),
            )
            assert r.status_code == 200
        finally:
            await alice.aclose()
            await bob.aclose()


# --- orders -------------------------------------------------------------------------------


async def test_order_lifecycle_open_orders_trades_and_balances() -> None:
    config = ServerConfig(page_size=2)
    async with running_server(with_flow=False, config=config) as server:
        alice, bob = await keyed(server), await keyed(server, BOB_KEY)
        try:
            cid, yes, no, inside = inside_spread_market(server)
            ids: list[str] = []
            for price in (str(inside), "0.04", "0.03"):
                r = await alice.post_order(yes, Side.BUY, price, "10")
                resp = decode_rest(r.content, OrderResponse)
                assert resp.accepted and resp.status == "live" and resp.makingAmount == ""
                assert resp.orderID is not None
                ids.append(resp.orderID)
            pages, cursor, listed = 0, "MA==", []
            while cursor != "LTE=":
                r = await alice.l2("GET", "/data/orders", params={"next_cursor": cursor})
                page = decode_rest(r.content, CursorPage[OpenOrder])
                listed += [o.id for o in page.data]
                cursor = page.next_cursor or ""
                pages += 1
            assert pages == 2 and sorted(listed) == sorted(ids)
            r = await alice.l2("GET", "/data/orders", params={"id": ids[1]})
            assert [o["id"] for o in r.json()["data"]] == [ids[1]]
            r = await alice.l2("GET", "/data/orders", params={"asset_id": no})
            assert r.json()["data"] == []
            r = await alice.l2("GET", f"/data/order/{ids[0]}")
            assert r.json()["price"] == str(inside) and isinstance(r.json()["created_at"], int)

            # Bob sells YES into Alice's bid (the best one): he needs YES shares first.
            await admin(
                server, "POST", "/admin/balance", {"address": bob.address, "tokens": {yes: "100"}}
            )
            r = await bob.post_order(yes, Side.SELL, str(inside), "10", OrderType.FAK)
            fill = decode_rest(r.content, OrderResponse)
            assert fill.status == "matched" and fill.tradeIDs and fill.transactionsHashes
            paid = int(inside * 10 * UNIT)
            assert (fill.makingAmount, fill.takingAmount) == (str(10 * UNIT), str(paid))
            assert (await alice.l2("GET", f"/data/order/{ids[0]}")).json() is None

            trades = (await alice.l2("GET", "/data/trades")).json()["data"]
            assert len(trades) == 1 and trades[0]["trader_side"] == "MAKER"
            assert trades[0]["status"] == "MATCHED" and trades[0]["side"] == "SELL"
            for params, expected in (
                ({"market": cid}, 1),
                ({"asset_id": yes}, 1),
                ({"asset_id": no}, 0),
                ({"id": trades[0]["id"]}, 1),
                ({"maker_address": alice.address}, 1),
                ({"after": str(int(time.time()) + 100)}, 0),
                ({"before": str(int(time.time()) + 100)}, 1),
            ):
                r = await alice.l2("GET", "/data/trades", params=params)
                assert len(r.json()["data"]) == expected, params

            bal = decode_rest(
                (
                    await alice.l2(
                        "GET",
                        "/balance-allowance",
                        params={"asset_type": "COLLATERAL", "signature_type": "0"},
                    )
                ).content,
                BalanceAllowance,
            )
            assert int(bal.balance) == 10_000 * UNIT - paid
            assert bal.allowances is not None and len(bal.allowances) == 3
            r = await alice.l2(
                "GET", "/balance-allowance", params={"asset_type": "CONDITIONAL", "token_id": yes}
            )
            assert r.json()["balance"] == str(10 * UNIT)
            r = await alice.l2("GET", "/balance-allowance", params={"asset_type": "NOPE"})
            assert r.status_code == 400

            cancel = await alice.l2("DELETE", "/order", {"orderID": ids[1]})
            assert decode_rest(cancel.content, CancelResponse).canceled == (ids[1],)
            again = await alice.l2("DELETE", "/orders", [ids[1], "0xdead"])
            assert again.json() == {
                "canceled": [],
                "not_canceled": {
                    ids[1]: "already canceled or matched",
                    "0xdead": "Order not found",
                },
            }
            # Bob cannot cancel Alice's order.
            r = await bob.l2("DELETE", "/order", {"orderID": ids[2]})
            assert r.json()["not_canceled"] == {ids[2]: "Order not found"}
            r = await alice.l2("DELETE", "/cancel-market-orders", {"market": "", "asset_id": yes})
            assert r.json()["canceled"] == [ids[2]]
            assert (await alice.l2("DELETE", "/cancel-all")).json() == {
                "canceled": [],
                "not_canceled": {},
            }
        finally:
            await alice.aclose()
            await bob.aclose()


def _off_tick_body(client: VenueClient, token: str) -> str:
    # BUY 10 shares for 5.55 pUSD = 0.555 per share: not on the 0.01 grid.
    order = build_order(
        client.address,
        token_id=token,
        side=Side.BUY,
        maker_amount=5_550_000,
        taker_amount=10 * UNIT,
        salt=42,
        timestamp_ms=int(time.time() * 1000),
    )
    signed = sign_order(order, client.signer, exchange_domain(137, neg_risk=False))
    return json.dumps(client.envelope(signed))


async def test_bad_orders_get_venue_errors_never_500() -> None:
    async with running_server(
        with_flow=False, sim_config=SimConfig(initial_pusd=100 * UNIT)
    ) as server:
        alice, bob = await keyed(server), await keyed(server, BOB_KEY)
        try:
            cid, yes, _ = std_market(server)
            neg = next(m for m in server.state.markets if m.neg_risk)

            async def post(body: Any) -> tuple[int, str]:
                r = await alice.l2(
                    "POST", "/order", body if isinstance(body, str) else json.dumps(body)
                )
                return r.status_code, r.json()["error"]

            good = alice.sign(yes, Side.BUY, "0.05", "10")
            env = alice.envelope(good)

            forged = dict(
                env,
                order=dict(env["order"], signature=bob.sign(yes, Side.BUY, "0.05", "10").signature),
            )
            assert await post(forged) == (400, "invalid signature")
            tampered = dict(env, order=dict(env["order"], makerAmount="600000"))
            assert await post(tampered) == (400, "invalid signature")
            assert await post(dict(env, owner=bob.api_key)) == (
                400,
                "the order owner has to be the owner of the API KEY",
            )
            assert await post(
                bob.envelope(bob.sign(yes, Side.BUY, "0.05", "10"), owner=alice.api_key)
            ) == (
                400,
                "the order signer address has to be the address of the API KEY",
            )
            status, error = await post(_off_tick_body(alice, yes))
            assert status == 400 and "breaks minimum tick size rule: 0.01" in error
            status, error = await post(alice.envelope(alice.sign(yes, Side.BUY, "0.05", "4")))
            assert status == 400 and "lower than the minimum: 5" in error
            status, error = await post(alice.envelope(alice.sign(yes, Side.BUY, "0.5", "500")))
            assert status == 400 and error.startswith("not enough balance / allowance")
            soon = int(time.time()) + 30
            gtd = alice.envelope(
                alice.sign(yes, Side.BUY, "0.05", "10", expiration=soon), OrderType.GTD
            )
            assert await post(gtd) == (400, "invalid expiration")
            unknown = alice.envelope(alice.sign("1" * 77, Side.BUY, "0.05", "10"))
            assert await post(unknown) == (400, "Invalid token id")
            wrong_domain = alice.envelope(
                alice.sign(neg.token_ids[0], Side.BUY, "0.05", "10", neg_risk=False)
            )
            assert await post(wrong_domain) == (400, "invalid signature")
            for junk in (
                "not json",
                "[]",
                "{}",
                '{"order": 1}',
                json.dumps(dict(env, orderType="IOC")),
            ):
                assert await post(junk) == (400, "Invalid order payload")
            bad_salt = dict(env, order=dict(env["order"], salt=1.5))
            assert await post(bad_salt) == (400, "Invalid order payload")
            crossing = alice.envelope(alice.sign(yes, Side.BUY, "0.99", "5"), post_only=True)
            assert await post(crossing) == (400, "invalid post-only order: order crosses book")

            batch = [alice.envelope(alice.sign(yes, Side.BUY, "0.01", "5")) for _ in range(16)]
            r = await alice.l2("POST", "/orders", json.dumps(batch))
            assert (r.status_code, r.json()) == (
                400,
                {"error": "Too many orders in payload: 16, max allowed: 15"},
            )
            mixed = [alice.envelope(alice.sign(yes, Side.BUY, "0.02", "5")), forged]
            r = await alice.l2("POST", "/orders", json.dumps(mixed))
            legs = [decode_rest(json.dumps(leg), OrderResponse) for leg in r.json()]
            assert r.status_code == 200 and legs[0].accepted and not legs[1].accepted
            assert r.json()[1] == {
                "success": False,
                "errorMsg": "invalid signature",
                "orderID": "",
                "status": "",
                "makingAmount": "",
                "takingAmount": "",
                "transactionsHashes": [],
                "tradeIDs": [],
            }

            # Garbage anywhere: a venue error, never a 500.
            probes: list[tuple[str, str, Any]] = [
                ("GET", "/book", None),
                ("GET", "/book?token_id=-1", None),
                ("GET", "/price?token_id=" + yes + "&side=HOLD", None),
                ("POST", "/books", "{"),
                ("POST", "/books", [{"token_id": 5}]),
                ("POST", "/prices", [{"token_id": yes, "side": 3}]),
                ("GET", "/prices-history?market=" + yes + "&interval=7y", None),
                ("GET", "/prices-history?market=" + yes + "&startTs=x", None),
                ("GET", "/markets?next_cursor=%%%", None),
                ("GET", "/markets/0x1234", None),
                ("GET", "/markets-by-token/abc", None),
                ("GET", "/clob-markets/nope", None),
                ("PUT", "/order", None),
                ("GET", "/gamma/markets?active=maybe", None),
                ("GET", "/gamma/markets/keyset?after_cursor=@@", None),
                ("POST", "/books", "[" + "1," * 1_100_000 + "1]"),  # over 2 MiB
            ]
            for method, path, body in probes:
                r = await alice.http.request(
                    method,
                    path,
                    json=body if not isinstance(body, str) else None,
                    content=body if isinstance(body, str) else None,
                )
                assert 400 <= r.status_code < 500, (method, path, r.status_code, r.text)
            l2_probes: list[tuple[str, str, Any]] = [
                ("DELETE", "/order", "[]"),
                ("DELETE", "/order", "{"),
                ("DELETE", "/orders", {"a": 1}),
                ("DELETE", "/orders", ["x"] * 3001),
                ("DELETE", "/cancel-market-orders", {}),
                ("POST", "/v1/heartbeats", {"heartbeat_id": 5}),
                ("GET", "/data/trades?before=yesterday", None),
                ("GET", "/balance-allowance?signature_type=9", None),
                ("POST", "/orders", "{}"),
            ]
            for method, path, body in l2_probes:
                base = path.split("?")[0]
                text = body if isinstance(body, str) or body is None else json.dumps(body)
                hdrs = alice.l2_headers(method, base, text)
                r = await alice.http.request(method, path, content=text, headers=hdrs)
                assert 400 <= r.status_code < 500, (method, path, r.status_code, r.text)
            state = await admin(server, "GET", "/admin/state")
            assert "500" not in state["counters"]["by_status"]
            assert state["counters"]["orders_received"][alice.api_key] >= 20
            assert cid  # the market stayed usable
        finally:
            await alice.aclose()
            await bob.aclose()


async def test_heartbeat_session_and_expiry_cancels_orders() -> None:
    sim = SimConfig(heartbeat_timeout_s=0.3, heartbeat_buffer_s=0.1)
    config = ServerConfig(tick_interval_s=0.05)
    async with (
        running_server(with_flow=False, sim_config=sim, config=config) as server,
        await keyed(server) as alice,
    ):
        _, yes, _ = std_market(server)
        r = await alice.post_order(yes, Side.BUY, "0.05", "10")
        oid = r.json()["orderID"]
        first = (await alice.l2("POST", "/v1/heartbeats", {"heartbeat_id": ""})).json()
        nxt = (await alice.l2("POST", "/v1/heartbeats", first)).json()
        wrong = await alice.l2("POST", "/v1/heartbeats", {"heartbeat_id": "bogus"})
        assert wrong.status_code == 400 and wrong.json()["heartbeat_id"] == nxt["heartbeat_id"]

        async def cancelled() -> bool:
            r = await alice.l2("GET", "/data/orders")
            return bool(r.json()["data"] == [])

        await wait_for(cancelled, timeout=5, what="heartbeat expiry to cancel the order")
        assert server.state.exchange.order(oid).status == "CANCELED"  # type: ignore[union-attr]
        # The session ended: only "" starts a new one now.
        stale = await alice.l2("POST", "/v1/heartbeats", nxt)
        assert stale.status_code == 400 and stale.json()["heartbeat_id"] == ""


async def test_admin_api_is_loopback_only_and_controls_the_venue() -> None:
    async with running_server(with_flow=False) as server:
        remote = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=make_app(server.state), client=("10.1.2.3", 5555)),
            base_url="http://sim",
        )
        async with remote:
            assert (await remote.get("/admin/state")).status_code == 403
            assert (await remote.get("/ok")).status_code == 200
        _, yes, _ = std_market(server)
        m = server.state.by_token[yes]
        await admin(server, "POST", "/admin/tick-size", {"market": m.name, "tick_size": "0.001"})
        async with httpx.AsyncClient(base_url=server.rest_url) as http:
            assert (
                await http.get(f"/tick-size?token_id={yes}")
            ).text == '{"minimum_tick_size":0.001}'
            await admin(server, "POST", "/admin/resolve", {"market": m.name, "winner": "Yes"})
            market = (await http.get(f"/markets/{m.condition_id}")).json()
            assert market["closed"] is True and market["tokens"][0]["winner"] is True
            assert market["tokens"][0]["price"] == 1
            r = await http.post("/admin/resolve", json={"market": m.name, "winner": "Yes"})
            assert r.status_code == 400
            r = await http.post("/admin/faults", json={"fault": "meteor"})
            assert r.status_code == 400 and "unknown fault" in r.json()["error"]


async def test_server_refuses_non_loopback_hosts() -> None:
    with pytest.raises(ValueError, match="loopback"):
        SimServer(host="0.0.0.0", with_flow=False)


async def test_sim_command_serves_until_interrupted() -> None:
    code = "import typer; from polymarket_bot.cli.sim_cmd import sim; typer.run(sim)"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        "--port",
        "0",
        "--markets",
        "2",
        "--no-flow",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    try:
        lines: list[str] = []
        while not any(line.startswith("Ctrl-C") for line in lines):
            raw = await asyncio.wait_for(proc.stdout.readline(), 30)
            assert raw, "the sim command exited early: " + "".join(lines)
            lines.append(raw.decode())
        env = dict(
            line.split("export ", 1)[1].strip().split("=", 1) for line in lines if "export " in line
        )
        assert env["POLY_OFFLINE_MODE"] == "true"
        assert env["CLOB_WS_URL"].startswith("ws://127.0.0.1:") and env["CLOB_WS_URL"].endswith(
            "/ws"
        )
        async with httpx.AsyncClient(base_url=env["CLOB_REST_URL"]) as http:
            assert (await http.get("/ok")).json() == "OK"
            assert len((await http.get(env["GAMMA_API_URL"] + "/markets")).json()) == 2
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0 and b"simulator stopped" in out
