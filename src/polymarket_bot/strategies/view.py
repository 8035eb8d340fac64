"""`StrategyView`: the read-only world a strategy sees.

Books by token id (through `BookView`, which exposes reads only), market metadata, the
strategy's OWN positions and open orders, and the clock time. The engine builds one view per
strategy over its live state; the view copies nothing on the hot path (books and positions are
read through), and open orders are snapshotted into frozen `OpenOrder`s when asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from polymarket_bot.core.book import LastTradeInfo
from polymarket_bot.core.clock import Clock
from polymarket_bot.core.intents import BookReader, MarketInfo, PositionInfo
from polymarket_bot.core.ledger import PositionKey, outcome_key
from polymarket_bot.core.orders import Order, OrderState
from polymarket_bot.core.types import OrderType, Outcome, Side, TickSize

__all__ = ["BookView", "OpenOrder", "StrategyView"]

_NO_POSITION = PositionInfo()
# Position keys are lower-case strings; a str-enum member hashes by its NAME, so map it directly
# (cheaper than `outcome_key`, which reads the enum's `.value` property on the hot path).
_OUTCOME_KEYS: dict[str | Outcome, str] = {Outcome.YES: "yes", Outcome.NO: "no"}


class BookView:
    """Read-only face of one order book (methods are the book's own bound methods)."""

    __slots__ = (
        "_book",
        "best_ask",
        "best_ask_size",
        "best_ask_units",
        "best_bid",
        "best_bid_size",
        "best_bid_units",
        "depth",
        "levels",
        "mid",
        "size_at",
        "spread",
    )

    def __init__(self, book: BookReader) -> None:
        self._book = book
        self.best_bid_units: Callable[[], int | None] = book.best_bid_units
        self.best_ask_units: Callable[[], int | None] = book.best_ask_units
        self.best_bid: Callable[[], Decimal | None] = book.best_bid
        self.best_ask: Callable[[], Decimal | None] = book.best_ask
        self.best_bid_size: Callable[[], Decimal | None] = book.best_bid_size
        self.best_ask_size: Callable[[], Decimal | None] = book.best_ask_size
        self.mid: Callable[[], Decimal | None] = book.mid
        self.spread: Callable[[], Decimal | None] = book.spread
        self.depth: Callable[[Side, int], Decimal] = book.depth
        self.levels: Callable[..., list[tuple[Decimal, Decimal]]] = book.levels
        self.size_at: Callable[[Side, str | Decimal], Decimal] = book.size_at

    @property
    def asset_id(self) -> str:
        return self._book.asset_id

    @property
    def tick_size(self) -> TickSize:
        return self._book.tick_size

    @property
    def awaiting_snapshot(self) -> bool:
        return self._book.awaiting_snapshot

    @property
    def last_update_ms(self) -> int:
        return self._book.last_update_ms

    @property
    def last_trade(self) -> LastTradeInfo | None:
        return self._book.last_trade


@dataclass(frozen=True, slots=True)
class OpenOrder:
    """A snapshot of one of the strategy's non-terminal orders."""

    order_id: str
    """The id a `CancelIntent` names (the client id)."""
    venue_order_id: str | None
    market: str
    token_id: str
    outcome: Outcome
    side: Side
    price: Decimal
    size: Decimal
    remaining: Decimal
    order_type: OrderType
    state: OrderState
    created_ms: int

    @property
    def cancelling(self) -> bool:
        return self.state is OrderState.CANCEL_PENDING

    @classmethod
    def of(cls, order: Order) -> OpenOrder:
        return cls(
            order.client_id,
            order.venue_order_id,
            order.market,
            order.asset_id,
            order.outcome,
            order.side,
            order.price,
            order.size,
            order.remaining_size,
            order.order_type,
            order.state,
            order.created_ms,
        )


class StrategyView:
    """Everything one strategy may read. Mutating anything through it is not possible."""

    __slots__ = (
        "_book_views",
        "_books",
        "_clock",
        "_event_index",
        "_markets",
        "_orders",
        "_positions",
        "_token_index",
        "_token_index_size",
        "strategy",
    )

    def __init__(
        self,
        strategy: str,
        *,
        books: Mapping[str, BookReader],
        markets: Mapping[str, MarketInfo],
        clock: Clock,
        positions: Mapping[PositionKey, PositionInfo] | None = None,
        orders: Mapping[str, Order] | None = None,
    ) -> None:
        self.strategy = strategy
        self._books = books
        self._markets = markets
        self._clock = clock
        self._positions: Mapping[PositionKey, PositionInfo] = (
            positions if positions is not None else {}
        )
        self._orders: Mapping[str, Order] = orders if orders is not None else {}
        self._book_views: dict[str, tuple[BookReader, BookView]] = {}
        self._token_index: dict[str, MarketInfo] = {}
        self._event_index: dict[str, list[MarketInfo]] = {}
        self._token_index_size = -1

    def refresh(self) -> None:
        """Drop cached book faces and market indexes (the indexes rebuild by themselves when
        the number of markets changes; call this when a market's metadata is replaced)."""
        self._book_views.clear()
        self._token_index_size = -1

    @property
    def now(self) -> float:
        """Clock time, Unix seconds (the injected clock: simulated in backtests)."""
        return self._clock.time()

    # -- books and markets ---------------------------------------------------------------------

    def book(self, token_id: str) -> BookView | None:
        book = self._books.get(token_id)
        if book is None:
            return None
        cached = self._book_views.get(token_id)
        if cached is not None and cached[0] is book:
            return cached[1]
        view = BookView(book)
        self._book_views[token_id] = (book, view)
        return view

    def market(self, condition_id: str) -> MarketInfo | None:
        return self._markets.get(condition_id)

    def _index(self) -> None:
        """(Re)build the token and event indexes when the market set changed size."""
        if self._token_index_size == len(self._markets):
            return
        tokens: dict[str, MarketInfo] = {}
        events: dict[str, list[MarketInfo]] = {}
        for info in self._markets.values():
            tokens[info.yes_token] = info
            tokens[info.no_token] = info
            if info.event_id:
                events.setdefault(info.event_id, []).append(info)
        for members in events.values():
            members.sort(key=lambda m: m.condition_id)
        self._token_index, self._event_index = tokens, events
        self._token_index_size = len(self._markets)

    def market_of_token(self, token_id: str) -> MarketInfo | None:
        self._index()
        return self._token_index.get(token_id)

    def markets(self) -> Iterator[MarketInfo]:
        return iter(self._markets.values())

    def event_markets(self, event_id: str) -> list[MarketInfo]:
        """Markets of one event (by `event_id`), ordered by condition id."""
        self._index()
        return list(self._event_index.get(event_id, ()))

    # -- own positions and orders ---------------------------------------------------------------

    def position(self, market: str, outcome: str | Outcome) -> PositionInfo:
        key = _OUTCOME_KEYS.get(outcome) or outcome_key(outcome)
        return self._positions.get((market, key), _NO_POSITION)

    def positions(self) -> Mapping[PositionKey, PositionInfo]:
        return MappingProxyType(dict(self._positions))

    def open_orders(
        self, market: str | None = None, token_id: str | None = None
    ) -> list[OpenOrder]:
        """Non-terminal orders (NEW included: not yet acknowledged), oldest first."""
        return [
            OpenOrder.of(o)
            for o in _iter_open(self._orders.values())
            if (market is None or o.market == market)
            and (token_id is None or o.asset_id == token_id)
        ]


def _iter_open(orders: Iterable[Order]) -> Iterator[Order]:
    for order in orders:
        if not order.state.is_terminal:
            yield order
