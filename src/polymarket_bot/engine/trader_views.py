"""Read-only faces the trader hands to strategies and the decision chain: the market-data books,
the ledger's positions and the order manager's orders as mappings, and the short market label."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from polymarket_bot.core.book import OrderBook
from polymarket_bot.core.intents import PositionInfo
from polymarket_bot.core.ledger import Ledger, PositionKey
from polymarket_bot.engine.execution.manager import OrderManager
from polymarket_bot.engine.market_data.catalogue import CatalogueMarket
from polymarket_bot.engine.market_data.service import MarketDataService

__all__ = ["LedgerPositions", "OrdersByClient", "ServiceBooks", "market_label"]

_SIM_SLUG = re.compile(r"^sim-\d+$")


def market_label(m: CatalogueMarket) -> str:
    """The short name reports use as `market_id`: the simulator's `SIM-n`, else the slug."""
    if _SIM_SLUG.match(m.slug):
        return m.slug.upper()
    return m.slug or m.condition_id


class LedgerPositions(Mapping[PositionKey, Any]):
    """Strategies' read-only view of the ledger positions (shares and cost)."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def __getitem__(self, key: PositionKey) -> Any:
        p = self._ledger.positions[key]
        return PositionInfo(p.shares, p.cost_basis)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._ledger.positions)

    def __len__(self) -> int:
        return len(self._ledger.positions)


class ServiceBooks(Mapping[str, OrderBook]):
    """The market-data service's books as a mapping (read-only)."""

    def __init__(self, service: MarketDataService, tokens: Mapping[str, Any]) -> None:
        self._svc = service
        self._tokens = tokens

    def __getitem__(self, token: str) -> OrderBook:
        book = self._svc.book(token)
        if book is None:
            raise KeyError(token)
        return book

    def get(self, token: str, default: Any = None) -> Any:
        """`Mapping.get` without its `__getitem__`/KeyError round trip (read per order)."""
        book = self._svc.book(token)
        return default if book is None else book

    def __iter__(self) -> Iterator[Any]:
        return iter(self._tokens)

    def __len__(self) -> int:
        return len(self._tokens)


class OrdersByClient(Mapping[str, Any]):
    """The order manager's orders by client id, read-only (strategies' open-order view)."""

    def __init__(self, manager: OrderManager) -> None:
        self._manager = manager

    def __getitem__(self, key: str) -> Any:
        order = self._manager.get(key)
        if order is None:
            raise KeyError(key)
        return order

    def __iter__(self) -> Iterator[Any]:
        return iter([o.client_id for o in self._manager.orders()])

    def __len__(self) -> int:
        return len(self._manager.orders())
