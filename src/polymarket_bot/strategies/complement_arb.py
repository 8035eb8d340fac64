"""`complement_arb`: buy every outcome of a market (or neg-risk event) when they cost < $1.

Binary market: one YES and one NO pay exactly $1 together at resolution (or merge back to $1).
When `ask_yes + ask_no + taker fees < 1 - margin`, buy both. The size walks the two ask ladders
level by level (up to `max_levels` each) while the pair's marginal cost stays below the bound,
capped at `max_shares`; each leg's limit price is the worst level it needs. Both legs are
marketable (`order_type` FOK, or FAK), so a leg that cannot fill does not rest.

Neg-risk event (exactly one market resolves YES): when the YES best asks of ALL its outcomes plus
fees sum below `1 - margin`, buy one YES of each, sized by the thinnest best level. Only events
whose outcome set is closed are traded: `MarketInfo.event_market_count` known and equal to the
markets in view, and not `neg_risk_augmented` (placeholder/"Other" outcomes).

Fees: `MarketInfo.fee_rate x p x (1 - p)` per share (the V2 taker curve). Legs below the market
minimum size or the $1 marketable-BUY minimum are not sent. After firing, the market (or event)
cools down for `cooldown_seconds`. Caveat: the two legs are separate orders; one may fill and the
other not (FOK on each limits, not removes, that leg risk).

Idle path: integer sum of the best asks against the bound (fees only make it worse), no Decimal.

Parameters: margin (0.005), max_shares (100), max_levels (5), order_type ("FOK" | "FAK"),
cooldown_seconds (5), neg_risk (true: also scan neg-risk events).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from polymarket_bot.core.book import PRICE_SCALE, units_to_price
from polymarket_bot.core.events import (
    BestBidAsk,
    BookSnapshot,
    MarketResolved,
    PriceChange,
)
from polymarket_bot.core.intents import SHARE_QUANTUM, Intent, MarketInfo, OrderIntent
from polymarket_bot.core.types import ONE, ZERO, OrderType, Outcome, Side
from polymarket_bot.strategies.base import Params, Strategy, StrategyEvent, require
from polymarket_bot.strategies.view import StrategyView

__all__ = ["ComplementArb", "ComplementArbParams"]

_ONE_DOLLAR = Decimal(1)
_BUY = Side.BUY


@dataclass(frozen=True, slots=True)
class ComplementArbParams(Params):
    margin: Decimal = Decimal("0.005")
    max_shares: Decimal = Decimal(100)
    max_levels: int = 5
    order_type: str = "FOK"
    cooldown_seconds: float = 5.0
    neg_risk: bool = True

    def validate(self) -> None:
        require(ZERO <= self.margin < ONE, "margin", "must be in [0, 1)")
        require(self.max_shares > 0, "max_shares", "must be > 0")
        require(self.max_levels >= 1, "max_levels", "must be >= 1")
        require(self.order_type in ("FOK", "FAK"), "order_type", "must be FOK or FAK")
        require(self.cooldown_seconds >= 0, "cooldown_seconds", "must be >= 0")


def _touches_asks(event: PriceChange, last: tuple[str, Decimal, str, Decimal]) -> bool:
    yes_token, yes_ask, no_token, no_ask = last
    for c in event.changes:
        if c.side is not _BUY:
            if c.asset_id == yes_token:
                if c.price <= yes_ask:
                    return True
            elif c.asset_id == no_token and c.price <= no_ask:
                return True
    return False


class ComplementArb(Strategy[ComplementArbParams]):
    kind = "complement_arb"
    params_type = ComplementArbParams

    def __init__(self, name: str, params: ComplementArbParams, **kw: Any) -> None:
        super().__init__(name, params, **kw)
        self._bound = ONE - params.margin
        self._bound_units = float(self._bound) * PRICE_SCALE
        self._order_type = OrderType(params.order_type)
        self._cooldown: dict[str, float] = {}
        self._asks: dict[str, tuple[str, Decimal, str, Decimal]] = {}
        """Per market: (YES token, best ask, NO token, best ask) at the last check."""

    def on_event(self, event: StrategyEvent, view: StrategyView) -> Sequence[Intent]:
        if not isinstance(event, (PriceChange, BookSnapshot, BestBidAsk)):
            if isinstance(event, MarketResolved):
                self._cooldown.pop(event.market, None)
                self._asks.pop(event.market, None)
            return ()
        market = event.market
        if type(event) is PriceChange:
            last = self._asks.get(market)
            if last is None:
                for c in event.changes:
                    if c.side is not _BUY:
                        break
                else:
                    return ()  # bids only: the asks we would take did not change
            elif not _touches_asks(event, last):
                return ()  # no ask at or through the best asks we saw moved
        if self.markets is not None and market not in self.markets:
            return ()
        info = view.market(market)
        if info is None:
            return ()
        out = self._binary(info, view)
        if not out and self.params.neg_risk and info.neg_risk and info.event_id:
            out = self._event(info, view)
        return out

    def _cooling(self, key: str, now: float) -> bool:
        until = self._cooldown.get(key)
        return until is not None and now < until

    def _leg(
        self, info: MarketInfo, outcome: Outcome, shares: Decimal, price: Decimal
    ) -> OrderIntent:
        return OrderIntent(
            strategy=self.name,
            market=info.condition_id,
            outcome=outcome,
            token_id=info.token(outcome),
            side=Side.BUY,
            size=shares,
            limit_price=price,
            order_type=self._order_type,
            reason="complement arb",
            client_tag="arb",
        )

    def _binary(self, info: MarketInfo, view: StrategyView) -> list[Intent]:
        yes_book, no_book = view.book(info.yes_token), view.book(info.no_token)
        if yes_book is None or no_book is None:
            return []
        ya, na = yes_book.best_ask_units(), no_book.best_ask_units()
        if ya is None or na is None:
            self._asks.pop(info.condition_id, None)
            return []
        self._asks[info.condition_id] = (
            info.yes_token,
            units_to_price(ya),
            info.no_token,
            units_to_price(na),
        )
        if ya + na >= self._bound_units:
            return []  # idle path
        now = view.now
        if self._cooling(info.condition_id, now):
            return []
        p = self.params
        yl = yes_book.levels(Side.SELL, p.max_levels)
        nl = no_book.levels(Side.SELL, p.max_levels)
        i = j = 0
        ry, rn = yl[0][1], nl[0][1]
        total = ZERO
        worst_y = worst_n = ZERO
        while i < len(yl) and j < len(nl) and total < p.max_shares:
            py, pn = yl[i][0], nl[j][0]
            cost = py + pn + info.taker_fee_per_share(py) + info.taker_fee_per_share(pn)
            if cost >= self._bound:
                break
            q = min(ry, rn, p.max_shares - total)
            total += q
            worst_y, worst_n = py, pn
            ry -= q
            rn -= q
            if ry <= 0:
                i += 1
                ry = yl[i][1] if i < len(yl) else ZERO
            if rn <= 0:
                j += 1
                rn = nl[j][1] if j < len(nl) else ZERO
        shares = total.quantize(SHARE_QUANTUM, rounding=ROUND_DOWN)
        if not self._sendable(info, shares, (worst_y, worst_n)):
            return []
        self._cooldown[info.condition_id] = now + p.cooldown_seconds
        return [
            self._leg(info, Outcome.YES, shares, worst_y),
            self._leg(info, Outcome.NO, shares, worst_n),
        ]

    def _event(self, info: MarketInfo, view: StrategyView) -> list[Intent]:
        event = info.event_id
        if info.neg_risk_augmented or info.event_market_count is None:
            return []
        markets = view.event_markets(event)
        if len(markets) != info.event_market_count or any(
            m.neg_risk_augmented or not m.neg_risk for m in markets
        ):
            return []
        books = []
        units = 0
        for m in markets:
            book = view.book(m.yes_token)
            ask = book.best_ask_units() if book is not None else None
            if book is None or ask is None:
                return []
            units += ask
            books.append(book)
        if units >= self._bound_units:
            return []
        now = view.now
        if self._cooling(event, now):
            return []
        cost = ZERO
        size = self.params.max_shares
        prices: list[Decimal] = []
        for m, book in zip(markets, books, strict=True):
            level = book.levels(Side.SELL, 1)[0]
            prices.append(level[0])
            cost += level[0] + m.taker_fee_per_share(level[0])
            size = min(size, level[1])
        if cost >= self._bound:
            return []
        shares = size.quantize(SHARE_QUANTUM, rounding=ROUND_DOWN)
        if not all(
            self._sendable(m, shares, (price,)) for m, price in zip(markets, prices, strict=True)
        ):
            return []
        self._cooldown[event] = now + self.params.cooldown_seconds
        return [
            self._leg(m, Outcome.YES, shares, price)
            for m, price in zip(markets, prices, strict=True)
        ]

    @staticmethod
    def _sendable(info: MarketInfo, shares: Decimal, prices: Sequence[Decimal]) -> bool:
        return shares >= info.min_order_size and all(
            price > 0 and shares * price >= _ONE_DOLLAR for price in prices
        )
