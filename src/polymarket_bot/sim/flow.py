"""Background order flow that makes simulated markets move: fair values, makers and takers.

Each `MarketFlow.step(now)`:

1. moves every open market's fair value by the time elapsed since the previous step
   (`FairValueProcess`; a neg-risk event's outcomes move together and sum to 1);
2. lets the liquidity providers (LPs) requote: each keeps a ladder of post-only GTC orders around
   the fair value (LP i starts `lp_spread_ticks + i` ticks away, one order per tick for
   `levels_per_side` ticks). Only orders whose price left the ladder are cancelled and only
   missing rungs are placed, so books keep depth and queue positions, and `price_change` traffic
   looks like the venue's. Asks are YES sells while the LP holds YES, else NO buys at 1 - p
   (the same YES-space ask), which exercises the exchange's mint/merge paths;
3. fires takers: Poisson arrivals per market (`taker_rate`/s) sending FAK orders of random side,
   token and size a few ticks through the best opposite price. They trade with whoever rests at
   the top (a bot's order included), producing trades and `last_trade_price` events;
4. occasionally resizes one LP order (cancel + fresh order) for extra book churn.

Pure and deterministic: all randomness comes from one `random.Random(seed)`, `now` is always
passed in, and nothing iterates over a set, so the same seed and the same sequence of `now`
values produce identical exchange events. Background accounts are refilled (`set_balance`,
`split`) whenever they run low, so the flow never stalls for lack of funds.
The flow does not call `Exchange.advance`; its driver does (see `SimUniverse.step`).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from polymarket_bot.core.types import OrderType, Side
from polymarket_bot.protocol.amounts import limit_order_amounts
from polymarket_bot.sim.accounts import Account
from polymarket_bot.sim.exchange import Exchange
from polymarket_bot.sim.markets import FairValueProcess, SimEvent, SimMarket
from polymarket_bot.sim.matching import MarketState
from polymarket_bot.sim.model import LIVE, OrderRejectedError, OrderRequest, SimOrder

__all__ = ["BackgroundAccount", "FlowConfig", "MarketFlow", "background_account"]

UNIT: Final = 10**6
_HYSTERESIS: Final = 0.15
"""Extra ticks the fair value must move past a half tick before a ladder re-centres."""
_INVENTORY_CHUNK: Final = 1_000 * UNIT
"""Shares a taker splits at once when it runs short of a token."""


@dataclass(frozen=True, slots=True)
class FlowConfig:
    """Knobs of the background flow. Sizes are whole shares, money whole pUSD."""

    step_interval_s: float = 0.25
    """How often the driver should call `step` (the flow itself accepts any spacing)."""
    liquidity_providers: int = 2
    levels_per_side: int = 5
    quote_size: tuple[int, int] = (10, 250)
    """Shares per LP order, uniform (two decimals); overlapping LPs add up per level."""
    lp_spread_ticks: int = 1
    """Distance of the first LP's best quotes from the fair value, in ticks."""
    taker_rate: float = 0.2
    """Taker arrivals per market per second (Poisson)."""
    takers: int = 2
    taker_size: tuple[int, int] = (5, 120)
    taker_slippage_ticks: int = 2
    """A taker's limit is 0..this many ticks through the best opposite price."""
    max_takers_per_step: int = 20
    """Cap on arrivals handled in one step (a long gap between steps is not replayed)."""
    volatility: float = 0.01
    """Fair-value noise in log-odds per sqrt(second): ~2 cents a minute at 0.5."""
    resize_rate: float = 0.2
    """LP orders resized (cancelled and placed anew) per market per second."""
    lp_pusd: int = 1_000_000
    taker_pusd: int = 200_000
    inventory_shares: int = 2_000
    """YES+NO complete sets each background account splits per market at start."""
    seed: int | None = None
    """None: the seed given to `MarketFlow` (build_universe passes the universe seed)."""

    def __post_init__(self) -> None:
        if self.step_interval_s <= 0:
            raise ValueError("step_interval_s must be > 0")
        if self.liquidity_providers < 0 or self.takers < 1 or self.levels_per_side < 1:
            raise ValueError("need >= 0 liquidity providers, >= 1 taker, >= 1 level")
        for lo, hi in (self.quote_size, self.taker_size):
            if not 0 < lo <= hi:
                raise ValueError("size ranges must satisfy 0 < low <= high")
        if self.taker_rate < 0 or self.resize_rate < 0 or self.volatility < 0:
            raise ValueError("rates and volatility must be >= 0")
        if self.lp_spread_ticks < 1 or self.taker_slippage_ticks < 0:
            raise ValueError("lp_spread_ticks >= 1 and taker_slippage_ticks >= 0")


