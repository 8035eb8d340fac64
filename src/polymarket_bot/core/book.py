"""Local L2 order book per asset, on the market-data hot path.

Polymarket semantics (ref/polymarket-protocol.md §7.5):
* a `book` message is a full snapshot and replaces both sides;
* a `price_change` entry carries (side, price, NEW ABSOLUTE size); size zero removes the level;
  side BUY is the bid side, SELL the ask side;
* after `tick_size_change` the book is dropped and stays empty until the next snapshot.

Representation, chosen for speed (bench/book.py): each side is a dict from the price in integer
units of 10**-4 (every venue tick is a multiple of 0.0001, so the mapping is exact) to the size
exactly as received: the wire string on the fast path (`apply_level`), or a Decimal when fed
decoded core events (`apply_level_decimal`). Prices repeat endlessly, so their parse is cached.
The best price per side is cached and recomputed lazily, only after the best level disappears.
Decimals are built only on reads. On the string path the book does not validate a size that
starts with 1-9 (full validation is the decoder's job); anything else is parsed, and negative or
non-numeric sizes raise `InvalidValueError`. A snapshot whose prices are all cached and whose sizes
all start with 1-9 (the usual case) is built with one dict comprehension per side and two C-speed
size checks; anything else goes level by level, with the same result.

Staleness is a property of the feed (its liveness), not of the book: `last_update_ms` is kept for
information and no policy is imposed here.

Compiled hot path: `_book_kernel.pyx` (Cython, built by `pip install -e .`) repeats in C the few
calls made per WS frame: `OrderBook.apply_level`, `apply_wire_snapshot`, `check_wire_top` (the
kernel's `BookState`, with the hot fields as typed C fields, is then `OrderBook`'s first base)
and `ChangeApplier` (a `price_change` message's entry loop). This module stays the source of
truth: `_Book` and `_PyChangeApplier` are the pure-Python implementation, used as is when the
kernel is not built or POLYMARKET_PURE_PYTHON=1, and the reference the kernel hands every
unusual input to (other spellings, garbage, Decimals), so both paths raise and store alike
(tests/core/test_book_kernel.py compares them on random streams). `COMPILED` says which runs.
"""

from __future__ import annotations

import enum
import heapq
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, Generic, Protocol, TypedDict, TypeVar

from polymarket_bot.core.errors import InvalidValueError
from polymarket_bot.core.types import Side, TickSize, to_decimal

PRICE_SCALE = 10_000
"""Prices are keyed as integer multiples of 0.0001, the finest venue tick."""

# Cached-best sentinels. "Empty" sits beyond every price on the losing side so the first insert
# wins the comparison; "dirty" (best level removed, recompute on read) sits beyond every price on
# the winning side so inserts never overwrite it with a price that may not be the best.
_NO_BID = -1
_NO_ASK = PRICE_SCALE + 1
_BID_DIRTY = 1 << 40
_ASK_DIRTY = -(1 << 40)

_PRICE_CACHE: dict[str | Decimal, int] = {}  # Decimal keys never collide with str keys
_PRICE_CACHE_MAX = 100_000  # only ~10**4 valid prices exist; spelling variants could add more
# units -> Decimal, filled lazily; a list indexes faster than a dict on the read path
_UNITS_DEC: list[Decimal | None] = [None] * (PRICE_SCALE + 1)
_FAST_SIZE_FIRST = frozenset("123456789")
_DEC_ZERO = Decimal(0)
_DEC_HUGE = Decimal("1e18")  # above: the slow path (it rejects infinity)


def _parse_price_slow(price: str | Decimal) -> int:
    d = to_decimal(price)
    if not 0 <= d <= 1:
        raise InvalidValueError(f"price {price!r} outside [0, 1]")
    scaled = d * PRICE_SCALE
    units = int(scaled)
    if units != scaled:
        raise InvalidValueError(f"price {price!r} is not a multiple of 0.0001")
    if len(_PRICE_CACHE) >= _PRICE_CACHE_MAX:
        _PRICE_CACHE.clear()  # bounded memory; valid prices re-enter on their next use
    _PRICE_CACHE[price] = units
    return units


