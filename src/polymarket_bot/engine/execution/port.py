"""The execution port: what the trader loop calls, whatever the mode.

OFFLINE and LIVE plug in `VenueExecution` (signed orders at a venue: the simulator or Polymarket),
DRY-RUN plugs in `DryRunExecution` (the local fill model on real books). Both keep their orders in
an `OrderManager`, which owns order state, the ledger feed and the report records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from polymarket_bot.core.intents import OrderIntent
from polymarket_bot.core.orders import Order

__all__ = ["ExecutionPort"]


class ExecutionPort(Protocol):
    async def start(self) -> None:
        """Open connections (user channel) and background tasks; idempotent."""
        ...

    async def stop(self, cancel_open: bool) -> None:
        """Stop background work; with `cancel_open`, cancel every open order first."""
        ...

    async def submit(self, intent: OrderIntent, *, client_id: str | None = None) -> Order:
        """Turn one approved intent into an order. Never raises for a venue refusal: the
        returned order is REJECTED (reason in its history and in orders.jsonl), UNKNOWN when the
        outcome is ambiguous (resolved later by a status query, never re-sent), or accepted."""
        ...

    async def submit_many(self, intents: Sequence[OrderIntent]) -> list[Order]:
        """Several intents at once (venue batches of <= 15); orders in the intents' order."""
        ...

    async def cancel(self, order_id_or_client_id: str) -> Order | None:
        """Cancel one order by client id or venue order id; None if unknown."""
        ...

    async def cancel_all(self) -> list[Order]:
        """Cancel every open order of this process (and, at a venue, of the API key)."""
        ...

    def open_orders(self) -> list[Order]:
        """Orders that may rest on (or be headed to) the book."""
        ...

    def status(self) -> dict[str, Any]:
        """The `execution` section of pipeline_status.json (+ mode-specific details)."""
        ...
