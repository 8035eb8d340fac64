"""Price-time priority book of one binary market, kept in YES-price space.

Both tokens of a market share one book: a YES bid at p and a NO ask at 1 - p are the same kind of
interest (someone wants YES exposure at p), so

    YES BUY p  -> bid at p          YES SELL p -> ask at p
    NO  BUY q  -> ask at 1 - q      NO  SELL q -> bid at 1 - q

A taker crosses the opposite side in price, then time, order; a YES bid meeting a NO BUY is a
mint (both pay, a complete set is split), a YES ask meeting a NO SELL a merge. Each token's
book view is this book as is (YES) or mirrored (NO), so what a client sees is what it can hit.

Prices are integer micro-dollars; sizes integer base units. Levels are FIFO deques with lazy
deletion: a cancelled or filled order stops being `resting`, its size leaves the level total at
once, and its stale deque slot is dropped when it reaches the front. Sort keys make the best
price the LAST element on both sides (bids key = price, asks key = -price), which is also the
venue's snapshot order (bids ascending, asks descending).
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, insort
from collections import deque
from typing import Final, NamedTuple

from polymarket_bot.core.types import TickSize, to_base_units
from polymarket_bot.sim.fees import FeeSchedule
from polymarket_bot.sim.model import (
    LIVE,
    BookSnapshot,
    MarketSpec,
    PriceLevelChange,
    SimOrder,
    fmt_units,
)

__all__ = [
    "AMOUNT_DECIMALS",
    "PRICE_SCALE",
    "TICK_UNITS",
    "BookSide",
    "Bucket",
    "Fill",
    "Leg",
    "Level",
    "MarketBook",
    "MarketState",
    "grid_price",
    "plan_legs",
    "price_buckets",
]

PRICE_SCALE = 10**6

Fill = tuple[SimOrder, int]
"""(resting maker order, shares matched in base units)."""


class Level:
    __slots__ = ("orders", "price", "total")

    def __init__(self, price: int) -> None:
        self.price = price
        self.orders: deque[SimOrder] = deque()
        self.total = 0


class BookSide:
    """One side in YES space. `keys` is ascending, best price last."""

    __slots__ = ("is_bid", "keys", "levels")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.levels: dict[int, Level] = {}
        self.keys: list[int] = []

    def key(self, price: int) -> int:
        return price if self.is_bid else -price

    def best(self) -> int | None:
        if not self.keys:
            return None
        k = self.keys[-1]
        return k if self.is_bid else -k

    def add(self, order: SimOrder) -> None:
        price = order.yes_price_u
        level = self.levels.get(price)
        if level is None:
            level = self.levels[price] = Level(price)
            insort(self.keys, self.key(price))
        level.orders.append(order)
        level.total += order.remaining

    def size_at(self, price: int) -> int:
        level = self.levels.get(price)
        return 0 if level is None else level.total

    def reduce(self, order: SimOrder, qty: int) -> None:
        """`qty` of `order` left the level (fill or cancel); drop the level once empty."""
        level = self.levels[order.yes_price_u]
        level.total -= qty
        if level.total == 0:
            self._drop(level.price)
        else:
            orders = level.orders
            while orders and not orders[0].resting:
                orders.popleft()

    def _drop(self, price: int) -> None:
        del self.levels[price]
        keys = self.keys
        del keys[bisect_left(keys, self.key(price))]

    def depth(self) -> list[tuple[int, int]]:
        """(YES price, total size) per level, best last."""
        sign = 1 if self.is_bid else -1
        levels = self.levels
        return [(sign * k, levels[sign * k].total) for k in self.keys]


class MarketBook:
    """The two YES-space sides of one market, plus the set of levels touched since the last
    `take_dirty()` (for `price_change` events)."""

    __slots__ = ("asks", "bids", "dirty")

    def __init__(self) -> None:
        self.bids = BookSide(is_bid=True)
        self.asks = BookSide(is_bid=False)
        self.dirty: dict[tuple[bool, int], None] = {}  # insertion-ordered set

    def side(self, is_bid: bool) -> BookSide:
        return self.bids if is_bid else self.asks

    def best_bid(self) -> int | None:
        return self.bids.best()

    def best_ask(self) -> int | None:
        return self.asks.best()

    def crosses(self, is_bid: bool, yes_limit: int) -> bool:
        """Would a `is_bid` order at `yes_limit` (YES space) trade against the book?"""
        if is_bid:
            best = self.asks.best()
            return best is not None and best <= yes_limit
        best = self.bids.best()
        return best is not None and best >= yes_limit

    def plan(self, is_bid: bool, yes_limit: int, qty: int) -> tuple[list[Fill], int]:
        """Fills a taker would get, best price first then time; pure (no mutation).

        Returns the fills and the total matched quantity (<= `qty`)."""
        opposite = self.asks if is_bid else self.bids
        threshold = -yes_limit if is_bid else yes_limit
        keys = opposite.keys
        levels = opposite.levels
        sign = -1 if is_bid else 1
        fills: list[Fill] = []
        remaining = qty
        i = len(keys) - 1
        while remaining > 0 and i >= 0 and keys[i] >= threshold:
            for order in levels[sign * keys[i]].orders:
                if not order.resting:
                    continue
                q = order.remaining if order.remaining < remaining else remaining
                fills.append((order, q))
                remaining -= q
                if remaining == 0:
                    break
            i -= 1
        return fills, qty - remaining

    def add(self, order: SimOrder) -> None:
        order.resting = True
        self.side(order.is_bid).add(order)
        self.dirty[(order.is_bid, order.yes_price_u)] = None

    def fill(self, order: SimOrder, qty: int) -> None:
        """A resting order matched `qty` (its `remaining` is already reduced by the caller)."""
        if order.remaining == 0:
            order.resting = False
        self.side(order.is_bid).reduce(order, qty)
        self.dirty[(order.is_bid, order.yes_price_u)] = None

    def remove(self, order: SimOrder) -> None:
        """Take a resting order off the book (cancel, expiry, resolution)."""
        if not order.resting:
            return
        order.resting = False
        self.side(order.is_bid).reduce(order, order.remaining)
        self.dirty[(order.is_bid, order.yes_price_u)] = None

    def take_dirty(self) -> list[tuple[bool, int, int]]:
        """(is_bid, YES price, new absolute size) of each level touched since the last call."""
        out = [(is_bid, price, self.side(is_bid).size_at(price)) for (is_bid, price) in self.dirty]
        self.dirty.clear()
        return out

    def errors(self, name: str) -> list[str]:
        """Broken book invariants (crossed, dead orders resting, wrong level totals)."""
        errors: list[str] = []
        bb, ba = self.best_bid(), self.best_ask()
        if bb is not None and ba is not None and bb >= ba:
            errors.append(f"market {name} crossed: {bb} >= {ba}")
        if any(o.status != LIVE or o.remaining <= 0 for o in self.orders()):
            errors.append(f"market {name}: dead order resting")
        for side in (self.bids, self.asks):
            for level in side.levels.values():
                if level.total != sum(o.remaining for o in level.orders if o.resting):
                    errors.append(f"market {name}: level {level.price} total")
        return errors

    def orders(self) -> list[SimOrder]:
        """All resting orders (for invariants and sweeps)."""
        return [
            o
            for side in (self.bids, self.asks)
            for level in side.levels.values()
            for o in level.orders
            if o.resting
        ]


# Amount decimals per tick (§6.4): the quantum SDK amounts are truncated to.
AMOUNT_DECIMALS: Final = {
    TickSize.T0_1: 3,
    TickSize.T0_01: 4,
    TickSize.T0_005: 5,
    TickSize.T0_0025: 6,
    TickSize.T0_001: 5,
    TickSize.T0_0001: 6,
}

TICK_UNITS: Final = {t: to_base_units(t.decimal) for t in TickSize}


class MarketState:
    """Mutable state of one market; `book` is in YES space (module docstring)."""

    __slots__ = (
        "accepting_orders",
        "book",
        "closed",
        "last_trade",
        "min_size",
        "spec",
        "tick_size",
        "winner_token_id",
    )

    def __init__(self, spec: MarketSpec) -> None:
        self.spec = spec
        self.book = MarketBook()
        self.tick_size = spec.tick_size
        self.min_size = to_base_units(spec.min_order_size)
        self.accepting_orders = True
        self.closed = False
        self.winner_token_id: str | None = None
        self.last_trade: dict[str, tuple[int, str]] = {}  # token -> (price_u, taker side)

    @property
    def condition_id(self) -> str:
        return self.spec.condition_id

    @property
    def tick_u(self) -> int:
        return TICK_UNITS[self.tick_size]

    @property
    def token_ids(self) -> tuple[str, str]:
        return (self.spec.yes_token_id, self.spec.no_token_id)

    def outcome_of(self, token_id: str) -> str:
        return self.spec.yes_outcome if token_id == self.spec.yes_token_id else self.spec.no_outcome

    def other_token(self, token_id: str) -> str:
        yes, no = self.token_ids
        return no if token_id == yes else yes

    def snapshot(self, token_id: str) -> BookSnapshot:
        """Aggregated book of one token; NO is the mirror of the YES-space book."""
        bids = self.book.bids.depth()
        asks = self.book.asks.depth()
        if token_id == self.spec.yes_token_id:
            own_bids, own_asks = bids, asks
        else:  # NO bids = YES asks at 1 - p; reversing the map keeps best-last order
            own_bids = [(PRICE_SCALE - p, s) for p, s in asks]
            own_asks = [(PRICE_SCALE - p, s) for p, s in bids]
        last = self.last_trade.get(token_id)
        return BookSnapshot(
            market=self.condition_id,
            asset_id=token_id,
            bids=tuple((fmt_units(p), fmt_units(s)) for p, s in own_bids),
            asks=tuple((fmt_units(p), fmt_units(s)) for p, s in own_asks),
            min_order_size=fmt_units(self.min_size),
            tick_size=self.tick_size.value,
            neg_risk=self.spec.neg_risk,
            last_trade_price="" if last is None else fmt_units(last[0]),
            last_trade_side="" if last is None else last[1],
            best_bid=fmt_units(own_bids[-1][0]) if own_bids else None,
            best_ask=fmt_units(own_asks[-1][0]) if own_asks else None,
        )

    def level_changes(
        self, dirty: list[tuple[bool, int, int]], ts: int, cause: str
    ) -> tuple[PriceLevelChange, ...]:
        """`price_change` entries for touched YES-space levels, mirrored onto the NO token."""
        yes, no = self.token_ids
        bb, ba = self.book.best_bid(), self.book.best_ask()
        yes_bb = "0" if bb is None else fmt_units(bb)
        yes_ba = "1" if ba is None else fmt_units(ba)
        no_bb = "0" if ba is None else fmt_units(PRICE_SCALE - ba)
        no_ba = "1" if bb is None else fmt_units(PRICE_SCALE - bb)
        changes: list[PriceLevelChange] = []
        for is_bid, price, size in dirty:
            shown = fmt_units(size)
            for asset, p, side, best_bid, best_ask in (
                (yes, price, "BUY" if is_bid else "SELL", yes_bb, yes_ba),
                (no, PRICE_SCALE - price, "SELL" if is_bid else "BUY", no_bb, no_ba),
            ):
                digest = hashlib.sha1(
                    f"{cause}:{asset}:{p}:{size}:{ts}".encode(), usedforsecurity=False
                ).hexdigest()
                changes.append(
                    PriceLevelChange(asset, fmt_units(p), shown, side, best_bid, best_ask, digest)
                )
        return tuple(changes)


# --- from fills to money: pure settlement planning ----------------------------------------


class Leg:
    """One planned fill with its signed pUSD deltas (fees excluded) and complete sets created
    (+q mint, -q merge, 0 same-token)."""

    __slots__ = ("locked", "maker", "maker_pusd", "qty", "taker_price", "taker_pusd")

    def __init__(
        self,
        maker: SimOrder,
        qty: int,
        taker_price: int,
        taker_pusd: int,
        maker_pusd: int,
        locked: int,
    ) -> None:
        self.maker = maker
        self.qty = qty
        self.taker_price = taker_price
        self.taker_pusd = taker_pusd
        self.maker_pusd = maker_pusd
        self.locked = locked


class Bucket(NamedTuple):
    """A run of legs at one taker price = one trade: legs[start:end], taker fee in pUSD."""

    start: int
    end: int
    price: int
    fee: int


def grid_price(pusd: int, shares: int, tick_u: int, amount_decimals: int) -> int | None:
    """Price of an order carrying `pusd` for `shares`, snapped to the nearest tick; None when
    off the grid by more than the SDKs' amount truncation explains (|pusd - shares x grid|
    under one amount quantum, 10**-amount_decimals) or outside [tick, 1 - tick]."""
    scaled = pusd * PRICE_SCALE
    grid = (2 * scaled + shares * tick_u) // (2 * shares * tick_u) * tick_u
    tolerance = 10 ** (6 - amount_decimals) * PRICE_SCALE
    if abs(scaled - grid * shares) >= tolerance or not tick_u <= grid <= PRICE_SCALE - tick_u:
        return None
    return grid


def plan_legs(token_id: str, is_buy: bool, fills: list[Fill]) -> list[Leg]:
    """Money of each fill; the maker's pUSD leg is floor(q x maker price) and the taker's is
    the same amount (same token) or q minus it (mint/merge: 1 pUSD per pair)."""
    legs: list[Leg] = []
    for maker, q in fills:
        pm = maker.price_u
        maker_leg = q * pm // PRICE_SCALE
        if maker.token_id == token_id:  # same token, opposite sides
            sign = -1 if is_buy else 1
            legs.append(Leg(maker, q, pm, sign * maker_leg, -sign * maker_leg, 0))
        elif is_buy:  # mint: both buy, a complete set is split
            legs.append(Leg(maker, q, PRICE_SCALE - pm, -(q - maker_leg), -maker_leg, q))
        else:  # merge: both sell, a complete set is redeemed
            legs.append(Leg(maker, q, PRICE_SCALE - pm, q - maker_leg, maker_leg, -q))
    return legs


def price_buckets(legs: list[Leg], is_buy: bool, fees: FeeSchedule) -> list[Bucket]:
    """Group consecutive legs by taker price (book order keeps equal prices together); the
    fee of a SELL taker is capped at its proceeds."""
    out: list[Bucket] = []
    start, n = 0, len(legs)
    while start < n:
        price = legs[start].taker_price
        end = start
        qty = proceeds = 0
        while end < n and legs[end].taker_price == price:
            qty += legs[end].qty
            proceeds += legs[end].taker_pusd
            end += 1
        fee = fees.taker_fee(qty, price)
        out.append(Bucket(start, end, price, fee if is_buy else min(fee, proceeds)))
        start = end
    return out