def price_units(price: str | Decimal) -> int:
    """Price (wire string or Decimal) -> integer units of 10**-4 (cached; InvalidValueError)."""
    units = _PRICE_CACHE.get(price)
    return units if units is not None else _parse_price_slow(price)


_SORT_LEVELS: Final = 128
"""Up to this many levels a side, `levels(side, n)` sorts them all (in C) rather than run
`heapq` (Python): ~4x faster at 20 levels, ~2x at 100, slower from a few hundred on."""


def units_to_price(units: int) -> Decimal:
    """Integer price units -> normalized Decimal (`5000` -> `Decimal("0.5")`), cached."""
    if 0 <= units <= PRICE_SCALE:
        d = _UNITS_DEC[units]
        if d is None:
            d = _UNITS_DEC[units] = (Decimal(units) / PRICE_SCALE).normalize()
        return d
    return (Decimal(units) / PRICE_SCALE).normalize()


def _size_is_zero(size: str) -> bool:
    """Slow path for sizes not starting with 1-9: '0', '0.00', '0.5', '.5', garbage."""
    d = to_decimal(size)
    if d < 0:
        raise InvalidValueError(f"negative size {size!r}")
    return d == 0


def _fast_sides(
    bids: dict[int, str | Decimal], n_bids: int, asks: dict[int, str | Decimal], n_asks: int
) -> bool:
    """Whether snapshot sides built straight from cached prices are what the level-by-level
    path would build: no price repeated within a side (a later level would hide an earlier
    size from the check) and every size a string starting with 1-9, which holds exactly when
    the smallest is >= "1" and the largest < ":" (the character after "9"): two C-speed passes
    per side. A Decimal size raises TypeError here (the caller falls back)."""
    if len(bids) != n_bids or len(asks) != n_asks:
        return False
    for sizes in (bids.values(), asks.values()):
        if sizes and not (min(sizes) >= "1" and max(sizes) < ":"):  # type: ignore[operator]
            return False
    return True


def _decimal_size_keeps(size: Decimal) -> bool:
    if not size.is_finite() or size < 0:
        raise InvalidValueError(f"invalid size {size!r}")
    return size != 0


class PriceLevelLike(Protocol):
    """One snapshot level as decoded from the wire: price and size strings (the protocol
    layer's `PriceLevelWire` satisfies it)."""

    @property
    def price(self) -> str: ...
    @property
    def size(self) -> str: ...


class WireLevel(TypedDict):
    price: str
    size: str


class BookWire(TypedDict):
    """`OrderBook.to_wire()`: the subset of the `GET /book` summary the book knows."""

    market: str
    asset_id: str
    timestamp: str
    hash: str
    bids: list[WireLevel]
    asks: list[WireLevel]
    tick_size: str
    last_trade_price: str


@dataclass(frozen=True, slots=True)
class LastTradeInfo:
    price: Decimal
    size: Decimal | None
    side: Side
    ts_ms: int


class DesyncReason(str, enum.Enum):
    """Why a book must be resynced from a fresh snapshot."""

    CROSSED = "crossed"
    """best bid >= best ask after applying deltas."""
    TOP_MISMATCH = "top_mismatch"
    """our best bid/ask differs from the `best_bid`/`best_ask` the venue sent with the change."""
    AWAITING_SNAPSHOT = "awaiting_snapshot"
    """deltas arrived while the book waits for a snapshot (e.g. after a tick size change)."""


class _PyStorage:
    """The fields the hot path writes, as slots (pure-Python mode). Compiled, the kernel's
    `BookState` holds them as typed C fields instead (and the compiled hot methods)."""

    __slots__ = (
        "_ask_best",
        "_asks",
        "_bid_best",
        "_bids",
        "awaiting_snapshot",
        "dropped_updates",
        "last_update_ms",
        "update_count",
    )


