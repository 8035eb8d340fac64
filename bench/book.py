"""L2 book throughput: our `OrderBook` vs a naive dict + max()/min() book, in the same run.

Workload (after ref/performance-and-reliability.md §2.2): 200 books, 50 levels per side on a
0.001 grid, pre-decoded `price_change` deltas (65% resize, 17.5% new level, 17.5% delete, skewed
to the top of the book). One op = apply one level update + read best bid and best ask.
Both books must agree with each other after the run.

Run: .venv/bin/python bench/book.py [--deltas N] [--repeat R]
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from collections.abc import Callable
from decimal import Decimal

from polymarket_bot.core.book import OrderBook
from polymarket_bot.core.types import Side, TickSize

N_BOOKS = 200
DEPTH = 50
TICK = 10  # 0.001 in units of 10**-4

Delta = tuple[int, bool, str, str]
Levels = list[tuple[str, str]]
Snapshot = tuple[Levels, Levels]


def _price(units: int) -> str:
    return str((Decimal(units) / 10_000).normalize())


def _size(rng: random.Random) -> str:
    return f"{rng.randint(1, 50_000)}.{rng.randint(0, 99):02d}"


def make_workload(n_deltas: int, seed: int = 7) -> tuple[list[Snapshot], list[Delta]]:
    rng = random.Random(seed)
    snapshots: list[Snapshot] = []
    live: list[tuple[set[int], set[int], int]] = []
    for _ in range(N_BOOKS):
        center = rng.randrange(100, 900) * TICK
        bids = {center - TICK * (i + 1) for i in range(DEPTH)}
        asks = {center + TICK * (i + 1) for i in range(DEPTH)}
        snapshots.append(
            (
                [(_price(u), _size(rng)) for u in sorted(bids)],
                [(_price(u), _size(rng)) for u in sorted(asks, reverse=True)],
            )
        )
        live.append((bids, asks, center))
    deltas: list[Delta] = []
    hot = [rng.paretovariate(1.2) for _ in range(N_BOOKS)]  # Pareto-hot markets
    books = rng.choices(range(N_BOOKS), weights=hot, k=n_deltas)
    for b in books:
        bids, asks, center = live[b]
        is_bid = rng.random() < 0.5
        levels = bids if is_bid else asks
        sign = -1 if is_bid else 1
        # distance from the center in ticks, skewed to the top of book
        dist = min(int(rng.expovariate(1 / 6)) + 1, 2 * DEPTH)
        units = center + sign * dist * TICK
        r = rng.random()
        if r < 0.825:  # resize (or new level when `units` is empty): set a size
            if r < 0.65 and units not in levels and levels:
                units = min(levels, key=lambda u: abs(u - center))  # resize the nearest level
            levels.add(units)
            deltas.append((b, is_bid, _price(units), _size(rng)))
        else:  # delete a level (the nearest existing one to `units`)
            if units not in levels and levels:
                units = min(levels, key=lambda u: abs(u - units))
            levels.discard(units)
            deltas.append((b, is_bid, _price(units), "0"))
    return snapshots, deltas


class NaiveBook:
    """dict[Decimal, Decimal] per side, best computed with max()/min() on every read."""

    def __init__(self) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}

    def apply_snapshot(self, bids: Levels, asks: Levels) -> None:
        self.bids = {Decimal(p): Decimal(s) for p, s in bids}
        self.asks = {Decimal(p): Decimal(s) for p, s in asks}

    def apply_level(self, is_bid: bool, price: str, size: str) -> None:
        side = self.bids if is_bid else self.asks
        p, s = Decimal(price), Decimal(size)
        if s == 0:
            side.pop(p, None)
        else:
            side[p] = s

    def best_bid(self) -> Decimal | None:
        return max(self.bids) if self.bids else None

    def best_ask(self) -> Decimal | None:
        return min(self.asks) if self.asks else None


def run_ours(
    snapshots: list[Snapshot], deltas: list[Delta], decimal_reads: bool
) -> tuple[float, list[OrderBook]]:
    books = [OrderBook(str(i), TickSize.T0_001) for i in range(N_BOOKS)]
    for book, (bids, asks) in zip(books, snapshots, strict=True):
        book.apply_snapshot(bids, asks, 0)
    gc.collect()
    t0 = time.perf_counter()
    if decimal_reads:
        for b, is_bid, price, size in deltas:
            book = books[b]
            book.apply_level(is_bid, price, size, 1)
            book.best_bid()
            book.best_ask()
    else:
        for b, is_bid, price, size in deltas:
            book = books[b]
            book.apply_level(is_bid, price, size, 1)
            book.best_bid_units()
            book.best_ask_units()
    elapsed = time.perf_counter() - t0
    return elapsed, books


def run_ours_decimal(
    snapshots: list[Snapshot], deltas: list[tuple[int, bool, Decimal, Decimal]]
) -> float:
    """The decoded-core-event path: Decimal price and size in, Decimal best out."""
    books = [OrderBook(str(i), TickSize.T0_001) for i in range(N_BOOKS)]
    for book, (bids, asks) in zip(books, snapshots, strict=True):
        book.apply_snapshot(bids, asks, 0)
    gc.collect()
    t0 = time.perf_counter()
    for b, is_bid, price, size in deltas:
        book = books[b]
        book.apply_level_decimal(is_bid, price, size, 1)
        book.best_bid()
        book.best_ask()
    return time.perf_counter() - t0


def run_naive(snapshots: list[Snapshot], deltas: list[Delta]) -> tuple[float, list[NaiveBook]]:
    books = [NaiveBook() for _ in range(N_BOOKS)]
    for book, (bids, asks) in zip(books, snapshots, strict=True):
        book.apply_snapshot(bids, asks)
    gc.collect()
    t0 = time.perf_counter()
    for b, is_bid, price, size in deltas:
        book = books[b]
        book.apply_level(is_bid, price, size)
        book.best_bid()
        book.best_ask()
    elapsed = time.perf_counter() - t0
    return elapsed, books


def run_snapshots(snapshots: list[Snapshot], rounds: int) -> float:
    book = OrderBook("x", TickSize.T0_001)
    t0 = time.perf_counter()
    for _ in range(rounds):
        for bids, asks in snapshots:
            book.apply_snapshot(bids, asks, 0)
    return (time.perf_counter() - t0) / (rounds * len(snapshots))


def _median(fn: Callable[[], float], repeat: int) -> float:
    fn()  # warm-up (fills the price cache, as a long-running process would have)
    return statistics.median(fn() for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deltas", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    snapshots, deltas = make_workload(args.deltas)
    n = len(deltas)

    _, ours = run_ours(snapshots, deltas, decimal_reads=True)
    _, naive = run_naive(snapshots, deltas)
    for mine, ref in zip(ours, naive, strict=True):
        assert mine.best_bid() == ref.best_bid() and mine.best_ask() == ref.best_ask()
        assert dict(mine.levels(Side.BUY)) == ref.bids
        assert dict(mine.levels(Side.SELL)) == ref.asks

    t_units = _median(lambda: run_ours(snapshots, deltas, decimal_reads=False)[0], args.repeat)
    t_dec = _median(lambda: run_ours(snapshots, deltas, decimal_reads=True)[0], args.repeat)
    dec_deltas = [(b, is_bid, Decimal(p), Decimal(sz)) for b, is_bid, p, sz in deltas]
    t_decin = _median(lambda: run_ours_decimal(snapshots, dec_deltas), args.repeat)
    t_naive = _median(lambda: run_naive(snapshots, deltas)[0], args.repeat)
    t_snap = run_snapshots(snapshots, 20)

    print(f"{n} deltas over {N_BOOKS} books, {DEPTH}+{DEPTH} levels, median of {args.repeat}")
    rows = [
        ("OrderBook: update + best units", t_units),
        ("OrderBook: update + best Decimal", t_dec),
        ("OrderBook: Decimal in + best Decimal", t_decin),
        ("naive dict+max(): update + best", t_naive),
    ]
    for name, t in rows:
        print(f"  {name:<37} {n / t / 1e6:6.2f} M op/s  {t / n * 1e6:6.3f} us/op")
    print(f"  ratio OrderBook(units)/naive          {t_naive / t_units:6.1f}x")
    print(f"  ratio OrderBook(Decimal)/naive        {t_naive / t_dec:6.1f}x")
    print(f"  snapshot rebuild (100 levels)         {t_snap * 1e6:6.2f} us")


if __name__ == "__main__":
    main()
