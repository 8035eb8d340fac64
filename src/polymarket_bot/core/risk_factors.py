"""The risk factors: one pure function per factor, `(RiskInput) -> {"approved", ...numbers}`.

Every factor reports its verdict and the numbers it decided on, raw: money as the exact Decimal
it compared, statistics as floats, plus bools and short strings. They become JSON numbers only
when the audit record is built (`audit_factors`, after the order is sent): `float(Decimal)` goes
through a string, ~25 of them per order, which the order path should not pay before the send.

Orders that REDUCE a position (a SELL of shares held, not already reserved) are never blocked
by the factors that limit new risk (`order_limits` minimum, `exposure`, `daily_loss`,
`drawdown`, `var`, `liquidity`, and the reduce-only modes), so a stopped or reduce-only engine
can still exit. Arithmetic of each factor:

* `trading_mode`: HALTED rejects every order; REDUCE_ONLY (or the kill switch) rejects entries.
* `stale_data`: reject when `feed_age_seconds` is unknown or > `stale_data_seconds`, when the
  venue is marked unhealthy, or when the book awaits a snapshot.
* `order_limits`: `min_order_notional <= notional <= max_order_notional` (no minimum for exits).
* `venue_rules`: a known market whose `outcome` token is `token_id`; price on the tick grid
  within [tick, 1 - tick]; shares a multiple of 0.01 and >= the market's `min_order_size`; a
  marketable BUY (FOK/FAK, or priced at/through the best ask) >= $1 notional; a post-only
  order must not cross.
* `balance`: BUY notional (+ the taker fee when marketable) <= balance; SELL shares <= sellable.
* `exposure`: exposure after the BUY <= the caps per market, per neg-risk event and in total.
* `daily_loss` / `drawdown`: entries stop at `daily_loss_stop` below the UTC-day's first equity,
  or `drawdown_stop` below the equity peak.
* `var`: historical `var` = the (1 - confidence) quantile of recent relative mid changes (the
  `var_fallback_return` with too little history); `potential_loss = max(0, -var) x notional`.
  When the market ends within `var_resolution_horizon_seconds`, the resolution scenarios also
  count: every outcome of the market (binary: YES or NO wins; neg-risk event: exactly one
  market wins, plus "none of the known markets" when the outcome set is open) with the held and
  pending positions after the order; `resolution_loss` = the worst scenario's cost minus payout,
  and `potential_loss` = the larger of the two. Approved when `potential_loss <= allowed_loss`.
* `liquidity`: `max_allocation = min(balance x balance_fraction, depth x depth_fraction)
  x volatility_adjustment x spread_adjustment`, where depth is the contra side's notional within
  `liquidity_depth_ticks` of its best price, `volatility_adjustment = clamp(target / volatility,
  floor, 1)` (the floor without enough history) and `spread_adjustment = min(1, wide_spread /
  spread)`. Approved when `notional <= max_allocation`. `depth_allocation` and
  `spread_adjustment` are reported only when they bind.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from polymarket_bot.core.intents import SHARE_QUANTUM, BookReader, MarketInfo, OrderIntent
from polymarket_bot.core.portfolio import Portfolio
from polymarket_bot.core.risk_config import RiskConfig
from polymarket_bot.core.types import ONE, ZERO, OrderType, Side, is_on_tick

__all__ = [
    "FACTORS",
    "FactorFn",
    "MarketStats",
    "RiskInput",
    "RiskState",
    "TradingMode",
    "audit_factors",
]

_ONE_DOLLAR = Decimal(1)
_MARKETABLE_ONLY = tuple(t for t in OrderType if t.is_marketable_only)
"""FOK/FAK: `in` this tuple costs ~0.03 us, the enum property ~0.2 us (once per order)."""


class TradingMode(str, enum.Enum):
    NORMAL = "normal"
    REDUCE_ONLY = "reduce_only"
    HALTED = "halted"


@dataclass(frozen=True, slots=True)
class MarketStats:
    """Return statistics of one token's recent mids (rounded to 6 decimals)."""

    samples: int
    var: float
    """(1 - confidence) quantile of relative mid changes; negative = a loss."""
    volatility: float
    """Population standard deviation of the relative mid changes."""
    enough: bool


