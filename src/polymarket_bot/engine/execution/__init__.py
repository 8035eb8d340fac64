"""Execution: approved intents -> orders at a venue (OFFLINE/LIVE) or in the local fill model
(DRY-RUN); venue reports -> order state, ledger entries and report records.

    manager = OrderManager(ledger, sink, clock=clock, runtime_mode="offline",
                           execution_mode="simulation", markets=info_by_token)
    port = VenueExecution(manager, rest, signer, creds, clock=clock, user_ws_url=ws + "/user",
                          on_tick_size=catalogue.set_tick)
    # or: DryRunExecution(manager, make_fill_model(markets), clock=clock, books=book_set)
    await port.start(); order = await port.submit(intent); await port.stop(cancel_open=True)
"""

from typing import TYPE_CHECKING

from polymarket_bot.engine.execution.dry_run import DryRunExecution, make_fill_model
from polymarket_bot.engine.execution.heartbeat import Heartbeat
from polymarket_bot.engine.execution.manager import MarketLookup, OrderManager, TradeBook
from polymarket_bot.engine.execution.port import ExecutionPort
from polymarket_bot.engine.execution.records import FillInfo
from polymarket_bot.engine.execution.sink import ExecutionSink, MemorySink
from polymarket_bot.engine.execution.status_query import StatusQuery
from polymarket_bot.engine.execution.user_stream import UserStream, user_auth_frame
from polymarket_bot.engine.execution.venue import VenueExecution

__all__ = [
    "DryRunExecution",
    "ExecutionPort",
    "ExecutionSink",
    "FillInfo",
    "Heartbeat",
    "MarketLookup",
    "MemorySink",
    "OrderManager",
    "StatusQuery",
    "TradeBook",
    "UserStream",
    "VenueExecution",
    "make_fill_model",
    "user_auth_frame",
]

if TYPE_CHECKING:  # mypy proves both executions implement the port

    def _conforms(venue: VenueExecution, dry: DryRunExecution) -> list[ExecutionPort]:
        return [venue, dry]
