"""Market-data ingest: raw WS frame -> decoded wire events -> local L2 books, with desync
detection and REST resync bookkeeping. Synchronous and allocation-light: it runs once per frame.

* `book` (WS or REST) replaces the asset's book. A WS snapshot is in-stream, so it also ends any
  resync in progress; a REST snapshot older than what the book already saw is skipped.
* `price_change` entries set absolute level sizes (wire strings, the book's fast path). After a
  frame, each touched book is checked against the `best_bid`/`best_ask` the venue sent with it
  (or, when absent, for a crossed book). A mismatch means a missed delta: the book is marked
  desynced, its later deltas are buffered, and a REST snapshot is requested; when the snapshot
  arrives the buffered deltas not older than it are replayed on top. Book hashes are never used
  to reject anything (the venue's WS hash recipe is uncertain).
* `tick_size_change` starts a new book epoch (cleared, awaiting a snapshot) and asks for one.
* `last_trade_price` is recorded on the book.

Feed liveness is not tracked here: the WS shards and the REST poller know when each source last
spoke (see service.py); a quiet book is not a stale one.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from polymarket_bot.core.book import (
    BookSet,
    BookWire,
    ChangeApplier,
    DesyncReason,
    OrderBook,
)
from polymarket_bot.core.errors import InvalidValueError
from polymarket_bot.core.types import Side, TickSize
from polymarket_bot.protocol.codec import MarketDecoder
from polymarket_bot.protocol.errors import DecodeError
from polymarket_bot.protocol.wire import (
    BookEvent,
    LastTradePriceEvent,
    PriceChangeEntry,
    PriceChangeEvent,
    TickSizeChangeEvent,
)
from polymarket_bot.protocol.wire_rest import OrderBookSummary

__all__ = ["BookIngest", "OnUpdate", "ResyncReason", "UpdateKind"]

_log = logging.getLogger(__name__)

_BUY: Final = Side.BUY
_INVALID_OPERATION: Final = b"INVALID OPERATION"
_TICKS: dict[str, TickSize] = {t.value: t for t in TickSize}


class UpdateKind(str, enum.Enum):
    """What `on_update(asset_id, kind)` reports."""

    BOOK = "book"
    """A full snapshot was applied (WS or REST, resyncs included)."""
    PRICE_CHANGE = "price_change"
    """Level deltas were applied (once per asset per frame)."""
    LAST_TRADE = "last_trade"
    TICK_SIZE = "tick_size"
    """A new book epoch: the book is empty until its next snapshot."""
    DESYNC = "desync"
    """The book missed something; unusable until resynced (`feed_age_seconds` is None)."""


OnUpdate = Callable[[str, UpdateKind], None]


class ResyncReason(str, enum.Enum):
    CROSSED = DesyncReason.CROSSED.value
    TOP_MISMATCH = DesyncReason.TOP_MISMATCH.value
    TICK_SIZE_CHANGE = "tick_size_change"
    INVALID_DELTA = "invalid_delta"
    BUFFER_OVERFLOW = "buffer_overflow"


@dataclass(slots=True)
class _Resync:
    """A book waiting for a REST snapshot: the deltas that arrived meanwhile, in order.

    A *hard* resync (desync) holds the deltas back: the book is unusable until the snapshot.
    A *soft* one (an audit of a healthy book) applies them as usual and only records them, so
    the snapshot can be brought forward to the present when it arrives.
    """

    reason: ResyncReason | None
    """None for an audit."""
    min_ts: int = 0
    """A snapshot older than this cannot repair the book (deltas after it were dropped, or, for
    an audit, already applied before the audit started)."""
    buffer: list[tuple[int, PriceChangeEntry]] = field(default_factory=list)

    @property
    def soft(self) -> bool:
        return self.reason is None


def _tick(value: str | None) -> TickSize | None:
    if not value:
        return None
    tick = _TICKS.get(value)
    return tick if tick is not None else TickSize.parse(value)


class BookIngest:
    """The books of every tracked asset and the code that keeps them right.

    `on_update(asset_id, kind)` runs synchronously on every change (keep it cheap);
    `on_resync(asset_id)` asks for a REST snapshot (the service forwards it to the poller);
    `on_tick_size(asset_id, tick)` lets the catalogue follow tick changes.
    """

    def __init__(
        self,
        *,
        on_update: OnUpdate | None = None,
        on_resync: Callable[[str], None] | None = None,
        on_tick_size: Callable[[str, TickSize], None] | None = None,
        buffer_limit: int = 10_000,
    ) -> None:
        self.books = BookSet()
        self._books: dict[str, OrderBook] = {}  # same objects as `books`, plain dict for speed
        self.by_asset: Mapping[str, OrderBook] = self._books
        """Every tracked book by asset id, read-only (`track`/`untrack` change it): a plain
        attribute, so a lookup is one C call (read on every decision)."""
        self._resync: dict[str, _Resync] = {}
        # the price_change hot path (compiled when the kernel is built): holds on_update, deltas
        self._changes: ChangeApplier[PriceChangeEntry] = ChangeApplier(
            self._books, self._resync, self._hold, self._desync_top, UpdateKind.PRICE_CHANGE
        )
        self.on_update = on_update
        self.on_resync = on_resync
        self.on_tick_size = on_tick_size
        self.buffer_limit = buffer_limit
        # counters
        self.frames = 0
        self.decode_errors = 0
        self.invalid_operations = 0
        """`INVALID OPERATION` answers (a subscribe the venue refused)."""
        self.invalid_events = 0
        """Decoded events whose values the book refused (bad price/size/timestamp)."""
        self.snapshots_ws = 0
        self.snapshots_rest = 0
        self.rest_stale_snapshots = 0
        """REST snapshots skipped because the book had already seen newer data."""
        self.rest_unchanged = 0
        """REST snapshots identical to the book's last one (same hash and time): confirmed,
        not re-applied, no callback."""
        self.buffered_deltas = 0
        self.replayed_deltas = 0
        self.trades = 0
        self.tick_size_changes = 0
        self.desyncs: dict[str, int] = {}
        self.resyncs_done = 0
        self.audits = 0
        """REST snapshots requested to check a healthy WS-fed book (deep levels have no check
        of their own: only the top of book travels with the deltas)."""
        self.audit_mismatches = 0
        """Audits that found the book different from the venue's (and repaired it)."""
        self.other_events = 0

    @property
    def on_update(self) -> OnUpdate | None:
        return self._changes.on_update

    @on_update.setter
    def on_update(self, callback: OnUpdate | None) -> None:
        self._changes.on_update = callback

    @property
    def deltas(self) -> int:
        """price_change entries applied (all of a message's when it applied any)."""
        return self._changes.deltas

    # --- assets ---------------------------------------------------------------------------

    def add(
        self, asset_id: str, *, market: str = "", tick_size: TickSize | None = None
    ) -> OrderBook:
        book = self._books.get(asset_id)
        if book is None:
            book = self.books.add(asset_id, tick_size or TickSize.T0_01, market=market)
            self._books[asset_id] = book
        elif market and not book.market:
            book.market = market
        return book

    def remove(self, asset_id: str) -> None:
        self.books.remove(asset_id)
        self._books.pop(asset_id, None)
        self._resync.pop(asset_id, None)

    def book(self, asset_id: str) -> OrderBook | None:
        return self._books.get(asset_id)

    def is_resyncing(self, asset_id: str) -> bool:
        """Desynced and waiting for a snapshot (an audit in flight does not count)."""
        state = self._resync.get(asset_id)
        return state is not None and not state.soft

    def usable(self, asset_id: str) -> bool:
        """Has a snapshot and no pending resync."""
        book = self._books.get(asset_id)
        if book is None or book.awaiting_snapshot:
            return False
        state = self._resync.get(asset_id)
        return state is None or state.soft

    @property
    def resyncing(self) -> frozenset[str]:
        return frozenset(a for a, s in self._resync.items() if not s.soft)

    def __len__(self) -> int:
        return len(self._books)

    # --- WS frames (the hot path) ---------------------------------------------------------

    def feed_ws(
        self,
        data: bytes | str,
        decoder: MarketDecoder,
        synced: dict[str, int],
        session: int,
    ) -> None:
        """One raw market-channel frame from the connection whose current session is `session`.

        `synced[asset] = session` is set for every `book` event, which is how the shard knows
        which of its assets this session covers; `price_change` entries are applied only for
        those assets (`ChangeApplier`, core/book.py)."""
        self.frames += 1
        try:
            events = decoder.decode(data)
        except DecodeError:
            if (data if isinstance(data, bytes) else data.encode()).strip() == _INVALID_OPERATION:
                self.invalid_operations += 1
            else:
                self.decode_errors += 1
            return
        for ev in events:
            try:
                if type(ev) is PriceChangeEvent:
                    # only for the assets this connection synced in its current session (the
                    # venue's mirrored entry for an asset carried elsewhere would arrive out of
                    # order with that stream); books pending a resync hold theirs (`_hold`)
                    self._changes.apply(ev.price_changes, ev.timestamp, synced, session)
                elif isinstance(ev, BookEvent):
                    if self._snapshot(ev, from_ws=True):
                        synced[ev.asset_id] = session
                elif isinstance(ev, LastTradePriceEvent):
                    self._trade(ev)
                elif isinstance(ev, TickSizeChangeEvent):
                    self._tick_size(ev)
                else:
                    self.other_events += 1
            except (InvalidValueError, ValueError):
                self.invalid_events += 1
                if isinstance(ev, PriceChangeEvent):
                    for change in ev.price_changes:
                        if change.asset_id in self._books:
                            self.desync(change.asset_id, ResyncReason.INVALID_DELTA)

    def _desync_top(self, asset_id: str, reason: DesyncReason) -> None:
        self.desync(asset_id, ResyncReason(reason.value))  # CROSSED or TOP_MISMATCH

    def _hold(self, asset_id: str, ts: int, change: PriceChangeEntry) -> bool:
        """Record a delta for a pending snapshot; True if it must not be applied now."""
        state = self._resync[asset_id]
        if len(state.buffer) >= self.buffer_limit:
            if state.soft:
                del self._resync[asset_id]  # give the audit up; the next one will do
                return False
            # Keep memory bounded: forget the deltas, and refuse any snapshot older than them.
            state.buffer.clear()
            state.min_ts = ts
            self._count(ResyncReason.BUFFER_OVERFLOW)
            if self.on_resync is not None:
                self.on_resync(asset_id)
        state.buffer.append((ts, change))
        self.buffered_deltas += 1
        return not state.soft

    def _trade(self, ev: LastTradePriceEvent) -> None:
        book = self._books.get(ev.asset_id)
        if book is None:
            return
        book.apply_trade(ev.price, ev.size or None, ev.side, int(ev.timestamp))
        self.trades += 1
        if self.on_update is not None:
            self.on_update(ev.asset_id, UpdateKind.LAST_TRADE)

    def _tick_size(self, ev: TickSizeChangeEvent) -> None:
        aid = ev.asset_id
        book = self._books.get(aid)
        if book is None:
            return
        tick = _tick(ev.new_tick_size)
        if tick is None:
            raise InvalidValueError("tick_size_change without new_tick_size")
        book.start_new_epoch(tick)
        self.tick_size_changes += 1
        if self.on_tick_size is not None:
            self.on_tick_size(aid, tick)
        if self.on_update is not None:
            self.on_update(aid, UpdateKind.TICK_SIZE)
        # The venue follows with a fresh `book`; a REST snapshot is the safety net. Anything
        # older than the change belongs to the previous epoch.
        self.desync(aid, ResyncReason.TICK_SIZE_CHANGE, min_ts=int(ev.timestamp))

    # --- snapshots (WS and REST) ----------------------------------------------------------

    def _snapshot(self, ev: BookEvent | OrderBookSummary, *, from_ws: bool) -> bool:
        aid = ev.asset_id
        book = self._books.get(aid)
        if book is None:
            return False
        ts = int(ev.timestamp) if ev.timestamp else book.last_update_ms
        state = self._resync.get(aid)
        before: BookWire | None = None
        if not from_ws:
            if state is not None and ts < state.min_ts:
                self.rest_stale_snapshots += 1
                if state.soft:
                    del self._resync[aid]  # too old to judge the book by
                return False  # older than what a resync needs: it stays requested
            if state is None and not book.awaiting_snapshot:
                if ts < book.last_update_ms:
                    self.rest_stale_snapshots += 1
                    return False  # the book already saw newer data (WS got there first)
                if ev.hash and ev.hash == book.snapshot_hash and ts == book.last_update_ms:
                    self.rest_unchanged += 1
                    return True  # the same snapshot again (a quiet market): nothing to do
            if state is not None and state.soft:
                before = book.to_wire()
        book.apply_wire_snapshot(
            ev.bids, ev.asks, ts, ev.hash or None, tick_size=_tick(ev.tick_size)
        )
        if ev.market and not book.market:
            book.market = ev.market
        if from_ws:
            self.snapshots_ws += 1
        else:
            self.snapshots_rest += 1
        if state is not None:
            del self._resync[aid]
            if not state.soft:
                self.resyncs_done += 1
            if not from_ws:  # an in-stream snapshot covers everything buffered before it
                self._replay(aid, book, ts, state.buffer)
                if aid in self._resync:
                    return True  # the replay found the book still wrong: asked again
            if before is not None:
                after = book.to_wire()
                if (before["bids"], before["asks"]) == (after["bids"], after["asks"]):
                    return True  # the audit found nothing: no news for the strategies
                self.audit_mismatches += 1
                _log.info("audit of %s found a missed delta; book repaired", aid)
        if self.on_update is not None:
            self.on_update(aid, UpdateKind.BOOK)
        return True

    def _replay(
        self, aid: str, book: OrderBook, snap_ts: int, buffer: list[tuple[int, PriceChangeEntry]]
    ) -> None:
        last: PriceChangeEntry | None = None
        for ts, change in buffer:
            if ts < snap_ts:
                continue  # the snapshot already contains it
            book.apply_level(change.side is _BUY, change.price, change.size, ts)
            last = change
            self.replayed_deltas += 1
        if last is None:
            if book.is_crossed():
                self.desync(aid, ResyncReason.CROSSED)
            return
        if book.is_crossed() or not book.top_matches(last.best_bid, last.best_ask):
            self.desync(aid, ResyncReason.TOP_MISMATCH)

    def apply_rest_books(self, books: Iterable[OrderBookSummary]) -> list[str]:
        """Apply `POST /books` results; returns the assets whose book they confirmed (applied,
        or identical to the book's last snapshot)."""
        applied: list[str] = []
        for summary in books:
            try:
                if self._snapshot(summary, from_ws=False):
                    applied.append(summary.asset_id)
            except (InvalidValueError, ValueError):
                self.invalid_events += 1
        return applied

    # --- desync ---------------------------------------------------------------------------

    def audit(self, asset_id: str) -> bool:
        """Check a usable book against a REST snapshot without taking it out of service: its
        deltas keep applying and are recorded; the snapshot, brought forward with them,
        replaces the book. True if an audit started (ask the poller for the snapshot)."""
        book = self._books.get(asset_id)
        if book is None or book.awaiting_snapshot or asset_id in self._resync:
            return False
        self._resync[asset_id] = _Resync(None, min_ts=book.last_update_ms)
        self.audits += 1
        return True

    def abandon_audit(self, asset_id: str) -> None:
        """The audit's snapshot will not come (the venue did not return the book)."""
        state = self._resync.get(asset_id)
        if state is not None and state.soft:
            del self._resync[asset_id]

    def desync(self, asset_id: str, reason: ResyncReason, *, min_ts: int = 0) -> None:
        """Mark a book unusable until a snapshot repairs it, and ask for one."""
        state = self._resync.get(asset_id)
        if state is not None and not state.soft:
            state.min_ts = max(state.min_ts, min_ts)
            return
        if state is not None:  # an audit in flight becomes a resync, keeping what it recorded
            state.reason = reason
            state.min_ts = max(state.min_ts, min_ts)
        else:
            self._resync[asset_id] = _Resync(reason, min_ts)
        self._count(reason)
        if reason is not ResyncReason.TICK_SIZE_CHANGE:
            _log.debug("book %s desynced (%s): resync requested", asset_id, reason.value)
        if self.on_update is not None and reason is not ResyncReason.TICK_SIZE_CHANGE:
            self.on_update(asset_id, UpdateKind.DESYNC)
        if self.on_resync is not None:
            self.on_resync(asset_id)

    def _count(self, reason: ResyncReason) -> None:
        self.desyncs[reason.value] = self.desyncs.get(reason.value, 0) + 1

    def stats(self) -> dict[str, object]:
        awaiting = sum(1 for b in self._books.values() if b.awaiting_snapshot)
        return {
            "books": len(self._books),
            "awaiting_snapshot": awaiting,
            "resyncing": sum(1 for s in self._resync.values() if not s.soft),
            "audits": self.audits,
            "audit_mismatches": self.audit_mismatches,
            "frames": self.frames,
            "decode_errors": self.decode_errors,
            "invalid_operations": self.invalid_operations,
            "invalid_events": self.invalid_events,
            "snapshots_ws": self.snapshots_ws,
            "snapshots_rest": self.snapshots_rest,
            "rest_stale_snapshots": self.rest_stale_snapshots,
            "rest_unchanged": self.rest_unchanged,
            "deltas": self.deltas,
            "buffered_deltas": self.buffered_deltas,
            "replayed_deltas": self.replayed_deltas,
            "trades": self.trades,
            "tick_size_changes": self.tick_size_changes,
            "desyncs": dict(self.desyncs),
            "resyncs_done": self.resyncs_done,
            "other_events": self.other_events,
        }