@dataclass(frozen=True, slots=True)
class BackgroundAccount:
    """A flow account: `address` is the order maker/funder, `owner` its API-key-like id."""

    label: str
    address: str
    owner: str
    role: str  # "lp" | "taker"


def background_account(label: str, role: str) -> BackgroundAccount:
    """Stable identity for `label` ("LP1", "TK2"): the address spells the label in ASCII hex
    (0x000…4c5031 = "LP1"), the owner is a UUID derived from it."""
    address = "0x" + label.encode().hex().rjust(40, "0")
    h = bytearray(hashlib.sha256(f"sim-background:{label}".encode()).digest()[:16])
    h[6] = (h[6] & 0x0F) | 0x40
    h[8] = (h[8] & 0x3F) | 0x80
    x = h.hex()
    return BackgroundAccount(
        label, address, f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}", role
    )


Rung = tuple[bool, int]
"""(is YES-space bid, YES price in micro-dollars)."""


class _Lane:
    """Flow state of one market."""

    __slots__ = (
        "anchor",
        "ladders",
        "market",
        "next_arrival",
        "next_resize",
        "quotes",
        "sim",
        "tick_u",
    )

    def __init__(self, sim: SimMarket, market: MarketState, lps: int) -> None:
        self.sim = sim
        self.market = market
        self.anchor: int | None = None  # ladder centre in ticks of `tick_u`
        self.tick_u = market.tick_u
        self.ladders: list[dict[Rung, None]] = []  # per LP: the rungs it should quote
        self.quotes: list[dict[Rung, SimOrder]] = [{} for _ in range(lps)]  # per LP
        self.next_arrival = math.inf
        self.next_resize = math.inf


