"""The wire fast paths of `OrderBook` give exactly what the general paths give.

`apply_wire_snapshot` (decoded level structs) against `apply_snapshot` (tuples), and
`check_wire_top` against the venue's rules for the top of book after a `price_change`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polymarket_bot.core.book import DesyncReason, OrderBook
from polymarket_bot.core.errors import InvalidValueError
from polymarket_bot.core.types import Side, TickSize


@dataclass(frozen=True)
class Level:
    price: str
    size: str


def _state(book: OrderBook) -> tuple[object, ...]:
    return (
        book.to_wire(),
        book.best_bid_units(),
        book.best_ask_units(),
        book.levels(Side.BUY),
        book.levels(Side.SELL),
        book.awaiting_snapshot,
        book.update_count,
        book.last_update_ms,
        book.tick_size,
    )


def _apply_all(
    bids: list[tuple[str, str]], asks: list[tuple[str, str]]
) -> list[tuple[OrderBook, Exception | None]]:
    """The same snapshot through the wire fast path, the tuple fast path and the reference
    level-by-level path, each on a book with a previous state (replaced, or kept on error)."""
    books = [OrderBook("A", market="m") for _ in range(3)]
    for book in books:
        book.apply_snapshot([("0.1", "7")], [("0.9", "8")], 1, "h0")
    wire, tuples, reference = books

    def apply_wire() -> None:
        wire.apply_wire_snapshot(
            [Level(p, s) for p, s in bids],
            [Level(p, s) for p, s in asks],
            5,
            "h1",
            tick_size=TickSize.T0_001,
        )

    def apply_tuples() -> None:
        tuples.apply_snapshot(bids, asks, 5, "h1", tick_size=TickSize.T0_001)

    def apply_reference() -> None:
        reference._apply_snapshot_slow(bids, asks, 5, "h1", TickSize.T0_001)

    out: list[tuple[OrderBook, Exception | None]] = []
    for book, apply in zip(books, (apply_wire, apply_tuples, apply_reference), strict=True):
        try:
            apply()
            out.append((book, None))
        except InvalidValueError as exc:
            out.append((book, exc))
    return out


def _assert_same(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> None:
    results = _apply_all(bids, asks)
    ref_book, ref_err = results[-1]
    for book, err in results[:-1]:
        assert (err is None) == (ref_err is None), (err, ref_err)
        assert _state(book) == _state(ref_book)


PRICES = ["0.5", "0.50", "0.512", "0.001", "0.999", "0", "1", "0.0001", "1.5", "-0.1", "abc", ""]
SIZES = ["12.5", "1", "9", "100000", "0", "0.00", "0.5", ".5", "", "-1", "abc", "NaN", "Infinity"]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("price", PRICES)
def test_one_level_snapshot_matches_the_general_path(price: str, size: str) -> None:
    _assert_same([("0.3", "2"), (price, size)], [(price, size)])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(PRICES[:7]), st.sampled_from(SIZES)), max_size=12),
    st.lists(st.tuples(st.sampled_from(PRICES[:7]), st.sampled_from(SIZES)), max_size=12),
)
def test_random_snapshots_match_the_general_path(
    bids: list[tuple[str, str]], asks: list[tuple[str, str]]
) -> None:
    _assert_same(bids, asks)


def test_a_full_snapshot_gives_the_same_book_on_every_path() -> None:
    rng = random.Random(3)
    bids = [(f"0.{u:03d}", f"{rng.randint(1, 999)}.{rng.randint(0, 99)}") for u in range(400, 450)]
    asks = [(f"0.{u:03d}", f"{rng.randint(1, 999)}.5") for u in range(550, 500, -1)]
    for _ in range(2):  # the first call fills the price cache through the slow path
        _assert_same(bids, asks)
        for book, err in _apply_all(bids, asks):
            assert err is None
            assert book.best_bid_units() == 4490 and book.best_ask_units() == 5010


def test_an_invalid_wire_snapshot_leaves_the_book_unchanged() -> None:
    book = OrderBook("A")
    book.apply_snapshot([("0.4", "1")], [("0.6", "1")], 1)
    before = _state(book)
    for bids in ([Level("0.41", "1"), Level("0.42", "-1")], [Level("1.5", "1")]):
        with pytest.raises(InvalidValueError):
            book.apply_wire_snapshot(bids, [], 2)
        assert _state(book) == before


def _book(bids: list[str], asks: list[str]) -> OrderBook:
    book = OrderBook("A")
    book.apply_snapshot([(p, "1") for p in bids], [(p, "1") for p in asks], 1)
    return book


@pytest.mark.parametrize(
    ("bids", "asks", "best_bid", "best_ask", "expected"),
    [
        (["0.4"], ["0.6"], "0.4", "0.6", None),
        (["0.4"], ["0.6"], "0.40", "0.600", None),
        (["0.4"], ["0.6"], "0.41", "0.6", DesyncReason.TOP_MISMATCH),
        (["0.4"], ["0.6"], "0.4", "0.59", DesyncReason.TOP_MISMATCH),
        (["0.4"], ["0.6"], None, None, None),
        (["0.4"], ["0.6"], "", "", None),
        (["0.4"], ["0.6"], None, "0.6", None),
        (["0.4"], ["0.6"], "0.4", None, None),
        ([], [], "0", "0", None),  # the venue writes empty sides as 0 ...
        ([], [], "0", "1", None),  # ... or 1 for asks
        ([], ["0.6"], "0", "0.6", None),
        ([], ["0.6"], "0.4", "0.6", DesyncReason.TOP_MISMATCH),
        (["0.4"], [], "0.4", "1", None),
        (["0.4"], [], "0.4", "0", None),
        (["0.4"], [], "0.4", "0.6", DesyncReason.TOP_MISMATCH),
        (["0.4"], ["0.6"], "0", "0.6", DesyncReason.TOP_MISMATCH),
        (["0.4"], ["0.6"], "0.4", "1", DesyncReason.TOP_MISMATCH),
        (["0.6"], ["0.4"], None, None, DesyncReason.CROSSED),
        (["0.6"], ["0.4"], "", "", DesyncReason.CROSSED),
        (["0.6"], ["0.4"], "0.5", None, DesyncReason.CROSSED),
        (["0.6"], ["0.4"], "0.6", "0.4", None),  # matches the venue: no crossed check
        (["0.5"], ["0.5"], None, None, DesyncReason.CROSSED),
        (["0.5"], ["0.5"], None, "0.6", DesyncReason.CROSSED),
    ],
)
def test_check_wire_top(
    bids: list[str],
    asks: list[str],
    best_bid: str | None,
    best_ask: str | None,
    expected: DesyncReason | None,
) -> None:
    assert _book(bids, asks).check_wire_top(best_bid, best_ask) is expected


def test_check_wire_top_after_the_best_level_went_away() -> None:
    book = _book(["0.3", "0.4"], ["0.6", "0.7"])
    book.apply_level(True, "0.4", "0", 2)
    book.apply_level(False, "0.6", "0", 2)
    assert book.check_wire_top("0.4", "0.6") is DesyncReason.TOP_MISMATCH
    assert book.check_wire_top("0.3", "0.7") is None
    book.apply_level(True, "0.3", "0", 3)
    book.apply_level(False, "0.7", "0", 3)
    assert book.check_wire_top("0", "1") is None


def test_check_wire_top_rejects_garbage_prices() -> None:
    book = _book(["0.4"], ["0.6"])
    with pytest.raises(InvalidValueError):
        book.check_wire_top("abc", None)
    with pytest.raises(InvalidValueError):
        book.check_wire_top(None, "1.5")


def test_the_fast_path_does_not_fall_back_once_prices_are_cached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bids = [Level("0.41", "10"), Level("0.42", "20.5")]
    asks = [Level("0.44", "9"), Level("0.43", "1")]
    book = OrderBook("A")
    book.apply_wire_snapshot(bids, asks, 1)  # caches the prices

    def no_slow_path(*args: object, **kwargs: object) -> None:
        raise AssertionError("slow path taken")

    monkeypatch.setattr(OrderBook, "_apply_snapshot_slow", no_slow_path)
    book.apply_wire_snapshot(bids, asks, 2, "h")
    book.apply_snapshot([("0.41", "10"), ("0.42", "20.5")], [("0.44", "9"), ("0.43", "1")], 2, "h")
    assert book.best_bid_units() == 4200 and book.best_ask_units() == 4300
    assert book.levels(Side.BUY) == [(D("0.42"), D("20.5")), (D("0.41"), D("10"))]
    assert (book.last_update_ms, book.snapshot_hash, book.update_count) == (2, "h", 3)
    with pytest.raises(AssertionError, match="slow path"):
        book.apply_wire_snapshot([Level("0.41", "0")], asks, 3)  # a zero size falls back
    with pytest.raises(AssertionError, match="slow path"):
        book.apply_snapshot([("0.41", "1")], (lv for lv in [("0.43", "1")]), 3)  # not a list


def test_decimal_levels_match_the_level_by_level_path() -> None:
    mixed: list[tuple[str | D, str | D]] = [(D("0.41"), D("3")), ("0.42", D(0)), (D("0.4"), "2")]
    for bids in (mixed, [(D("0.41"), D("3"))], [(D("0.41"), D("-3"))], [("0.41", D("3"))]):
        fast, reference = OrderBook("A"), OrderBook("A")
        errors = []
        try:
            fast.apply_snapshot(bids, [], 1)
        except InvalidValueError as exc:
            errors.append(exc)
        try:
            reference._apply_snapshot_slow(bids, [], 1, None, None)
        except InvalidValueError as exc:
            errors.append(exc)
        assert len(errors) in (0, 2)
        assert _state(fast) == _state(reference)
