"""Market-data ingest throughput: the whole path next to the bare decode of the same frames.

Whole path = what runs per received WS frame: the connection's liveness bookkeeping (two clock
reads, counters; what `WsConnection`'s reader does), `MarketDecoder.decode`, the local book
update (`BookIngest.feed_ws`: price_change deltas on the book's fast path and the top-of-book
check, or a full `book` snapshot). Both are measured in the same run, interleaved in rounds,
on the same pool of frames; the ratio is what matters (target: whole path <= 2x decode). The
book update runs on the compiled kernel when it is built (core/_book_kernel.pyx);
`POLYMARKET_PURE_PYTHON=1` measures the pure-Python path. The first line says which.

Frames have the recorded shapes (bench/decode.py): `price_change` with a YES entry and its
mirrored NO entry (the venue's current schema), generated from a consistent book so the
top-of-book check passes; `book` snapshots with 50 levels a side.

The second figure sends the same price_change frames through a real WebSocket: a plain
`websockets` server on loopback blasts them to our `WsShard` (WsConnection -> ingest); it is
printed next to the transport alone (a no-op consumer).

`--long` pushes 10 million frames through the ingest path and prints RSS (and, with
`--tracemalloc`, Python heap) at checkpoints: memory must stay flat.

    .venv/bin/python bench/ingest.py [--seconds 0.5] [--rounds 7] [--ws-frames 200000] [--long]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

sys.path.insert(0, str(Path(__file__).resolve().parent))
from decode import MARKET, NO, YES

from polymarket_bot.core.book import COMPILED
from polymarket_bot.core.clock import LiveClock
from polymarket_bot.engine.market_data.books import BookIngest, UpdateKind
from polymarket_bot.engine.market_data.shards import WsShard
from polymarket_bot.protocol.codec import MarketDecoder

_PONG = b"PONG"  # transport/ws.py: the reader swallows these

POOL = 2_000
"""Distinct frames per kind (cycled)."""
OTHER = "1" + YES[1:]
"""A third asset whose snapshots the long run mixes in."""


def _p(units: int) -> str:
    """Price in units of 0.001 -> wire text ("0.5", "0.512")."""
    text = f"{units / 1000:.3f}".rstrip("0")
    return text[:-1] if text.endswith(".") else text


def _size(rng: random.Random) -> str:
    return f"{rng.randint(1, 50_000)}.{rng.randint(0, 99):02d}"


def book_frames(n: int, seed: int = 7) -> list[bytes]:
    """`book` snapshots of the NO token, 50 levels a side on a 0.001 grid (venue order)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        mid = rng.randint(200, 800)
        bids = [{"price": _p(mid - 1 - k), "size": _size(rng)} for k in range(50)][::-1]
        asks = [{"price": _p(mid + 1 + k), "size": _size(rng)} for k in range(50)][::-1]
        frame = {
            "event_type": "book",
            "asset_id": NO,
            "market": MARKET,
            "bids": bids,
            "asks": asks,
            "timestamp": str(1_728_799_418_260 + i),
            "hash": f"{rng.getrandbits(160):040x}",
        }
        out.append(json.dumps(frame, separators=(",", ":")).encode())
    return out


