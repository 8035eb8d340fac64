"""Market-channel decoding: golden fixtures field by field, variants, framing, mapping to core."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polymarket_bot.core.events import (
    BestBidAsk,
    BookSnapshot,
    LastTrade,
    MarketResolved,
    NewMarket,
    PriceChange,
    TickSizeChange,
)
from polymarket_bot.core.types import Side
from polymarket_bot.protocol.codec import MarketDecoder, is_control_frame
from polymarket_bot.protocol.errors import DecodeError
from polymarket_bot.protocol.mapping import market_event_to_core
from polymarket_bot.protocol.wire import (
    BestBidAskEvent,
    BookEvent,
    LastTradePriceEvent,
    MarketResolvedEvent,
    NewMarketEvent,
    PriceChangeEvent,
    TickSizeChangeEvent,
)

WS = Path(__file__).resolve().parents[1] / "fixtures" / "polymarket" / "ws_messages"
MARKET = "0xdd22472e552920b8438158ea7238bfadfa4f736aa4cee91a6b86c39ead110917"
NO_TOKEN = "48331043336612883890938759509493159234755048973500640148014422747788308965732"
YES_TOKEN = "21742633143463906290569050155826241533067272736897614950488156847949938836455"


def fixture(name: str) -> bytes:
    return (WS / name).read_bytes()


def decode_one(data: bytes | str, decoder: MarketDecoder | None = None) -> Any:
    events = (decoder or MarketDecoder()).decode(data)
    assert len(events) == 1
    return events[0]


# --- golden fixtures --------------------------------------------------------------------------


def test_book_fixture_every_field() -> None:
    raw = json.loads(fixture("book.json"))
    decoder = MarketDecoder()
    ev = decode_one(fixture("book.json"), decoder)
    assert isinstance(ev, BookEvent)
    assert decoder.lenient_frames == 0  # the real payload takes the fast path
    assert ev.asset_id == NO_TOKEN
    assert ev.market == MARKET
    assert ev.timestamp == "1728799418260"
    assert ev.hash == "655a38d4977427b086c25b985993691b753ed166"
    assert (ev.min_order_size, ev.tick_size, ev.neg_risk, ev.last_trade_price) == (None,) * 4
    assert len(ev.bids) == 76 and len(ev.asks) == 86
    # every level, in venue order (best LAST), against the stdlib parse of the same file
    assert [(lv.price, lv.size) for lv in ev.bids] == [(b["price"], b["size"]) for b in raw["bids"]]
    assert [(lv.price, lv.size) for lv in ev.asks] == [(a["price"], a["size"]) for a in raw["asks"]]
    assert (ev.bids[0].price, ev.bids[0].size) == ("0.001", "9000023.58")
    assert (ev.bids[-1].price, ev.bids[-1].size) == ("0.511", "1304.72")
    assert (ev.asks[0].price, ev.asks[0].size) == ("0.999", "10500100")
    assert (ev.asks[-1].price, ev.asks[-1].size) == ("0.514", "20230.87")


def test_book_fixture_maps_best_first() -> None:
    snap = market_event_to_core(decode_one(fixture("book.json")))
    assert isinstance(snap, BookSnapshot)
    assert snap.best_bid == Decimal("0.511") and snap.best_ask == Decimal("0.514")
    assert snap.bids[0] == (Decimal("0.511"), Decimal("1304.72"))
    assert snap.bids[-1] == (Decimal("0.001"), Decimal("9000023.58"))
    assert snap.asks[0] == (Decimal("0.514"), Decimal("20230.87"))
    assert snap.asks[-1] == (Decimal("0.999"), Decimal("10500100"))
    assert all(a[0] > b[0] for a, b in zip(snap.bids, snap.bids[1:], strict=False))
    assert all(a[0] < b[0] for a, b in zip(snap.asks, snap.asks[1:], strict=False))
    assert len(snap.bids) == 76 and len(snap.asks) == 86
    assert snap.timestamp_ms == 1728799418260
    assert snap.hash == "655a38d4977427b086c25b985993691b753ed166"
    assert (snap.asset_id, snap.market) == (NO_TOKEN, MARKET)


def test_price_change_current_form_fixture() -> None:
    ev = decode_one(fixture("price_change_v2.json"))
    assert isinstance(ev, PriceChangeEvent)
    assert ev.market == "0x5f65177b394277fd294cd75650044e32ba009a95022d88a0c1d565897d72f8f1"
    assert ev.timestamp == "1729084877448"
    asset = "52114319501245915516055106046884209969926127482827954674443846427813813222426"
    expected = [
        ("0.6", "3300", "bf32b3746fff40c76c98021b7f3f07261169dd26"),
        ("0.5", "3400", "af32b3746fff40c76c98021b7f3f07261169dd27"),
        ("0.7", "3400", "cf32b3746fff40c76c98021b7f3f07261169dd28"),
    ]
    assert len(ev.price_changes) == 3
    for entry, (price, size, hash_) in zip(ev.price_changes, expected, strict=True):
        assert entry.asset_id == asset
        assert (entry.price, entry.size, entry.hash) == (price, size, hash_)
        assert entry.side is Side.BUY
        assert (entry.best_bid, entry.best_ask) == ("0.6", "0.7")

    core = market_event_to_core(ev)
    assert isinstance(core, PriceChange)
    assert core.timestamp_ms == 1729084877448
    assert [c.price for c in core.changes] == [Decimal("0.6"), Decimal("0.5"), Decimal("0.7")]
    assert [c.size for c in core.changes] == [Decimal(3300), Decimal(3400), Decimal(3400)]
    assert all(c.best_bid == Decimal("0.6") and c.best_ask == Decimal("0.7") for c in core.changes)
    assert all(c.market == ev.market and c.timestamp_ms == core.timestamp_ms for c in core.changes)


def test_price_change_legacy_flat_fixture() -> None:
    decoder = MarketDecoder()
    ev = decode_one(fixture("price_change.json"), decoder)
    assert isinstance(ev, PriceChangeEvent)
    assert decoder.lenient_frames == 1
    assert ev.market == MARKET
    assert ev.timestamp == "1723967931411"
    (entry,) = ev.price_changes
    assert entry.asset_id == NO_TOKEN
    assert (entry.price, entry.size, entry.side) == ("0.514", "21574.08", Side.SELL)
    assert entry.hash == "bf32b3746fff40c76c98021b7f3f07261169dd26"
    assert (entry.best_bid, entry.best_ask) == (None, None)
    core = market_event_to_core(ev)
    assert isinstance(core, PriceChange)
    (change,) = core.changes
    assert (change.side, change.price, change.size) == (
        Side.SELL,
        Decimal("0.514"),
        Decimal("21574.08"),
    )
    assert change.best_bid is None and change.timestamp_ms == 1723967931411


def test_last_trade_price_fixture() -> None:
    ev = decode_one(fixture("last_trade_price.json"))
    assert isinstance(ev, LastTradePriceEvent)
    assert (ev.asset_id, ev.market) == (YES_TOKEN, MARKET)
    assert (ev.price, ev.size, ev.side, ev.fee_rate_bps) == ("0.491", "85.36", Side.SELL, "0")
    assert ev.timestamp == "1724564136087"
    assert ev.transaction_hash is None
    core = market_event_to_core(ev)
    assert core == LastTrade(
        asset_id=YES_TOKEN,
        market=MARKET,
        price=Decimal("0.491"),
        size=Decimal("85.36"),
        side=Side.SELL,
        fee_rate_bps=Decimal(0),
        timestamp_ms=1724564136087,
        transaction_hash=None,
    )


def test_tick_size_change_fixture() -> None:
    ev = decode_one(fixture("tick_size_change.json"))
    assert isinstance(ev, TickSizeChangeEvent)
    assert ev.asset_id == (
        "115474063863764126958837769719736461272619491980773624567012766320777398670353"
    )
    assert ev.market == "0xbacdf04bf7f22a670dc4fb408878ec56b76f9934599829455b9371693ba84b8b"
    assert (ev.old_tick_size, ev.new_tick_size, ev.timestamp) == ("0.01", "0.001", "1739068041853")
    core = market_event_to_core(ev)
    assert isinstance(core, TickSizeChange)
    assert (core.old_tick_size, core.new_tick_size) == (Decimal("0.01"), Decimal("0.001"))
    assert core.timestamp_ms == 1739068041853


# --- spec examples for the custom-feature events (ref §7.5) ------------------------------------

BEST_BID_ASK = (
    b'{"event_type": "best_bid_ask", "market": "0x0005c0d312de0be897668695bae9f32b624b4a1ae8b140c4'
    b'9f08447fcc74f442", "asset_id": "853549560624304653159241168601253885385954338195745427520316'
    b'40332592237464430", "best_bid": "0.73", "best_ask": "0.77", "spread": "0.04", '
    b'"timestamp": "1766789469958"}'
)


def test_best_bid_ask() -> None:
    ev = decode_one(BEST_BID_ASK)
    assert isinstance(ev, BestBidAskEvent)
    assert (ev.best_bid, ev.best_ask, ev.spread, ev.timestamp) == (
        "0.73",
        "0.77",
        "0.04",
        "1766789469958",
    )
    core = market_event_to_core(ev)
    assert isinstance(core, BestBidAsk)
    assert (core.best_bid, core.best_ask, core.spread) == (
        Decimal("0.73"),
        Decimal("0.77"),
        Decimal("0.04"),
    )


NEW_MARKET: dict[str, Any] = {
    "event_type": "new_market",
    "id": "1031769",
    "question": "Will NVIDIA (NVDA) close above $240 end of January?",
    "market": "0x311d0c4b6671ab54af4970c06fcf58662516f5168997bdda209ec3db5aa6b0c1",
    "slug": "nvda-above-240-on-january-30-2026",
    "description": "...",
    "assets_ids": ["7604", "3169"],
    "outcomes": ["Yes", "No"],
    "event_message": {
        "id": "125819",
        "ticker": "nvda",
        "slug": "nvda",
        "title": "T",
        "description": "",
    },
    "timestamp": "1766790415550",
    "tags": ["stocks"],
    "condition_id": "0x311d0c4b6671ab54af4970c06fcf58662516f5168997bdda209ec3db5aa6b0c1",
    "active": True,
    "clob_token_ids": ["7604", "3169"],
    "sports_market_type": "",
    "line": "",
    "game_start_time": "",
    "order_price_min_tick_size": "0.01",
    "group_item_title": "NVDA above $240",
    "fees_enabled": True,
}


def test_new_market() -> None:
    ev = decode_one(json.dumps(NEW_MARKET).encode())
    assert isinstance(ev, NewMarketEvent)
    assert (ev.id, ev.market, ev.slug) == ("1031769", NEW_MARKET["market"], NEW_MARKET["slug"])
    assert ev.assets_ids == ("7604", "3169") and ev.outcomes == ("Yes", "No")
    assert ev.event_message is not None and ev.event_message.ticker == "nvda"
    assert ev.order_price_min_tick_size == "0.01" and ev.active is True
    assert ev.tags == ("stocks",) and ev.group_item_title == "NVDA above $240"
    core = market_event_to_core(ev)
    assert isinstance(core, NewMarket)
    assert core.asset_ids == ("7604", "3169") and core.tick_size == Decimal("0.01")
    assert core.timestamp_ms == 1766790415550


def test_market_resolved_with_alias_keys() -> None:
    frame = {
        "event_type": "market_resolved",
        "id": "1031769",
        "market": "0x311d",
        "asset_ids": ["7604", "3169"],  # alias of assets_ids (UNI accepts it)
        "winning_asset_id": "7604",
        "winning_outcome": "Yes",
        "timestamp": "1766790415550",
        "tags": ["stocks"],
    }
    ev = decode_one(json.dumps(frame))
    assert isinstance(ev, MarketResolvedEvent)
    assert ev.assets_ids == ("7604", "3169")
    core = market_event_to_core(ev)
    assert core == MarketResolved(
        market="0x311d",
        id="1031769",
        asset_ids=("7604", "3169"),
        winning_asset_id="7604",
        winning_outcome="Yes",
        timestamp_ms=1766790415550,
    )


# --- variants and framing ---------------------------------------------------------------------


def test_price_change_legacy_changes_array() -> None:
    frame = {
        "event_type": "price_change",
        "asset_id": "123",
        "market": "0xabc",
        "hash": "h0",
        "timestamp": "1700000000000",
        "changes": [
            {"price": "0.4", "side": "buy", "size": "10"},
            {"price": "0.6", "side": "SELL", "size": "0", "hash": "h1"},
        ],
    }
    ev = decode_one(json.dumps(frame))
    assert isinstance(ev, PriceChangeEvent)
    first, second = ev.price_changes
    assert (first.asset_id, first.price, first.side, first.size, first.hash) == (
        "123",
        "0.4",
        Side.BUY,
        "10",
        "h0",
    )
    assert (second.asset_id, second.side, second.size, second.hash) == ("123", Side.SELL, "0", "h1")


def test_array_frame_of_books_and_lowercase_sides() -> None:
    book = json.loads(fixture("book.json"))
    other = dict(book, asset_id="1", bids=[], asks=[{"price": "0.5", "size": "1"}])
    pc = {
        "event_type": "price_change",
        "market": "m",
        "timestamp": "1",
        "price_changes": [{"token_id": "9", "price": ".48", "size": "2", "side": "sell"}],
    }
    events = MarketDecoder().decode(json.dumps([book, other, pc]))
    assert [type(e) for e in events] == [BookEvent, BookEvent, PriceChangeEvent]
    second, third = events[1], events[2]
    assert isinstance(second, BookEvent) and isinstance(third, PriceChangeEvent)
    assert second.asset_id == "1" and second.bids == ()
    entry = third.price_changes[0]
    assert (entry.asset_id, entry.side, entry.price) == ("9", Side.SELL, ".48")
    core = market_event_to_core(third)
    assert isinstance(core, PriceChange) and core.changes[0].price == Decimal("0.48")


def test_unknown_event_types_are_skipped_and_counted() -> None:
    decoder = MarketDecoder()
    frame = [
        {"event_type": "shiny_new_thing", "x": 1},
        json.loads(fixture("last_trade_price.json")),
        {"no_event_type": True},
        {"event_type": "shiny_new_thing"},
    ]
    events = decoder.decode(json.dumps(frame))
    assert [type(e) for e in events] == [LastTradePriceEvent]
    assert decoder.unknown_events == 3
    assert decoder.unknown_types == {"shiny_new_thing": 2, "<missing>": 1}
    assert decoder.decode(b'{"event_type": "order", "id": "x"}') == []  # user event on market WS
    assert decoder.unknown_events == 4


def test_unknown_type_memory_is_bounded() -> None:
    decoder = MarketDecoder()
    for i in range(200):
        decoder.decode(json.dumps({"event_type": f"t{i}"}))
    assert decoder.unknown_events == 200
    assert len(decoder.unknown_types) == 65 and decoder.unknown_types["<other>"] == 136


@pytest.mark.parametrize("frame", [b"PONG", "PONG", b"NO NEW ASSETS", b"PONG\n"])
def test_control_frames(frame: bytes | str) -> None:
    decoder = MarketDecoder()
    assert is_control_frame(frame)
    assert decoder.decode(frame) == []
    assert decoder.control_frames == 1 and decoder.frames == 1


def test_not_control_frames() -> None:
    assert not is_control_frame(b"PING")
    assert not is_control_frame(b"[]")
    assert MarketDecoder().decode(b"[]") == []


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"PONGX",
        b"{",
        b"[1, 2]",
        b'"book"',
        b'[{"event_type": "book"}]',  # required fields missing
        b'{"event_type": "book", "asset_id": 1, "market": "m", "bids": [], "asks": [], '
        b'"timestamp": "1"}',
        b'{"event_type": "price_change", "market": "m", "timestamp": "1", '
        b'"price_changes": [{"asset_id": "1", "price": "0.5", "size": "1", "side": "HOLD"}]}',
        b'{"event_type": "price_change", "market": "m", "timestamp": "1"}',
        b"[" * 5000 + b"]" * 5000,
    ],
)
def test_malformed_frames_raise_decode_error(frame: bytes) -> None:
    with pytest.raises(DecodeError):
        MarketDecoder().decode(frame)


def test_mapping_rejects_bad_numbers_with_decode_error() -> None:
    frame = json.loads(fixture("book.json"))
    frame["bids"][0]["price"] = "NaN"
    with pytest.raises(DecodeError, match="price"):
        market_event_to_core(decode_one(json.dumps(frame)))
    frame["bids"][0]["price"] = "-0.1"
    with pytest.raises(DecodeError, match="negative"):
        market_event_to_core(decode_one(json.dumps(frame)))
    frame = json.loads(fixture("last_trade_price.json"))
    frame["timestamp"] = "12:00"
    with pytest.raises(DecodeError, match="timestamp"):
        market_event_to_core(decode_one(json.dumps(frame)))


def test_book_snapshot_sorts_any_input_order_and_drops_empty_levels() -> None:
    frame = {
        "event_type": "book",
        "asset_id": "1",
        "market": "m",
        "timestamp": "1700000000000",
        "bids": [
            {"price": "0.30", "size": "1"},
            {"price": "0.5", "size": "2"},
            {"price": "0.4", "size": "0"},
        ],
        "asks": [{"price": "0.6", "size": "3"}, {"price": "0.9", "size": "4"}],
        "tick_size": "0.01",
        "min_order_size": "5",
        "neg_risk": False,
        "last_trade_price": "",
    }
    snap = market_event_to_core(decode_one(json.dumps(frame)))
    assert isinstance(snap, BookSnapshot)
    assert snap.bids == ((Decimal("0.5"), Decimal(2)), (Decimal("0.30"), Decimal(1)))
    assert snap.asks == ((Decimal("0.6"), Decimal(3)), (Decimal("0.9"), Decimal(4)))
    assert (snap.tick_size, snap.min_order_size, snap.neg_risk) == (
        Decimal("0.01"),
        Decimal(5),
        False,
    )
    assert snap.last_trade_price is None