class _Book:
    """Every method of `OrderBook`, in pure Python: its implementation when the kernel is not
    built, and otherwise the reference the kernel's `apply_level`, `apply_wire_snapshot` and
    `check_wire_top` hand anything unusual to (see the module docstring)."""

    if not TYPE_CHECKING:  # no slots of its own (mypy would check them against the subclass's)
        __slots__ = ()

    def __init__(
        self, asset_id: str, tick_size: TickSize = TickSize.T0_01, *, market: str = ""
    ) -> None:
        self.asset_id = asset_id
        self.market = market
        self.tick_size = tick_size
        self._bids: dict[int, str | Decimal] = {}
        self._asks: dict[int, str | Decimal] = {}
        self._bid_best = _NO_BID
        self._ask_best = _NO_ASK
        self.epoch = 0
        """Incremented by `start_new_epoch` (tick size change)."""
        self.awaiting_snapshot = True
        """True until the first snapshot, and again after `start_new_epoch`; deltas are dropped."""
        self.dropped_updates = 0
        self.snapshot_hash: str | None = None
        """Hash carried by the last snapshot (stale once deltas were applied)."""
        self.last_update_ms = 0
        self.update_count = 0
        """Snapshots and level updates applied (dropped ones excluded)."""
        self.last_trade: LastTradeInfo | None = None

    # -- writes --------------------------------------------------------------------------------

    def apply_snapshot(
        self,
        bids: Iterable[tuple[str | Decimal, str | Decimal]],
        asks: Iterable[tuple[str | Decimal, str | Decimal]],
        ts_ms: int,
        hash: str | None = None,
        *,
        tick_size: TickSize | None = None,
    ) -> None:
        """Replace the whole book. Levels are (price, size) as strings or Decimals, in any order;
        zero sizes are skipped. On error the book is left unchanged."""
        if isinstance(bids, list | tuple) and isinstance(asks, list | tuple):
            cache = _PRICE_CACHE
            try:
                new_bids: dict[int, str | Decimal] = {cache[p]: s for p, s in bids}
                new_asks: dict[int, str | Decimal] = {cache[p]: s for p, s in asks}
                fast = _fast_sides(new_bids, len(bids), new_asks, len(asks))
            except (KeyError, TypeError):
                fast = False
            if fast:
                self._install(new_bids, new_asks, ts_ms, hash, tick_size)
                return
        self._apply_snapshot_slow(bids, asks, ts_ms, hash, tick_size)

    def apply_wire_snapshot(
        self,
        bids: Sequence[PriceLevelLike],
        asks: Sequence[PriceLevelLike],
        ts_ms: int,
        hash: str | None = None,
        *,
        tick_size: TickSize | None = None,
    ) -> None:
        """`apply_snapshot` for decoded wire levels (`.price`/`.size` strings), same result
        without building (price, size) tuples first."""
        cache = _PRICE_CACHE
        try:
            new_bids: dict[int, str | Decimal] = {cache[lv.price]: lv.size for lv in bids}
            new_asks: dict[int, str | Decimal] = {cache[lv.price]: lv.size for lv in asks}
            fast = _fast_sides(new_bids, len(bids), new_asks, len(asks))
        except (KeyError, TypeError):
            fast = False
        if fast:
            self._install(new_bids, new_asks, ts_ms, hash, tick_size)
        else:
            self._apply_snapshot_slow(
                [(lv.price, lv.size) for lv in bids],
                [(lv.price, lv.size) for lv in asks],
                ts_ms,
                hash,
                tick_size,
            )

    def _apply_snapshot_slow(
        self,
        bids: Iterable[tuple[str | Decimal, str | Decimal]],
        asks: Iterable[tuple[str | Decimal, str | Decimal]],
        ts_ms: int,
        hash: str | None,
        tick_size: TickSize | None,
    ) -> None:
        """Level by level: parses new prices, skips zero sizes, validates the others."""
        new_bids: dict[int, str | Decimal] = {}
        new_asks: dict[int, str | Decimal] = {}
        for side_levels, target in ((bids, new_bids), (asks, new_asks)):
            for price, size in side_levels:
                try:
                    units = _PRICE_CACHE[price]
                except KeyError:
                    units = _parse_price_slow(price)
                if isinstance(size, str):  # "" -> error through _size_is_zero
                    keep = size[:1] in _FAST_SIZE_FIRST or not _size_is_zero(size)
                else:
                    keep = _decimal_size_keeps(size)
                if keep:
                    target[units] = size
                else:
                    target.pop(units, None)
        self._install(new_bids, new_asks, ts_ms, hash, tick_size)

    def _install(
        self,
        new_bids: dict[int, str | Decimal],
        new_asks: dict[int, str | Decimal],
        ts_ms: int,
        hash: str | None,
        tick_size: TickSize | None,
    ) -> None:
        self._bids = new_bids
        self._asks = new_asks
        self._bid_best = max(new_bids) if new_bids else _NO_BID
        self._ask_best = min(new_asks) if new_asks else _NO_ASK
        if tick_size is not None:
            self.tick_size = tick_size
        self.snapshot_hash = hash
        self.awaiting_snapshot = False
        self.last_update_ms = ts_ms
        self.update_count += 1

    def apply_level(self, side_is_bid: bool, price: str, size: str, ts_ms: int) -> None:
        """Set the level at `price` to the absolute `size` (zero removes it). The hot path."""
        if self.awaiting_snapshot:
            self.dropped_updates += 1
            return
        try:  # try/except is free in CPython 3.11 when nothing is raised; .get() is a call
            units = _PRICE_CACHE[price]
        except KeyError:
            units = _parse_price_slow(price)
        try:
            keep = size[0] in _FAST_SIZE_FIRST or (size != "0" and not _size_is_zero(size))
        except IndexError:
            raise InvalidValueError("empty size") from None
        if side_is_bid:
            if keep:
                self._bids[units] = size
                if units > self._bid_best:
                    self._bid_best = units
            elif self._bids.pop(units, None) is not None and units == self._bid_best:
                self._bid_best = _BID_DIRTY
        elif keep:
            self._asks[units] = size
            if units < self._ask_best:
                self._ask_best = units
        elif self._asks.pop(units, None) is not None and units == self._ask_best:
            self._ask_best = _ASK_DIRTY
        self.last_update_ms = ts_ms
        self.update_count += 1

    def apply_level_decimal(
        self, side_is_bid: bool, price: Decimal, size: Decimal, ts_ms: int
    ) -> None:
        """`apply_level` for decoded core events (Decimal price and size)."""
        if self.awaiting_snapshot:
            self.dropped_updates += 1
            return
        try:
            units = _PRICE_CACHE[price]
        except KeyError:
            units = _parse_price_slow(price)
        book = self._bids if side_is_bid else self._asks
        try:
            keep = _DEC_ZERO < size < _DEC_HUGE or _decimal_size_keeps(size)
        except InvalidOperation:  # NaN
            raise InvalidValueError(f"invalid size {size!r}") from None
        if keep:
            book[units] = size
            if side_is_bid:
                if units > self._bid_best:
                    self._bid_best = units
            elif units < self._ask_best:
                self._ask_best = units
        elif book.pop(units, None) is not None:
            if side_is_bid and units == self._bid_best:
                self._bid_best = _BID_DIRTY
            elif not side_is_bid and units == self._ask_best:
                self._ask_best = _ASK_DIRTY
        self.last_update_ms = ts_ms
        self.update_count += 1

    def apply_trade(
        self, price: str | Decimal, size: str | Decimal | None, side: Side, ts_ms: int
    ) -> None:
        """Record a `last_trade_price` event (the book levels change through their own events)."""
        self.last_trade = LastTradeInfo(
            to_decimal(price), None if size is None or size == "" else to_decimal(size), side, ts_ms
        )

    def start_new_epoch(self, new_tick: TickSize) -> None:
        """Tick size changed: drop every level and wait for a fresh snapshot."""
        self.tick_size = new_tick
        self.epoch += 1
        self._bids = {}
        self._asks = {}
        self._bid_best = _NO_BID
        self._ask_best = _NO_ASK
        self.snapshot_hash = None
        self.awaiting_snapshot = True

    # -- top of book ---------------------------------------------------------------------------

    def best_bid_units(self) -> int | None:
        """Best bid in units of 10**-4, or None (fast: no Decimal)."""
        best = self._bid_best
        if best == _BID_DIRTY:
            best = self._bid_best = max(self._bids) if self._bids else _NO_BID
        return None if best == _NO_BID else best

    def best_ask_units(self) -> int | None:
        best = self._ask_best
        if best == _ASK_DIRTY:
            best = self._ask_best = min(self._asks) if self._asks else _NO_ASK
        return None if best == _NO_ASK else best

    def best_bid(self) -> Decimal | None:
        best = self._bid_best  # inlined best_bid_units + units_to_price: read on every update
        if best == _BID_DIRTY:
            best = self._bid_best = max(self._bids) if self._bids else _NO_BID
        if best == _NO_BID:
            return None
        price = _UNITS_DEC[best]
        return price if price is not None else units_to_price(best)

    def best_ask(self) -> Decimal | None:
        best = self._ask_best
        if best == _ASK_DIRTY:
            best = self._ask_best = min(self._asks) if self._asks else _NO_ASK
        if best == _NO_ASK:
            return None
        price = _UNITS_DEC[best]
        return price if price is not None else units_to_price(best)

    def best_bid_size(self) -> Decimal | None:
        units = self.best_bid_units()
        return None if units is None else Decimal(self._bids[units])

    def best_ask_size(self) -> Decimal | None:
        units = self.best_ask_units()
        return None if units is None else Decimal(self._asks[units])

    def best_bid_level(self) -> tuple[Decimal, Decimal] | None:
        units = self.best_bid_units()
        return None if units is None else (units_to_price(units), Decimal(self._bids[units]))

    def best_ask_level(self) -> tuple[Decimal, Decimal] | None:
        units = self.best_ask_units()
        return None if units is None else (units_to_price(units), Decimal(self._asks[units]))

    def mid(self) -> Decimal | None:
        """(best bid + best ask) / 2, exact; None unless both sides have a level."""
        bid, ask = self.best_bid_units(), self.best_ask_units()
        if bid is None or ask is None:
            return None
        return (Decimal(bid + ask) / (2 * PRICE_SCALE)).normalize()

    def spread(self) -> Decimal | None:
        bid, ask = self.best_bid_units(), self.best_ask_units()
        if bid is None or ask is None:
            return None
        return units_to_price(ask - bid)

    def is_crossed(self) -> bool:
        """best bid >= best ask (a locked book counts: the venue would have matched it)."""
        bid, ask = self.best_bid_units(), self.best_ask_units()
        return bid is not None and ask is not None and bid >= ask

    def top_matches(self, best_bid: str | Decimal | None, best_ask: str | Decimal | None) -> bool:
        """Compare our top of book with the `best_bid`/`best_ask` a price_change entry carried.

        The venue writes an empty side as 0 (bids) or 0/1 (asks); None or `""` means the field
        was absent and is not compared. False means a delta was missed: resync.
        """
        # no level can rest at 0 or 1 (prices live in [tick, 1 - tick]), so those mean "empty"
        if best_bid is not None and best_bid != "":
            theirs: int | None = price_units(best_bid)
            if self.best_bid_units() != (None if theirs == 0 else theirs):
                return False
        if best_ask is not None and best_ask != "":
            theirs = price_units(best_ask)
            if self.best_ask_units() != (None if theirs in (0, PRICE_SCALE) else theirs):
                return False
        return True

    def check_wire_top(self, best_bid: str | None, best_ask: str | None) -> DesyncReason | None:
        """After a `price_change` message: is our top of book the one the venue sent with it?

        The venue writes an empty bid side as "0" and an empty ask side as "0" or "1"; a field
        absent or `""` is not compared, and when both are, the book is only checked for being
        crossed. Returns None when the book is consistent, else why it must be resynced.
        One call per asset per message, so the best-price reads are inlined.
        """
        if best_bid:
            try:
                theirs = _PRICE_CACHE[best_bid]
            except KeyError:
                theirs = _parse_price_slow(best_bid)
            mine = self._bid_best
            if mine == _BID_DIRTY:
                mine = self._bid_best = max(self._bids) if self._bids else _NO_BID
            if mine != theirs and (mine != _NO_BID or theirs != 0):
                return DesyncReason.CROSSED if self.is_crossed() else DesyncReason.TOP_MISMATCH
        if best_ask:
            try:
                theirs = _PRICE_CACHE[best_ask]
            except KeyError:
                theirs = _parse_price_slow(best_ask)
            mine = self._ask_best
            if mine == _ASK_DIRTY:
                mine = self._ask_best = min(self._asks) if self._asks else _NO_ASK
            if mine != theirs and (mine != _NO_ASK or (theirs != 0 and theirs != PRICE_SCALE)):
                return DesyncReason.CROSSED if self.is_crossed() else DesyncReason.TOP_MISMATCH
        elif not best_bid and self.is_crossed():
            return DesyncReason.CROSSED
        return None

    # -- depth ---------------------------------------------------------------------------------

    def _side(self, side: Side) -> dict[int, str | Decimal]:
        return self._bids if side is Side.BUY else self._asks

    def depth(self, side: Side, n_ticks: int) -> Decimal:
        """Total size within `n_ticks` ticks of the best price of `side` (0 = best level only)."""
        if n_ticks < 0:
            raise InvalidValueError("n_ticks must be >= 0")
        reach = n_ticks * int(self.tick_size.decimal * PRICE_SCALE)
        if side is Side.BUY:
            best = self.best_bid_units()
            if best is None:
                return Decimal(0)
            floor = best - reach
            return sum((Decimal(s) for u, s in self._bids.items() if u >= floor), Decimal(0))
        best = self.best_ask_units()
        if best is None:
            return Decimal(0)
        ceiling = best + reach
        return sum((Decimal(s) for u, s in self._asks.items() if u <= ceiling), Decimal(0))

    def levels(self, side: Side, n: int | None = None) -> list[tuple[Decimal, Decimal]]:
        """Best-first (price, size) levels of `side`; all of them when `n` is None."""
        book = self._side(side)
        if n is None:
            keys = sorted(book, reverse=side is Side.BUY)
        elif len(book) <= _SORT_LEVELS:  # a C sort beats heapq's Python loop on small books
            keys = sorted(book, reverse=side is Side.BUY)[:n]
        else:  # O(L log n) for the usual top-few query
            keys = heapq.nlargest(n, book) if side is Side.BUY else heapq.nsmallest(n, book)
        table, out = _UNITS_DEC, []
        for u in keys:  # `units_to_price` inlined (no call per level on the order path)
            price = table[u] if 0 <= u <= PRICE_SCALE else None
            out.append((price if price is not None else units_to_price(u), Decimal(book[u])))
        return out

    def level_count(self, side: Side) -> int:
        return len(self._side(side))

    def size_at(self, side: Side, price: str | Decimal) -> Decimal:
        """Size resting at exactly `price` on `side` (0 when there is no level)."""
        size = self._side(side).get(price_units(price))
        return Decimal(size) if size is not None else Decimal(0)

    def to_wire(self) -> BookWire:
        """The book summary shape of `GET /book`: bids ascending, asks descending, strings.

        Only what the book knows: market, asset_id, timestamp, hash (of the last snapshot),
        bids, asks, tick_size, last_trade_price (`""` when none).
        """
        return {
            "market": self.market,
            "asset_id": self.asset_id,
            "timestamp": str(self.last_update_ms),
            "hash": self.snapshot_hash or "",
            "bids": [
                {"price": str(units_to_price(u)), "size": str(self._bids[u])}
                for u in sorted(self._bids)
            ],
            "asks": [
                {"price": str(units_to_price(u)), "size": str(self._asks[u])}
                for u in sorted(self._asks, reverse=True)
            ],
            "tick_size": self.tick_size.value,
            "last_trade_price": str(self.last_trade.price) if self.last_trade else "",
        }