@dataclass(slots=True)
class RiskState:
    """The engine's mutable state the factors read (set by the engine, never by factors)."""

    mode: TradingMode = TradingMode.NORMAL
    mode_reason: str = ""
    kill_switch: bool = False
    kill_reason: str = ""
    venue_healthy: bool = True
    venue_reason: str = ""
    day: int | None = None
    day_start_equity: Decimal | None = None
    peak_equity: Decimal | None = None
    equity: Decimal | None = None


@dataclass(slots=True)
class RiskInput:
    """One intent and everything the factors may read about it."""

    intent: OrderIntent
    shares: Decimal
    notional: Decimal
    reduces: bool
    market: MarketInfo | None
    book: BookReader | None
    portfolio: Portfolio
    feed_age_seconds: float | None
    now: float
    stats: MarketStats
    config: RiskConfig
    state: RiskState

    depth_cache: dict[str, tuple[object, Decimal]] | None = None
    """The engine's per-token cache of contra-side depth, keyed by the book's state."""
    marketable: bool = False
    """FOK/FAK, or a limit priced at/through the contra best price (set by `prepare`)."""

    def prepare(self) -> RiskInput:
        intent, book = self.intent, self.book
        if intent.order_type in _MARKETABLE_ONLY:
            self.marketable = True
        elif book is not None:
            if intent.side is _BUY:
                best = book.best_ask()
                self.marketable = best is not None and intent.limit_price >= best
            else:
                best = book.best_bid()
                self.marketable = best is not None and intent.limit_price <= best
        return self

    @property
    def tick(self) -> Decimal:
        if self.book is not None:
            return self.book.tick_size.decimal
        return self.market.tick_size.decimal if self.market is not None else Decimal("0.01")


FactorFn = Callable[[RiskInput], dict[str, Any]]
"""A factor: `{"approved": bool, ...numbers}` ("approved" first, as in the seed's records); the
numbers raw (Decimal money), rendered for the record by `audit_factors`."""
_BUY = Side.BUY


_MODE_VALUE = {mode: mode.value for mode in TradingMode}
"""`mode.value` without the enum's property lookup (per order)."""


@lru_cache(maxsize=1024, typed=True)
def _exact(value: float) -> Decimal:
    """`Decimal(repr(value))`: the float as written (-0.013 -> Decimal("-0.013")). Memoized: it
    goes through a string (~0.25 us), and a token's VaR quantile rarely changes from one order
    to the next (the fallback return never does). Not the volatility ratio: the volatility
    changes with nearly every mid sample, and a miss costs more than no cache."""
    return Decimal(repr(value))


def trading_mode(ri: RiskInput) -> dict[str, Any]:
    st = ri.state
    mode = st.mode
    if mode is TradingMode.NORMAL and st.kill_switch:
        mode = TradingMode.REDUCE_ONLY
    ok = mode is TradingMode.NORMAL or (mode is TradingMode.REDUCE_ONLY and ri.reduces)
    out: dict[str, Any] = {"approved": ok, "mode": _MODE_VALUE[mode], "kill_switch": st.kill_switch}
    if not ok:
        out["reason"] = st.kill_reason if st.kill_switch and not st.mode_reason else st.mode_reason
    return out


def stale_data(ri: RiskInput) -> dict[str, Any]:
    st, limit = ri.state, ri.config.stale_data_seconds
    age = ri.feed_age_seconds
    reason = ""
    if not st.venue_healthy:
        reason = st.venue_reason or "venue unhealthy"
    elif age is None:
        reason = "no market data feed"
    elif age > limit:
        reason = "market data feed stale"
    elif ri.book is None or ri.book.awaiting_snapshot:
        reason = "no book (awaiting snapshot)"
    out: dict[str, Any] = {
        "approved": not reason,
        "feed_age_seconds": age,
        "max_age_seconds": limit,
        "venue_healthy": st.venue_healthy,
    }
    if reason:
        out["reason"] = reason
    return out


