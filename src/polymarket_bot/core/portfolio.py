"""`Portfolio`: what the risk engine knows of the wallet when it judges an intent.

* `balance`: cash available for new BUYs (cash minus what open BUY orders reserve).
* held positions (filled shares and cost basis) per (market, outcome);
* pending BUYs (open BUY orders, and intents approved in this decision pass): they count in
  exposure and in the resolution scenarios (they may fill), not as sellable shares;
* reserved sells (open SELL orders, approved SELL intents): not sellable again.

Exposure = cost basis of held shares + notional of pending BUYs, per market, per neg-risk event
(markets whose `MarketInfo.neg_risk` is set and carry an `event_id`) and in total.

Build it from the ledger and the open orders (`from_ledger`) whenever they change; within one
decision pass the `DecisionChain` calls `reserve` for every approved intent so the next intent
of the same pass sees it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from polymarket_bot.core.intents import MarketInfo, OrderIntent, PositionInfo
from polymarket_bot.core.ledger import Ledger, PositionKey, outcome_key
from polymarket_bot.core.orders import Order
from polymarket_bot.core.types import ZERO, Outcome, Side

__all__ = ["OpenOrderExposure", "Portfolio"]

_NO_POSITION = PositionInfo()
_OUTCOME_KEYS = {outcome: outcome.value for outcome in Outcome}
"""`outcome.value` without the enum property's two Python calls (per approved order)."""


def _holding(is_open: bool, remaining: Decimal) -> Decimal:
    """What an order holds against the wallet: its remaining size while open, else nothing."""
    return remaining if is_open and remaining > 0 else ZERO


class OpenOrderExposure:
    """Open orders summed per (market, outcome): BUY (shares, notional) and SELL shares.

    The order manager keeps one up to date on every order change (`update`), so building a
    `Portfolio` does not walk every open order. Sums are exact (Decimal); keys that return to
    zero are dropped.
    """

    __slots__ = ("buys", "sells", "version")

    def __init__(self) -> None:
        self.buys: dict[PositionKey, tuple[Decimal, Decimal]] = {}
        self.sells: dict[PositionKey, Decimal] = {}
        self.version = 0
        """Bumped whenever a sum changes."""

    def add(self, order: Order) -> None:
        """Count what `order` holds now."""
        self._move(order, _holding(order.is_open, order.remaining_size))

    def update(self, order: Order, was_open: bool, was_remaining: Decimal) -> None:
        """`order` changed (state or filled size): move its sums by the difference."""
        delta = _holding(order.is_open, order.remaining_size) - _holding(was_open, was_remaining)
        self._move(order, delta)

    def _move(self, order: Order, shares: Decimal) -> None:
        if not shares:
            return
        key = (order.market, outcome_key(order.outcome))
        self.version += 1
        if order.side is Side.BUY:
            held, notional = self.buys.get(key, (ZERO, ZERO))
            held += shares
            if held:
                self.buys[key] = (held, notional + shares * order.price)
            else:
                self.buys.pop(key, None)
        else:
            held = self.sells.get(key, ZERO) + shares
            if held:
                self.sells[key] = held
            else:
                self.sells.pop(key, None)