# -- the compiled kernel ---------------------------------------------------------------------

_KERNEL_API = 1
"""The `_book_kernel.API` this source expects (an older build is ignored)."""


def _load_kernel() -> ModuleType | None:
    """The compiled hot path (`_book_kernel`, built by `pip install -e .`), or None: not built,
    built from another version of its source, or POLYMARKET_PURE_PYTHON=1 (tests and benches
    run both ways)."""
    if os.environ.get("POLYMARKET_PURE_PYTHON", "") not in ("", "0"):
        return None
    try:
        from polymarket_bot.core import _book_kernel
    except ImportError:
        return None
    if getattr(_book_kernel, "API", None) != _KERNEL_API:
        return None
    _book_kernel.bind(_Book, price_units, DesyncReason.CROSSED, DesyncReason.TOP_MISMATCH, Side.BUY)
    return _book_kernel


_kernel = _load_kernel()
COMPILED: Final = _kernel is not None
"""Whether the compiled kernel is in use."""

if TYPE_CHECKING:
    _Storage = _PyStorage
else:
    _Storage = _kernel.BookState if _kernel is not None else _PyStorage


class OrderBook(_Storage, _Book):
    """The L2 book of one asset (token)."""

    __slots__ = ("asset_id", "epoch", "last_trade", "market", "snapshot_hash", "tick_size")