class MarketFlow:
    """Drives the background flow of `markets` (already added to `exchange`)."""

    def __init__(
        self,
        exchange: Exchange,
        markets: Sequence[SimMarket],
        events: Sequence[SimEvent],
        config: FlowConfig | None = None,
        *,
        seed: int | None = None,
    ) -> None:
        self.exchange = exchange
        self.config = cfg = config or FlowConfig()
        effective = seed if seed is not None else cfg.seed if cfg.seed is not None else 0
        self._rng = random.Random(effective)
        self._fair = FairValueProcess(self._rng.getrandbits(64), cfg.volatility)
        self._lanes: list[_Lane] = []
        for sim in markets:
            state = exchange.market(sim.condition_id)
            if state is None:
                raise ValueError(f"market {sim.name} is not on the exchange")
            self._lanes.append(_Lane(sim, state, cfg.liquidity_providers))
        by_name = {lane.sim.name: lane for lane in self._lanes}
        # Neg-risk events move as a group; every other market walks on its own.
        self._groups: list[list[_Lane]] = []
        grouped: dict[str, None] = {}
        for event in events:
            members = [by_name[n] for n in event.market_names if n in by_name]
            if event.neg_risk and len(members) > 1:
                self._groups.append(members)
                grouped.update(dict.fromkeys(m.sim.name for m in members))
        self._groups += [[lane] for lane in self._lanes if lane.sim.name not in grouped]
        self.lps = tuple(
            background_account(f"LP{i + 1}", "lp") for i in range(cfg.liquidity_providers)
        )
        self.takers = tuple(background_account(f"TK{i + 1}", "taker") for i in range(cfg.takers))
        self._owners = {a.owner: a for a in (*self.lps, *self.takers)}
        self._last: float | None = None
        self._stats = dict.fromkeys(
            (
                "steps",
                "orders_placed",
                "orders_rejected",
                "cancels",
                "taker_orders",
                "taker_misses",
                "trades",
                "top_ups",
            ),
            0,
        )
        self._fund()

    # --- public ---------------------------------------------------------------------------

    @property
    def accounts(self) -> tuple[BackgroundAccount, ...]:
        return (*self.lps, *self.takers)

    def is_background(self, owner: str) -> bool:
        """True for the API key (owner) of a flow account."""
        return owner in self._owners

    def fair_values(self) -> dict[str, float]:
        """Current fair value of each market's YES token, by condition id."""
        return {lane.sim.condition_id: lane.sim.fair_value for lane in self._lanes}

    def stats(self) -> dict[str, int]:
        """Counters: steps, orders_placed, orders_rejected, cancels, taker_orders,
        taker_misses (nothing to hit), trades, top_ups."""
        return dict(self._stats)

    def step(self, now: float) -> None:
        """Advance the flow to `now` (Unix seconds). The first call only lays the ladders;
        a `now` not after the previous one does nothing."""
        last = self._last
        if last is not None and now <= last:
            return
        self._last = now
        self._stats["steps"] += 1
        cfg = self.config
        if last is None:
            for lane in self._lanes:
                lane.next_arrival = now + self._draw_gap(cfg.taker_rate)
                lane.next_resize = now + self._draw_gap(cfg.resize_rate)
        else:
            self._move_fair_values(now - last)
        for lane in self._lanes:
            market = lane.market
            if market.closed or not market.accepting_orders:
                continue
            self._requote(lane, now)
            fired = 0
            while lane.next_arrival <= now:
                if fired == cfg.max_takers_per_step:
                    lane.next_arrival = now + self._draw_gap(cfg.taker_rate)
                    break
                self._take(lane, now)
                fired += 1
                lane.next_arrival += self._draw_gap(cfg.taker_rate)
            if lane.next_resize <= now:
                self._resize(lane, now)
                lane.next_resize = now + self._draw_gap(cfg.resize_rate)

    # --- fair values ----------------------------------------------------------------------

    def _draw_gap(self, rate: float) -> float:
        return self._rng.expovariate(rate) if rate > 0 else math.inf

    def _move_fair_values(self, dt: float) -> None:
        fair = self._fair
        for group in self._groups:
            lanes = [lane for lane in group if not lane.market.closed]
            if len(lanes) == 1:
                lanes[0].sim.fair_value = fair.step(lanes[0].sim.fair_value, dt)
            elif lanes:
                moved = fair.step_event([lane.sim.fair_value for lane in lanes], dt)
                for lane, value in zip(lanes, moved, strict=True):
                    lane.sim.fair_value = value

    # --- liquidity providers --------------------------------------------------------------

    def _ladder(self, lane: _Lane, lp_index: int) -> dict[Rung, None]:
        cfg = self.config
        tick_u = lane.tick_u
        top = UNIT // tick_u - 1  # highest valid price, in ticks
        anchor = min(max(lane.anchor or 1, 1), top)
        offset = cfg.lp_spread_ticks + lp_index
        rungs: dict[Rung, None] = {}
        for k in range(cfg.levels_per_side):
            bid, ask = anchor - offset - k, anchor + offset + k
            if bid >= 1:
                rungs[(True, bid * tick_u)] = None
            if ask <= top:
                rungs[(False, ask * tick_u)] = None
        return rungs

    def _requote(self, lane: _Lane, now: float) -> None:
        """Cancel rungs that left the ladder, forget filled ones, then fill the gaps."""
        tick_u = lane.market.tick_u
        fv_ticks = lane.sim.fair_value * UNIT / tick_u
        moved = (
            lane.anchor is None
            or tick_u != lane.tick_u
            or abs(fv_ticks - lane.anchor) >= 0.5 + _HYSTERESIS
        )
        if moved:
            lane.anchor, lane.tick_u = round(fv_ticks), tick_u
            lane.ladders = [self._ladder(lane, i) for i in range(len(self.lps))]
        gaps = False
        for lp, quotes, ladder in zip(self.lps, lane.quotes, lane.ladders, strict=True):
            stale: list[str] = []
            for rung, order in list(quotes.items()):
                if order.status != LIVE:  # filled (or cancelled by someone else)
                    del quotes[rung]
                elif moved and rung not in ladder:
                    del quotes[rung]
                    stale.append(order.order_id)
            if stale:
                self.exchange.cancel_orders(lp.owner, stale, now)
                self._stats["cancels"] += len(stale)
            gaps = gaps or len(quotes) < len(ladder)
        if not gaps:
            return
        # Place only after every LP cancelled, so no LP's new rung meets another's stale one.
        for lp, quotes, ladder in zip(self.lps, lane.quotes, lane.ladders, strict=True):
            for rung in ladder:
                if rung not in quotes:
                    self._quote(lane, lp, quotes, rung, now)

    def _quote(
        self,
        lane: _Lane,
        lp: BackgroundAccount,
        quotes: dict[Rung, SimOrder],
        rung: Rung,
        now: float,
    ) -> None:
        is_bid, yes_price = rung
        market = lane.market
        if market.book.crosses(is_bid, yes_price):
            return  # someone else's quote is through our rung: leave the gap this step
        lo, hi = self.config.quote_size
        size = max(self._rng.randint(lo * 100, hi * 100) * (UNIT // 100), market.min_size)
        acct = self.exchange.account(lp.address, lp.owner)
        yes, no = market.token_ids
        if is_bid:
            token, side, price = yes, Side.BUY, yes_price
        elif acct.available_token(yes) >= size:
            token, side, price = yes, Side.SELL, yes_price
        else:  # out of YES: offer the same YES-space ask as a NO bid
            token, side, price = no, Side.BUY, UNIT - yes_price
        if side is Side.BUY:
            self._ensure_pusd(acct, size * price // UNIT + 1, self.config.lp_pusd)
        oid = self._submit(lane, lp, token, side, price, size, OrderType.GTC, now, post_only=True)
        order = None if oid is None else self.exchange.order(oid)
        if order is not None and order.status == LIVE:
            quotes[rung] = order

    def _resize(self, lane: _Lane, now: float) -> None:
        """Replace one random LP order by a fresh one of a new size at the same price."""
        if not self.lps:
            return
        i = self._rng.randrange(len(self.lps))
        quotes = lane.quotes[i]
        if not quotes:
            return
        rungs = list(quotes)
        rung = rungs[self._rng.randrange(len(rungs))]
        lp = self.lps[i]
        result = self.exchange.cancel_orders(lp.owner, (quotes.pop(rung).order_id,), now)
        self._stats["cancels"] += len(result.canceled)
        self._quote(lane, lp, quotes, rung, now)

    # --- takers ---------------------------------------------------------------------------

    def _take(self, lane: _Lane, now: float) -> None:
        """One FAK order a few ticks through the best opposite price of a random token."""
        rng, cfg, market = self._rng, self.config, lane.market
        taker = self.takers[rng.randrange(len(self.takers))]
        is_yes = rng.random() < 0.5
        is_buy = rng.random() < 0.5
        is_bid = is_yes == is_buy  # YES-space side of the taker
        best = market.book.best_ask() if is_bid else market.book.best_bid()
        if best is None:
            self._stats["taker_misses"] += 1
            return
        tick = market.tick_u
        best_tok = best if is_yes else UNIT - best
        slip = rng.randint(0, cfg.taker_slippage_ticks)
        if is_buy:  # snap onto the current grid on the aggressive side, then slip through
            price = min(-(-best_tok // tick) * tick + slip * tick, UNIT - tick)
        else:
            price = max(best_tok // tick * tick - slip * tick, tick)
        lo, hi = cfg.taker_size
        cents = rng.randint(lo * 100, hi * 100)
        if is_buy:  # marketable BUYs must be worth at least $1
            cents = max(cents, -(-100 * UNIT // price) + 1)
        size = cents * (UNIT // 100)
        token = market.token_ids[0 if is_yes else 1]
        acct = self.exchange.account(taker.address, taker.owner)
        if is_buy:
            self._ensure_pusd(acct, 2 * size * price // UNIT + UNIT, cfg.taker_pusd)
        else:
            self._ensure_tokens(acct, market, token, size)
        side = Side.BUY if is_buy else Side.SELL
        self._stats["taker_orders"] += 1
        self._submit(lane, taker, token, side, price, size, OrderType.FAK, now)

    # --- plumbing -------------------------------------------------------------------------

    def _submit(
        self,
        lane: _Lane,
        who: BackgroundAccount,
        token: str,
        side: Side,
        price: int,
        size: int,
        order_type: OrderType,
        now: float,
        *,
        post_only: bool = False,
    ) -> str | None:
        amounts = limit_order_amounts(
            side,
            price=Decimal(price).scaleb(-6),
            size=Decimal(size).scaleb(-6),
            tick_size=lane.market.tick_size,
        )
        req = OrderRequest(
            order_id=f"0x{self._rng.getrandbits(256):064x}",
            owner=who.owner,
            maker_address=who.address,
            token_id=token,
            side=side,
            maker_amount=amounts.maker_amount,
            taker_amount=amounts.taker_amount,
            order_type=order_type,
            post_only=post_only,
        )
        try:
            result = self.exchange.place_order(req, now)
        except OrderRejectedError:
            self._stats["orders_rejected"] += 1
            return None
        self._stats["orders_placed"] += 1
        self._stats["trades"] += len(result.trade_ids)
        return req.order_id

    def _fund(self) -> None:
        """Give every background account its pUSD and a stock of complete sets per market."""
        cfg = self.config
        sets = cfg.inventory_shares * UNIT
        for who, pusd in (
            *((lp, cfg.lp_pusd) for lp in self.lps),
            *((tk, cfg.taker_pusd) for tk in self.takers),
        ):
            self.exchange.account(who.address, who.owner)
            self.exchange.set_balance(who.address, pusd=pusd * UNIT + sets * len(self._lanes))
            for lane in self._lanes:
                if not lane.market.closed:
                    self.exchange.split(who.address, lane.market.condition_id, sets)

    def _ensure_pusd(self, acct: Account, need: int, refill: int) -> None:
        if acct.available_pusd < need:
            self.exchange.set_balance(
                acct.address, pusd=acct.pusd_reserved + max(need, refill * UNIT)
            )
            self._stats["top_ups"] += 1

    def _ensure_tokens(self, acct: Account, market: MarketState, token: str, need: int) -> None:
        short = need - acct.available_token(token)
        if short > 0:
            amount = short + _INVENTORY_CHUNK
            self._ensure_pusd(acct, amount, self.config.taker_pusd)
            self.exchange.split(acct.address, market.condition_id, amount)
            self._stats["top_ups"] += 1
