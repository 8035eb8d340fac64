"""The risk factors: one pure function per factor, `(RiskInput) -> {"approved", ...numbers}`.

Every factor reports its verdict and the numbers it decided on (floats, bools and short strings,
ready for `risk_audit.jsonl`). Orders that REDUCE a position (a SELL of shares held, not already
reserved) are never blocked by the factors that limit new risk (`order_limits` minimum,
`exposure`, `daily_loss`, `drawdown`, `var`, `liquidity`, and the reduce-only modes), so a
stopped or reduce-only engine can still exit. Arithmetic of each factor:

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
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from polymarket_bot.core.intents import SHARE_QUANTUM, BookReader, MarketInfo, OrderIntent
from polymarket_bot.core.portfolio import Portfolio
from polymarket_bot.core.risk_config import RiskConfig
from polymarket_bot.core.types import ONE, ZERO, Side, is_on_tick

__all__ = ["FACTORS", "FactorFn", "MarketStats", "RiskInput", "RiskState", "TradingMode"]

_ONE_DOLLAR = Decimal(1)


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
        if intent.order_type.is_marketable_only:
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
"""A factor: `{"approved": bool, ...numbers}` ("approved" first, as in the seed's records)."""
_BUY = Side.BUY


def trading_mode(ri: RiskInput) -> dict[str, Any]:
    st = ri.state
    mode = st.mode
    if mode is TradingMode.NORMAL and st.kill_switch:
        mode = TradingMode.REDUCE_ONLY
    ok = mode is TradingMode.NORMAL or (mode is TradingMode.REDUCE_ONLY and ri.reduces)
    out: dict[str, Any] = {"approved": ok, "mode": mode.value, "kill_switch": st.kill_switch}
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
        "feed_age_seconds": None if age is None else round(age, 3),
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
        "notional": float(n),
        "min_notional": float(cfg.min_order_notional),
        "max_notional": float(cfg.max_order_notional),
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
        "price": float(price),
        "tick": float(tick),
        "shares": float(shares),
        "min_size": float(min_size),
        "marketable": marketable,
    }
    if reason:
        out["reason"] = reason
    return out


def balance(ri: RiskInput) -> dict[str, Any]:
    pf = ri.portfolio
    if ri.intent.side is not _BUY:
        held = pf.sellable(ri.intent.market, ri.intent.outcome)
        return {"approved": ri.shares <= held, "shares": float(ri.shares), "sellable": float(held)}
    fee = ZERO
    if ri.market is not None and ri.marketable:
        fee = ri.shares * ri.market.taker_fee_per_share(ri.intent.limit_price)
    required = ri.notional + fee
    return {
        "approved": required <= pf.balance,
        "balance": float(pf.balance),
        "required": float(required),
    }


def exposure(ri: RiskInput) -> dict[str, Any]:
    cfg, pf, market = ri.config, ri.portfolio, ri.intent.market
    add = ri.notional if ri.intent.side is _BUY else ZERO
    m_after = pf.market_exposure(market) + add
    t_after = pf.total_exposure + add
    ok = m_after <= cfg.max_exposure_per_market and t_after <= cfg.max_total_exposure
    out: dict[str, Any] = {
        "approved": True,
        "market_exposure": float(m_after),
        "max_market": float(cfg.max_exposure_per_market),
        "total_exposure": float(t_after),
        "max_total": float(cfg.max_total_exposure),
    }
    event = pf.event_of(market)
    if event is not None:
        e_after = pf.event_exposure(event) + add
        ok = ok and e_after <= cfg.max_exposure_per_event
        out["event_exposure"] = float(e_after)
        out["max_event"] = float(cfg.max_exposure_per_event)
    out["approved"] = ok or ri.reduces
    return out


def daily_loss(ri: RiskInput) -> dict[str, Any]:
    st, limit = ri.state, ri.config.daily_loss_stop
    loss = ZERO
    if st.equity is not None and st.day_start_equity is not None:
        loss = max(ZERO, st.day_start_equity - st.equity)
    return {
        "approved": loss < limit or ri.reduces,
        "daily_loss": float(loss),
        "limit": float(limit),
    }


def drawdown(ri: RiskInput) -> dict[str, Any]:
    st, limit = ri.state, ri.config.drawdown_stop
    dd = ZERO
    if st.equity is not None and st.peak_equity is not None:
        dd = max(ZERO, st.peak_equity - st.equity)
    out: dict[str, Any] = {
        "approved": dd < limit or ri.reduces,
        "drawdown": float(dd),
        "limit": float(limit),
    }
    if st.peak_equity is not None:
        out["peak_equity"] = float(st.peak_equity)
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
    potential = Decimal(repr(-q)) * ri.notional if q < 0 and ri.intent.side is _BUY else ZERO
    out: dict[str, Any] = {
        "approved": True,
        "var": q,
        "allowed_loss": float(cfg.var_allowed_loss),
    }
    horizon = cfg.var_resolution_horizon_seconds
    end = ri.market.end_date_s if ri.market is not None else None
    if horizon < 0 or (horizon > 0 and end is not None and end - ri.now <= horizon):
        res = _resolution_loss(ri)
        out["resolution_loss"] = float(res)
        potential = max(potential, res)
    out["potential_loss"] = float(potential)
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
        best = levels[0][0]
        reach = ticks * book.tick_size.decimal
        for p, size in levels:
            if abs(p - best) <= reach:
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
        "max_allocation": float(max_alloc),
        "volatility_adjustment": float(vol_adj),
        "balance": float(pf.balance),
    }
    if depth_alloc < base:
        out["depth_allocation"] = float(depth_alloc)
    if spread_adj != ONE:
        out["spread_adjustment"] = round(float(spread_adj), 6)
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
