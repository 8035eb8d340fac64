"""`market_maker`: two-sided post-only quotes around the microprice, skewed by inventory.

Per market (condition id), in YES-price space:

* microprice = (best_bid x ask_size + best_ask x bid_size) / (bid_size + ask_size) on the YES
  book (the size-weighted mid: it leans toward the side about to be taken);
* skew = -skew_ticks x tick x clamp(net / max_position, -1, 1), net = YES shares - NO shares;
* bid = microprice + skew - min_edge, rounded DOWN to the tick; ask = microprice + skew +
  min_edge, rounded UP; both kept off the opposite best (post-only must not cross) and inside
  [tick, 1 - tick].

A YES "ask" needs YES shares to sell; without them it is posted as a BUY of NO at 1 - ask
(economically the same). Likewise the bid is a SELL of NO when NO shares are held. So the bid
slot is BUY YES or SELL NO, the ask slot SELL YES or BUY NO. No opening order past
`max_position` on that side.

Requoting keeps queue priority: a resting quote is moved (cancel + new) only when its target
moved by `requote_ticks` ticks or more. After a rejected quote the slot waits `retry_seconds`;
an intent that never shows up as an open order is forgotten after `pending_seconds`.
Within `reduce_only_seconds` of the market's end date only reducing quotes remain (SELL of what
is held). Sizes are `order_size` raised to the market's minimum. Idle path: when the top of the
YES book and the positions are unchanged since the last evaluation, nothing is computed.

Parameters (`strategies.<name>.params`): order_size (shares, 10), min_edge (0.01),
requote_ticks (2), max_position (shares, 100), skew_ticks (2), reduce_only_seconds (3600),
retry_seconds (5), pending_seconds (10).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from polymarket_bot.core.book import PRICE_SCALE, units_to_price
from polymarket_bot.core.decisions import Decision
from polymarket_bot.core.events import (
    MarketResolved,
    OrderUpdate,
    PriceChange,
    TickSizeChange,
    TradeUpdate,
)
from polymarket_bot.core.intents import CancelIntent, Intent, MarketInfo, OrderIntent
from polymarket_bot.core.ratelimit import RateScope
from polymarket_bot.core.types import OrderType, Outcome, Side
from polymarket_bot.strategies.base import (
    Params,
    Strategy,
    StrategyEvent,
    require,
    touches_top,
)
from polymarket_bot.strategies.view import OpenOrder, StrategyView

__all__ = ["MarketMaker", "MarketMakerParams"]

BID, ASK = "bid", "ask"
_YES, _NO = Outcome.YES, Outcome.NO  # module constants: enum attribute access is slow
# slot -> the (outcome, side) pairs that express it; the price of the NO leg is 1 - YES price
_SLOT_LEGS: dict[str, tuple[tuple[Outcome, Side], tuple[Outcome, Side]]] = {
    BID: ((Outcome.YES, Side.BUY), (Outcome.NO, Side.SELL)),
    ASK: ((Outcome.YES, Side.SELL), (Outcome.NO, Side.BUY)),
}


@dataclass(frozen=True, slots=True)
class MarketMakerParams(Params):
    order_size: Decimal = Decimal(10)
    min_edge: Decimal = Decimal("0.01")
    requote_ticks: int = 2
    max_position: Decimal = Decimal(100)
    skew_ticks: int = 2
    reduce_only_seconds: float = 3600.0
    retry_seconds: float = 5.0
    pending_seconds: float = 10.0

    def validate(self) -> None:
        require(self.order_size > 0, "order_size", "must be > 0")
        require(0 < self.min_edge < Decimal("0.5"), "min_edge", "must be in (0, 0.5)")
        require(self.requote_ticks >= 1, "requote_ticks", "must be >= 1")
        require(self.max_position > 0, "max_position", "must be > 0")
        require(self.skew_ticks >= 0, "skew_ticks", "must be >= 0")
        require(self.reduce_only_seconds >= 0, "reduce_only_seconds", "must be >= 0")
        require(self.retry_seconds >= 0, "retry_seconds", "must be >= 0")
        require(self.pending_seconds > 0, "pending_seconds", "must be > 0")


@dataclass(frozen=True, slots=True)
class _Quote:
    """One leg to rest: outcome/side and the price in that token's units (10**-4)."""

    outcome: Outcome
    side: Side
    price_u: int
    size: Decimal


@dataclass(frozen=True, slots=True)
class _Last:
    key: tuple[object, ...]
    yes_token: str
    bid: Decimal
    ask: Decimal


@dataclass(slots=True)
class _Pending:
    outcome: Outcome
    side: Side
    price_u: int
    sent_at: float