def order_limits(ri: RiskInput) -> dict[str, Any]:
    cfg, n = ri.config, ri.notional
    return {
        "approved": n <= cfg.max_order_notional and (ri.reduces or n >= cfg.min_order_notional),
        "notional": n,
        "min_notional": cfg.min_order_notional,
        "max_notional": cfg.max_order_notional,
    }


def venue_rules(ri: RiskInput) -> dict[str, Any]:
    intent, tick, shares, market = ri.intent, ri.tick, ri.shares, ri.market
    price = intent.limit_price
    min_size = market.min_order_size if market is not None else ZERO
    marketable = ri.marketable
    reason = ""
    if market is None:
        reason = "unknown market"
    elif market.token(intent.outcome) != intent.token_id:
        reason = "token is not the market's outcome token"
    elif not is_on_tick(price, tick):
        reason = "price off the tick grid"
    elif shares != shares.quantize(SHARE_QUANTUM) or shares <= 0:
        reason = "shares not a positive multiple of 0.01"
    elif shares < min_size:
        reason = "size below the market minimum"
    elif marketable and intent.side is _BUY and ri.notional < _ONE_DOLLAR:
        reason = "marketable BUY below $1"
    elif intent.post_only and marketable:
        reason = "post-only order would cross"
    out: dict[str, Any] = {
        "approved": not reason,
        "price": price,
        "tick": tick,
        "shares": shares,
        "min_size": min_size,
        "marketable": marketable,
    }
    if reason:
        out["reason"] = reason
    return out


def balance(ri: RiskInput) -> dict[str, Any]:
    pf = ri.portfolio
    if ri.intent.side is not _BUY:
        held = pf.sellable(ri.intent.market, ri.intent.outcome)
        return {"approved": ri.shares <= held, "shares": ri.shares, "sellable": held}
    fee = ZERO
    if ri.market is not None and ri.marketable:
        fee = ri.shares * ri.market.taker_fee_per_share(ri.intent.limit_price)
    required = ri.notional + fee
    return {
        "approved": required <= pf.balance,
        "balance": pf.balance,
        "required": required,
    }


def exposure(ri: RiskInput) -> dict[str, Any]:
    cfg, pf, market = ri.config, ri.portfolio, ri.intent.market
    add = ri.notional if ri.intent.side is _BUY else ZERO
    m_after = pf.market_exposure(market) + add
    t_after = pf.total_exposure + add
    ok = m_after <= cfg.max_exposure_per_market and t_after <= cfg.max_total_exposure
    out: dict[str, Any] = {
        "approved": True,
        "market_exposure": m_after,
        "max_market": cfg.max_exposure_per_market,
        "total_exposure": t_after,
        "max_total": cfg.max_total_exposure,
    }
    event = pf.event_of(market)
    if event is not None:
        e_after = pf.event_exposure(event) + add
        ok = ok and e_after <= cfg.max_exposure_per_event
        out["event_exposure"] = e_after
        out["max_event"] = cfg.max_exposure_per_event
    out["approved"] = ok or ri.reduces
    return out


def daily_loss(ri: RiskInput) -> dict[str, Any]:
    st, limit = ri.state, ri.config.daily_loss_stop
    loss = ZERO
    if st.equity is not None and st.day_start_equity is not None:
        loss = max(ZERO, st.day_start_equity - st.equity)
    return {
        "approved": loss < limit or ri.reduces,
        "daily_loss": loss,
        "limit": limit,
    }