def price_change_stream(n: int, seed: int = 11) -> tuple[list[bytes], bytes]:
    """(n price_change frames, the snapshot frame they start from). A YES book on a 0.001
    grid (bids below 0.500, asks above) evolves level by level; every frame carries the YES
    change and its mirror on NO (a YES bid at p is a NO ask at 1 - p), with each token's top
    of book after the change, as the venue sends it."""
    rng = random.Random(seed)
    bids = {u: _size(rng) for u in range(480, 500)}
    asks = {u: _size(rng) for u in range(501, 521)}

    def snapshot() -> bytes:
        yes = {
            "event_type": "book",
            "asset_id": YES,
            "market": MARKET,
            "bids": [{"price": _p(u), "size": s} for u, s in sorted(bids.items())],
            "asks": [{"price": _p(u), "size": s} for u, s in sorted(asks.items(), reverse=True)],
            "timestamp": "1757908892000",
            "hash": "",
        }
        no = {
            "event_type": "book",
            "asset_id": NO,
            "market": MARKET,
            "bids": [
                {"price": _p(1000 - u), "size": s} for u, s in sorted(asks.items(), reverse=True)
            ],
            "asks": [{"price": _p(1000 - u), "size": s} for u, s in sorted(bids.items())],
            "timestamp": "1757908892000",
            "hash": "",
        }
        return json.dumps([yes, no], separators=(",", ":")).encode()

    start = snapshot()
    frames = []
    for i in range(n):
        is_bid = rng.random() < 0.5
        side = bids if is_bid else asks
        r = rng.random()
        if r < 0.65 or len(side) < 5:  # resize a level near the top
            units = (max(side) - rng.randint(0, 4)) if is_bid else (min(side) + rng.randint(0, 4))
            units = units if units in side else (max(side) if is_bid else min(side))
            size = _size(rng)
            side[units] = size
        elif r < 0.825:  # a new level, sometimes improving the top
            units = rng.randint(470, 499) if is_bid else rng.randint(501, 530)
            size = _size(rng)
            side[units] = size
        else:  # a level goes away
            units = rng.choice(list(side))
            size = "0"
            del side[units]
        yb, ya = max(bids), min(asks)
        entries = [
            {
                "asset_id": YES,
                "price": _p(units),
                "size": size,
                "side": "BUY" if is_bid else "SELL",
                "hash": f"{rng.getrandbits(160):040x}",
                "best_bid": _p(yb),
                "best_ask": _p(ya),
            },
            {
                "asset_id": NO,
                "price": _p(1000 - units),
                "size": size,
                "side": "SELL" if is_bid else "BUY",
                "hash": f"{rng.getrandbits(160):040x}",
                "best_bid": _p(1000 - ya),
                "best_ask": _p(1000 - yb),
            },
        ]
        frame = {
            "market": MARKET,
            "price_changes": entries,
            "event_type": "price_change",
            "timestamp": str(1_757_908_892_351 + i),
        }
        frames.append(json.dumps(frame, separators=(",", ":")).encode())
    # Back to the start: the pool is cycled, and both measurements see this frame too.
    frames.append(start)
    bids.clear()
    asks.clear()
    return frames, start


class Path_:
    """The whole per-frame path (`feed`): liveness bookkeeping + decode + books."""

    def __init__(self, *, callback: bool = False) -> None:
        self.calls = 0
        on_update: Callable[[str, UpdateKind], None] | None = None
        if callback:

            def on_update(asset_id: str, kind: UpdateKind) -> None:
                self.calls += 1

        self.ingest = BookIngest(on_update=on_update)
        for asset in (YES, NO, OTHER):
            self.ingest.add(asset, market=MARKET)
        self.decoder = MarketDecoder()
        self.synced: dict[str, int] = {}
        self.session = 1
        clock = LiveClock()
        self.mono, self.wall = clock.monotonic, clock.time
        self.messages = 0
        self.last_frame_monotonic = 0.0
        self.last_message_monotonic = 0.0
        self.last_message_epoch = 0.0

    def feed(self, data: bytes) -> None:
        # what WsConnection does for every frame (transport/ws.py `_deliver`), then
        # the shard's `_on_message` (no recorder)
        now = self.mono()
        self.last_frame_monotonic = now
        if data == _PONG:
            return
        ts = self.wall()
        self.messages += 1
        self.last_message_monotonic = now
        self.last_message_epoch = ts
        self.ingest.feed_ws(data, self.decoder, self.synced, self.session)


def _rate(fn: Callable[[bytes], Any], frames: list[bytes], seconds: float) -> float:
    n, count = len(frames), 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for data in frames:
            fn(data)
        count += n
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def compare(
    name: str, frames: list[bytes], start: bytes | None, seconds: float, rounds: int
) -> float:
    decoder = MarketDecoder()
    plain, with_cb = Path_(), Path_(callback=True)
    for path in (plain, with_cb):
        if start is not None:
            path.feed(start)
    # warm-up, and proof that the frames are clean: the fast path, no desync
    for path in (plain, with_cb):
        _rate(path.feed, frames, 0.2)
        assert path.ingest.desyncs == {} and path.ingest.decode_errors == 0, path.ingest.stats()
    _rate(decoder.decode, frames, 0.2)
    assert decoder.lenient_frames == 0
    dec, ing, cb = [], [], []
    gc.collect()
    for _ in range(rounds):  # interleaved, so machine noise hits both alike
        dec.append(_rate(decoder.decode, frames, seconds))
        ing.append(_rate(plain.feed, frames, seconds))
        cb.append(_rate(with_cb.feed, frames, seconds))
    ratios = sorted(d / i for d, i in zip(dec, ing, strict=True))
    d, i, c = statistics.median(dec), statistics.median(ing), statistics.median(cb)
    ratio = statistics.median(ratios)
    size = statistics.mean(len(f) for f in frames)
    print(
        f"{name:<13} decode {d:>10,.0f} frames/s | whole path {i:>10,.0f} frames/s | "
        f"ratio {ratio:.2f}x (best {ratios[0]:.2f}x, target <= 2x) | "
        f"+on_update callback {c:,.0f} frames/s  ({size:,.0f} bytes/frame)"
    )
    return d


