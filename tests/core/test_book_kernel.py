"""The compiled market-data kernel (`core/_book_kernel.pyx`): built, not stale, in use, and
giving exactly what the pure-Python reference in `core/book.py` gives.

* Build: under CI=true the kernel must be built and in use; a compiled module older than its
  source fails (a stale build would shadow the edited source: `make venv` rebuilds it).
* Equivalence: random snapshot/delta/top-check streams, odd spellings included, through a
  compiled book and a pure-Python twin (`_PyStorage` + `_Book`, the pure-mode `OrderBook`);
  random price_change messages through the kernel's `ChangeApplier` and `_PyChangeApplier`.
* Both modes: the book and ingest test modules run again with POLYMARKET_PURE_PYTHON=1.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polymarket_bot.core import book as book_mod
from polymarket_bot.core.book import OrderBook
from polymarket_bot.core.types import Side, TickSize
from polymarket_bot.protocol.wire import PriceChangeEntry, PriceLevelWire

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "src" / "polymarket_bot" / "core"
SOURCES = [CORE / "_book_kernel.pyx"]
FORCED_PURE = os.environ.get("POLYMARKET_PURE_PYTHON", "") not in ("", "0")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

needs_kernel = pytest.mark.skipif(
    not book_mod.COMPILED, reason="kernel not in use (test_the_kernel_is_built_and_used says why)"
)


def _built() -> list[Path]:
    return sorted(p for p in CORE.glob("_book_kernel.*") if p.suffix in (".so", ".pyd"))


# -- build -------------------------------------------------------------------------------------


def test_the_kernel_is_built_and_used() -> None:
    if FORCED_PURE:
        assert not book_mod.COMPILED
        pytest.skip("POLYMARKET_PURE_PYTHON=1 forces the pure-Python path")
    built = _built()
    if not built:
        message = "core/_book_kernel is not built: run `make venv` (pip install -e .)"
        if IN_CI:
            pytest.fail(message)  # a missing real component is a failure in CI
        pytest.skip(message)
    assert book_mod.COMPILED, f"{built} exists but book.py does not use it (API mismatch?)"
    assert OrderBook.apply_level is book_mod._kernel.BookState.apply_level  # type: ignore[union-attr]


def test_no_compiled_module_is_older_than_its_source() -> None:
    for module in _built():
        for source in SOURCES:
            assert module.stat().st_mtime >= source.stat().st_mtime, (
                f"{module.name} is older than {source.name}: a stale build shadows the edited "
                "source; rebuild it with `make venv` (or `pip install --no-deps -e .`)"
            )


def test_pure_python_env_var_forces_the_reference() -> None:
    code = (
        "from polymarket_bot.core import book\n"
        "print(book.COMPILED, book.OrderBook.__mro__[1].__name__, book.ChangeApplier.__name__)"
    )
    env = {**os.environ, "POLYMARKET_PURE_PYTHON": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "_PyStorage", "_PyChangeApplier"]


@pytest.mark.skipif(FORCED_PURE, reason="already the pure-Python run")
def test_book_and_ingest_tests_pass_in_pure_python_mode() -> None:
    """The same modules the normal run uses compiled, on the pure-Python path."""
    modules = [
        "tests/core/test_book.py",
        "tests/core/test_book_fastpath.py",
        "tests/engine/test_market_data_books.py",
    ]
    env = {**os.environ, "POLYMARKET_PURE_PYTHON": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *modules],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and " failed" not in run.stdout


# -- book equivalence --------------------------------------------------------------------------


class PyOrderBook(book_mod._PyStorage, book_mod._Book):
    """`OrderBook` as pure-Python mode builds it: the reference."""

    __slots__ = OrderBook.__slots__


@dataclass(frozen=True)
class Level:
    """A snapshot level that is not a msgspec struct (generic attribute reads)."""

    price: str
    size: str


PRICES: list[Any] = [
    *["0.5", "0.50", "0.512", "0.001", "0.999", "0.0001", "0.9999", "0", "1", "1.0000", "0.5000"],
    *[".5", ".0001", "1.", "0.", ".", "01", "00.5", "0.12345", "0.50000", "1.0001", "1.5"],
    *["1e-3", "5E-1", "-0.1", "+0.5", " 0.5", "0.5 ", "abc", "", "NaN", "Infinity", "0.5\u0663"],
    Decimal("0.5"),
    Decimal("0.4"),
]
SIZES: list[Any] = [
    *["12.5", "1", "9", "100000", "9abc", "1e3", "0", "0.00", "00", "-0", "0.5", ".5", "0e5"],
    *["", "-1", "abc", "NaN", "-NaN", "Infinity", "\u0663", " 5"],
    Decimal("3"),
    Decimal(0),
]
COMMON_PRICES = ["0.4", "0.41", "0.45", "0.5", "0.55", "0.59", "0.6", "0.001", "0.999"]
COMMON_SIZES = ["10", "2.5", "0", "100", "7"]
TIMESTAMPS = ["1757908892351", "0", "5", "", "abc", "12345678901234567890", "+5", "1_000", " 7"]

price = st.one_of(st.sampled_from(COMMON_PRICES), st.sampled_from(PRICES))
size = st.one_of(st.sampled_from(COMMON_SIZES), st.sampled_from(SIZES))
best = st.one_of(st.none(), st.sampled_from(["", "0", "1"]), price)
level_kind = st.sampled_from(["wire", "dataclass"])
levels = st.lists(st.tuples(price, size), max_size=8)
container = st.sampled_from([list, tuple])  # the API takes sequences

ops = st.lists(
    st.one_of(
        st.tuples(st.just("snapshot"), levels, levels, level_kind, container, container),
        st.tuples(st.just("level"), st.booleans(), price, size),
        st.tuples(st.just("level"), st.booleans(), st.sampled_from(COMMON_PRICES), size),
        st.tuples(st.just("top"), best, best),
        st.tuples(st.just("epoch")),
    ),
    max_size=25,
)


def _raw(book: Any) -> tuple[object, ...]:
    return (
        dict(book._bids),
        dict(book._asks),
        book._bid_best,
        book._ask_best,
        book.awaiting_snapshot,
        book.dropped_updates,
        book.last_update_ms,
        book.update_count,
        book.snapshot_hash,
        book.tick_size,
        book.epoch,
    )


def _reads(book: Any) -> list[object]:
    # unvalidated sizes ("9abc": the hot path keeps what starts with 1-9) may fail to read
    return [
        _outcome(read)
        for read in (
            book.best_bid_units,
            book.best_ask_units,
            book.is_crossed,
            lambda: book.levels(Side.BUY),
            lambda: book.levels(Side.SELL),
            book.to_wire,
        )
    ]


def _outcome(call: Callable[[], object]) -> tuple[object, ...]:
    try:
        return ("ok", call())
    except Exception as exc:  # the reference's exact exception is the expectation
        return (type(exc), str(exc))


def _wire_levels(pairs: list[tuple[Any, Any]], kind: str, make: Callable[..., Any]) -> Any:
    if kind == "wire":
        return make(PriceLevelWire(price=p, size=s) for p, s in pairs)
    return make(Level(p, s) for p, s in pairs)


def _apply_step(book: Any, step: tuple[Any, ...]) -> tuple[object, ...] | None:
    kind = step[0]
    if kind == "snapshot":
        _, bids, asks, level_kind, bid_box, ask_box = step
        b = _wire_levels(bids, level_kind, bid_box)
        a = _wire_levels(asks, level_kind, ask_box)
        return _outcome(lambda: book.apply_wire_snapshot(b, a, 7, "h", tick_size=TickSize.T0_001))
    if kind == "level":
        _, is_bid, p, s = step
        return _outcome(lambda: book.apply_level(is_bid, p, s, 9))
    if kind == "top":
        _, bb, ba = step
        return _outcome(lambda: book.check_wire_top(bb, ba))
    book.start_new_epoch(TickSize.T0_01)
    return None


def _run_book_ops(steps: list[tuple[Any, ...]]) -> None:
    fast, reference = OrderBook("A", market="m"), PyOrderBook("A", market="m")
    for step in steps:
        assert _apply_step(fast, step) == _apply_step(reference, step), step
        assert _raw(fast) == _raw(reference), step
    assert _reads(fast) == _reads(reference)
    assert _raw(fast) == _raw(reference)


@needs_kernel
@settings(max_examples=400, deadline=None)
@given(ops)
def test_random_book_streams_match_the_reference(steps: list[tuple[Any, ...]]) -> None:
    _run_book_ops(steps)


@needs_kernel
def test_every_price_unit_parses_as_the_reference_does() -> None:
    book = OrderBook("A")
    book.apply_wire_snapshot([], [], 1)
    for units in range(book_mod.PRICE_SCALE + 1):
        canonical = str(book_mod.units_to_price(units))  # "0.5", "0.0001", "1", "0"
        spellings = {canonical, f"{units / 10_000:.4f}"}
        if canonical.startswith("0."):
            spellings.add(canonical[1:])  # ".5"
        for text in spellings:
            book.apply_level(True, text, "1", 2)
            assert book_mod.price_units(text) == units
            assert book._bids == {units: "1"}, text
            assert book.check_wire_top(text, None) is None, text
            book.apply_level(True, text, "0", 2)


@needs_kernel
def test_decoded_wire_structs_are_read_at_their_offsets() -> None:
    """The kernel reads msgspec struct fields straight from the object; a msgspec whose structs
    stopped fitting (no member descriptors) would silently fall back to getattr."""
    ingest_entry = PriceChangeEntry(asset_id="A", price="0.5", size="1", side=Side.BUY)
    applier = book_mod.ChangeApplier({}, {}, lambda *a: False, lambda *a: None, None)
    applier.apply((ingest_entry,), "1", {}, 1)
    book = OrderBook("A")
    book.apply_wire_snapshot([PriceLevelWire(price="0.5", size="1")], [], 1)
    assert book_mod._kernel is not None
    assert book_mod._kernel.learnt_types() == (PriceChangeEntry, PriceLevelWire)


# -- price_change messages ---------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """A price_changes[] entry that is not the wire struct (generic attribute reads)."""

    asset_id: str
    price: Any
    size: Any
    side: Side
    best_bid: Any = None
    best_ask: Any = None


ASSETS = [f"asset-{i}" for i in range(12)]
"""0-9 have books and are synced to session 1; 10 is synced elsewhere; 11 has no book."""

entry = st.tuples(
    st.sampled_from(ASSETS),
    st.sampled_from(COMMON_PRICES),
    st.sampled_from(COMMON_SIZES),
    st.sampled_from([Side.BUY, Side.SELL]),
    best,
    best,
)
odd_entry = st.tuples(st.sampled_from(ASSETS[:3]), price, size, st.just(Side.BUY), best, best)
message = st.tuples(
    st.lists(st.one_of(entry, entry, odd_entry), max_size=24),
    st.one_of(st.just(TIMESTAMPS[0]), st.sampled_from(TIMESTAMPS)),
    st.sampled_from(["wire", "dataclass", "mixed"]),
    st.sampled_from([tuple, list]),
)


def _entries(raw: list[tuple[Any, ...]], kind: str, box: Callable[..., Any]) -> Any:
    out: list[Any] = []
    for i, (aid, p, s, side, bb, ba) in enumerate(raw):
        wire = kind == "wire" or (kind == "mixed" and i % 2 == 0)
        if wire and isinstance(p, str) and isinstance(s, str):
            out.append(
                PriceChangeEntry(asset_id=aid, price=p, size=s, side=side, best_bid=bb, best_ask=ba)
            )
        else:
            out.append(Entry(aid, p, s, side, bb, ba))
    return box(out)


class _Feed:
    """One applier with its books and a log of every callback it made."""

    def __init__(self, applier_cls: Any, book_cls: Any, held: set[str]) -> None:
        self.log: list[tuple[object, ...]] = []
        self.books = {a: book_cls(a, market="m") for a in ASSETS[:11]}
        for book in self.books.values():
            book.apply_snapshot([("0.4", "10")], [("0.6", "10")], 1)
        self.held: dict[str, object] = dict.fromkeys(held, object())
        self.synced = dict.fromkeys(ASSETS[:10], 1)
        self.synced[ASSETS[10]] = 2
        self.synced[ASSETS[11]] = 1
        self.applier = applier_cls(self.books, self.held, self.hold, self.desync, "price_change")
        self.applier.on_update = self.update

    def feed(self, entries: Any, timestamp: str) -> tuple[object, ...]:
        return _outcome(lambda: self.applier.apply(entries, timestamp, self.synced, 1))

    def hold(self, aid: str, ts: int, change: Any) -> bool:
        self.log.append(("hold", aid, ts, change.price))
        return (ts + len(self.log)) % 3 != 0

    def desync(self, aid: str, reason: object) -> None:
        self.log.append(("desync", aid, reason))

    def update(self, aid: str, kind: object) -> None:
        self.log.append(("update", aid, kind))

    def state(self) -> tuple[object, ...]:
        books = {a: _raw(b) for a, b in self.books.items()}
        return books, self.log, self.applier.deltas


@needs_kernel
@settings(max_examples=300, deadline=None)
@given(st.lists(message, max_size=8), st.sets(st.sampled_from(ASSETS[:4]), max_size=2))
def test_random_price_change_messages_match_the_reference(
    messages: list[tuple[Any, ...]], held: set[str]
) -> None:
    fast = _Feed(book_mod.ChangeApplier, OrderBook, held)
    reference = _Feed(book_mod._PyChangeApplier, PyOrderBook, held)
    for raw, timestamp, kind, box in messages:
        results = [feed.feed(_entries(raw, kind, box), timestamp) for feed in (fast, reference)]
        assert results[0] == results[1]
        assert fast.state() == reference.state()


@needs_kernel
def test_a_message_touching_many_books_checks_each_once_in_order() -> None:
    raw = [(a, "0.45", "3", Side.BUY, "0.45", "0.6") for a in ASSETS[:10]]
    raw += [(a, "0.46", "1", Side.BUY, "0.46", "0.6") for a in reversed(ASSETS[:10])]
    fast = _Feed(book_mod.ChangeApplier, OrderBook, set())
    reference = _Feed(book_mod._PyChangeApplier, PyOrderBook, set())
    for feed in (fast, reference):
        feed.applier.apply(_entries(raw, "wire", tuple), "5", feed.synced, 1)
    assert fast.state() == reference.state()
    assert fast.log == [("update", a, "price_change") for a in ASSETS[:10]]
    assert fast.applier.deltas == 20


@needs_kernel
def test_a_callback_may_remove_books_while_the_message_is_checked() -> None:
    raw = [(a, "0.45", "3", Side.BUY, "0.45", "0.6") for a in ASSETS[:10]]
    feeds = [
        _Feed(book_mod.ChangeApplier, OrderBook, set()),
        _Feed(book_mod._PyChangeApplier, PyOrderBook, set()),
    ]
    for feed in feeds:

        def update(aid: str, kind: object, feed: _Feed = feed) -> None:
            feed.log.append(("update", aid, kind))
            feed.books.clear()  # drops the last references to every book

        feed.applier.on_update = update
        feed.applier.apply(_entries(raw, "wire", tuple), "5", feed.synced, 1)
    assert feeds[0].log == feeds[1].log and len(feeds[0].log) == 10
