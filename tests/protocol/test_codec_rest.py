"""REST decoding: every `http_responses` fixture field by field, plus each CLOB response shape."""

from __future__ import annotations

import filecmp
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polymarket_bot.core.events import OrderStatus, TradeStatus
from polymarket_bot.core.types import Side
from polymarket_bot.protocol.codec import decode_rest, decode_server_time
from polymarket_bot.protocol.errors import DecodeError
from polymarket_bot.protocol.mapping import book_snapshot, order_update, trade_update
from polymarket_bot.protocol.wire import Trade
from polymarket_bot.protocol.wire_gamma import DataPosition, DataTrade, GammaEvent, GammaMarket
from polymarket_bot.protocol.wire_rest import (
    END_CURSOR,
    ApiCreds,
    ApiKeysResponse,
    BalanceAllowance,
    CancelResponse,
    ClobMarketInfo,
    CursorPage,
    ErrorResponse,
    FeeRateResponse,
    HeartbeatResponse,
    LastTradePriceResponse,
    LastTradesPricesItem,
    Market,
    MarketByToken,
    MidpointResponse,
    MidpointsResponse,
    NegRiskResponse,
    OpenOrder,
    OrderBookSummary,
    OrderResponse,
    PriceResponse,
    PricesHistory,
    PricesResponse,
    SimplifiedMarket,
    SpreadResponse,
    TickSizeResponse,
    VersionResponse,
)

REPO_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "polymarket"
HTTP = REPO_FIXTURES / "http_responses"
# CI clones the repo next to `shared/`; locally the checkout sits beside it too.
SHARED_FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "polymarket"


def body(name: str) -> bytes:
    return (HTTP / name).read_bytes()


def raw(name: str) -> Any:
    return json.loads(body(name))


@pytest.mark.skipif(not SHARED_FIXTURES.is_dir(), reason="shared fixtures not beside the repo")
@pytest.mark.parametrize("folder", ["http_responses", "ws_messages"])
def test_repo_fixture_copies_match_shared(folder: str) -> None:
    ours, theirs = REPO_FIXTURES / folder, SHARED_FIXTURES / folder
    names = sorted(p.name for p in theirs.iterdir())
    assert sorted(p.name for p in ours.iterdir()) == names
    _, mismatch, errors = filecmp.cmpfiles(ours, theirs, names, shallow=False)
    assert mismatch == [] and errors == []


# --- golden fixtures --------------------------------------------------------------------------


def test_book_fixture() -> None:
    book = decode_rest(body("book.json"), OrderBookSummary)
    src = raw("book.json")
    assert book.market == "0x1a4f04c2e6c000d9fc524eb12e7333217411a226c34745af140f195c0227cd5f"
    assert book.asset_id == (
        "23360939988679364027624185518382759743328544433592111535569478055890815567848"
    )
    assert book.hash == "2fc4a3d6a98bc164e057589bcb74981852b87412"
    assert book.timestamp == "1728799418260"
    assert [(lv.price, lv.size) for lv in book.bids] == [
        (b["price"], b["size"]) for b in src["bids"]
    ]
    assert [(lv.price, lv.size) for lv in book.asks] == [
        (a["price"], a["size"]) for a in src["asks"]
    ]
    assert (book.min_order_size, book.tick_size, book.neg_risk, book.last_trade_price) == (
        None,
    ) * 4
    snap = book_snapshot(book)
    assert snap.bids[0] == (Decimal("0.1"), Decimal(125))
    assert snap.asks[0] == (Decimal("0.14"), Decimal(705))
    assert snap.asks[-1] == (Decimal("0.98"), Decimal(5000))
    assert snap.timestamp_ms == 1728799418260


