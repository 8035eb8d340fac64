"""Synthetic markets, books and views for strategy, risk and decision tests."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from polymarket_bot.core.book import BookSet
from polymarket_bot.core.clock import TestClock
from polymarket_bot.core.events import BookSnapshot, PriceChange, PriceLevelChange
from polymarket_bot.core.intents import MarketInfo, PositionInfo
from polymarket_bot.core.ledger import PositionKey
from polymarket_bot.core.orders import Order
from polymarket_bot.core.types import Side, TickSize
from polymarket_bot.strategies.view import StrategyView

D = Decimal
T0 = 1_700_000_000.0

Levels = Sequence[tuple[str, str]]


def market(
    n: int = 1,
    *,
    tick: TickSize = TickSize.T0_01,
    min_size: str = "5",
    neg_risk: bool = False,
    event_id: str = "",
    end_date_s: float | None = None,
    fee_rate: str = "0",
    event_market_count: int | None = None,
    augmented: bool = False,
) -> MarketInfo:
    return MarketInfo(
        condition_id=f"0xm{n}",
        yes_token=f"{n}01",
        no_token=f"{n}02",
        tick_size=tick,
        min_order_size=D(min_size),
        neg_risk=neg_risk,
        event_id=event_id,
        end_date_s=end_date_s,
        name=f"SIM-{n}",
        fee_rate=D(fee_rate),
        event_market_count=event_market_count,
        neg_risk_augmented=augmented,
    )


class World:
    """Books, markets, positions, orders and a clock, with views over them."""

    def __init__(self, markets: Sequence[MarketInfo], start: float = T0) -> None:
        self.clock = TestClock(start)
        self.books = BookSet()
        self.markets = {m.condition_id: m for m in markets}
        self.positions: dict[PositionKey, PositionInfo] = {}
        self.orders: dict[str, Order] = {}
        for m in markets:
            self.books.add(m.yes_token, m.tick_size, market=m.condition_id)
            self.books.add(m.no_token, m.tick_size, market=m.condition_id)

    def view(self, strategy: str = "s") -> StrategyView:
        return StrategyView(
            strategy,
            books=self.books,
            markets=self.markets,
            clock=self.clock,
            positions=self.positions,
            orders=self.orders,
        )

    def snapshot(self, token: str, bids: Levels, asks: Levels) -> BookSnapshot:
        """Apply a full book to `token` and return the event a strategy would see."""
        info = next(m for m in self.markets.values() if token in (m.yes_token, m.no_token))
        event = BookSnapshot(
            asset_id=token,
            market=info.condition_id,
            bids=tuple((D(p), D(s)) for p, s in bids),
            asks=tuple((D(p), D(s)) for p, s in asks),
            timestamp_ms=self.clock.time_ms(),
        )
        self.books.apply_snapshot(event)
        return event

    def change(self, token: str, side: Side, price: str, size: str) -> PriceChange:
        info = next(m for m in self.markets.values() if token in (m.yes_token, m.no_token))
        book = self.books[token]
        ts = self.clock.time_ms()
        book.apply_level_decimal(side is Side.BUY, D(price), D(size), ts)
        change = PriceLevelChange(
            token,
            info.condition_id,
            side,
            D(price),
            D(size),
            book.best_bid(),
            book.best_ask(),
            "",
            ts,
        )
        return PriceChange(info.condition_id, (change,), ts)

    def hold(self, info: MarketInfo, outcome: str, shares: str, cost: str) -> None:
        self.positions[(info.condition_id, outcome)] = PositionInfo(D(shares), D(cost))