def drawdown(ri: RiskInput) -> dict[str, Any]:
    st, limit = ri.state, ri.config.drawdown_stop
    dd = ZERO
    if st.equity is not None and st.peak_equity is not None:
        dd = max(ZERO, st.peak_equity - st.equity)
    out: dict[str, Any] = {
        "approved": dd < limit or ri.reduces,
        "drawdown": dd,
        "limit": limit,
    }
    if st.peak_equity is not None:
        out["peak_equity"] = st.peak_equity
    return out


def _resolution_loss(ri: RiskInput) -> Decimal:
    """Worst scenario loss (cost - payout) of the market or neg-risk event after the order."""
    pf, intent = ri.portfolio, ri.intent
    event = pf.event_of(intent.market)
    markets = pf.event_markets(event) if event is not None else [intent.market]
    if intent.market not in markets:
        markets.append(intent.market)
    yes: dict[str, Decimal] = {}
    no: dict[str, Decimal] = {}
    cost = ZERO
    for m in markets:
        y, n = pf.scenario_position(m, "yes"), pf.scenario_position(m, "no")
        yes[m], no[m] = y.shares, n.shares
        cost += y.cost + n.cost
    sign = 1 if intent.side is _BUY else -1
    side_shares = yes if intent.outcome.value == "yes" else no
    side_shares[intent.market] += sign * ri.shares
    cost += sign * ri.notional  # a SELL's proceeds lower the net cost
    if event is None:
        payouts = [yes[intent.market], no[intent.market]]
    else:
        all_no = sum(no.values(), ZERO)
        payouts = [all_no - no[m] + yes[m] for m in markets]
        info = ri.market
        count = info.event_market_count if info is not None else None
        if count is None or count > len(markets) or (info is not None and info.neg_risk_augmented):
            payouts.append(all_no)  # an unknown outcome wins: every known NO pays
    return max(ZERO, max(cost - p for p in payouts))


def var(ri: RiskInput) -> dict[str, Any]:
    cfg, stats = ri.config, ri.stats
    q = stats.var
    potential = _exact(-q) * ri.notional if q < 0 and ri.intent.side is _BUY else ZERO
    out: dict[str, Any] = {
        "approved": True,
        "var": q,
        "allowed_loss": cfg.var_allowed_loss,
    }
    horizon = cfg.var_resolution_horizon_seconds
    end = ri.market.end_date_s if ri.market is not None else None
    if horizon < 0 or (horizon > 0 and end is not None and end - ri.now <= horizon):
        res = _resolution_loss(ri)
        out["resolution_loss"] = res
        potential = max(potential, res)
    out["potential_loss"] = potential
    out["approved"] = potential <= cfg.var_allowed_loss or ri.reduces
    return out


def _contra_depth(ri: RiskInput, book: BookReader, ticks: int) -> Decimal:
    """Notional of the contra side within `ticks` ticks of its best price (cached per book
    state when the book exposes `update_count`/`epoch`, as `OrderBook` does)."""
    contra = Side.SELL if ri.intent.side is _BUY else _BUY
    cache = ri.depth_cache
    count = getattr(book, "update_count", None)
    # the book object itself is part of the key: a re-created book restarts its counters
    state = (book, count, getattr(book, "epoch", None), contra, ticks)
    cacheable = cache is not None and count is not None
    if cacheable:
        assert cache is not None
        hit = cache.get(book.asset_id)
        if hit is not None and hit[0] == state:
            return hit[1]
    depth = ZERO
    levels = book.levels(contra, ticks + 1)
    if levels:
        # best first: every level is on the far side of the best, so |p - best| <= reach is
        # one comparison with a bound (no subtraction per level)
        reach = ticks * book.tick_size.decimal
        if contra is _BUY:
            floor = levels[0][0] - reach
            for p, size in levels:
                if p >= floor:
                    depth += p * size
        else:
            ceiling = levels[0][0] + reach
            for p, size in levels:
                if p <= ceiling:
                    depth += p * size
    if cacheable:
        assert cache is not None
        cache[book.asset_id] = (state, depth)
    return depth