class WireChange(Protocol):
    """One decoded `price_changes[]` entry as the hot path reads it (wire strings; the protocol
    layer's `PriceChangeEntry` satisfies it)."""

    @property
    def asset_id(self) -> str: ...
    @property
    def price(self) -> str: ...
    @property
    def size(self) -> str: ...
    @property
    def side(self) -> Side: ...
    @property
    def best_bid(self) -> str | None: ...
    @property
    def best_ask(self) -> str | None: ...


C = TypeVar("C", bound=WireChange)


class _PyChangeApplier(Generic[C]):
    """Applies `price_change` messages to a set of books: the market-data hot path, one call
    per message (`apply`). This pure-Python class is also the reference of the kernel's.

    An entry is applied only when `synced[asset] == session` and `books` has the asset; for an
    asset in `held`, `hold(asset, ts_ms, entry)` decides first (True: not applied now). When any
    entry was applied, `deltas` grows by the message's entry count, then each touched book's top
    is checked once, against the last entry applied to it (the venue sends each asset's top as
    of the end of the message), in first-touch order: `on_desync(asset, reason)` when it is
    wrong, else `on_update(asset, kind)`. `books` maps each asset to its own book; `held` and
    `books` are read at each call (the owner keeps mutating them)."""

    __slots__ = ("_books", "_held", "_hold", "_kind", "_on_desync", "deltas", "on_update")

    def __init__(
        self,
        books: dict[str, OrderBook],
        held: dict[str, Any],
        hold: Callable[[str, int, C], bool],
        on_desync: Callable[[str, DesyncReason], object],
        kind: object,
    ) -> None:
        self._books = books
        self._held = held
        self._hold = hold
        self._on_desync = on_desync
        self._kind = kind
        self.on_update: Callable[[str, Any], None] | None = None
        self.deltas = 0
        """Entries of the messages that applied at least one (the venue's count)."""

    def apply(
        self, changes: Sequence[C], timestamp: str, synced: dict[str, int], session: int
    ) -> None:
        """One message: its `price_changes` entries and its `timestamp` (ms, a wire string)."""
        ts = int(timestamp)
        books = self._books
        held = self._held
        buy = Side.BUY
        last: dict[str, tuple[OrderBook, C]] = {}
        for change in changes:
            aid = change.asset_id
            if synced.get(aid) != session:
                continue
            book = books.get(aid)
            if book is None:
                continue
            if held and aid in held and self._hold(aid, ts, change):
                continue
            book.apply_level(change.side is buy, change.price, change.size, ts)
            last[aid] = book, change
        if not last:
            return
        self.deltas += len(changes)
        on_update = self.on_update
        for aid, (book, change) in last.items():
            reason = book.check_wire_top(change.best_bid, change.best_ask)
            if reason is not None:
                self._on_desync(aid, reason)
            elif on_update is not None:
                on_update(aid, self._kind)


