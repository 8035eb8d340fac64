"""BookIngest: frames -> books, desync detection, resync with buffered deltas (no sockets)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from polymarket_bot.core.types import Side, TickSize
from polymarket_bot.engine.market_data.books import BookIngest, ResyncReason, UpdateKind
from polymarket_bot.protocol.codec import MarketDecoder
from polymarket_bot.protocol.wire_rest import OrderBookSummary, PriceLevelWire

MARKET = "0x5f65177b394277fd294cd75650044e32ba009a95022d88a0c1d565897d72f8f1"
YES = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
NO = "52114319501245915516055106046884209969926127482827954674443846427813813222426"
FIXTURES = Path("/work/shared/fixtures/polymarket/ws_messages")


def frame(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def book_event(
    asset: str, bids: list[tuple[str, str]], asks: list[tuple[str, str]], ts: int
) -> dict[str, Any]:
    return {
        "event_type": "book",
        "asset_id": asset,
        "market": MARKET,
        "bids": [{"price": p, "size": s} for p, s in bids],
        "asks": [{"price": p, "size": s} for p, s in asks],
        "timestamp": str(ts),
        "hash": "0" * 40,
    }


def change(
    asset: str, price: str, size: str, side: str, best_bid: str | None, best_ask: str | None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"asset_id": asset, "price": price, "size": size, "side": side}
    if best_bid is not None:
        entry["best_bid"] = best_bid
    if best_ask is not None:
        entry["best_ask"] = best_ask
    return entry


def price_change(ts: int, *entries: dict[str, Any]) -> bytes:
    return frame(
        {
            "event_type": "price_change",
            "market": MARKET,
            "price_changes": list(entries),
            "timestamp": str(ts),
        }
    )


def rest_book(
    asset: str, bids: list[tuple[str, str]], asks: list[tuple[str, str]], ts: int
) -> OrderBookSummary:
    return OrderBookSummary(
        market=MARKET,
        asset_id=asset,
        timestamp=str(ts),
        hash="f" * 40,
        bids=tuple(PriceLevelWire(price=p, size=s) for p, s in bids),
        asks=tuple(PriceLevelWire(price=p, size=s) for p, s in asks),
        tick_size="0.01",
    )


class Harness:
    """One ingest, one decoder, one 'connection' session; records callbacks."""

    def __init__(self, *assets: str) -> None:
        self.updates: list[tuple[str, UpdateKind]] = []
        self.resyncs: list[str] = []
        self.ticks: list[tuple[str, TickSize]] = []
        self.ingest = BookIngest(
            on_update=lambda a, k: self.updates.append((a, k)),
            on_resync=self.resyncs.append,
            on_tick_size=lambda a, t: self.ticks.append((a, t)),
            buffer_limit=8,
        )
        for asset in assets:
            self.ingest.add(asset, market=MARKET)
        self.decoder = MarketDecoder()
        self.synced: dict[str, int] = {}
        self.session = 1

    def feed(self, data: bytes | str) -> None:
        self.ingest.feed_ws(data, self.decoder, self.synced, self.session)

    def levels(
        self, asset: str
    ) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        book = self.ingest.book(asset)
        assert book is not None
        return book.levels(Side.BUY), book.levels(Side.SELL)


def D(x: str) -> Decimal:
    return Decimal(x)


def test_snapshot_then_absolute_deltas_and_reads() -> None:
    h = Harness(YES)
    h.feed(
        frame(
            [
                book_event(
                    YES, [("0.48", "30"), ("0.49", "20")], [("0.52", "25"), ("0.51", "10")], 1000
                )
            ]
        )
    )
    assert h.synced == {YES: 1}
    h.feed(price_change(1001, change(YES, "0.50", "5", "BUY", "0.5", "0.51")))
    h.feed(price_change(1002, change(YES, "0.49", "0", "BUY", "0.5", "0.51")))  # 0 removes
    h.feed(price_change(1003, change(YES, "0.51", "7.5", "SELL", "0.5", "0.51")))  # absolute
    bids, asks = h.levels(YES)
    assert bids == [(D("0.5"), D("5")), (D("0.48"), D("30"))]
    assert asks == [(D("0.51"), D("7.5")), (D("0.52"), D("25"))]
    book = h.ingest.book(YES)
    assert book is not None
    assert book.mid() == D("0.505") and book.spread() == D("0.01")
    assert book.depth(Side.BUY, 2) == D("35")
    assert book.last_update_ms == 1003
    assert h.ingest.usable(YES)
    assert h.updates == [
        (YES, UpdateKind.BOOK),
        (YES, UpdateKind.PRICE_CHANGE),
        (YES, UpdateKind.PRICE_CHANGE),
        (YES, UpdateKind.PRICE_CHANGE),
    ]
    assert h.ingest.desyncs == {} and h.resyncs == []


def test_entries_for_assets_this_connection_did_not_sync_are_ignored() -> None:
    # The venue mirrors YES changes onto NO in one frame; NO is carried by another connection
    # (or by REST), whose stream would interleave out of order with this one.
    h = Harness(YES, NO)
    h.feed(frame([book_event(YES, [("0.4", "10")], [("0.6", "10")], 1)]))
    h.ingest.apply_rest_books([rest_book(NO, [("0.4", "10")], [("0.6", "10")], 1)])
    h.feed(
        price_change(
            2,
            change(YES, "0.45", "3", "BUY", "0.45", "0.6"),
            change(NO, "0.55", "3", "SELL", "0.4", "0.55"),
        )
    )
    assert h.levels(YES)[0][0] == (D("0.45"), D("3"))
    assert h.levels(NO)[1] == [(D("0.6"), D("10"))]  # untouched
    assert h.ingest.desyncs == {}


def test_top_mismatch_buffers_deltas_and_rest_resync_replays_the_newer_ones() -> None:
    h = Harness(YES)
    h.feed(frame([book_event(YES, [("0.40", "10")], [("0.60", "10")], 100)]))
    # A delta was lost (0.45 bid appeared at ts 101): the venue's top says 0.45, ours 0.40.
    h.feed(price_change(102, change(YES, "0.41", "4", "BUY", "0.45", "0.6")))
    assert h.ingest.is_resyncing(YES) and not h.ingest.usable(YES)
    assert h.resyncs == [YES]
    assert h.ingest.desyncs == {ResyncReason.TOP_MISMATCH.value: 1}
    assert (YES, UpdateKind.DESYNC) in h.updates
    # Deltas arriving meanwhile are held, not applied.
    h.feed(price_change(103, change(YES, "0.59", "2", "SELL", "0.45", "0.59")))
    h.feed(price_change(105, change(YES, "0.46", "1", "BUY", "0.46", "0.59")))
    assert h.ingest.buffered_deltas == 2
    assert h.levels(YES)[1] == [(D("0.6"), D("10"))]
    # The REST snapshot was taken at 104: it contains ts 103, not ts 105.
    snapshot = rest_book(
        YES, [("0.40", "10"), ("0.41", "4"), ("0.45", "9")], [("0.59", "2"), ("0.60", "10")], 104
    )
    assert h.ingest.apply_rest_books([snapshot]) == [YES]
    bids, asks = h.levels(YES)
    assert bids[0] == (D("0.46"), D("1")) and (D("0.45"), D("9")) in bids
    assert asks == [(D("0.59"), D("2")), (D("0.6"), D("10"))]
    assert h.ingest.usable(YES) and h.ingest.replayed_deltas == 1
    assert h.ingest.resyncs_done == 1


def test_a_ws_snapshot_ends_a_resync_and_drops_the_buffer() -> None:
    h = Harness(YES)
    h.feed(frame([book_event(YES, [("0.40", "10")], [("0.60", "10")], 100)]))
    h.feed(price_change(101, change(YES, "0.41", "4", "BUY", "0.45", "0.6")))
    h.feed(price_change(102, change(YES, "0.42", "4", "BUY", "0.45", "0.6")))
    h.feed(frame(book_event(YES, [("0.45", "1")], [("0.55", "1")], 103)))
    assert h.ingest.usable(YES)
    assert h.levels(YES) == ([(D("0.45"), D("1"))], [(D("0.55"), D("1"))])
    # A late REST answer for the finished resync is older than the book: skipped.
    assert h.ingest.apply_rest_books([rest_book(YES, [("0.3", "1")], [("0.7", "1")], 101)]) == []
    assert h.ingest.rest_stale_snapshots == 1


def test_crossed_book_without_top_fields_is_a_desync() -> None:
    h = Harness(YES)
    h.feed(frame([book_event(YES, [("0.40", "10")], [("0.60", "10")], 1)]))
    h.feed(price_change(2, change(YES, "0.61", "1", "BUY", None, None)))
    assert h.ingest.desyncs == {ResyncReason.CROSSED.value: 1}
    assert h.resyncs == [YES]


def test_the_venue_writes_empty_sides_as_zero_or_one() -> None:
    h = Harness(YES)
    h.feed(frame([book_event(YES, [], [("0.60", "10")], 1)]))
    h.feed(price_change(2, change(YES, "0.6", "0", "SELL", "0", "1")))
    assert h.ingest.desyncs == {} and h.levels(YES) == ([], [])
    h.feed(price_change(3, change(YES, "0.3", "5", "BUY", "0.3", "0")))
    assert h.ingest.desyncs == {}


def test_tick_size_change_starts_a_new_epoch_until_a_snapshot() -> None:
    h = Harness(YES)
    h.feed(frame([book_event(YES, [("0.95", "10")], [("0.97", "10")], 10)]))
    h.feed(
        frame(
            {
                "event_type": "tick_size_change",
                "asset_id": YES,
                "market": MARKET,
                "old_tick_size": "0.01",
                "new_tick_size": "0.001",
                "timestamp": "20",
            }
        )
    )
    book = h.ingest.book(YES)
    assert book is not None
    assert book.epoch == 1 and book.awaiting_snapshot and book.tick_size is TickSize.T0_001
    assert h.ticks == [(YES, TickSize.T0_001)]
    assert (YES, UpdateKind.TICK_SIZE) in h.updates and h.resyncs == [YES]
    assert not h.ingest.usable(YES)
    # A REST snapshot from before the change belongs to the old epoch.
    assert h.ingest.apply_rest_books([rest_book(YES, [("0.95", "1")], [], 15)]) == []
    h.feed(frame(book_event(YES, [("0.955", "3")], [("0.962", "4")], 21)))
    assert h.ingest.usable(YES) and book.best_bid() == D("0.955")


def test_malformed_and_control_frames_are_counted_and_skipped() -> None:
    h = Harness(YES)
    h.feed(frame([book_event(YES, [("0.4", "1")], [("0.6", "1")], 1)]))
    h.feed(b'{"event_type": "price_change", "market": 0x12')
    h.feed(b"INVALID OPERATION")
    h.feed(b"NO NEW ASSETS")
    h.feed(
        b'{"event_type":"price_change","market":"m","price_changes":[{"asset_id":"'
        + YES.encode()
        + b'","price":"0.45","size":"-1","side":"BUY"}],"timestamp":"5"}'
    )
    assert h.ingest.decode_errors == 1
    assert h.ingest.invalid_operations == 1
    assert h.ingest.invalid_events == 1  # negative size: the book refuses it...
    assert h.ingest.desyncs == {ResyncReason.INVALID_DELTA.value: 1}  # ...and asks for a resync
    h.feed(price_change(6, change(YES, "0.45", "2", "BUY", "0.45", "0.6")))  # held meanwhile
    assert h.ingest.buffered_deltas == 1


def test_a_full_buffer_refuses_snapshots_older_than_the_dropped_deltas() -> None:
    h = Harness(YES)
    h.feed(frame([book_event(YES, [("0.40", "10")], [("0.60", "10")], 100)]))
    h.feed(price_change(101, change(YES, "0.41", "4", "BUY", "0.45", "0.6")))
    for i in range(9):  # buffer_limit is 8
        h.feed(price_change(110 + i, change(YES, "0.42", str(i + 1), "BUY", "0.45", "0.6")))
    assert h.ingest.desyncs[ResyncReason.BUFFER_OVERFLOW.value] == 1
    assert h.resyncs == [YES, YES]
    assert h.ingest.apply_rest_books([rest_book(YES, [("0.45", "1")], [("0.6", "1")], 112)]) == []
    applied = h.ingest.apply_rest_books(
        [rest_book(YES, [("0.42", "9"), ("0.45", "1")], [("0.6", "1")], 118)]
    )
    assert applied == [YES] and h.ingest.usable(YES)


def test_book_hashes_never_reject_a_book() -> None:
    h = Harness(YES)
    event = book_event(YES, [("0.4", "1")], [("0.6", "1")], 1)
    event["hash"] = "not-even-hex"
    h.feed(frame([event]))
    assert h.ingest.usable(YES)


def test_recorded_fixtures_decode_and_apply() -> None:
    book_msg = json.loads((FIXTURES / "book.json").read_text())
    change_msg = json.loads((FIXTURES / "price_change_v2.json").read_text())
    asset = change_msg["price_changes"][0]["asset_id"]
    book_msg["asset_id"] = asset
    h = Harness(asset)
    h.feed(frame(book_msg))
    assert h.ingest.usable(asset)
    h.feed(frame(change_msg))
    book = h.ingest.book(asset)
    assert book is not None
    assert book.size_at(Side.BUY, "0.6") == D("3300")  # applied (the top then disagrees)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.booleans(), st.integers(1, 99), st.sampled_from(["0", "1", "2.5", "100", "0.00"])
        ),
        min_size=1,
        max_size=60,
    )
)
def test_deltas_match_a_naive_model(ops: list[tuple[bool, int, str]]) -> None:
    """Bids below 0.50, asks above: whatever the sequence, the book equals a plain dict model
    and the venue-reported top (computed from the model) never flags a desync."""
    h = Harness(YES)
    h.feed(frame([book_event(YES, [], [], 0)]))
    bids: dict[int, str] = {}
    asks: dict[int, str] = {}
    for ts, (is_bid, cents, size) in enumerate(ops, start=1):
        units = cents // 2 if is_bid else 50 + (cents + 1) // 2
        units = min(max(units, 1), 99)
        side = bids if is_bid and units < 50 else asks if not is_bid and units > 50 else None
        if side is None:
            continue
        price = f"0.{units:02d}"
        if Decimal(size) == 0:
            side.pop(units, None)
        else:
            side[units] = size
        best_bid = f"0.{max(bids):02d}" if bids else "0"
        best_ask = f"0.{min(asks):02d}" if asks else "1"
        h.feed(
            price_change(
                ts, change(YES, price, size, "BUY" if is_bid else "SELL", best_bid, best_ask)
            )
        )
    got_bids, got_asks = h.levels(YES)
    assert got_bids == [
        (Decimal(f"0.{u:02d}"), Decimal(s)) for u, s in sorted(bids.items(), reverse=True)
    ]
    assert got_asks == [(Decimal(f"0.{u:02d}"), Decimal(s)) for u, s in sorted(asks.items())]
    assert h.ingest.desyncs == {}


def test_an_audit_keeps_the_book_live_and_repairs_a_deep_level() -> None:
    h = Harness(YES)
    h.feed(frame([book_event(YES, [("0.40", "10"), ("0.30", "5")], [("0.60", "10")], 100)]))
    assert h.ingest.audit(YES) and not h.ingest.audit(YES)  # one at a time
    assert h.ingest.usable(YES) and not h.ingest.is_resyncing(YES)
    h.feed(price_change(101, change(YES, "0.41", "4", "BUY", "0.41", "0.6")))  # still applied
    assert h.levels(YES)[0][0] == (D("0.41"), D("4"))
    # The venue's book at 100 had 7 at 0.30, not 5: a delta below the top was lost.
    venue = rest_book(YES, [("0.40", "10"), ("0.30", "7")], [("0.60", "10")], 100)
    h.updates.clear()
    assert h.ingest.apply_rest_books([venue]) == [YES]
    bids, _ = h.levels(YES)
    assert bids == [(D("0.41"), D("4")), (D("0.4"), D("10")), (D("0.3"), D("7"))]
    assert h.ingest.audit_mismatches == 1 and h.updates == [(YES, UpdateKind.BOOK)]
    # A clean audit changes nothing and tells nobody.
    assert h.ingest.audit(YES)
    same = rest_book(YES, [("0.41", "4"), ("0.40", "10"), ("0.30", "7")], [("0.60", "10")], 101)
    h.updates.clear()
    assert h.ingest.apply_rest_books([same]) == [YES]
    assert h.ingest.audit_mismatches == 1 and h.updates == []
    # An audit snapshot older than the book cannot judge it; a missing one is abandoned.
    assert h.ingest.audit(YES)
    assert h.ingest.apply_rest_books([rest_book(YES, [], [], 50)]) == []
    assert h.ingest.audit(YES)
    h.ingest.abandon_audit(YES)
    assert h.ingest.audit(YES)
    # A desync during an audit turns it into a resync that keeps the recorded deltas.
    h.feed(price_change(102, change(YES, "0.42", "1", "BUY", "0.45", "0.6")))
    assert h.ingest.is_resyncing(YES) and h.resyncs == [YES]


def test_an_identical_rest_snapshot_confirms_without_news() -> None:
    h = Harness(YES)
    snap = rest_book(YES, [("0.4", "1")], [("0.6", "1")], 7)
    assert h.ingest.apply_rest_books([snap]) == [YES]
    h.updates.clear()
    assert h.ingest.apply_rest_books([snap]) == [YES]  # confirmed (feed age), not re-applied
    assert h.updates == [] and h.ingest.rest_unchanged == 1
    changed = rest_book(YES, [("0.4", "2")], [("0.6", "1")], 7)
    changed = msgspec.structs.replace(changed, hash="e" * 40)
    assert h.ingest.apply_rest_books([changed]) == [YES]
    assert h.updates == [(YES, UpdateKind.BOOK)]