def check_market(m: Market, src: dict[str, Any]) -> None:
    """Every key of a CLOB market object."""
    for key in (
        "enable_order_book",
        "active",
        "closed",
        "archived",
        "accepting_orders",
        "accepting_order_timestamp",
        "condition_id",
        "question_id",
        "question",
        "description",
        "market_slug",
        "end_date_iso",
        "game_start_time",
        "seconds_delay",
        "fpmm",
        "notifications_enabled",
        "neg_risk",
        "neg_risk_market_id",
        "neg_risk_request_id",
        "icon",
        "image",
        "is_50_50_outcome",
    ):
        assert getattr(m, key) == src[key], key
    for key in ("minimum_order_size", "minimum_tick_size", "maker_base_fee", "taker_base_fee"):
        assert getattr(m, key) == Decimal(str(src[key])), key
    assert m.tags == (tuple(src["tags"]) if src["tags"] is not None else None)
    assert len(m.tokens) == len(src["tokens"])
    for token, t in zip(m.tokens, src["tokens"], strict=True):
        assert (token.token_id, token.outcome, token.winner) == (
            t["token_id"],
            t["outcome"],
            t["winner"],
        )
        assert token.price == Decimal(str(t["price"]))
    rewards = src["rewards"]
    assert m.rewards is not None
    assert m.rewards.min_size == Decimal(str(rewards["min_size"]))
    assert m.rewards.max_spread == Decimal(str(rewards["max_spread"]))
    if rewards["rates"] is None:
        assert m.rewards.rates is None
    else:
        assert m.rewards.rates is not None
        assert [(r.asset_address, r.rewards_daily_rate) for r in m.rewards.rates] == [
            (r["asset_address"], Decimal(str(r["rewards_daily_rate"]))) for r in rewards["rates"]
        ]


def test_market_fixture() -> None:
    m = decode_rest(body("market.json"), Market)
    check_market(m, raw("market.json"))
    assert m.minimum_tick_size == Decimal("0.001") and m.minimum_order_size == Decimal(5)
    assert m.neg_risk is True and m.accepting_order_timestamp is None
    assert m.tokens[0].price == Decimal("0.4865") and m.tokens[1].outcome == "No"
    assert m.rewards is not None and m.rewards.max_spread == Decimal("1.5")
    assert m.tags is not None and len(m.tags) == 28 and m.tags[-1] == "All"


def test_markets_page_fixture_every_market() -> None:
    page = decode_rest(body("markets.json"), CursorPage[Market])
    src = raw("markets.json")
    assert (page.limit, page.count, page.next_cursor) == (100, 100, "MTAw")
    assert not page.is_last
    assert len(page.data) == 100
    for m, m_src in zip(page.data, src["data"], strict=True):
        check_market(m, m_src)
    closed = page.data[0]
    assert closed.closed and closed.tokens[1].winner and closed.tokens[1].price == 1
    # a market in its hydration window: empty token ids are kept as sent
    assert any(t.token_id == "" for m in page.data for t in m.tokens)
    assert {m.minimum_order_size for m in page.data} >= {Decimal("14.96"), Decimal("14.97")}


def check_gamma_market(m: GammaMarket, src: dict[str, Any]) -> None:
    assert m.conditionId == src["conditionId"]
    assert m.id == src.get("id")
    assert m.question == src.get("question", "") and m.slug == src.get("slug", "")
    assert m.question_id == src.get("questionID", src.get("questionId"))
    for key in ("active", "closed", "archived"):
        assert getattr(m, key) == src.get(key), key
    if "clobTokenIds" in src:
        assert m.token_ids == tuple(src["clobTokenIds"])
    for key in ("liquidity", "volume"):
        assert getattr(m, key) == (Decimal(src[key]) if key in src else None)


def test_gamma_market_slug_fixture() -> None:
    m = decode_rest(body("market_slug.json"), GammaMarket)
    check_gamma_market(m, raw("market_slug.json"))
    assert m.id == "519589" and m.liquidity == Decimal("9384.9344")
    assert m.token_ids[0].startswith("4173124550477716245")


def test_gamma_markets_list_fixture() -> None:
    markets = decode_rest(body("markets_list.json"), list[GammaMarket])
    src = raw("markets_list.json")
    assert len(markets) == 3
    for m, m_src in zip(markets, src, strict=True):
        check_gamma_market(m, m_src)
    assert markets[2].closed is True and markets[2].question_id == "0xabcde"