if TYPE_CHECKING:
    ChangeApplier = _PyChangeApplier
else:
    ChangeApplier = _kernel.ChangeApplier if _kernel is not None else _PyChangeApplier


class LevelChange(Protocol):
    """What `BookSet.apply_price_changes` reads from one `price_changes[]` entry.

    Both the protocol layer's wire struct (strings) and the core `PriceLevelChange` event
    (Decimals, `Side`) satisfy it structurally.
    """

    @property
    def asset_id(self) -> str: ...
    @property
    def price(self) -> str | Decimal: ...
    @property
    def size(self) -> str | Decimal: ...
    @property
    def side(self) -> str: ...
    @property
    def best_bid(self) -> str | Decimal | None: ...
    @property
    def best_ask(self) -> str | Decimal | None: ...


class Snapshot(Protocol):
    """What `BookSet.apply_snapshot` reads (the core `BookSnapshot` event satisfies it)."""

    @property
    def asset_id(self) -> str: ...
    @property
    def bids(self) -> Iterable[tuple[str | Decimal, str | Decimal]]: ...
    @property
    def asks(self) -> Iterable[tuple[str | Decimal, str | Decimal]]: ...
    @property
    def timestamp_ms(self) -> int | None: ...
    @property
    def hash(self) -> str: ...
    @property
    def tick_size(self) -> str | Decimal | None: ...


