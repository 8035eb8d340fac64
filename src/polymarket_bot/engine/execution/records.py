"""Report records of execution, field by field as docs/REPORTS.md names them.

Pure builders (dicts in, dicts out): the manager decides *when* a record is due, these decide
*what* it holds. Money stays `Decimal` (the JSONL writer prints exact JSON numbers); `timestamp`
is our clock's time of the record, ISO-8601 UTC with milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from polymarket_bot.core.intents import OUTCOME_VALUE
from polymarket_bot.core.ledger import RealizedExit
from polymarket_bot.core.orders import Order
from polymarket_bot.core.types import Side

__all__ = [
    "FillInfo",
    "exit_record",
    "fill_record",
    "order_item",
    "order_record",
    "trade_record",
    "void_trade_record",
]


def order_record(
    order: Order,
    *,
    timestamp: str,
    event: str,
    market_id: str,
    runtime_mode: str,
    source: str,
    reason: str = "",
    metadata: dict[str, Any] | None = None,
    condition_id: str = "",
) -> dict[str, Any]:
    """orders.jsonl: `submit | partial | filled | cancel | reject` (+ `reconcile`, `expired`)."""
    record: dict[str, Any] = {
        "timestamp": timestamp,
        "event": event,
        "market_id": market_id,
        "action": OUTCOME_VALUE[order.outcome],
        "size": order.size,
        "reason": reason,
        "metadata": metadata if metadata is not None else {},
        "runtime_mode": runtime_mode,
        "status": order.state.value,
        "source": source,
        "order_id": order.venue_order_id,
        "client_id": order.client_id,
        "strategy": order.strategy,
        "side": order.side.value,
        "price": order.price,
        "order_type": order.order_type.value,
        "token_id": order.asset_id,
        "condition_id": condition_id or order.market,
    }
    if order.filled_size:
        record["metadata"] = {
            **record["metadata"],
            "filled_size": order.filled_size,
            "average_price": order.avg_fill_price,
        }
    return record


@dataclass(frozen=True, slots=True)
class FillInfo:
    """One fill as the manager books it (a trade leg of ours, or an external one)."""

    fill_id: str
    trade_id: str
    order_id: str | None
    market: str
    """Condition id (the ledger's market key)."""
    market_id: str
    """Report label (`SIM-1`), the condition id when unknown."""
    asset_id: str
    outcome: str
    """`yes` / `no` (reports call it `action`)."""
    side: Side
    price: Decimal
    size: Decimal
    fee: Decimal
    ts_ms: int
    liquidity: str = ""
    """`taker` / `maker` when known."""
    external: bool = False


def trade_record(
    fill: FillInfo,
    *,
    timestamp: str,
    status: str,
    execution_mode: str,
    settlement: str,
    source: str,
    runtime_mode: str,
) -> dict[str, Any]:
    """trades.jsonl: the increment (not the cumulative) of one fill."""
    return {
        "timestamp": timestamp,
        "order_id": fill.order_id,
        "market_id": fill.market_id,
        "action": fill.outcome,
        "filled_shares": fill.size,
        "average_price": fill.price,
        "notional": fill.price * fill.size,
        "status": status,
        "execution_mode": execution_mode,
        "trade_id": fill.trade_id,
        "fill_id": fill.fill_id,
        "side": fill.side.value,
        "fee": fill.fee,
        "settlement": settlement,
        "external": fill.external,
        "source": source,
        "runtime_mode": runtime_mode,
        "token_id": fill.asset_id,
        "liquidity": fill.liquidity,
    }


def void_trade_record(
    fill: FillInfo,
    *,
    timestamp: str,
    execution_mode: str,
    source: str,
    runtime_mode: str,
) -> dict[str, Any]:
    """trades.jsonl correction for a fill whose trade FAILED: negative shares and notional."""
    record = trade_record(
        fill,
        timestamp=timestamp,
        status="void",
        execution_mode=execution_mode,
        settlement="FAILED",
        source=source,
        runtime_mode=runtime_mode,
    )
    record["filled_shares"] = -fill.size
    record["notional"] = -(fill.price * fill.size)
    record["fee"] = -fill.fee
    return record


def fill_record(
    fill: FillInfo,
    *,
    timestamp: str,
    execution_mode: str,
    reference_price: Decimal | None,
    mid: Decimal | None,
    spread: Decimal | None,
) -> dict[str, Any]:
    """fills.jsonl: entry (BUY) / exit (SELL) telemetry. Slippage is signed so that positive
    is worse than the reference: BUY fill - reference, SELL reference - fill."""
    reference = reference_price if reference_price is not None else fill.price
    slippage = fill.price - reference if fill.side is Side.BUY else reference - fill.price
    return {
        "timestamp": timestamp,
        "event": "entry" if fill.side is Side.BUY else "exit",
        "market_id": fill.market_id,
        "side": fill.outcome,
        "notional": fill.price * fill.size,
        "fill_price": fill.price,
        "reference_price": reference,
        "slippage": slippage,
        "fees": fill.fee,
        "execution_mode": execution_mode,
        "mid": mid,
        "spread": spread,
        "shares": fill.size,
        "order_id": fill.order_id,
        "trade_id": fill.trade_id,
        "liquidity": fill.liquidity,
        "external": fill.external,
    }


def exit_record(exit_: RealizedExit, *, timestamp: str, market_id: str) -> dict[str, Any]:
    """realized_exits.jsonl (a void correction has shares 0 and carries the PnL difference)."""
    return {
        "timestamp": timestamp,
        "market_id": market_id,
        "action": exit_.outcome,
        "shares": exit_.shares,
        "entry_price": exit_.entry_price,
        "exit_price": exit_.exit_price,
        "pnl": exit_.pnl,
        "fees": exit_.fees,
        "reason": exit_.reason.value,
        "fill_id": exit_.fill_id,
    }


def order_item(order: Order, *, market_id: str, updated_at: str) -> dict[str, Any]:
    """One order in the `execution` status section (JSON-ready: numbers as floats)."""
    return {
        "order_id": order.venue_order_id,
        "client_id": order.client_id,
        "market_id": market_id,
        "action": OUTCOME_VALUE[order.outcome],
        "side": order.side.value,
        "price": float(order.price),
        "size": float(order.size),
        "filled_size": float(order.filled_size),
        "status": order.state.value,
        "order_type": order.order_type.value,
        "strategy": order.strategy,
        "updated_at": updated_at,
    }
