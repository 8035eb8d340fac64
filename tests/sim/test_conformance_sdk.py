"""Conformance: the official py-clob-client-v2 drives the simulator over loopback.

Every call goes through the SDK's own request building (L1 EIP-712 headers, L2 HMAC, V2 order
signing with the domain it picks from `/neg-risk`, tick size from `/tick-size`, version from
`/version`) and its own response parsing; an exception anywhere fails the test. The SDK's HTTP
calls block, so they run in a worker thread while the server runs in the test's event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import (
    AssetType,
    BalanceAllowanceParams,
    BookParams,
    MarketOrderArgsV2,
    OpenOrderParams,
    OrderArgsV2,
    OrderMarketCancelParams,
    OrderPayload,
    OrderType,
    PartialCreateOrderOptions,
    PostOrdersV2Args,
    PricesHistoryParams,
    TradeParams,
)
from py_clob_client_v2.exceptions import PolyApiException
from server_kit import ALICE_KEY, BOB_KEY, inside_spread_market, running_server

from polymarket_bot.protocol.book_hash import sdk_book_hash
from polymarket_bot.protocol.signing import exchange_domain, order_from_json, order_hash
from polymarket_bot.sim.server import SimServer

T = TypeVar("T")


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one blocking SDK call off the event loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)


async def sdk_client(server: SimServer, key: str) -> ClobClient:
    client = ClobClient(server.rest_url, chain_id=137, key=key)
    creds = await call(client.create_or_derive_api_key)
    client.set_api_creds(creds)
    return client


async def test_keys_markets_and_books_parse_in_the_sdk() -> None:
    async with running_server(with_flow=False) as server:
        client = await sdk_client(server, ALICE_KEY)
        # create_or_derive a second time: create fails (400), derive returns the same creds.
        again = await call(client.create_or_derive_api_key)
        assert again.api_key == client.creds.api_key
        assert again.api_secret == client.creds.api_secret
        assert await call(client.get_ok) == "OK"
        assert isinstance(await call(client.get_server_time), int)
        assert await call(client.get_version) == 2
        keys = await call(client.get_api_keys)
        assert keys == {"apiKeys": [client.creds.api_key]}
        assert await call(client.get_closed_only_mode) == {"closed_only": False}

        page = await call(client.get_markets)
        assert page["next_cursor"] == "LTE=" and page["count"] == 8
        market = page["data"][0]
        cid = market["condition_id"]
        yes = market["tokens"][0]["token_id"]
        assert (await call(client.get_market, cid))["condition_id"] == cid
        assert (await call(client.get_simplified_markets))["count"] == 8
        assert (await call(client.get_sampling_markets))["next_cursor"] == "LTE="
        info = await call(client.get_clob_market_info, cid)
        assert info["t"][0]["t"] == yes and info["mts"] == 0.01

        book = await call(client.get_order_book, yes)
        # The SDK's own hash recipe reproduces the served hash.
        assert client.get_order_book_hash(book) == book["hash"] == sdk_book_hash(book)
        bids, asks = book["bids"], book["asks"]
        assert [Decimal(b["price"]) for b in bids] == sorted(Decimal(b["price"]) for b in bids)
        assert [Decimal(a["price"]) for a in asks] == sorted(
            (Decimal(a["price"]) for a in asks), reverse=True
        )
        books = await call(client.get_order_books, [BookParams(token_id=yes)])
        assert books[0]["hash"] == book["hash"]
        assert await call(client.get_price, yes, "BUY") == {"price": bids[-1]["price"]}
        assert await call(client.get_price, yes, "SELL") == {"price": asks[-1]["price"]}
        mid = (Decimal(bids[-1]["price"]) + Decimal(asks[-1]["price"])) / 2
        assert Decimal((await call(client.get_midpoint, yes))["mid"]) == mid
        assert (await call(client.get_midpoints, [BookParams(token_id=yes)]))[yes]
        assert (await call(client.get_spread, yes))["spread"]
        assert (await call(client.get_spreads, [BookParams(token_id=yes)]))[yes]
        prices = await call(client.get_prices, [BookParams(token_id=yes, side="BUY")])
        assert prices == {yes: {"BUY": bids[-1]["price"]}}
        assert (await call(client.get_last_trade_price, yes))["side"] == ""
        assert (await call(client.get_last_trades_prices, [BookParams(token_id=yes)]))[0][
            "token_id"
        ] == yes
        assert await call(client.get_tick_size, yes) == "0.01"
        assert await call(client.get_neg_risk, yes) is False
        assert await call(client.get_fee_rate_bps, yes) >= 0
        history = await call(
            client.get_prices_history, PricesHistoryParams(market=yes, interval="1d")
        )
        assert isinstance(history["history"], list)
        bal = await call(
            client.get_balance_allowance, BalanceAllowanceParams(asset_type=AssetType.COLLATERAL)
        )
        assert bal["balance"] == str(10_000 * 10**6) and len(bal["allowances"]) == 3
        await call(
            client.update_balance_allowance,
            BalanceAllowanceParams(asset_type=AssetType.COLLATERAL),
        )


async def test_limit_order_filled_in_two_steps_then_trades_and_cancels() -> None:
    async with running_server(with_flow=False) as server:
        alice = await sdk_client(server, ALICE_KEY)
        bob = await sdk_client(server, BOB_KEY)
        cid, yes, no, price = inside_spread_market(server)

        order = await call(
            alice.create_order, OrderArgsV2(token_id=yes, price=float(price), size=12, side="BUY")
        )
        posted = await call(alice.post_order, order, OrderType.GTC)
        assert posted["success"] is True and posted["status"] == "live"
        oid = posted["orderID"]
        # The id is the EIP-712 digest of the signed order (clients can compute it first).
        signed, _sig = order_from_json(_order_dict(order))
        assert oid == order_hash(signed, exchange_domain(137, neg_risk=False))
        open_orders = await call(alice.get_open_orders)
        assert [o["id"] for o in open_orders] == [oid]
        assert open_orders[0]["status"] == "LIVE" and open_orders[0]["size_matched"] == "0"
        assert (await call(alice.get_order, oid))["id"] == oid

        # Bob buys NO at 1 - p: in the complementary book that crosses Alice's YES bid (a mint),
        # 5 then 7 shares: a partial, then a full fill.
        no_price = float(1 - price)
        fill1 = await call(
            bob.create_and_post_order,
            OrderArgsV2(token_id=no, price=no_price, size=5, side="BUY"),
        )
        assert fill1["status"] == "matched" and fill1["tradeIDs"]
        assert fill1["transactionsHashes"]
        partial = await call(alice.get_open_orders, OpenOrderParams(market=cid))
        assert partial[0]["size_matched"] == "5" and partial[0]["status"] == "LIVE"

        fill2 = await call(
            bob.create_and_post_order,
            OrderArgsV2(token_id=no, price=no_price, size=7, side="BUY"),
        )
        assert fill2["status"] == "matched"
        assert await call(alice.get_open_orders) == []
        assert await call(alice.get_order, oid) is None  # not live any more

        trades = await call(alice.get_trades)
        assert len(trades) == 2
        for trade, qty in zip(trades, ("5", "7"), strict=True):
            assert trade["trader_side"] == "MAKER" and trade["owner"] == alice.creds.api_key
            legs = [leg for leg in trade["maker_orders"] if leg["order_id"] == oid]
            assert legs and legs[0]["matched_amount"] == qty
            assert legs[0]["price"] == str(price) and legs[0]["side"] == "BUY"
        one = await call(alice.get_trades, TradeParams(id=trades[0]["id"]))
        assert [t["id"] for t in one] == [trades[0]["id"]]
        bob_trades = await call(bob.get_trades, TradeParams(market=cid))
        assert {t["trader_side"] for t in bob_trades} == {"TAKER"}
        assert {t["asset_id"] for t in bob_trades} == {no}
        yes_bal = await call(
            alice.get_balance_allowance,
            BalanceAllowanceParams(asset_type=AssetType.CONDITIONAL, token_id=yes),
        )
        assert yes_bal["balance"] == str(12 * 10**6)

        # Cancel one order, then cancel-all the rest, then a market cancel.
        a = await call(
            alice.create_and_post_order, OrderArgsV2(token_id=yes, price=0.05, size=5, side="BUY")
        )
        assert (await call(alice.cancel_order, OrderPayload(orderID=a["orderID"]))) == {
            "canceled": [a["orderID"]],
            "not_canceled": {},
        }
        again = await call(alice.cancel_order, OrderPayload(orderID=a["orderID"]))
        assert again["not_canceled"] == {a["orderID"]: "already canceled or matched"}
        ids = []
        for px in (0.04, 0.03):
            r = await call(
                alice.create_and_post_order,
                OrderArgsV2(token_id=yes, price=px, size=5, side="BUY"),
            )
            ids.append(r["orderID"])
        done = await call(alice.cancel_all)
        assert sorted(done["canceled"]) == sorted(ids)
        assert await call(alice.get_open_orders) == []
        r = await call(
            alice.create_and_post_order, OrderArgsV2(token_id=yes, price=0.02, size=5, side="BUY")
        )
        gone = await call(alice.cancel_market_orders, OrderMarketCancelParams(market=cid))
        assert gone["canceled"] == [r["orderID"]]
        r = await call(
            alice.create_and_post_order, OrderArgsV2(token_id=yes, price=0.02, size=5, side="BUY")
        )
        assert (await call(alice.cancel_orders, [r["orderID"]]))["canceled"] == [r["orderID"]]


def _order_dict(order: Any) -> dict[str, Any]:
    from py_clob_client_v2.order_utils.model.order_data_v2 import order_to_json_v2

    body: dict[str, Any] = order_to_json_v2(order, "", "GTC", False, False)["order"]
    return body


async def test_batch_market_orders_and_neg_risk_signing() -> None:
    async with running_server(with_flow=False) as server:
        alice = await sdk_client(server, ALICE_KEY)
        state = server.state
        std = next(m for m in state.markets if not m.neg_risk)
        neg = next(m for m in state.markets if m.neg_risk)

        orders = [
            PostOrdersV2Args(
                order=await call(
                    alice.create_order,
                    OrderArgsV2(token_id=std.token_ids[0], price=p, size=5, side="BUY"),
                ),
                orderType=OrderType.GTC,
            )
            for p in (0.02, 0.03)
        ]
        batch = await call(alice.post_orders, orders)
        assert [leg["success"] for leg in batch] == [True, True]
        assert all(leg["status"] == "live" for leg in batch)

        # Neg-risk: the SDK reads /neg-risk and signs for the neg-risk exchange.
        assert await call(alice.get_neg_risk, neg.token_ids[0]) is True
        neg_order = await call(
            alice.create_and_post_order,
            OrderArgsV2(token_id=neg.token_ids[0], price=0.01, size=5, side="BUY"),
        )
        assert neg_order["success"] and neg_order["status"] == "live"
        # Signing it for the wrong exchange is refused by the venue.
        wrong = await call(
            alice.create_order,
            OrderArgsV2(token_id=neg.token_ids[0], price=0.01, size=6, side="BUY"),
            PartialCreateOrderOptions(neg_risk=False),
        )
        with pytest.raises(PolyApiException) as err:
            await call(alice.post_order, wrong)
        assert err.value.status_code == 400
        assert err.value.error_msg == {"error": "invalid signature"}

        # A market (FOK) BUY priced by the SDK from the book: fills against the asks.
        filled = await call(
            alice.create_and_post_market_order,
            MarketOrderArgsV2(token_id=std.token_ids[0], amount=25, side="BUY"),
        )
        assert filled["status"] == "matched" and Decimal(filled["makingAmount"]) > 0
        # A FOK too large for the book is killed with the venue's text.
        with pytest.raises(PolyApiException) as err:
            await call(
                alice.create_and_post_market_order,
                MarketOrderArgsV2(token_id=std.token_ids[0], amount=5_000, side="BUY", price=0.99),
            )
        assert err.value.status_code == 400
        assert "FOK orders are fully filled or killed" in err.value.error_msg["error"]


async def test_heartbeats_and_venue_errors_surface_as_sdk_exceptions() -> None:
    async with running_server(with_flow=False) as server:
        alice = await sdk_client(server, ALICE_KEY)
        first = await call(alice.post_heartbeat, "")
        second = await call(alice.post_heartbeat, first["heartbeat_id"])
        assert second["heartbeat_id"] != first["heartbeat_id"]
        with pytest.raises(PolyApiException) as err:
            await call(alice.post_heartbeat, "not-the-id")
        assert err.value.status_code == 400
        assert err.value.error_msg["heartbeat_id"] == second["heartbeat_id"]

        intruder = ClobClient(server.rest_url, chain_id=137, key=BOB_KEY, creds=alice.creds)
        with pytest.raises(PolyApiException) as err:
            await call(intruder.get_open_orders)
        assert err.value.status_code == 401
        assert err.value.error_msg == {"error": "Unauthorized/Invalid api key"}

        derive_only = ClobClient(server.rest_url, chain_id=137, key=BOB_KEY)
        with pytest.raises(PolyApiException) as err:
            await call(derive_only.derive_api_key)
        assert err.value.error_msg == {"error": "Could not derive api key!"}
