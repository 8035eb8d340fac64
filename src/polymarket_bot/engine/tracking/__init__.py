"""Order tracking: the user channel, the REST polling fallback, external fills and
reconciliation against the venue (seed §5, §12, §13; docs/REPORTS.md).

    inventory = await load_inventory(rest, identity=..., markets=..., tokens=..., clock=clock)
    ledger = inventory.seed_ledger()          # positions and cash as the venue has them
    manager = OrderManager(ledger, sink, ...)
    tracker = OrderTracker(manager, rest, creds, clock=clock, config=TrackerConfig(...), sink=sink,
                           ws_url=ws_url)
    await tracker.start(inventory); ...; sink.update_status(tracker.status_sections())
"""

from polymarket_bot.engine.tracking.external import (
    TREND_WINDOWS,
    ExternalTrend,
    external_fills_section,
)
from polymarket_bot.engine.tracking.reconcile import (
    SOURCE_RECONCILE,
    Inventory,
    Reconciler,
    SeedPosition,
    load_inventory,
    prior_order_ids,
)
from polymarket_bot.engine.tracking.rest_poller import SOURCE_POLL, PollSnapshot, RestPoller
from polymarket_bot.engine.tracking.status import PollStats, disabled_ws_status
from polymarket_bot.engine.tracking.tracker import TRACKER_SECTIONS, OrderTracker, TrackerConfig

__all__ = [
    "SOURCE_POLL",
    "SOURCE_RECONCILE",
    "TRACKER_SECTIONS",
    "TREND_WINDOWS",
    "ExternalTrend",
    "Inventory",
    "OrderTracker",
    "PollSnapshot",
    "PollStats",
    "Reconciler",
    "RestPoller",
    "SeedPosition",
    "TrackerConfig",
    "disabled_ws_status",
    "external_fills_section",
    "load_inventory",
    "prior_order_ids",
]