def test_gamma_event_fixtures() -> None:
    event = decode_rest(body("event.json"), GammaEvent)
    src = raw("event.json")
    assert (event.id, event.slug, event.title) == (src["id"], src["slug"], src["title"])
    assert event.description == src["description"]
    assert (event.active, event.closed, event.archived) == (True, False, False)
    assert len(event.markets) == 3
    for m, m_src in zip(event.markets, src["markets"], strict=True):
        check_gamma_market(m, m_src)

    events = decode_rest(body("events_list.json"), list[GammaEvent])
    src_list = raw("events_list.json")
    assert [e.id for e in events] == ["2890", "2891", "2892"]
    for e, e_src in zip(events, src_list, strict=True):
        assert (e.slug, e.title, e.active, e.closed) == (
            e_src["slug"],
            e_src["title"],
            e_src["active"],
            e_src["closed"],
        )
        assert [m.conditionId for m in e.markets] == [m["conditionId"] for m in e_src["markets"]]


def test_data_api_trades_fixture() -> None:
    trades = decode_rest(body("trades.json"), list[DataTrade])
    src = raw("trades.json")
    assert len(trades) == 4
    for t, s in zip(trades, src, strict=True):
        assert t.side is Side(s["side"])
        assert (t.proxyWallet, t.asset, t.conditionId) == (
            s["proxyWallet"],
            s["asset"],
            s["conditionId"],
        )
        assert t.size == Decimal(str(s["size"])) and t.price == Decimal(str(s["price"]))
        assert (t.timestamp, t.outcome, t.outcomeIndex) == (
            s["timestamp"],
            s["outcome"],
            s["outcomeIndex"],
        )
        for key in ("title", "slug", "icon", "eventSlug", "name", "pseudonym", "bio"):
            assert getattr(t, key) == s[key]
        assert (t.profileImage, t.profileImageOptimized) == (
            s["profileImage"],
            s["profileImageOptimized"],
        )
        assert t.transactionHash == s["transactionHash"]
    assert trades[3].size == Decimal("20.0") and trades[1].price == Decimal("0.52")


# --- Gamma quirks -----------------------------------------------------------------------------

GAMMA_MARKET = {
    "id": "1557558",
    "question": "Bitcoin Up or Down",
    "conditionId": "0x78443f961b9a65869dcb39359de9960165c7e5cbad0904eac7f29cd77872a63b",
    "questionID": "0x1581",
    "outcomes": '["Up", "Down"]',
    "outcomePrices": '["0.505", "0.495"]',
    "clobTokenIds": '["1042398980388071360", "7118396081070582095"]',
    "umaResolutionStatuses": "[]",
    "volume": "9.999997",
    "volumeNum": 9.999997,
    "liquidityNum": 20328.3747,
    "orderPriceMinTickSize": 0.01,
    "orderMinSize": 5,
    "makerBaseFee": 1000,
    "feeSchedule": {"exponent": 1, "rate": 0.03, "takerOnly": True, "rebateRate": 0.25},
    "bestBid": 0.5,
    "events": [{"id": "260654", "slug": "btc", "title": "t", "negRisk": False}],
}


def test_gamma_double_encoded_lists_and_mixed_numbers() -> None:
    m = decode_rest(json.dumps(GAMMA_MARKET), GammaMarket)
    assert m.outcomes == ("Up", "Down") and m.outcomePrices == ("0.505", "0.495")
    assert m.token_ids == ("1042398980388071360", "7118396081070582095")
    assert m.umaResolutionStatuses == ()
    assert m.volume == Decimal("9.999997") and m.volumeNum == Decimal("9.999997")
    assert m.liquidityNum == Decimal("20328.3747")
    assert m.orderPriceMinTickSize == Decimal("0.01") and m.orderMinSize == Decimal(5)
    assert m.feeSchedule is not None and m.feeSchedule.rate == Decimal("0.03")
    assert m.feeSchedule.takerOnly is True and m.bestBid == Decimal("0.5")
    assert m.events is not None and m.events[0].id == "260654" and m.events[0].negRisk is False
    assert m.question_id == "0x1581"
    real_arrays = dict(GAMMA_MARKET, outcomes=["Up", "Down"], outcomePrices=[0.505, 0.495])
    m2 = decode_rest(json.dumps(real_arrays), GammaMarket)
    assert m2.outcomes == ("Up", "Down") and m2.outcomePrices == ("0.505", "0.495")