class Portfolio:
    """Positions, pending orders and exposure aggregates (all Decimal, exact)."""

    __slots__ = (
        "_event_exposure",
        "_held",
        "_market_exposure",
        "_markets",
        "_pending",
        "_reserved_sell",
        "_total",
        "balance",
    )

    def __init__(
        self,
        balance: Decimal,
        *,
        positions: Mapping[PositionKey, PositionInfo] | None = None,
        markets: Mapping[str, MarketInfo] | None = None,
    ) -> None:
        self.balance = balance
        self._markets: Mapping[str, MarketInfo] = markets or {}
        self._held: dict[PositionKey, PositionInfo] = {}
        self._pending: dict[PositionKey, PositionInfo] = {}
        self._reserved_sell: dict[PositionKey, Decimal] = {}
        self._market_exposure: dict[str, Decimal] = {}
        self._event_exposure: dict[str, Decimal] = {}
        self._total = ZERO
        for (market, outcome), pos in (positions or {}).items():
            if pos.shares:
                key = (market, outcome_key(outcome))
                self._held[key] = pos
                self._add_exposure(market, pos.cost)

    @classmethod
    def from_ledger(
        cls,
        ledger: Ledger,
        *,
        markets: Mapping[str, MarketInfo],
        open_orders: Iterable[Order] = (),
    ) -> Portfolio:
        """Held positions from `ledger`; open orders (not terminal) as pending BUYs / reserved
        sells; balance = ledger cash - open BUY notional."""
        exposure = OpenOrderExposure()
        for order in open_orders:
            exposure.add(order)
        return cls.from_exposure(ledger, markets=markets, exposure=exposure)

    @classmethod
    def from_exposure(
        cls,
        ledger: Ledger,
        *,
        markets: Mapping[str, MarketInfo],
        exposure: OpenOrderExposure,
    ) -> Portfolio:
        """`from_ledger` with the open orders already summed per (market, outcome): O(keys)."""
        positions = {p.key: PositionInfo(p.shares, p.cost_basis) for p in ledger.open_positions()}
        portfolio = cls(ledger.cash, positions=positions, markets=markets)
        for key, (shares, notional) in exposure.buys.items():
            portfolio._add_pending(key, shares, notional)
            portfolio.balance -= notional
        portfolio._reserved_sell.update(exposure.sells)
        return portfolio

    def copy(self) -> Portfolio:
        """An independent copy (a decision pass `reserve`s on it).

        Costs O(positions + markets with orders), not O(open orders): the trader builds the
        portfolio once per change of the ledger or the orders and copies it per pass."""
        twin = Portfolio.__new__(Portfolio)
        twin.balance = self.balance
        twin._markets = self._markets
        twin._held = dict(self._held)
        twin._pending = dict(self._pending)
        twin._reserved_sell = dict(self._reserved_sell)
        twin._market_exposure = dict(self._market_exposure)
        twin._event_exposure = dict(self._event_exposure)
        twin._total = self._total
        return twin

    # -- reads ---------------------------------------------------------------------------------

    def event_of(self, market: str) -> str | None:
        """The neg-risk event grouping `market`, or None."""
        info = self._markets.get(market)
        return info.event_id if info is not None and info.neg_risk and info.event_id else None

    def position(self, market: str, outcome: str | Outcome) -> PositionInfo:
        """Filled shares held (pending BUYs excluded)."""
        return self._held.get((market, outcome_key(outcome)), _NO_POSITION)

    def sellable(self, market: str, outcome: str | Outcome) -> Decimal:
        key = (market, outcome_key(outcome))
        held = self._held.get(key, _NO_POSITION).shares
        return held - self._reserved_sell.get(key, ZERO)

    def scenario_position(self, market: str, outcome: str | Outcome) -> PositionInfo:
        """Held plus pending BUYs: what resolution could pay out on."""
        key = (market, outcome_key(outcome))
        held = self._held.get(key, _NO_POSITION)
        pending = self._pending.get(key)
        if pending is None:
            return held
        return PositionInfo(held.shares + pending.shares, held.cost + pending.cost)

    def market_exposure(self, market: str) -> Decimal:
        return self._market_exposure.get(market, ZERO)

    def event_exposure(self, event_id: str) -> Decimal:
        return self._event_exposure.get(event_id, ZERO)

    @property
    def total_exposure(self) -> Decimal:
        return self._total

    def markets_with_positions(self) -> set[str]:
        return {k[0] for k in self._held} | {k[0] for k in self._pending}

    def event_markets(self, event_id: str) -> list[str]:
        """Markets of the neg-risk event this portfolio knows (metadata or positions), sorted."""
        known = {
            m for m, info in self._markets.items() if info.neg_risk and info.event_id == event_id
        }
        known |= {m for m in self.markets_with_positions() if self.event_of(m) == event_id}
        return sorted(known)

    # -- writes --------------------------------------------------------------------------------

    def reserve(self, intent: OrderIntent) -> None:
        """An approved intent: a BUY becomes pending (exposure, balance), a SELL reserves its
        shares."""
        key = (intent.market, _OUTCOME_KEYS[intent.outcome])
        if intent.side is Side.BUY:
            notional = intent.notional
            self._add_pending(key, intent.shares, notional)
            self.balance -= notional
        else:
            self._reserved_sell[key] = self._reserved_sell.get(key, ZERO) + intent.shares

    def _add_pending(self, key: PositionKey, shares: Decimal, cost: Decimal) -> None:
        pending = self._pending.get(key, _NO_POSITION)
        self._pending[key] = PositionInfo(pending.shares + shares, pending.cost + cost)
        self._add_exposure(key[0], cost)

    def _add_exposure(self, market: str, amount: Decimal) -> None:
        self._market_exposure[market] = self._market_exposure.get(market, ZERO) + amount
        event = self.event_of(market)
        if event is not None:
            self._event_exposure[event] = self._event_exposure.get(event, ZERO) + amount
        self._total += amount
