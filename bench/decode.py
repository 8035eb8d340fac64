"""Decode throughput of the market-channel decoder against stdlib `json.loads` of the same bytes.

Frames have the recorded shapes: a `book` snapshot with 50 levels a side (venue order, best last)
and a current-schema `price_change` with 2 entries. Both decoders run in the same process on the
same bytes; the ratio is what matters (absolute numbers depend on the machine).

    .venv/bin/python bench/decode.py [--seconds 2.0]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from polymarket_bot.protocol.codec import MarketDecoder
from polymarket_bot.protocol.mapping import market_event_to_core

MARKET = "0xdd22472e552920b8438158ea7238bfadfa4f736aa4cee91a6b86c39ead110917"
YES = "21742633143463906290569050155826241533067272736897614950488156847949938836455"
NO = "48331043336612883890938759509493159234755048973500640148014422747788308965732"


def book_frame(levels: int = 50) -> bytes:
    bids = [
        {"price": f"{0.01 + i * 0.01:.2f}", "size": f"{1000 + i * 37.13:.2f}"}
        for i in range(levels)
    ]
    asks = [
        {"price": f"{0.99 - i * 0.009:.3f}", "size": f"{500 + i * 11.7:.2f}"} for i in range(levels)
    ]
    frame = {
        "event_type": "book",
        "asset_id": NO,
        "market": MARKET,
        "bids": bids,
        "asks": asks,
        "timestamp": "1728799418260",
        "hash": "655a38d4977427b086c25b985993691b753ed166",
    }
    return json.dumps(frame, separators=(",", ":")).encode()


def price_change_frame() -> bytes:
    frame = {
        "market": MARKET,
        "price_changes": [
            {
                "asset_id": YES,
                "price": "0.5",
                "size": "200",
                "side": "BUY",
                "hash": "56621a121a47ed9333273e21c83b660cff37ae50",
                "best_bid": "0.5",
                "best_ask": "1",
            },
            {
                "asset_id": NO,
                "price": "0.5",
                "size": "200",
                "side": "SELL",
                "hash": "1895759e4df7a796bf4f1c5a5950b748306923e2",
                "best_bid": "0",
                "best_ask": "0.5",
            },
        ],
        "event_type": "price_change",
        "timestamp": "1757908892351",
    }
    return json.dumps(frame, separators=(",", ":")).encode()


def rate(fn: Callable[[bytes], Any], data: bytes, seconds: float) -> float:
    """Frames per second, timing batches until `seconds` have passed."""
    batch, count = 1000, 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(batch):
            fn(data)
        count += batch
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="per measurement")
    args = parser.parse_args()

    decoder = MarketDecoder()

    def decode_and_map(data: bytes) -> None:
        for event in decoder.decode(data):
            market_event_to_core(event)

    for name, data in (("book", book_frame()), ("price_change", price_change_frame())):
        assert decoder.decode(data) and decoder.lenient_frames == 0  # the fast path is measured
        rate(decoder.decode, data, 0.2)  # warm-up
        ours = rate(decoder.decode, data, args.seconds)
        stdlib = rate(json.loads, data, args.seconds)
        mapped = rate(decode_and_map, data, args.seconds)
        print(
            f"{name}: ours {ours:,.0f} frames/s | json.loads {stdlib:,.0f} frames/s"
            f" | ratio {ours / stdlib:.1f}x  ({len(data):,} bytes;"
            f" decode+map to core events {mapped:,.0f} frames/s)"
        )


if __name__ == "__main__":
    main()