@pytest.mark.parametrize("bad", ['"[1, [2]]"', '"[not json"', "5", '{"a": 1}'])
def test_gamma_bad_encoded_list(bad: str) -> None:
    with pytest.raises(DecodeError):
        decode_rest('{"conditionId": "0x1", "clobTokenIds": ' + bad + "}", GammaMarket)


def test_data_api_position() -> None:
    row = (
        b'[{"proxyWallet": "0x5668", "asset": "7132", "conditionId": "0xc8f1", "size": 150.5,'
        b' "avgPrice": 0.55, "curPrice": 0.6, "cashPnl": 7.525, "redeemable": false,'
        b' "outcome": "Yes", "outcomeIndex": 0, "negativeRisk": false}]'
    )
    (pos,) = decode_rest(row, list[DataPosition])
    assert (pos.size, pos.avgPrice, pos.cashPnl) == (
        Decimal("150.5"),
        Decimal("0.55"),
        Decimal("7.525"),
    )


# --- CLOB response shapes (ref §5, §6.6, §6.9) ------------------------------------------------


def test_simple_price_responses() -> None:
    assert decode_rest(b'{"price": "0.45"}', PriceResponse).price == "0.45"
    prices = decode_rest(b'{"123": {"BUY": "0.45", "SELL": "0.46"}}', PricesResponse)
    assert prices == {"123": {"BUY": "0.45", "SELL": "0.46"}}
    assert decode_rest(b'{"mid": "0.455"}', MidpointResponse).value == "0.455"
    assert decode_rest(b'{"mid_price": "0.5"}', MidpointResponse).value == "0.5"
    with pytest.raises(DecodeError, match="mid"):
        decode_rest(b"{}", MidpointResponse)
    assert decode_rest(b'{"1": "0.455"}', MidpointsResponse) == {"1": "0.455"}
    assert decode_rest(b'{"spread": "0.01"}', SpreadResponse).spread == "0.01"
    ltp = decode_rest(b'{"price": "0.45", "side": ""}', LastTradePriceResponse)
    assert (ltp.price, ltp.side) == ("0.45", "")
    rows = decode_rest(
        b'[{"token_id": "1", "price": "0.4", "side": "BUY"}]', list[LastTradesPricesItem]
    )
    assert rows[0].token_id == "1" and rows[0].side == "BUY"


def test_market_parameter_responses() -> None:
    assert decode_rest(
        b'{"minimum_tick_size": 0.01}', TickSizeResponse
    ).minimum_tick_size == Decimal("0.01")
    assert decode_rest(b'{"minimum_tick_size": 0.0001}', TickSizeResponse).minimum_tick_size == (
        Decimal("0.0001")
    )
    assert decode_rest(b'{"neg_risk": false}', NegRiskResponse).neg_risk is False
    assert decode_rest(b'{"base_fee": 0}', FeeRateResponse).base_fee == 0
    assert decode_rest(b'{"base_fee": "150"}', FeeRateResponse).base_fee == Decimal(150)
    history = decode_rest(b'{"history": [{"t": 1700000000, "p": 0.45}]}', PricesHistory)
    assert history.history[0].t == 1700000000 and history.history[0].p == Decimal("0.45")
    assert decode_rest(b'{"version": 2}', VersionResponse).version == 2
    assert decode_rest(b"{}", VersionResponse).version == 2
    assert decode_rest(b'{"condition_id": "0xabc", "x": 1}', MarketByToken).condition_id == "0xabc"


def test_server_time() -> None:
    assert decode_server_time(b"1700000000") == 1700000000
    assert decode_server_time(b'{"time": 1700000001}') == 1700000001
    assert decode_server_time(b'{"timestamp": "1700000002"}') == 1700000002
    assert decode_rest(b"1700000000", int) == 1700000000
    for bad in (b"-1", b"true", b"1.5", b'"x"', b"", b"{}"):
        with pytest.raises(DecodeError):
            decode_server_time(bad)