class BookSet(Mapping[str, OrderBook]):
    """The books of every subscribed asset, by asset id."""

    __slots__ = ("_books",)

    def __init__(self) -> None:
        self._books: dict[str, OrderBook] = {}

    def __getitem__(self, asset_id: str) -> OrderBook:
        return self._books[asset_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._books)

    def __len__(self) -> int:
        return len(self._books)

    def add(
        self, asset_id: str, tick_size: TickSize = TickSize.T0_01, *, market: str = ""
    ) -> OrderBook:
        """Return the book of `asset_id`, creating an empty one (awaiting snapshot) if needed."""
        book = self._books.get(asset_id)
        if book is None:
            book = self._books[asset_id] = OrderBook(asset_id, tick_size, market=market)
        return book

    def remove(self, asset_id: str) -> OrderBook | None:
        return self._books.pop(asset_id, None)

    def apply_snapshot(self, snapshot: Snapshot, recv_ms: int = 0) -> OrderBook | None:
        """Replace the book of `snapshot.asset_id` (None if not subscribed); its tick size wins.

        `recv_ms` stands in for a snapshot without a timestamp.
        """
        book = self._books.get(snapshot.asset_id)
        if book is None:
            return None
        tick = snapshot.tick_size
        book.apply_snapshot(
            snapshot.bids,
            snapshot.asks,
            snapshot.timestamp_ms if snapshot.timestamp_ms is not None else recv_ms,
            snapshot.hash or None,
            tick_size=TickSize.parse(tick) if tick is not None and tick != "" else None,
        )
        return book

    def apply_tick_size_change(self, asset_id: str, new_tick: TickSize | str | Decimal) -> bool:
        """Start a new epoch on that book (cleared, awaiting snapshot); False if not subscribed."""
        book = self._books.get(asset_id)
        if book is None:
            return False
        book.start_new_epoch(
            new_tick if isinstance(new_tick, TickSize) else TickSize.parse(new_tick)
        )
        return True

    def apply_price_changes(
        self, changes: Iterable[LevelChange], ts_ms: int
    ) -> dict[str, DesyncReason]:
        """Apply one `price_change` message; return the books that need a resync, with why.

        Entries for unknown assets are skipped. The venue's `best_bid`/`best_ask` are compared
        once per asset after all its entries of the message are applied, using the values of
        its last entry (captured messages repeat the same top on every entry of a message).
        """
        books = self._books
        last: dict[str, LevelChange] = {}
        for change in changes:
            book = books.get(change.asset_id)
            if book is None:
                continue
            price, size = change.price, change.size
            if isinstance(price, str) and isinstance(size, str):
                book.apply_level(change.side == "BUY", price, size, ts_ms)
            else:
                book.apply_level_decimal(
                    change.side == "BUY", to_decimal(price), to_decimal(size), ts_ms
                )
            last[change.asset_id] = change
        desynced: dict[str, DesyncReason] = {}
        for asset_id, change in last.items():
            book = books[asset_id]
            if book.awaiting_snapshot:
                desynced[asset_id] = DesyncReason.AWAITING_SNAPSHOT
            elif book.is_crossed():
                desynced[asset_id] = DesyncReason.CROSSED
            elif not book.top_matches(change.best_bid, change.best_ask):
                desynced[asset_id] = DesyncReason.TOP_MISMATCH
        return desynced