class MarketMaker(Strategy[MarketMakerParams]):
    kind = "market_maker"
    params_type = MarketMakerParams

    def __init__(self, name: str, params: MarketMakerParams, **kw: Any) -> None:
        super().__init__(name, params, **kw)
        self._last_key: dict[str, _Last] = {}
        """Per market: what the last quotes were computed from (dropped to force a requote)."""
        self._pending: dict[tuple[str, str], _Pending] = {}
        self._backoff: dict[tuple[str, str], float] = {}
        self._paused_until = 0.0
        """Quoting waits until then after a block by a limit every market shares."""
        self._cancelling: dict[str, set[str]] = {}
        """Per market: order ids we asked to cancel (until they leave the open orders)."""

    # -- events --------------------------------------------------------------------------------

    def on_event(self, event: StrategyEvent, view: StrategyView) -> Sequence[Intent]:
        market = event.market
        if self.markets is not None and market not in self.markets:
            return ()
        if type(event) is PriceChange:
            last = self._last_key.get(market)
            if last is not None and not touches_top(event, last.yes_token, last.bid, last.ask):
                return ()  # idle: only levels behind our YES top, or the NO book, changed
        elif isinstance(event, (OrderUpdate, TradeUpdate, TickSizeChange)):
            self._last_key.pop(market, None)
        elif isinstance(event, MarketResolved):
            self._forget(market)
            return (CancelIntent(self.name, market, reason="market resolved"),)
        return self._evaluate(market, view, view.now)

    def on_timer(self, now: float, view: StrategyView) -> Sequence[Intent]:
        out: list[Intent] = []
        for market in sorted(self._last_key):
            self._last_key.pop(market, None)
            out.extend(self._evaluate(market, view, now))
        return out

    def on_decision(self, decision: Decision, now: float) -> None:
        intent = decision.intent
        if decision.approved or not isinstance(intent, OrderIntent) or not intent.client_tag:
            return
        slot = (intent.market, intent.client_tag)
        self._pending.pop(slot, None)
        wait = self.params.retry_seconds
        rate = decision.rate
        if rate is not None and not rate.allowed and rate.limit is not None:
            # Rate-limited: retrying sooner than the limit's average spacing only adds rejects.
            limit = rate.limit
            spacing = float(limit.interval_seconds) / max(int(limit.max_orders), 1)
            wait = max(wait, spacing)
            if rate.scope is not RateScope.MARKET_SIDE:
                # A budget shared by every market: all quoting waits, not just this slot.
                self._paused_until = max(self._paused_until, now + spacing)
        self._backoff[slot] = now + wait
        self._last_key.pop(intent.market, None)

    def _forget(self, market: str) -> None:
        self._last_key.pop(market, None)
        self._cancelling.pop(market, None)
        for slot in (BID, ASK):
            self._pending.pop((market, slot), None)
            self._backoff.pop((market, slot), None)

    # -- quoting -------------------------------------------------------------------------------

    def _evaluate(self, market: str, view: StrategyView, now: float) -> Sequence[Intent]:
        if now < self._paused_until:
            self._last_key.pop(market, None)  # look again at the next event
            return ()
        info = view.market(market)
        if info is None:
            return ()
        book = view.book(info.yes_token)
        bid_u = ask_u = None
        if book is not None and not book.awaiting_snapshot:
            bid_u, ask_u = book.best_bid_units(), book.best_ask_units()
        if book is None or bid_u is None or ask_u is None:
            # no two-sided book: keep the quotes, and look again at the next event of any kind
            self._last_key.pop(market, None)
            return ()
        bid_sz, ask_sz = book.best_bid_size(), book.best_ask_size()
        yes = view.position(market, _YES).shares
        no = view.position(market, _NO).shares
        reduce_only = (
            info.end_date_s is not None and info.end_date_s - now <= self.params.reduce_only_seconds
        )
        key = (bid_u, ask_u, bid_sz, ask_sz, yes, no, reduce_only, book.tick_size)
        last = self._last_key.get(market)
        if last is not None and last.key == key:
            return ()  # idle: nothing that shapes the quotes changed
        self._last_key[market] = _Last(
            key, info.yes_token, units_to_price(bid_u), units_to_price(ask_u)
        )
        assert bid_sz is not None and ask_sz is not None
        tick_u = round(book.tick_size.decimal * PRICE_SCALE)
        targets = self._targets(info, bid_u, ask_u, bid_sz, ask_sz, yes, no, reduce_only, tick_u)
        orders = view.open_orders(market)
        cancelling = self._cancelling.get(market)
        if cancelling:
            cancelling.intersection_update(o.order_id for o in orders)
        out: list[Intent] = []
        for slot in (BID, ASK):
            out.extend(self._reconcile(info, slot, targets[slot], orders, tick_u, now))
        return out

    def _targets(
        self,
        info: MarketInfo,
        bid_u: int,
        ask_u: int,
        bid_sz: Decimal,
        ask_sz: Decimal,
        yes: Decimal,
        no: Decimal,
        reduce_only: bool,
        tick_u: int,
    ) -> dict[str, _Quote | None]:
        p = self.params
        bs, as_ = float(bid_sz), float(ask_sz)
        micro = (bid_u * as_ + ask_u * bs) / (bs + as_) if bs + as_ > 0 else (bid_u + ask_u) / 2
        net = yes - no
        ratio = max(-1.0, min(1.0, float(net / p.max_position)))
        center = micro - p.skew_ticks * tick_u * ratio
        edge = float(p.min_edge) * PRICE_SCALE
        lo, hi = tick_u, PRICE_SCALE - tick_u
        bid = math.floor((center - edge) / tick_u + 1e-9) * tick_u
        ask = math.ceil((center + edge) / tick_u - 1e-9) * tick_u
        bid = max(lo, min(bid, ask_u - tick_u, hi))
        ask = min(hi, max(ask, bid_u + tick_u, lo))
        size = max(p.order_size, info.min_order_size)
        targets: dict[str, _Quote | None] = {BID: None, ASK: None}
        if bid >= ask:
            return targets
        if reduce_only:  # only sell what is held (at least the venue minimum)
            if no >= info.min_order_size:
                targets[BID] = _Quote(Outcome.NO, Side.SELL, PRICE_SCALE - bid, min(size, no))
            if yes >= info.min_order_size:
                targets[ASK] = _Quote(Outcome.YES, Side.SELL, ask, min(size, yes))
            return targets
        if no >= size:
            targets[BID] = _Quote(Outcome.NO, Side.SELL, PRICE_SCALE - bid, size)
        elif net < p.max_position:
            targets[BID] = _Quote(Outcome.YES, Side.BUY, bid, size)
        if yes >= size:
            targets[ASK] = _Quote(Outcome.YES, Side.SELL, ask, size)
        elif net > -p.max_position:
            targets[ASK] = _Quote(Outcome.NO, Side.BUY, PRICE_SCALE - ask, size)
        return targets

    def _reconcile(
        self,
        info: MarketInfo,
        slot: str,
        target: _Quote | None,
        orders: list[OpenOrder],
        tick_u: int,
        now: float,
    ) -> list[Intent]:
        market = info.condition_id
        legs = _SLOT_LEGS[slot]
        cancelling = self._cancelling.setdefault(market, set())
        mine = [
            o
            for o in orders
            if (o.outcome, o.side) in legs and not o.cancelling and o.order_id not in cancelling
        ]
        threshold = self.params.requote_ticks * tick_u
        key = (market, slot)
        pending = self._pending.get(key)
        if pending is not None and (
            now - pending.sent_at >= self.params.pending_seconds
            or any((o.outcome, o.side) == (pending.outcome, pending.side) for o in mine)
        ):
            del self._pending[key]  # resolved: visible as an order, or lost
            pending = None
        keep: OpenOrder | None = None
        if target is not None:
            for o in mine:
                if (o.outcome, o.side) == (target.outcome, target.side) and abs(
                    round(o.price * PRICE_SCALE) - target.price_u
                ) < threshold:
                    keep = o  # close enough: keep its queue priority
                    break
        out: list[Intent] = []
        for o in mine:
            if o is not keep:
                cancelling.add(o.order_id)
                out.append(CancelIntent(self.name, market, o.order_id, o.token_id, "requote"))
        if target is None or keep is not None:
            return out
        if (
            pending is not None
            and (pending.outcome, pending.side) == (target.outcome, target.side)
            and abs(pending.price_u - target.price_u) < threshold
        ):
            return out  # already asked for; wait for it to show up
        if self._backoff.get(key, -math.inf) > now:
            return out
        out.append(
            OrderIntent(
                strategy=self.name,
                market=market,
                outcome=target.outcome,
                token_id=info.token(target.outcome),
                side=target.side,
                size=target.size,
                limit_price=units_to_price(target.price_u),
                order_type=OrderType.GTC,
                post_only=True,
                reason=f"quote {slot}",
                client_tag=slot,
            )
        )
        self._pending[key] = _Pending(target.outcome, target.side, target.price_u, now)
        return out