def test_clob_market_info_compact_form() -> None:
    info = decode_rest(
        b'{"c": "0xabc", "t": [{"t": "111", "o": "Yes"}, {"t": "222", "o": "No"}], "mts": 0.01,'
        b' "nr": true, "fd": {"r": 0.05, "e": 1, "to": true}, "mbf": 0, "tbf": 0, "r": null,'
        b' "ao": true, "mos": 5, "sd": 0, "gst": "2026-05-08T20:00:00Z", "cbos": false,'
        b' "aot": "2026-04-01T18:22:59Z", "rfqe": false, "itode": false, "ibce": false}',
        ClobMarketInfo,
    )
    assert [t.t for t in info.t] == ["111", "222"] and info.t[0].o == "Yes"
    assert info.mts == Decimal("0.01") and info.nr is True and info.mos == Decimal(5)
    assert info.fd is not None and (info.fd.r, info.fd.e, info.fd.to) == (
        Decimal("0.05"),
        Decimal(1),
        True,
    )
    minimal = decode_rest(b'{"t": [{"t": "111"}], "mts": "0.001"}', ClobMarketInfo)
    assert minimal.nr is False and minimal.fd is None and minimal.mts == Decimal("0.001")


def test_simplified_market_page_is_last() -> None:
    page = decode_rest(
        b'{"limit": 100, "count": 1, "next_cursor": "LTE=", "data": [{"condition_id": "0x1",'
        b' "tokens": [{"token_id": "1", "outcome": "Yes", "price": 0.48, "winner": false}],'
        b' "rewards": {"rates": null, "min_size": 0, "max_spread": 0}, "active": true,'
        b' "closed": false, "archived": false, "accepting_orders": true}]}',
        CursorPage[SimplifiedMarket],
    )
    assert page.is_last and page.next_cursor == END_CURSOR
    assert page.data[0].tokens[0].price == Decimal("0.48")
    assert not decode_rest(b'{"next_cursor": "", "data": []}', CursorPage[SimplifiedMarket]).is_last


def test_order_responses() -> None:
    live = decode_rest(
        b'{"success": true, "errorMsg": "", "orderID": "0x9a5c", "status": "live",'
        b' "makingAmount": "", "takingAmount": "", "transactionsHashes": [], "tradeIDs": []}',
        OrderResponse,
    )
    assert live.accepted and live.makingAmount == "" and live.tradeIDs == ()
    matched = decode_rest(
        b'{"success": true, "errorMsg": "", "orderID": "0x9a5c", "status": "matched",'
        b' "makingAmount": "100000000", "takingAmount": "200000000",'
        b' "transactionsHashes": ["0x1234"], "tradeIDs": ["0c357886"]}',
        OrderResponse,
    )
    assert matched.accepted and matched.tradeIDs == ("0c357886",)
    rejected = decode_rest(
        b'{"success": false, "orderID": null, "errorMsg": "Insufficient balance"}', OrderResponse
    )
    assert not rejected.accepted and rejected.orderID is None
    post_only = decode_rest(
        b'[{"success": true, "errorMsg": "post-only mode", "orderID": "", "status": ""}]',
        list[OrderResponse],
    )
    assert not post_only[0].accepted
    unmatched = decode_rest(
        b'{"success": true, "orderID": "0x1", "status": "unmatched"}', OrderResponse
    )
    assert not unmatched.accepted


def test_cancel_response() -> None:
    resp = decode_rest(
        b'{"canceled": ["0xabc"], "not_canceled": {"0xdef": "already canceled or matched"}}',
        CancelResponse,
    )
    assert resp.canceled == ("0xabc",)
    assert resp.not_canceled == {"0xdef": "already canceled or matched"}
    empty = decode_rest(b'{"canceled": null, "not_canceled": {}}', CancelResponse)
    assert empty.canceled is None and empty.not_canceled == {}


OPEN_ORDER = {
    "id": "0x9a5c03e1e68d332686aba0ff15be80abccd917f28873c37304487b6ca6578471",
    "status": "LIVE",
    "owner": "f4f247b7-4ac7-ff29-a152-04fda0a8755a",
    "maker_address": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "market": "0xdd22",
    "asset_id": "2174",
    "side": "BUY",
    "original_size": "100",
    "size_matched": "25",
    "price": "0.5",
    "outcome": "Yes",
    "expiration": "0",
    "order_type": "GTC",
    "associate_trades": ["0c357886-b9d3-44bb-9aa9-72d8abc90e6e"],
    "created_at": 1700000000,
}


