"""Feed-source state for `pipeline_status.json` → `fetch_info` (seed §12, docs/REPORTS.md).

`current_source` is one of:

* `ws_live`: every WS shard that carries hot assets is open, heard from within `ws_stale_after`,
  and has delivered the snapshot of each of its assets (or given up waiting for one);
* `ws_initialising`: the WS is coming up for the first time and nothing has failed yet;
* `ws_stale`: the WS is degraded: a connection is silent, resyncing after a reconnect, or some
  shards are down while others work (REST serves what the WS does not);
* `rest_only`: WS disabled (`SERVICE_USE_WS=false`), or no connection is open after a failure:
  REST serves every asset.

The trader merges the dict returned by `MarketDataService.status()` into `fetch_info` key by key
(`storage.snapshots.merge_status(path, {"fetch_info.<key>": value, ...})`), so the order
tracker's `fetch_info.orders_ws`/`orders_rest` are never clobbered.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from polymarket_bot.engine.market_data.service import MarketDataService
    from polymarket_bot.engine.market_data.shards import WsShard

__all__ = ["FeedSource", "SourceTracker", "compute_source", "fetch_info"]


class FeedSource(str, enum.Enum):
    WS_LIVE = "ws_live"
    WS_STALE = "ws_stale"
    WS_INITIALISING = "ws_initialising"
    REST_ONLY = "rest_only"


@dataclass(slots=True)
class SourceTracker:
    """The current source, since when, and the recent transitions (bounded)."""

    current: FeedSource = FeedSource.WS_INITIALISING
    since_epoch: float = 0.0
    since_monotonic: float = 0.0
    changes: int = 0
    history: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=50))
    ever_live: bool = False

    def update(self, source: FeedSource, epoch: float, monotonic: float) -> bool:
        """Record `source` as current; True if it changed."""
        if source is FeedSource.WS_LIVE:
            self.ever_live = True
        if source is self.current:
            return False
        self.history.append(
            {"at_epoch": round(epoch, 3), "from": self.current.value, "to": source.value}
        )
        self.current = source
        self.since_epoch = epoch
        self.since_monotonic = monotonic
        self.changes += 1
        return True

    def seconds_in_current(self, monotonic: float) -> float:
        return max(0.0, monotonic - self.since_monotonic)

    def visited(self) -> list[str]:
        """The sources passed through, oldest first (the first entry's `from` included)."""
        if not self.history:
            return [self.current.value]
        return [self.history[0]["from"], *(h["to"] for h in self.history)]


def compute_source(
    shards: Sequence[WsShard],
    now: float,
    *,
    use_ws: bool,
    stale_after: float,
    snapshot_timeout: float,
    ever_live: bool,
) -> FeedSource:
    """The current source from the shards' states (rules in the module docstring)."""
    if not use_ws:
        return FeedSource.REST_ONLY
    carrying = [s for s in shards if s.assets]
    if not carrying:  # nothing to stream: the WS is not degraded, it has nothing to do
        return FeedSource.WS_LIVE if ever_live else FeedSource.WS_INITIALISING
    live = opened = 0
    failed = False
    for shard in carrying:
        conn = shard.conn
        if conn.total_failures:
            failed = True
        if not conn.is_open:
            continue
        opened += 1
        waiting, _ = shard.unsynced(now, snapshot_timeout)
        if waiting == 0 and shard.is_fresh(now, stale_after):
            live += 1
    if live == len(carrying):
        return FeedSource.WS_LIVE
    if not ever_live and not failed:
        return FeedSource.WS_INITIALISING
    if opened == 0:
        return FeedSource.REST_ONLY
    return FeedSource.WS_STALE


def fetch_info(svc: MarketDataService, source: FeedSource, now: float) -> dict[str, Any]:
    """The `fetch_info` keys of docs/REPORTS.md, then *(ours)*: details per source."""
    shards = svc.shards
    retired = svc.retired_ws_counters
    ingest, poller, config = svc.ingest, svc.poller, svc.config
    ws_messages = retired["messages"] + sum(s.conn.messages for s in shards)
    ws_failures = retired["failures"] + sum(s.conn.total_failures for s in shards)
    ws_errors = ws_failures + ingest.decode_errors + ingest.invalid_operations
    last_ws = max(
        (s.conn.last_message_monotonic for s in shards if s.conn.last_message_monotonic),
        default=None,
    )
    ages = [now - t for t in (last_ws, poller.last_success_monotonic) if t is not None]
    cooldown = max((s.conn.cooldown_remaining_seconds for s in shards), default=0.0)
    waiting = overdue = 0
    for shard in shards:
        w, o = shard.unsynced(now, config.ws_snapshot_timeout)
        waiting += w
        overdue += o
    return {
        "current_source": source.value,
        "ws_cooldown_remaining_seconds": round(cooldown, 3),
        "subscribed_assets": sum(len(s.sent) for s in shards if s.conn.is_open),
        "hot_assets": len(svc.hot_assets),
        "messages": {"ws": ws_messages, "rest": poller.books_received},
        "errors": {"ws": ws_errors, "rest": poller.errors},
        "last_message_age_seconds": round(min(ages), 3) if ages else None,
        # (ours)
        "source_since_epoch": round(svc.source.since_epoch, 3),
        "source_transitions": list(svc.source.history)[-10:],
        "tracked_assets": len(svc.tracked),
        "rest_served_assets": svc.rest_served_count(now),
        "healthy": svc.is_healthy,
        "ws": {
            "enabled": config.use_ws,
            "connections": len(shards),
            "open": sum(1 for s in shards if s.conn.is_open),
            "connects": retired["connects"] + sum(s.conn.connects for s in shards),
            "failures": ws_failures,
            "decode_errors": ingest.decode_errors,
            "invalid_operations": ingest.invalid_operations,
            "awaiting_snapshots": waiting,
            "unsynced_assets": overdue,
            "shards": [s.status() for s in shards],
        },
        "rest": poller.status(),
        "books": ingest.stats(),
        "hot_set": {
            "limit": config.hot.asset_limit,
            "reranks": svc.reranks,
            "added": svc.hot_changes["added"],
            "removed": svc.hot_changes["removed"],
        },
        "catalogue": svc.catalogue.status(),
        "capture": None if svc.recorder is None else svc.recorder.status(),
    }
