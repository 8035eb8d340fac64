"""L2 book: venue semantics, exact reads, desync detection, and a model-based property test."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polymarket_bot.core import book as book_mod
from polymarket_bot.core.book import (
    BookSet,
    DesyncReason,
    OrderBook,
    price_units,
    units_to_price,
)
from polymarket_bot.core.errors import InvalidValueError
from polymarket_bot.core.types import Side, TickSize

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "polymarket"
D = Decimal


def _load(rel: str) -> Any:
    return json.loads((FIXTURES / rel).read_text())


def _levels(raw: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(lv["price"], lv["size"]) for lv in raw]


def make_book(
    bids: list[tuple[str, str]],
    asks: list[tuple[str, str]],
    tick: TickSize = TickSize.T0_01,
) -> OrderBook:
    book = OrderBook("asset", tick, market="0xm")
    book.apply_snapshot(bids, asks, 1_000, "h0")
    return book


@dataclass(frozen=True)
class Change:
    """Stands in for a decoded `price_changes[]` entry (wire strings)."""

    asset_id: str
    price: str
    size: str
    side: str
    best_bid: str | None = None
    best_ask: str | None = None


# -- snapshots ---------------------------------------------------------------------------------


def test_rest_fixture_snapshot_top_and_round_trip() -> None:
    raw = _load("http_responses/book.json")
    book = OrderBook(raw["asset_id"], market=raw["market"])
    book.apply_snapshot(
        _levels(raw["bids"]), _levels(raw["asks"]), int(raw["timestamp"]), raw["hash"]
    )
    assert book.best_bid() == D("0.1") and book.best_bid_size() == D("125")
    assert book.best_ask() == D("0.14") and book.best_ask_size() == D("705")
    assert book.mid() == D("0.12")
    assert book.spread() == D("0.04")
    wire = book.to_wire()
    # the venue's own ordering and spelling come back: bids ascending, asks descending, strings
    assert wire["bids"] == raw["bids"]
    assert wire["asks"] == raw["asks"]
    assert wire["hash"] == raw["hash"]
    assert wire["timestamp"] == raw["timestamp"]
    assert wire["asset_id"] == raw["asset_id"] and wire["market"] == raw["market"]
    assert wire["tick_size"] == "0.01" and wire["last_trade_price"] == ""


def test_ws_fixture_snapshot_best_is_last_in_wire_order() -> None:
    raw = _load("ws_messages/book.json")
    book = OrderBook(raw["asset_id"], TickSize.T0_001)
    book.apply_snapshot(_levels(raw["bids"]), _levels(raw["asks"]), int(raw["timestamp"]))
    assert book.best_bid() == D(raw["bids"][-1]["price"])
    assert book.best_ask() == D(raw["asks"][-1]["price"])
    assert book.to_wire()["bids"] == raw["bids"]
    assert book.to_wire()["asks"] == raw["asks"]


def test_snapshot_order_does_not_matter_and_replaces_everything() -> None:
    bids = [("0.40", "10"), ("0.45", "5"), ("0.42", "7")]
    asks = [("0.60", "3"), ("0.55", "9")]
    book = make_book(bids, asks)
    shuffled = make_book(list(reversed(bids)), list(reversed(asks)))
    assert book.levels(Side.BUY) == shuffled.levels(Side.BUY)
    assert book.levels(Side.BUY) == [(D("0.45"), D(5)), (D("0.42"), D(7)), (D("0.4"), D(10))]
    assert book.levels(Side.SELL) == [(D("0.55"), D(9)), (D("0.6"), D(3))]
    book.apply_snapshot([("0.30", "1")], [], 2_000, "h1")
    assert book.levels(Side.BUY) == [(D("0.3"), D(1))]
    assert book.best_ask() is None and book.mid() is None and book.spread() is None
    assert book.snapshot_hash == "h1" and book.last_update_ms == 2_000


def test_snapshot_skips_zero_levels_and_accepts_decimals() -> None:
    book = make_book([("0.40", "0"), ("0.41", "0.00"), ("0.39", "0.5")], [])
    assert book.levels(Side.BUY) == [(D("0.39"), D("0.5"))]
    book.apply_snapshot([(D("0.2"), D("3.5")), (D("0.25"), D(0))], [(D("0.3"), D("1.25"))], 5)
    assert book.best_bid_level() == (D("0.2"), D("3.5"))
    assert book.best_ask_level() == (D("0.3"), D("1.25"))
    assert book.to_wire()["asks"] == [{"price": "0.3", "size": "1.25"}]


def test_bad_snapshot_leaves_book_unchanged() -> None:
    book = make_book([("0.40", "10")], [("0.60", "5")])
    with pytest.raises(InvalidValueError):
        book.apply_snapshot([("0.41", "1"), ("1.5", "1")], [], 9)
    with pytest.raises(InvalidValueError):
        book.apply_snapshot([("0.41", "-1")], [], 9)
    assert book.best_bid() == D("0.4") and book.best_ask() == D("0.6")
    assert book.last_update_ms == 1_000


# -- level updates -----------------------------------------------------------------------------


def test_level_updates_are_absolute_sizes_and_zero_removes() -> None:
    book = make_book([("0.48", "30"), ("0.49", "20")], [("0.52", "25"), ("0.51", "10")])
    book.apply_level(True, "0.49", "5", 1_001)  # absolute, not a delta
    assert book.best_bid_level() == (D("0.49"), D(5))
    book.apply_level(True, "0.50", "1.5", 1_002)  # new better level
    assert book.best_bid() == D("0.5")
    book.apply_level(True, "0.5", "0", 1_003)  # "0.5" and "0.50" are the same level
    assert book.best_bid() == D("0.49")
    book.apply_level(False, "0.51", "0.000", 1_004)  # zero in any spelling removes
    assert book.best_ask_level() == (D("0.52"), D(25))
    book.apply_level(False, "0.53", "0", 1_005)  # removing a missing level is a no-op
    assert book.level_count(Side.SELL) == 1
    assert book.update_count == 1 + 5 and book.last_update_ms == 1_005


def test_removing_the_best_recomputes_lazily_and_empties_cleanly() -> None:
    book = make_book([("0.1", "1"), ("0.2", "1"), ("0.3", "1")], [("0.7", "1"), ("0.8", "1")])
    book.apply_level(True, "0.3", "0", 1)
    book.apply_level(True, "0.25", "4", 2)  # insert while the best is stale: must not win blindly
    assert book.best_bid() == D("0.25")
    book.apply_level(True, "0.25", "0", 3)
    book.apply_level(True, "0.15", "4", 4)
    assert book.best_bid() == D("0.2")
    for p in ("0.2", "0.15", "0.1"):
        book.apply_level(True, p, "0", 5)
    assert book.best_bid() is None and book.best_bid_level() is None
    book.apply_level(False, "0.7", "0", 6)
    book.apply_level(False, "0.75", "2", 7)
    assert book.best_ask() == D("0.75")
    book.apply_level(True, "0.05", "2", 8)
    assert book.best_bid() == D("0.05")


def test_size_strings_are_kept_and_non_integer_sizes_work() -> None:
    book = make_book([("0.4", "10")], [])
    book.apply_level(True, "0.4", "0.25", 1)  # starts with 0 but is not zero
    book.apply_level(True, "0.41", ".5", 2)  # old docs spell numbers without a leading zero
    assert book.levels(Side.BUY) == [(D("0.41"), D("0.5")), (D("0.4"), D("0.25"))]
    assert book.to_wire()["bids"] == [
        {"price": "0.4", "size": "0.25"},
        {"price": "0.41", "size": ".5"},
    ]


@pytest.mark.parametrize("size", ["-1", "", "abc", "NaN", "-0.5"])
def test_invalid_sizes_raise(size: str) -> None:
    book = make_book([("0.4", "10")], [])
    with pytest.raises(InvalidValueError):
        book.apply_level(True, "0.4", size, 1)
    assert book.best_bid_level() == (D("0.4"), D(10))


@pytest.mark.parametrize("price", ["1.5", "-0.1", "0.00005", "x", "", "Infinity", "1e999999"])
def test_invalid_prices_raise(price: str) -> None:
    book = make_book([("0.4", "10")], [])
    with pytest.raises(InvalidValueError):
        book.apply_level(True, price, "1", 1)


def test_decimal_input_path_matches_string_path() -> None:
    a = make_book([("0.4", "10")], [("0.6", "10")])
    b = make_book([("0.4", "10")], [("0.6", "10")])
    steps = [(True, "0.45", "3"), (False, "0.55", "2.5"), (True, "0.45", "0"), (False, "0.6", "0")]
    for is_bid, p, s in steps:
        a.apply_level(is_bid, p, s, 1)
        b.apply_level_decimal(is_bid, D(p), D(s), 1)
    assert a.levels(Side.BUY) == b.levels(Side.BUY)
    assert a.levels(Side.SELL) == b.levels(Side.SELL)
    assert b.to_wire()["asks"] == [{"price": "0.55", "size": "2.5"}]
    for bad in (D(-1), D("NaN"), D("Infinity")):
        with pytest.raises(InvalidValueError):
            b.apply_level_decimal(True, D("0.4"), bad, 2)


def test_price_units_are_exact_for_every_tick() -> None:
    for tick in TickSize:
        d = tick.decimal
        for k in (1, 2, 3, 7):
            p = d * k
            assert units_to_price(price_units(str(p))) == p
    assert price_units("0.0025") == 25 and price_units("0.005") == 50
    assert str(units_to_price(5000)) == "0.5" and str(units_to_price(10)) == "0.001"


def test_price_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(book_mod, "_PRICE_CACHE", {})
    monkeypatch.setattr(book_mod, "_PRICE_CACHE_MAX", 3)
    spellings = ["0.5", "0.50", "0.500", "0.5000", "0.50000"]
    assert [price_units(s) for s in spellings] == [5000] * 5
    assert len(book_mod._PRICE_CACHE) <= 3


# -- reads -------------------------------------------------------------------------------------


def test_mid_spread_exact() -> None:
    book = make_book([("0.001", "1")], [("0.002", "1")], TickSize.T0_001)
    assert book.mid() == D("0.0015") and book.spread() == D("0.001")
    book = make_book([("0.48", "1")], [("0.52", "1")])
    assert book.mid() == D("0.5") and book.spread() == D("0.04")


def test_depth_within_n_ticks() -> None:
    book = make_book(
        [("0.50", "10"), ("0.49", "5"), ("0.47", "7"), ("0.40", "100")],
        [("0.53", "2"), ("0.55", "3.5"), ("0.56", "1")],
    )
    assert book.depth(Side.BUY, 0) == D(10)
    assert book.depth(Side.BUY, 1) == D(15)
    assert book.depth(Side.BUY, 2) == D(15)
    assert book.depth(Side.BUY, 3) == D(22)
    assert book.depth(Side.BUY, 10) == D(122)
    assert book.depth(Side.SELL, 0) == D(2)
    assert book.depth(Side.SELL, 2) == D("5.5")
    assert book.depth(Side.SELL, 3) == D("6.5")
    with pytest.raises(InvalidValueError):
        book.depth(Side.BUY, -1)
    assert make_book([], []).depth(Side.BUY, 5) == 0


def test_depth_uses_the_books_tick() -> None:
    book = make_book([("0.500", "1"), ("0.499", "2"), ("0.490", "4")], [], TickSize.T0_001)
    assert book.depth(Side.BUY, 1) == D(3)
    assert book.depth(Side.BUY, 10) == D(7)


def test_levels_best_first_and_size_at() -> None:
    book = make_book([("0.1", "1"), ("0.3", "3"), ("0.2", "2")], [("0.9", "9"), ("0.7", "7")])
    assert book.levels(Side.BUY, 2) == [(D("0.3"), D(3)), (D("0.2"), D(2))]
    assert book.levels(Side.SELL, 5) == [(D("0.7"), D(7)), (D("0.9"), D(9))]
    assert book.size_at(Side.BUY, "0.20") == D(2)
    assert book.size_at(Side.SELL, D("0.7")) == D(7)
    assert book.size_at(Side.SELL, "0.8") == 0


@pytest.mark.parametrize("count", [3, book_mod._SORT_LEVELS, book_mod._SORT_LEVELS + 1, 400])
def test_top_levels_are_the_same_whether_sorted_or_heaped(count: int) -> None:
    """`levels(side, n)` sorts small books and heaps large ones: the same best-first levels."""
    rng = random.Random(count)
    prices = rng.sample(range(1, 1000), count)
    bids = [(f"0.{p:03d}", str(p)) for p in prices[: count // 2 + 1]]
    asks = [(f"0.{p:03d}", str(p)) for p in prices[count // 2 + 1 :]] or [("0.999", "1")]
    book = make_book(bids, asks)
    for side, levels in ((Side.BUY, bids), (Side.SELL, asks)):
        every = sorted(((D(p), D(s)) for p, s in levels), reverse=side is Side.BUY)
        for n in (1, 6, len(every), len(every) + 3):
            assert book.levels(side, n) == every[:n]
        assert book.levels(side) == every


def test_crossed_and_locked_books() -> None:
    book = make_book([("0.48", "1")], [("0.52", "1")])
    assert not book.is_crossed()
    book.apply_level(True, "0.52", "1", 2)
    assert book.is_crossed()  # locked counts
    book.apply_level(True, "0.52", "0", 3)
    book.apply_level(True, "0.55", "1", 4)
    assert book.is_crossed() and book.spread() == D("-0.03")


def test_last_trade() -> None:
    book = make_book([], [])
    assert book.last_trade is None
    book.apply_trade("0.491", "85.36", Side.SELL, 1724564136087)
    assert book.last_trade is not None
    assert (book.last_trade.price, book.last_trade.size) == (D("0.491"), D("85.36"))
    assert book.last_trade.side is Side.SELL and book.last_trade.ts_ms == 1724564136087
    assert book.to_wire()["last_trade_price"] == "0.491"


# -- epochs and snapshot gating ----------------------------------------------------------------


def test_new_book_drops_deltas_until_first_snapshot() -> None:
    book = OrderBook("a")
    book.apply_level(True, "0.4", "1", 1)
    assert book.awaiting_snapshot and book.dropped_updates == 1
    assert book.best_bid() is None and book.update_count == 0
    book.apply_snapshot([("0.3", "1")], [], 2)
    book.apply_level(True, "0.4", "1", 3)
    assert book.best_bid() == D("0.4") and not book.awaiting_snapshot


def test_tick_size_change_starts_new_epoch() -> None:
    book = make_book([("0.96", "1")], [("0.97", "1")])
    book.start_new_epoch(TickSize.T0_001)
    assert book.epoch == 1 and book.tick_size is TickSize.T0_001
    assert book.awaiting_snapshot and book.best_bid() is None and book.best_ask() is None
    assert book.snapshot_hash is None
    book.apply_level(True, "0.961", "5", 10)
    book.apply_level_decimal(False, D("0.962"), D(5), 10)
    assert book.dropped_updates == 2 and book.level_count(Side.BUY) == 0
    book.apply_snapshot([("0.961", "5")], [("0.962", "5")], 11)
    assert book.best_bid() == D("0.961") and book.depth(Side.BUY, 1) == D(5)


# -- BookSet and desync detection --------------------------------------------------------------


def _set_with(asset: str, bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> BookSet:
    books = BookSet()
    books.add(asset).apply_snapshot(bids, asks, 1)
    return books


def test_price_changes_consistent_top_reports_nothing() -> None:
    books = _set_with("A", [("0.5", "10")], [("0.6", "10")])
    out = books.apply_price_changes(
        [
            Change("A", "0.55", "3", "BUY", best_bid="0.55", best_ask="0.6"),
            Change("UNSUBSCRIBED", "0.1", "3", "BUY"),
        ],
        2,
    )
    assert out == {}
    assert books["A"].best_bid() == D("0.55") and "UNSUBSCRIBED" not in books


def test_price_changes_flag_top_mismatch() -> None:
    books = _set_with("A", [("0.5", "10")], [("0.6", "10")])
    # the venue says the best bid is 0.52: we missed a delta
    out = books.apply_price_changes([Change("A", "0.45", "3", "BUY", "0.52", "0.6")], 2)
    assert out == {"A": DesyncReason.TOP_MISMATCH}


def test_price_changes_flag_crossed() -> None:
    books = _set_with("A", [("0.5", "10")], [("0.6", "10")])
    out = books.apply_price_changes([Change("A", "0.6", "1", "BUY", "0.6", "0.6")], 2)
    assert out == {"A": DesyncReason.CROSSED}


def test_price_changes_empty_side_spellings() -> None:
    books = _set_with("A", [("0.5", "10")], [])
    # doc example: no asks is written best_ask "1" (or "0"); no bids is best_bid "0"
    assert books.apply_price_changes([Change("A", "0.5", "200", "BUY", "0.5", "1")], 2) == {}
    assert books.apply_price_changes([Change("A", "0.5", "20", "BUY", "0.5", "0")], 3) == {}
    out = books.apply_price_changes([Change("A", "0.5", "0", "BUY", "0", "1")], 4)
    assert out == {} and books["A"].best_bid() is None
    # absent fields are not compared
    assert books.apply_price_changes([Change("A", "0.4", "1", "BUY", None, "")], 5) == {}


def test_price_changes_only_the_last_entry_per_asset_is_compared() -> None:
    books = _set_with("A", [("0.5", "10")], [("0.7", "10")])
    books.add("B").apply_snapshot([("0.3", "1")], [("0.5", "1")], 1)
    fixture = _load("ws_messages/price_change_v2.json")
    # captured shape: every entry of the message repeats the final top (0.6 / 0.7)
    entries = [
        Change("A", "0.6", "3300", "BUY", "0.6", "0.7"),
        Change("A", "0.5", "3400", "BUY", "0.6", "0.7"),
        Change("B", "0.5", "0", "SELL", "0.3", "1"),
    ]
    assert fixture["price_changes"][0]["best_bid"] == "0.6"
    assert books.apply_price_changes(entries, int(fixture["timestamp"])) == {}
    assert books["A"].last_update_ms == int(fixture["timestamp"])


def test_price_changes_on_a_book_awaiting_snapshot() -> None:
    books = _set_with("A", [("0.5", "10")], [("0.6", "10")])
    assert books.apply_tick_size_change("A", "0.001")
    assert not books.apply_tick_size_change("nope", TickSize.T0_001)
    out = books.apply_price_changes([Change("A", "0.55", "3", "BUY", "0.55", "0.6")], 2)
    assert out == {"A": DesyncReason.AWAITING_SNAPSHOT}
    assert books["A"].tick_size is TickSize.T0_001 and books["A"].epoch == 1


def test_bookset_applies_core_events() -> None:
    from polymarket_bot.core.events import BookSnapshot, PriceLevelChange

    books = BookSet()
    books.add("A", market="0xm")
    snap = BookSnapshot(
        asset_id="A",
        market="0xm",
        bids=((D("0.5"), D(10)),),
        asks=((D("0.6"), D(4)),),
        timestamp_ms=None,
        hash="abc",
        tick_size=D("0.001"),
    )
    assert books.apply_snapshot(snap, recv_ms=77) is books["A"]
    assert books["A"].tick_size is TickSize.T0_001 and books["A"].last_update_ms == 77
    assert books["A"].snapshot_hash == "abc"
    change = PriceLevelChange(
        asset_id="A",
        market="0xm",
        side=Side.SELL,
        price=D("0.6"),
        size=D(0),
        best_bid=D("0.5"),
        best_ask=D(1),  # no asks left
        hash="",
        timestamp_ms=5,
    )
    assert books.apply_price_changes([change], 5) == {}
    assert books["A"].best_ask() is None
    assert (
        books.apply_snapshot(
            BookSnapshot(asset_id="Z", market="", bids=(), asks=(), timestamp_ms=1)
        )
        is None
    )
    assert len(books) == 1 and list(books) == ["A"]
    assert books.remove("A") is not None and len(books) == 0


def test_top_matches_direct() -> None:
    book = make_book([("0.5", "1")], [("0.6", "1")])
    assert book.top_matches("0.5", "0.6") and book.top_matches("0.50", "0.600")
    assert book.top_matches(D("0.5"), D("0.6"))
    assert not book.top_matches("0.49", "0.6")
    assert not book.top_matches("0.5", "0.61")
    assert not book.top_matches("0", "0.6")  # venue says no bids
    assert book.top_matches(None, None)
    empty = make_book([], [])
    assert empty.top_matches("0", "1") and empty.top_matches("0.00", "1.0")
    assert empty.top_matches(D(0), D(0)) and not empty.top_matches("0.01", None)


# -- property: the book equals a naive model after any sequence --------------------------------

_PRICES = [f"0.{i:02d}" for i in range(1, 100)] + ["0.005", "0.0025", "0.999"]
_SIZES = st.sampled_from(["0", "0.00", "1", "2.5", "0.75", "100", "33.333333"])
_OP = st.one_of(
    st.tuples(st.just("level"), st.booleans(), st.sampled_from(_PRICES), _SIZES),
    st.tuples(
        st.just("snapshot"),
        st.lists(st.tuples(st.sampled_from(_PRICES), _SIZES), max_size=6),
        st.lists(st.tuples(st.sampled_from(_PRICES), _SIZES), max_size=6),
        st.just(""),
    ),
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(_OP, max_size=60))
def test_book_matches_naive_model(ops: list[tuple[Any, ...]]) -> None:
    book = OrderBook("x", TickSize.T0_0001)
    book.apply_snapshot([], [], 0)
    model: dict[bool, dict[Decimal, Decimal]] = {True: {}, False: {}}
    for op in ops:
        if op[0] == "level":
            _, is_bid, price, size = op
            book.apply_level(is_bid, price, size, 1)
            if D(size):
                model[is_bid][D(price)] = D(size)
            else:
                model[is_bid].pop(D(price), None)
        else:
            _, bids, asks, _ = op
            book.apply_snapshot(bids, asks, 1)
            model = {True: {}, False: {}}
            for is_bid, levels in ((True, bids), (False, asks)):
                for price, size in levels:
                    if D(size):
                        model[is_bid][D(price)] = D(size)
                    else:
                        model[is_bid].pop(D(price), None)
        # reads interleaved with writes exercise the lazy best
        assert book.best_bid() == (max(model[True]) if model[True] else None)
        assert book.best_ask() == (min(model[False]) if model[False] else None)
    assert book.levels(Side.BUY) == sorted(model[True].items(), reverse=True)
    assert book.levels(Side.SELL) == sorted(model[False].items())
    assert book.is_crossed() == (
        bool(model[True]) and bool(model[False]) and max(model[True]) >= min(model[False])
    )


def test_randomized_against_model_long_run() -> None:
    rng = random.Random(1234)
    book = make_book([], [], TickSize.T0_001)
    model: dict[bool, dict[int, str]] = {True: {}, False: {}}
    for i in range(20_000):
        is_bid = rng.random() < 0.5
        units = rng.randrange(1, 1000) * 10
        size = "0" if rng.random() < 0.3 else str(rng.randint(1, 999))
        book.apply_level(is_bid, str(units_to_price(units)), size, i)
        if size == "0":
            model[is_bid].pop(units, None)
        else:
            model[is_bid][units] = size
        if i % 7 == 0:
            assert book.best_bid_units() == (max(model[True]) if model[True] else None)
            assert book.best_ask_units() == (min(model[False]) if model[False] else None)
    wire_bids = {price_units(lv["price"]): lv["size"] for lv in book.to_wire()["bids"]}
    assert wire_bids == model[True]