def test_open_orders_page_with_prefixed_statuses() -> None:
    rows = [
        OPEN_ORDER,
        dict(OPEN_ORDER, status="ORDER_STATUS_LIVE", side="sell", created_at="1700000001"),
        dict(OPEN_ORDER, status="ORDER_STATUS_CANCELED_MARKET_RESOLVED"),
    ]
    page = decode_rest(
        json.dumps({"limit": 100, "count": 3, "next_cursor": "LTE=", "data": rows}),
        CursorPage[OpenOrder],
    )
    assert [o.status for o in page.data] == [
        OrderStatus.LIVE,
        OrderStatus.LIVE,
        OrderStatus.CANCELED_MARKET_RESOLVED,
    ]
    assert page.data[1].side is Side.SELL and page.data[1].created_at == 1700000001
    update = order_update(page.data[0])
    assert update.remaining_size == Decimal(75) and update.created_at_s == 1700000000
    assert update.event_type is None and update.timestamp_ms is None
    assert update.associate_trades == ("0c357886-b9d3-44bb-9aa9-72d8abc90e6e",)
    single = decode_rest(json.dumps(OPEN_ORDER), OpenOrder)
    assert single == page.data[0]


def test_rest_trades_with_prefixed_status() -> None:
    src = json.loads((REPO_FIXTURES / "ws_messages" / "trades.json").read_bytes())
    rows = [src, dict(src, status="TRADE_STATUS_MINED")]
    page = decode_rest(json.dumps({"next_cursor": "LTE=", "data": rows}), CursorPage[Trade])
    assert [t.status for t in page.data] == [TradeStatus.CONFIRMED, TradeStatus.MINED]
    listed = decode_rest(json.dumps(rows), list[Trade])
    assert listed == list(page.data)
    assert trade_update(listed[1]).status is TradeStatus.MINED


def test_balance_allowance_v2_and_v1() -> None:
    v2 = decode_rest(
        b'{"balance": "1000000000", "allowances": {"0xE111": "1157920892373161954235709850086879'
        b'07853269984665640564039457584007913129639935"}}',
        BalanceAllowance,
    )
    assert v2.balance == "1000000000" and v2.allowances is not None
    assert int(v2.allowances["0xE111"]) == 2**256 - 1
    v1 = decode_rest(b'{"balance": 5, "allowance": "7"}', BalanceAllowance)
    assert (v1.balance, v1.allowance, v1.allowances) == (5, "7", None)


def test_auth_heartbeat_and_error_shapes() -> None:
    creds = decode_rest(
        b'{"apiKey": "550e8400-e29b-41d4-a716-446655440000", "secret": "AAAA=", "passphrase": "p"}',
        ApiCreds,
    )
    assert (creds.apiKey, creds.secret, creds.passphrase) == (
        "550e8400-e29b-41d4-a716-446655440000",
        "AAAA=",
        "p",
    )
    assert decode_rest(b'{"apiKeys": ["a", "b"]}', ApiKeysResponse).apiKeys == ("a", "b")
    assert decode_rest(b'{"heartbeat_id": "hb-1"}', HeartbeatResponse).heartbeat_id == "hb-1"
    err = decode_rest(
        b'{"error": "post-only mode: only post-only orders and cancels are allowed",'
        b' "code": "post_only_mode", "retry_after_seconds": 79}',
        ErrorResponse,
    )
    assert err.code == "post_only_mode" and err.retry_after_seconds == 79
    plain = decode_rest(b'{"error": "Unauthorized/Invalid api key"}', ErrorResponse)
    assert plain.code is None and plain.retry_after_seconds is None


@pytest.mark.parametrize(
    ("data", "tp"),
    [
        (b"", PriceResponse),
        (b"<html>502</html>", PriceResponse),
        (b'{"price": 0.45}', PriceResponse),  # numbers are strings on the CLOB
        (b"[]", Market),
        (b'{"success": "yes"}', OrderResponse),
        (b'{"data": [{"status": 5}]}', CursorPage[OpenOrder]),
        (b'[{"status": "LIVE"}]', list[Trade]),
        (b'{"minimum_tick_size": "abc"}', TickSizeResponse),
    ],
)
def test_bad_rest_bodies_raise_decode_error(data: bytes, tp: Any) -> None:
    with pytest.raises(DecodeError):
        decode_rest(data, tp)
