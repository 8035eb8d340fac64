"""`momentum`: trade mid moves over a time window; `mode: momentum | mean_reversion`.

Signal, per market, on the YES book's mid: move = mid(now) - mid(window start), the window
start sample being the latest one at least `window_seconds` old (no signal until the history
covers the window). With `|move| >= entry_threshold`:

* momentum: up -> BUY YES, down -> BUY NO (the NO token rises when YES falls);
* mean_reversion: up -> BUY NO, down -> BUY YES.

Entries are marketable (FAK at the token's best ask; NO priced from the NO book, or 1 - YES bid
without one), `order_size` shares raised to the market minimum and to the $1 marketable-BUY
minimum. One position per market at a time.

Exits, on the held token's best bid vs the position's average cost: take profit at
`bid >= avg + take_profit`, stop loss at `bid <= avg - stop_loss`, or time at `max_hold_seconds`
after the entry (also checked by `on_timer`); SELL everything held, FAK at the bid. After a
position closes, or an intent is rejected, the market waits `cooldown_seconds`.

Idle path: the YES top of book (integer units) unchanged and no time exit due -> `()`.

Parameters: mode ("momentum"), window_seconds (60), entry_threshold (0.03), order_size (shares,
10), take_profit (0.05), stop_loss (0.03), max_hold_seconds (600), cooldown_seconds (30),
max_samples (1000: the history per market is bounded).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_UP, Decimal
from typing import Any

from polymarket_bot.core.book import PRICE_SCALE, units_to_price
from polymarket_bot.core.decisions import Decision
from polymarket_bot.core.events import BestBidAsk, BookSnapshot, MarketResolved, PriceChange
from polymarket_bot.core.intents import SHARE_QUANTUM, Intent, MarketInfo, OrderIntent
from polymarket_bot.core.types import ONE, OrderType, Outcome, Side
from polymarket_bot.strategies.base import (
    Params,
    Strategy,
    StrategyEvent,
    require,
    touches_top,
)
from polymarket_bot.strategies.view import StrategyView

__all__ = ["Momentum", "MomentumParams"]

MODES = ("momentum", "mean_reversion")


@dataclass(frozen=True, slots=True)
class MomentumParams(Params):
    mode: str = "momentum"
    window_seconds: float = 60.0
    entry_threshold: Decimal = Decimal("0.03")
    order_size: Decimal = Decimal(10)
    take_profit: Decimal = Decimal("0.05")
    stop_loss: Decimal = Decimal("0.03")
    max_hold_seconds: float = 600.0
    cooldown_seconds: float = 30.0
    max_samples: int = 1000

    def validate(self) -> None:
        require(self.mode in MODES, "mode", f"must be one of {list(MODES)}")
        require(self.window_seconds > 0, "window_seconds", "must be > 0")
        require(0 < self.entry_threshold < ONE, "entry_threshold", "must be in (0, 1)")
        require(self.order_size > 0, "order_size", "must be > 0")
        require(0 < self.take_profit < ONE, "take_profit", "must be in (0, 1)")
        require(0 < self.stop_loss < ONE, "stop_loss", "must be in (0, 1)")
        require(self.max_hold_seconds > 0, "max_hold_seconds", "must be > 0")
        require(self.cooldown_seconds >= 0, "cooldown_seconds", "must be >= 0")
        require(self.max_samples >= 2, "max_samples", "must be >= 2")


@dataclass(slots=True)
class _MarketState:
    mids: deque[tuple[float, int]]
    """(time, 2 x mid in units of 10**-4), oldest first."""
    last_top: tuple[int, int] | None = None
    last_prices: tuple[str, Decimal, Decimal] | None = None
    """(YES token, best bid, best ask) at the last evaluation: the idle-path filter."""
    entered_at: float | None = None
    entry_sent_at: float | None = None
    exit_sent_at: float | None = None
    cooldown_until: float = -math.inf


class Momentum(Strategy[MomentumParams]):
    kind = "momentum"
    params_type = MomentumParams

    def __init__(self, name: str, params: MomentumParams, **kw: Any) -> None:
        super().__init__(name, params, **kw)
        self._state: dict[str, _MarketState] = {}
        self._threshold_u2 = float(params.entry_threshold) * 2 * PRICE_SCALE
        self._follow = params.mode == "momentum"

    def _st(self, market: str) -> _MarketState:
        st = self._state.get(market)
        if st is None:
            st = self._state[market] = _MarketState(deque(maxlen=self.params.max_samples))
        return st

    def on_event(self, event: StrategyEvent, view: StrategyView) -> Sequence[Intent]:
        if not isinstance(event, (PriceChange, BookSnapshot, BestBidAsk)):
            if isinstance(event, MarketResolved):
                self._state.pop(event.market, None)
            return ()
        market = event.market
        if self.markets is not None and market not in self.markets:
            return ()
        if type(event) is PriceChange:
            known = self._state.get(market)
            if known is not None and known.entered_at is None and known.last_prices is not None:
                token, bid, ask = known.last_prices
                if not touches_top(event, token, bid, ask):
                    return ()  # flat and the YES top cannot have moved
        info = view.market(market)
        if info is None:
            return ()
        book = view.book(info.yes_token)
        if book is None:
            return ()
        bid_u, ask_u = book.best_bid_units(), book.best_ask_units()
        if bid_u is None or ask_u is None:
            return ()
        st = self._state.get(market) or self._st(market)
        top = (bid_u, ask_u)
        changed = top != st.last_top
        if not changed and st.entered_at is None:
            return ()  # idle: flat (time exits of open positions are checked below / by timer)
        now = view.now
        if changed:
            st.last_top = top
            st.last_prices = (info.yes_token, units_to_price(bid_u), units_to_price(ask_u))
            self._push(st, now, bid_u + ask_u)
        holding = self._held(info, view)
        if holding is not None:
            if st.entered_at is None:  # the entry filled (or a position we did not open)
                st.entered_at = st.entry_sent_at if st.entry_sent_at is not None else now
                st.entry_sent_at = None
            if not changed and now - st.entered_at < self.params.max_hold_seconds:
                return ()
            return self._exit(info, view, st, holding, now)
        if st.entered_at is not None:  # the position closed: cool down
            st.entered_at = None
            st.exit_sent_at = None
            st.cooldown_until = now + self.params.cooldown_seconds
        if not changed:
            return ()
        return self._entry(info, view, st, now)

    def on_timer(self, now: float, view: StrategyView) -> Sequence[Intent]:
        out: list[Intent] = []
        for market in sorted(self._state):
            st = self._state[market]
            info = view.market(market)
            if info is None or st.entered_at is None:
                continue
            holding = self._held(info, view)
            if holding is not None and now - st.entered_at >= self.params.max_hold_seconds:
                out.extend(self._exit(info, view, st, holding, now))
        return out

    def on_decision(self, decision: Decision, now: float) -> None:
        intent = decision.intent
        if decision.approved or not isinstance(intent, OrderIntent):
            return
        st = self._state.get(intent.market)
        if st is None:
            return
        if intent.side is Side.BUY:
            st.entry_sent_at = None
        else:
            st.exit_sent_at = None
        st.cooldown_until = now + self.params.cooldown_seconds

    # -- internals -----------------------------------------------------------------------------

    def _push(self, st: _MarketState, now: float, mid_u2: int) -> None:
        mids = st.mids
        mids.append((now, mid_u2))
        start = now - self.params.window_seconds
        while len(mids) > 1 and mids[1][0] <= start:
            mids.popleft()  # keep exactly one sample at or before the window start

    @staticmethod
    def _held(info: MarketInfo, view: StrategyView) -> Outcome | None:
        yes = view.position(info.condition_id, Outcome.YES).shares
        no = view.position(info.condition_id, Outcome.NO).shares
        if yes <= 0 and no <= 0:
            return None
        return Outcome.YES if yes >= no else Outcome.NO

    def _entry(
        self, info: MarketInfo, view: StrategyView, st: _MarketState, now: float
    ) -> Sequence[Intent]:
        p = self.params
        if now < st.cooldown_until:
            return ()
        if st.entry_sent_at is not None and now - st.entry_sent_at < p.cooldown_seconds:
            return ()  # an entry is in flight
        if not st.mids or now - st.mids[0][0] < p.window_seconds:
            return ()  # the history does not cover the window yet
        move = st.mids[-1][1] - st.mids[0][1]
        if abs(move) < self._threshold_u2:
            return ()
        up = move > 0
        outcome = Outcome.YES if up == self._follow else Outcome.NO
        price = self._ask(info, view, outcome)
        if price is None:
            return ()
        shares = max(p.order_size, info.min_order_size)
        floor_shares = (ONE / price).quantize(SHARE_QUANTUM, rounding=ROUND_UP)
        shares = max(shares, floor_shares)
        st.entry_sent_at = now
        return (
            OrderIntent(
                strategy=self.name,
                market=info.condition_id,
                outcome=outcome,
                token_id=info.token(outcome),
                side=Side.BUY,
                size=shares,
                limit_price=price,
                order_type=OrderType.FAK,
                reason=f"{p.mode} entry: mid moved {move / 2 / PRICE_SCALE:+.4f}",
                client_tag="entry",
            ),
        )

    def _exit(
        self, info: MarketInfo, view: StrategyView, st: _MarketState, outcome: Outcome, now: float
    ) -> Sequence[Intent]:
        p = self.params
        assert st.entered_at is not None
        if st.exit_sent_at is not None and now - st.exit_sent_at < p.cooldown_seconds:
            return ()
        pos = view.position(info.condition_id, outcome)
        avg = pos.avg_cost
        bid = self._bid(info, view, outcome)
        if avg is None or bid is None or pos.shares < info.min_order_size:
            return ()
        if bid >= avg + p.take_profit:
            why = "take profit"
        elif bid <= avg - p.stop_loss:
            why = "stop loss"
        elif now - st.entered_at >= p.max_hold_seconds:
            why = "max hold time"
        else:
            return ()
        st.exit_sent_at = now
        return (
            OrderIntent(
                strategy=self.name,
                market=info.condition_id,
                outcome=outcome,
                token_id=info.token(outcome),
                side=Side.SELL,
                size=pos.shares,
                limit_price=bid,
                order_type=OrderType.FAK,
                reason=why,
                client_tag="exit",
            ),
        )

    @staticmethod
    def _ask(info: MarketInfo, view: StrategyView, outcome: Outcome) -> Decimal | None:
        book = view.book(info.token(outcome))
        units = book.best_ask_units() if book is not None else None
        if units is None and outcome is Outcome.NO:
            yes = view.book(info.yes_token)
            bid = yes.best_bid_units() if yes is not None else None
            units = None if bid is None else PRICE_SCALE - bid
        return None if units is None else units_to_price(units)

    @staticmethod
    def _bid(info: MarketInfo, view: StrategyView, outcome: Outcome) -> Decimal | None:
        book = view.book(info.token(outcome))
        units = book.best_bid_units() if book is not None else None
        if units is None and outcome is Outcome.NO:
            yes = view.book(info.yes_token)
            ask = yes.best_ask_units() if yes is not None else None
            units = None if ask is None else PRICE_SCALE - ask
        return None if units is None else units_to_price(units)