def liquidity(ri: RiskInput) -> dict[str, Any]:
    cfg, pf, book = ri.config, ri.portfolio, ri.book
    base = pf.balance * cfg.liquidity_balance_fraction
    depth = ZERO
    spread_adj = ONE
    if book is not None:
        depth = _contra_depth(ri, book, cfg.liquidity_depth_ticks)
        spread = book.spread()
        if spread is not None and spread > cfg.liquidity_wide_spread:
            spread_adj = cfg.liquidity_wide_spread / spread
    depth_alloc = depth * cfg.liquidity_depth_fraction
    vol_adj = cfg.liquidity_volatility_floor
    stats = ri.stats
    if stats.enough:
        if stats.volatility <= 0:
            vol_adj = ONE
        else:
            ratio = Decimal(repr(round(cfg.liquidity_volatility_target / stats.volatility, 6)))
            vol_adj = min(ONE, max(cfg.liquidity_volatility_floor, ratio))
    max_alloc = min(base, depth_alloc) * vol_adj * spread_adj
    out: dict[str, Any] = {
        "approved": ri.notional <= max_alloc or ri.reduces,
        "max_allocation": max_alloc,
        "volatility_adjustment": vol_adj,
        "balance": pf.balance,
    }
    if depth_alloc < base:
        out["depth_allocation"] = depth_alloc
    if spread_adj != ONE:
        out["spread_adjustment"] = spread_adj
    return out


FACTORS: dict[str, FactorFn] = {
    "trading_mode": trading_mode,
    "stale_data": stale_data,
    "order_limits": order_limits,
    "venue_rules": venue_rules,
    "balance": balance,
    "exposure": exposure,
    "daily_loss": daily_loss,
    "drawdown": drawdown,
    "var": var,
    "liquidity": liquidity,
}


def _round3(value: Any) -> Any:
    return round(value, 3)


def _float6(value: Any) -> float:
    return round(float(value), 6)


_AUDIT_FLOATS: dict[str, tuple[str, ...]] = {
    "order_limits": ("notional", "min_notional", "max_notional"),
    "venue_rules": ("price", "tick", "shares", "min_size"),
    "balance": ("shares", "sellable", "balance", "required"),
    "exposure": (
        "market_exposure",
        "max_market",
        "total_exposure",
        "max_total",
        "event_exposure",
        "max_event",
    ),
    "daily_loss": ("daily_loss", "limit"),
    "drawdown": ("drawdown", "limit", "peak_equity"),
    "var": ("allowed_loss", "resolution_loss", "potential_loss"),
    "liquidity": ("max_allocation", "volatility_adjustment", "balance", "depth_allocation"),
}
"""The keys each factor's record writes as `float(value)` of the value it compared (money)."""
_AUDIT_ROUNDED: dict[str, tuple[tuple[str, Callable[[Any], Any]], ...]] = {
    "stale_data": (("feed_age_seconds", _round3),),
    "liquidity": (("spread_adjustment", _float6),),
}
"""The keys the record shows rounded: `round(age, 3)`, `round(float(adjustment), 6)`.

Per key (an int limit is written as a float too, whatever type the config holds), then any
Decimal left (a money key a factor added without listing it here) as a float as well: the line
never depends on a table being complete. Pinned by `tests/core/test_risk_audit.py`."""


def audit_factors(factors: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The factors' verdicts as `risk_audit.jsonl` writes them: JSON numbers (floats), the same
    keys in the same order. Copies: the decision's own numbers stay exact."""
    out: dict[str, dict[str, Any]] = {}
    to_float = float
    for name, verdict in factors.items():
        row = out[name] = dict(verdict)
        for key in _AUDIT_FLOATS.get(name, ()):
            value = row.get(key)
            if value is not None:
                row[key] = to_float(value)
        for key, conv in _AUDIT_ROUNDED.get(name, ()):
            value = row.get(key)
            if value is not None:
                row[key] = conv(value)
        for key, value in row.items():
            if type(value) is Decimal:
                row[key] = to_float(value)
    return out
