"""User-channel decoding: golden order/trade fixtures field by field, status spellings, units."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polymarket_bot.core.events import (
    MakerFill,
    OrderEventType,
    OrderStatus,
    OrderUpdate,
    TraderSide,
    TradeStatus,
    TradeUpdate,
)
from polymarket_bot.core.types import Side
from polymarket_bot.protocol.codec import UserDecoder, decode_rest
from polymarket_bot.protocol.errors import DecodeError
from polymarket_bot.protocol.mapping import epoch_ms, epoch_s, trade_update, user_event_to_core
from polymarket_bot.protocol.normalize import parse_order_status, parse_trade_status
from polymarket_bot.protocol.wire import MakerOrder, OrderEvent, Trade, TradeEvent

WS = Path(__file__).resolve().parents[1] / "fixtures" / "polymarket" / "ws_messages"
MARKET = "0xdd22472e552920b8438158ea7238bfadfa4f736aa4cee91a6b86c39ead110917"
YES = "21742633143463906290569050155826241533067272736897614950488156847949938836455"
NO = "48331043336612883890938759509493159234755048973500640148014422747788308965732"
OUR_OWNER = "3e2c94ca-8124-c4c1-c7ea-be1ea21b71fe"
OUR_ADDRESS = "0xa3D82Ed56F4c68d2328Fb8c29e568Ba2cAF7d7c8"


def fixture(name: str) -> bytes:
    return (WS / name).read_bytes()


def decode_one(data: bytes | str, decoder: UserDecoder | None = None) -> Any:
    events = (decoder or UserDecoder()).decode(data)
    assert len(events) == 1
    return events[0]


def with_changes(name: str, **changes: Any) -> str:
    obj = json.loads(fixture(name))
    obj.update(changes)
    return json.dumps(obj)


# --- orders -----------------------------------------------------------------------------------


def test_order_placement_fixture() -> None:
    decoder = UserDecoder()
    ev = decode_one(fixture("order_placement.json"), decoder)
    assert isinstance(ev, OrderEvent) and decoder.lenient_frames == 0
    assert ev.id == "0x0f76f4dc6eaf3332f4100f2e8a0b4a927351dd64646b7bb12f37df775c657a78"
    assert ev.type is OrderEventType.PLACEMENT and ev.status is OrderStatus.LIVE
    assert ev.status_reason == ""
    assert (ev.owner, ev.order_owner, ev.maker_address) == (OUR_OWNER, OUR_OWNER, OUR_ADDRESS)
    assert (ev.market, ev.asset_id, ev.side) == (MARKET, YES, Side.BUY)
    assert (ev.price, ev.original_size, ev.size_matched) == ("0.513", "5", "0")
    assert (ev.outcome, ev.order_type, ev.expiration) == ("Yes", "GTC", "0")
    assert ev.associate_trades is None
    assert (ev.created_at, ev.timestamp) == ("1725842520", "1725842520990")

    core = user_event_to_core(ev)
    assert core == OrderUpdate(
        order_id=ev.id,
        status=OrderStatus.LIVE,
        event_type=OrderEventType.PLACEMENT,
        market=MARKET,
        asset_id=YES,
        side=Side.BUY,
        price=Decimal("0.513"),
        original_size=Decimal(5),
        size_matched=Decimal(0),
        outcome="Yes",
        owner=OUR_OWNER,
        maker_address=OUR_ADDRESS,
        order_type="GTC",
        expiration_s=None,
        created_at_s=1725842520,
        timestamp_ms=1725842520990,
        associate_trades=(),
        status_reason="",
    )
    assert core.remaining_size == Decimal(5)


def test_order_cancel_fixture() -> None:
    ev = decode_one(fixture("order_cancel.json"))
    assert isinstance(ev, OrderEvent)
    assert ev.id == "0xc6e99c14f1c7cae9e0538eb2d45a4d8b93ffd743e850edd1502a8c85700be5d3"
    assert ev.type is OrderEventType.CANCELLATION and ev.status is OrderStatus.CANCELED
    assert (ev.side, ev.price, ev.original_size, ev.size_matched) == (Side.SELL, "0.513", "5", "5")
    assert (ev.owner, ev.order_owner, ev.maker_address) == (OUR_OWNER, OUR_OWNER, OUR_ADDRESS)
    assert (ev.market, ev.asset_id, ev.outcome, ev.order_type) == (MARKET, YES, "Yes", "GTC")
    assert (ev.created_at, ev.timestamp, ev.expiration) == ("1725841741", "1725841743272", "0")
    core = user_event_to_core(ev)
    assert isinstance(core, OrderUpdate)
    assert core.status is OrderStatus.CANCELED and core.status.is_terminal
    assert core.size_matched == Decimal(5) and core.remaining_size == 0
    assert (core.created_at_s, core.timestamp_ms) == (1725841741, 1725841743272)


@pytest.mark.parametrize(
    ("raw", "status", "reason"),
    [
        ("LIVE", OrderStatus.LIVE, ""),
        ("live", OrderStatus.LIVE, ""),
        ("ORDER_STATUS_LIVE", OrderStatus.LIVE, ""),
        ("ORDER_STATUS_CANCELED_MARKET_RESOLVED", OrderStatus.CANCELED_MARKET_RESOLVED, ""),
        (
            "CANCELED_order couldn't be fully filled. FOK orders are fully filled or killed.",
            OrderStatus.CANCELED,
            "order couldn't be fully filled. FOK orders are fully filled or killed.",
        ),
        ("CANCELED_MARKET_RESOLVED_late", OrderStatus.CANCELED_MARKET_RESOLVED, "late"),
        ("CANCELED_NOT_ENOUGH_BALANCE", OrderStatus.CANCELED, "NOT_ENOUGH_BALANCE"),
        ("INVALID", OrderStatus.INVALID, ""),
        ("DELAYED", OrderStatus.DELAYED, ""),
        ("UNMATCHED", OrderStatus.UNMATCHED, ""),
        ("SOMETHING_NEW", OrderStatus.UNKNOWN, "SOMETHING_NEW"),
    ],
)
def test_order_status_spellings(raw: str, status: OrderStatus, reason: str) -> None:
    assert parse_order_status(raw) == (status, reason)
    ev = decode_one(with_changes("order_cancel.json", status=raw))
    assert (ev.status, ev.status_reason) == (status, reason)
    core = user_event_to_core(ev)
    assert (core.status, core.status_reason) == (status, reason)


def test_fok_kill_with_empty_fields_and_lowercase_type() -> None:
    frame = with_changes(
        "order_cancel.json",
        type="cancellation",
        side="sell",
        status="CANCELED_order couldn't be fully filled. FOK orders are fully filled or killed.",
        size_matched="",
        created_at="",
        order_type="FOK",
    )
    ev = decode_one(frame)
    assert ev.type is OrderEventType.CANCELLATION and ev.side is Side.SELL
    core = user_event_to_core(ev)
    assert isinstance(core, OrderUpdate)
    assert core.size_matched == 0 and core.created_at_s is None
    assert core.status is OrderStatus.CANCELED
    assert core.status_reason.startswith("order couldn't be fully filled")


def test_order_update_type_and_missing_status() -> None:
    obj = json.loads(fixture("order_placement.json"))
    del obj["status"]
    obj.update(type="UPDATE", size_matched="2", associate_trades=["t-1"])
    ev = decode_one(json.dumps(obj))
    assert ev.type is OrderEventType.UPDATE and ev.status is None
    core = user_event_to_core(ev)
    assert isinstance(core, OrderUpdate)
    assert core.associate_trades == ("t-1",) and core.remaining_size == Decimal(3)
    assert decode_one(with_changes("order_placement.json", type="REPLACEMENT")).type is (
        OrderEventType.UNKNOWN
    )


# --- trades -----------------------------------------------------------------------------------


def check_leg(leg: MakerOrder, raw: dict[str, Any]) -> None:
    assert leg.order_id == raw["order_id"]
    assert leg.owner == raw["owner"]
    assert leg.maker_address == raw["maker_address"]
    assert leg.matched_amount == raw["matched_amount"]
    assert leg.price == raw["price"]
    assert leg.fee_rate_bps == raw["fee_rate_bps"]
    assert leg.asset_id == raw["asset_id"]
    assert leg.outcome == raw["outcome"]
    assert leg.side == (Side(raw["side"]) if "side" in raw else None)


def check_trade(ev: Trade | TradeEvent, raw: dict[str, Any]) -> None:
    """Every key of the fixture against the decoded struct."""
    assert ev.id == raw["id"]
    assert ev.taker_order_id == raw["taker_order_id"]
    assert (ev.market, ev.asset_id) == (raw["market"], raw["asset_id"])
    assert ev.side is Side(raw["side"])
    assert (ev.size, ev.price, ev.fee_rate_bps) == (raw["size"], raw["price"], raw["fee_rate_bps"])
    assert ev.status is TradeStatus(raw["status"])
    assert (ev.match_time, ev.last_update) == (raw["match_time"], raw["last_update"])
    assert (ev.outcome, ev.bucket_index) == (raw["outcome"], raw["bucket_index"])
    assert (ev.owner, ev.maker_address) == (raw["owner"], raw["maker_address"])
    assert ev.transaction_hash == raw["transaction_hash"]
    assert ev.trader_side is TraderSide(raw["trader_side"])
    assert len(ev.maker_orders) == len(raw["maker_orders"])
    for leg, raw_leg in zip(ev.maker_orders, raw["maker_orders"], strict=True):
        check_leg(leg, raw_leg)
    if isinstance(ev, TradeEvent):
        assert (ev.type, ev.trade_owner, ev.timestamp) == (
            raw["type"],
            raw["trade_owner"],
            raw["timestamp"],
        )


@pytest.mark.parametrize(
    "name", ["user_trade1.json", "user_trade2.json", "user_trade3.json", "user_trade4.json"]
)
def test_user_trade_fixtures_every_field(name: str) -> None:
    decoder = UserDecoder()
    ev = decode_one(fixture(name), decoder)
    assert isinstance(ev, TradeEvent) and decoder.lenient_frames == 0
    check_trade(ev, json.loads(fixture(name)))


def test_user_trade1_explicit_values_and_mapping() -> None:
    ev = decode_one(fixture("user_trade1.json"))
    assert ev.id == "83b5c849-620e-4c23-b63b-2e779c04a6e7"
    assert (ev.status, ev.trader_side) == (TradeStatus.MINED, TraderSide.MAKER)
    assert (ev.side, ev.price, ev.size) == (Side.BUY, "0.518", "1096.87")
    assert len(ev.maker_orders) == 6
    assert ev.maker_orders[0].asset_id == NO and ev.maker_orders[0].outcome == "No"
    ours = [leg for leg in ev.maker_orders if leg.owner == OUR_OWNER]
    assert [(leg.order_id[:8], leg.matched_amount) for leg in ours] == [("0xab679e", "5")]

    core = user_event_to_core(ev)
    assert isinstance(core, TradeUpdate)
    assert core.match_time_s == 1725868859 and core.last_update_s == 1725868885
    assert core.timestamp_ms == 1725868885871
    assert core.size == Decimal("1096.87") and core.price == Decimal("0.518")
    assert sum(f.matched_amount for f in core.maker_fills) == Decimal("1096.87")
    assert core.maker_fills[3] == MakerFill(
        order_id="0xab679e56242324e15e59cfd488cd0f12e4fd71b153b9bfb57518898b9983145e",
        owner=OUR_OWNER,
        maker_address=OUR_ADDRESS,
        matched_amount=Decimal(5),
        price=Decimal("0.518"),
        fee_rate_bps=Decimal(0),
        asset_id=YES,
        outcome="Yes",
        side=None,
    )


def test_user_trade3_seconds_timestamp_detected() -> None:
    ev = decode_one(fixture("user_trade3.json"))
    assert ev.timestamp == "1762776436"  # seconds on the wire
    core = user_event_to_core(ev)
    assert isinstance(core, TradeUpdate)
    assert core.timestamp_ms == 1762776436000
    assert core.match_time_s == 1762776367 and core.last_update_s == 1762776436
    assert core.status is TradeStatus.CONFIRMED and core.status.is_terminal
    assert core.maker_fills[0].side is Side.BUY and core.outcome == "No"


def test_user_trade4_three_maker_legs() -> None:
    core = user_event_to_core(decode_one(fixture("user_trade4.json")))
    assert isinstance(core, TradeUpdate)
    assert core.side is Side.SELL and core.size == Decimal(15)
    assert [f.price for f in core.maker_fills] == [Decimal("0.4"), Decimal("0.35"), Decimal("0.3")]
    assert [f.side for f in core.maker_fills] == [Side.BUY] * 3


def test_rest_trade_fixture_without_event_type() -> None:
    """ws_messages/trades.json is the REST `/data/trades` row shape (no event_type)."""
    raw = json.loads(fixture("trades.json"))
    trade = decode_rest(fixture("trades.json"), Trade)
    check_trade(trade, raw)
    core = trade_update(trade)
    assert core.timestamp_ms is None and core.match_time_s == 1726043102
    assert core.maker_fills[0].matched_amount == Decimal(5)
    # On the user channel an object without `event_type` is unknown: skipped and counted.
    decoder = UserDecoder()
    assert decoder.decode(fixture("trades.json")) == []
    assert decoder.unknown_types == {"<missing>": 1}


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("TRADE_STATUS_CONFIRMED", TradeStatus.CONFIRMED),
        ("mined", TradeStatus.MINED),
        ("RETRYING", TradeStatus.RETRYING),
        ("FAILED", TradeStatus.FAILED),
        ("MATCHED_NOT_BROADCASTED", TradeStatus.MATCHED_NOT_BROADCASTED),
        ("TRADE_STATUS_WEIRD", TradeStatus.UNKNOWN),
    ],
)
def test_trade_status_spellings(raw: str, status: TradeStatus) -> None:
    assert parse_trade_status(raw)[0] is status
    ev = decode_one(with_changes("user_trade2.json", status=raw))
    assert ev.status is status
    assert ev.status_reason == ("" if status is not TradeStatus.UNKNOWN else raw)


def test_matchtime_spelling_and_lowercase_sides() -> None:
    obj = json.loads(fixture("user_trade3.json"))
    obj["matchtime"] = obj.pop("match_time")
    obj["side"] = "buy"
    obj["trader_side"] = "maker"
    obj["maker_orders"][0]["side"] = "sell"
    ev = decode_one(json.dumps(obj))
    assert ev.match_time == "1762776367"
    assert (ev.side, ev.trader_side, ev.maker_orders[0].side) == (
        Side.BUY,
        TraderSide.MAKER,
        Side.SELL,
    )
    del obj["matchtime"]
    assert decode_one(json.dumps(obj)).match_time == ""


def test_array_frame_mixes_orders_and_trades() -> None:
    frame = b"[" + fixture("order_placement.json") + b"," + fixture("user_trade2.json") + b"]"
    events = UserDecoder().decode(frame)
    assert [type(e) for e in events] == [OrderEvent, TradeEvent]


@pytest.mark.parametrize(
    "frame",
    [
        b"not json",
        b'{"event_type": "order"}',
        b'[{"event_type": "trade", "id": 5}]',
        b"[null]",
    ],
)
def test_malformed_user_frames(frame: bytes) -> None:
    with pytest.raises(DecodeError):
        UserDecoder().decode(frame)


def test_side_is_required_and_checked() -> None:
    with pytest.raises(DecodeError, match="order"):
        UserDecoder().decode(with_changes("order_placement.json", side="HOLD"))


def test_epoch_helpers() -> None:
    assert epoch_ms("1725958682125") == 1725958682125
    assert epoch_ms("1762776436") == 1762776436000
    assert epoch_ms("") is None
    assert epoch_s("0") is None and epoch_s("") is None
    assert epoch_s("1725841741") == 1725841741
    assert epoch_s("1725841741000") == 1725841741
    assert epoch_s(1700000000) == 1700000000
    for bad in ("1.5", "-1", "1e9", "²", "9" * 30):
        with pytest.raises(DecodeError):
            epoch_ms(bad)