async def ws_figure(frames: list[bytes], start: bytes, total: int) -> tuple[float, float]:
    """(frames/s through WsConnection -> ingest, frames/s through WsConnection alone)."""
    texts = [f.decode() for f in frames]

    async def handler(ws: ServerConnection) -> None:
        await ws.recv()  # the subscribe frame
        await ws.send(start.decode())
        sent = 0
        while sent < total:
            for text in texts:
                await ws.send(text)
            sent += len(texts)
        await ws.send("END")
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, compression=None, max_queue=None) as server:
        port = server.sockets[0].getsockname()[1]
        url = f"ws://127.0.0.1:{port}"
        results = []
        for with_ingest in (True, False):
            ingest = BookIngest()
            ingest.add(YES)
            ingest.add(NO)
            shard = WsShard(1, url, ingest, capacity=10, clock=LiveClock(), ping_interval=0)
            shard.add(YES)
            shard.add(NO)
            done = asyncio.Event()
            marks: list[float] = []
            feed = shard._on_message

            def on_message(
                data: bytes | str,
                ts: float,
                feed: Any = feed if with_ingest else None,
                marks: list[float] = marks,
                done: asyncio.Event = done,
            ) -> None:
                if data == b"END":
                    marks.append(time.perf_counter())
                    done.set()
                    return
                if not marks:
                    marks.append(time.perf_counter())
                if feed is not None:
                    feed(data, ts)

            shard.conn._on_message = on_message
            await shard.start()
            await asyncio.wait_for(done.wait(), 600)
            received = shard.conn.messages - 1  # END
            await shard.stop()
            if with_ingest:
                assert ingest.deltas > 0 and ingest.desyncs == {}, ingest.stats()
            results.append(received / (marks[-1] - marks[0]))
        return results[0], results[1]


def rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def long_run(
    changes: list[bytes], start: bytes, books: list[bytes], total: int, traced: bool
) -> None:
    """`total` frames (1 book snapshot per 50 price_change frames) through the whole path."""
    path = Path_(callback=True)
    path.feed(start)
    mixed: list[bytes] = []
    for i, frame in enumerate(changes):
        mixed.append(frame)
        if i % 50 == 49:
            mixed.append(books[i % len(books)].replace(NO.encode(), OTHER.encode()))
    if traced:
        tracemalloc.start()
    checkpoint = max(total // 10, 1)
    done = 0
    t0 = time.perf_counter()
    print(f"long run: {total:,} frames, checkpoints every {checkpoint:,}")
    while done < total:
        for frame in mixed:
            path.feed(frame)
        done += len(mixed)
        if done // checkpoint != (done - len(mixed)) // checkpoint:
            gc.collect()
            heap = ""
            if traced:
                current, peak = tracemalloc.get_traced_memory()
                heap = f" | python heap {current / 2**20:7.2f} MiB (peak {peak / 2**20:.2f})"
            print(
                f"  {done:>12,} frames  {time.perf_counter() - t0:7.1f} s  "
                f"RSS {rss_mb():8.1f} MiB{heap}  gc objects {len(gc.get_objects()):,}"
            )
    stats = path.ingest.stats()
    assert stats["desyncs"] == {}, stats
    print(f"  deltas applied {stats['deltas']:,}, callbacks {path.calls:,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="per measurement")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (median)")
    parser.add_argument("--ws-frames", type=int, default=200_000)
    parser.add_argument("--long", action="store_true", help="10M-frame memory run")
    parser.add_argument("--long-frames", type=int, default=10_000_000)
    parser.add_argument("--tracemalloc", action="store_true", help="trace the heap (slower)")
    args = parser.parse_args()

    changes, start = price_change_stream(POOL)
    books = book_frames(200)
    kernel = "compiled (core/_book_kernel)" if COMPILED else "pure Python (not built, or forced)"
    print(
        f"python {sys.version.split()[0]}; book kernel: {kernel}; "
        f"pool {POOL:,} price_change + 200 book frames"
    )
    decode_pc = compare("price_change", changes, start, args.seconds, args.rounds)
    compare("book", books, None, args.seconds, args.rounds)
    if args.ws_frames:
        full, bare = asyncio.run(ws_figure(changes, start, args.ws_frames))
        print(
            f"websocket     price_change over loopback (websockets server -> WsConnection): "
            f"{full:,.0f} frames/s with ingest | {bare:,.0f} frames/s transport alone | "
            f"bare decode {decode_pc:,.0f}"
        )
    if args.long:
        long_run(changes, start, books, args.long_frames, args.tracemalloc)


if __name__ == "__main__":
    main()
