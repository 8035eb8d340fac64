"""Type stub of the compiled kernel (`_book_kernel.pyx`); book.py documents the semantics."""

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Generic, TypeVar

from polymarket_bot.core.book import DesyncReason, OrderBook, PriceLevelLike, WireChange
from polymarket_bot.core.types import Side, TickSize

API: int

C = TypeVar("C", bound=WireChange)

def learnt_types() -> tuple[type | None, type | None]: ...
def bind(
    reference: type,
    price_units: Callable[[str | Decimal], int],
    crossed: DesyncReason,
    mismatch: DesyncReason,
    buy: Side,
) -> None: ...

class BookState:
    _bids: dict[int, str | Decimal]
    _asks: dict[int, str | Decimal]
    _bid_best: int
    _ask_best: int
    awaiting_snapshot: bool
    dropped_updates: int
    last_update_ms: int
    update_count: int
    def apply_level(self, side_is_bid: bool, price: str, size: str, ts_ms: int) -> None: ...
    def apply_wire_snapshot(
        self,
        bids: Sequence[PriceLevelLike],
        asks: Sequence[PriceLevelLike],
        ts_ms: int,
        hash: str | None = None,
        *,
        tick_size: TickSize | None = None,
    ) -> None: ...
    def check_wire_top(self, best_bid: str | None, best_ask: str | None) -> DesyncReason | None: ...

class ChangeApplier(Generic[C]):
    on_update: Callable[[str, Any], None] | None
    deltas: int
    def __init__(
        self,
        books: dict[str, OrderBook],
        held: dict[str, Any],
        hold: Callable[[str, int, C], bool],
        on_desync: Callable[[str, DesyncReason], object],
        kind: object,
    ) -> None: ...
    def apply(
        self, changes: Sequence[C], timestamp: str, synced: dict[str, int], session: int
    ) -> None: ...
