"""`MarketDataService`: WebSocket first, REST fallback, hot-asset subscriptions, local books.

    svc = MarketDataService(MarketDataConfig.from_settings(settings), clock=clock,
                            rest=clob_rest, gamma=gamma, on_update=on_update)
    await svc.start()
    await svc.refresh_catalogue()            # optional: wait for the first market list
    svc.track(token_ids)                     # books for these assets (REST at once, WS if hot)
    svc.hit(token_id)                        # a strategy or an order cares: boosts its score
    book = svc.book(token_id)                # core.book.OrderBook (read it, never write it)
    age = svc.feed_age_seconds(token_id)     # feed liveness; None = no usable book
    svc.status()                             # the `fetch_info` dict
    await svc.stop()

Tracked assets all get a local book. The hot set (core/hotset.py, re-ranked every
`rerank_interval`) rides the market WebSocket, sharded over connections of at most
`assets_per_connection` assets; every tracked asset the WS does not currently serve (not hot,
connection down, silent, or its snapshot not in yet) is polled by REST. Desynced books are
resynced from a REST snapshot. `on_update(asset_id, kind)` runs synchronously inside the feed:
keep it cheap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from polymarket_bot.core.book import PRICE_SCALE, OrderBook
from polymarket_bot.core.clock import Clock, LiveClock
from polymarket_bot.core.hotset import HotSetChange, HotSetManager, base_score
from polymarket_bot.core.types import TickSize
from polymarket_bot.engine.market_data._aio import wait_event
from polymarket_bot.engine.market_data.books import BookIngest, OnUpdate
from polymarket_bot.engine.market_data.capture import CaptureRecorder
from polymarket_bot.engine.market_data.catalogue import Catalogue, CatalogueMarket
from polymarket_bot.engine.market_data.config import MarketDataConfig
from polymarket_bot.engine.market_data.rest_poller import RestPoller
from polymarket_bot.engine.market_data.shards import ShardPool, WsShard
from polymarket_bot.engine.market_data.status import (
    FeedSource,
    SourceTracker,
    compute_source,
    fetch_info,
)
from polymarket_bot.protocol.wire_rest import OrderBookSummary
from polymarket_bot.transport.gamma import GammaClient
from polymarket_bot.transport.rest import ClobRestClient
from polymarket_bot.transport.retry import Backoff
from polymarket_bot.transport.ws import WsState

__all__ = ["MarketDataService"]

_log = logging.getLogger(__name__)
_NEVER = -math.inf


class MarketDataService:
    def __init__(
        self,
        config: MarketDataConfig,
        *,
        clock: Clock | None = None,
        rest: ClobRestClient,
        gamma: GammaClient | None = None,
        on_update: OnUpdate | None = None,
    ) -> None:
        if config.use_ws and not config.clob_ws_url:
            raise ValueError("use_ws needs clob_ws_url (CLOB_WS_URL)")
        self.config = config
        self._clock = clock or LiveClock()
        self.rest = rest
        self.gamma = gamma
        self.ingest = BookIngest(
            on_update=on_update,
            on_resync=self._on_resync,
            on_tick_size=self._on_tick_size,
            buffer_limit=config.resync_buffer_limit,
        )
        self.catalogue = Catalogue(
            gamma=gamma,
            rest=rest,
            clock=self._clock,
            gamma_page_size=config.catalogue_gamma_page_size,
            clob_max_pages=config.catalogue_clob_max_pages,
        )
        self.hotset = HotSetManager(config.hot)
        self.poller = RestPoller(
            rest,
            wanted=self._rest_wanted,
            on_books=self._on_rest_books,
            clock=self._clock,
            max_concurrency=config.rest_max_concurrency,
            rate_per_sec=config.rest_rate_limit_per_sec,
            batch_size=config.rest_batch_size,
            poll_interval=config.rest_poll_interval,
            backoff=Backoff(base=config.rest_error_backoff_base, cap=config.rest_error_backoff_cap),
        )
        self.recorder: CaptureRecorder | None = None
        if config.record_dir is not None:
            self.recorder = CaptureRecorder(
                config.record_dir,
                max_bytes=config.record_max_bytes,
                flush_interval=config.record_flush_interval,
                clock=self._clock,
            )
        self._tracked: dict[str, None] = {}
        self.pool = ShardPool(
            config.market_ws_url,
            self.ingest,
            capacity=config.assets_per_connection,
            clock=self._clock,
            recorder=self.recorder,
            ping_interval=config.ws_ping_interval,
            silence_timeout=config.ws_silence_timeout,
            backoff_base=config.ws_backoff_base,
            backoff_cap=config.ws_backoff_cap,
            proxy=config.proxy,
            on_state=self._on_shard_state,
        )
        self._asset_shard = self.pool.by_asset  # the same dict: asset -> its shard
        self._confirmed: dict[str, float] = {}
        """asset -> last monotonic time a source no longer live vouched for its book (REST
        snapshots, ended WS sessions)."""
        self._seen_update: dict[str, int] = {}
        self._audited: dict[str, float] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._rerank_due = True
        self._running = False
        self.started_epoch: float | None = None
        self.source = SourceTracker()
        self.reranks = 0
        self.hot_changes = {"added": 0, "removed": 0}

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the REST poller, the housekeeping loop and the catalogue refresh. Returns at
        once; the first catalogue load runs in the background (`refresh_catalogue()` awaits
        one)."""
        if self._running:
            return
        self._running = True
        now_epoch, now = self._clock.time(), self._clock.monotonic()
        self.started_epoch = now_epoch
        initial = FeedSource.WS_INITIALISING if self.config.use_ws else FeedSource.REST_ONLY
        self.source = SourceTracker(current=initial, since_epoch=now_epoch, since_monotonic=now)
        if self.recorder is not None:
            self.recorder.open()
        if self.config.hot.static_assets:
            self.track(sorted(self.config.hot.static_assets))
        await self.poller.start()
        await self.pool.start()  # also starts a hot set ranked before start()
        self._tasks = [
            asyncio.create_task(self._housekeeping(), name="market-data:housekeeping"),
            asyncio.create_task(self._catalogue_loop(), name="market-data:catalogue"),
        ]

    async def stop(self) -> None:
        """Stop every task and connection and close the capture (idempotent)."""
        if not self._running:
            return
        self._running = False
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.poller.stop()
        await self.pool.stop()
        if self.recorder is not None:
            self.recorder.close()

    async def __aenter__(self) -> MarketDataService:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def running(self) -> bool:
        return self._running

    # --- the trader's API -----------------------------------------------------------------

    @property
    def after_frame(self) -> Callable[[], None] | None:
        """Called after every WS frame has been applied to the books (all its assets'
        `on_update` calls done): where the trader starts deciding, without a loop turn."""
        return self.pool.after_frame

    @after_frame.setter
    def after_frame(self, callback: Callable[[], None] | None) -> None:
        self.pool.after_frame = callback
        for shard in self.pool.shards:
            shard.after_frame = callback

    @property
    def on_update(self) -> OnUpdate | None:
        return self.ingest.on_update

    @on_update.setter
    def on_update(self, callback: OnUpdate | None) -> None:
        self.ingest.on_update = callback

    def track(self, asset_ids: Iterable[str], *, market: str = "") -> None:
        """Keep a local book for these assets (REST right away; WS once they are hot)."""
        now = self._clock.monotonic()
        added = False
        for aid in asset_ids:
            if not aid or aid in self._tracked:
                continue
            self._tracked[aid] = None
            info = self.catalogue.by_token(aid)
            self.ingest.add(
                aid,
                market=info.condition_id if info is not None else market,
                tick_size=info.tick_size if info is not None else None,
            )
            self.hotset.register(aid, now, base=self._base(aid, info))
            added = True
        if added:
            self._rerank_due = True
            self._wake.set()
            self.poller.wake()

    def untrack(self, asset_ids: Iterable[str]) -> None:
        """Forget these assets (their books, subscriptions and REST polling). Static assets
        come back at the next re-rank."""
        changed = False
        for aid in asset_ids:
            if aid not in self._tracked:
                continue
            del self._tracked[aid]
            self.hotset.forget(aid)
            self.pool.remove(aid)
            self.ingest.remove(aid)
            self.poller.forget(aid)
            self._confirmed.pop(aid, None)
            self._seen_update.pop(aid, None)
            self._audited.pop(aid, None)
            changed = True
        if changed:
            self._rerank_due = True
            self._wake.set()

    def hit(self, asset_id: str) -> None:
        """A strategy or an order touched this asset: boost its hot-set score (tracks it if
        needed). Cheap; safe to call from callbacks."""
        if asset_id not in self._tracked:
            self.track((asset_id,))
        self.hotset.hit(asset_id, self._clock.monotonic())

    def book(self, asset_id: str) -> OrderBook | None:
        """The asset's local book (None if not tracked). It may be awaiting its first snapshot
        or desynced: check `feed_age_seconds` (None then) before trading on it."""
        return self.ingest.by_asset.get(asset_id)

    def feed_age_seconds(self, asset_id: str) -> float | None:
        """Seconds since a live source last vouched for this book: the last frame (or PONG) of
        the WS connection carrying it, or the send time of its last REST snapshot. None when
        the book is unusable (unknown, no snapshot yet, or waiting for a resync)."""
        if not self.ingest.usable(asset_id):
            return None
        best = self._confirmed.get(asset_id, _NEVER)
        shard = self._asset_shard.get(asset_id)
        if shard is not None:
            ws = shard.confirmation(asset_id)
            if ws is not None and ws > best:
                best = ws
        if best == _NEVER:
            return None
        return max(0.0, self._clock.monotonic() - best)

    @property
    def is_healthy(self) -> bool:
        """Running and every tracked book is usable with a feed younger than
        `healthy_max_feed_age`."""
        if not self._running:
            return False
        limit = self.config.healthy_max_feed_age
        for aid in self._tracked:
            age = self.feed_age_seconds(aid)
            if age is None or age > limit:
                return False
        return True

    @property
    def current_source(self) -> FeedSource:
        return self._evaluate_source()

    @property
    def tracked(self) -> frozenset[str]:
        return frozenset(self._tracked)

    @property
    def hot_assets(self) -> frozenset[str]:
        return self.hotset.hot

    @property
    def shards(self) -> Sequence[WsShard]:
        return tuple(self.pool.shards)

    def ws_serves(self, asset_id: str) -> bool:
        """The WS currently keeps this asset's book current (REST leaves it alone)."""
        return self._ws_serves(asset_id, self._clock.monotonic())

    async def refresh_catalogue(self) -> list[CatalogueMarket]:
        """Refresh the catalogue now; returns the new markets (auto-tracked if configured)."""
        new = await self.catalogue.refresh()
        self._after_catalogue()
        return new

    async def wait_ready(
        self, asset_ids: Iterable[str] | None = None, *, timeout: float = 10.0
    ) -> bool:
        """Wait until these (default: all tracked) assets have usable books."""
        wanted = list(asset_ids) if asset_ids is not None else None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            ids = wanted if wanted is not None else list(self._tracked)
            if all(self.ingest.usable(a) for a in ids):
                return True
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.02)

    # --- hot set --------------------------------------------------------------------------

    def rerank(self) -> HotSetChange:
        """Re-score the tracked assets and apply the new hot set to the WS shards."""
        now = self._clock.monotonic()
        if not self.config.use_ws:
            return HotSetChange((), ())
        hotset = self.hotset
        for aid in self._tracked:
            book = self.ingest.book(aid)
            hotset.set_base(aid, self._base(aid, self.catalogue.by_token(aid), book))
            if book is not None and book.last_update_ms != self._seen_update.get(aid):
                self._seen_update[aid] = book.last_update_ms
                hotset.touch(aid, now)
        change = hotset.rerank(now)
        self.reranks += 1
        self._rerank_due = False
        if change:
            self._apply_hot_change(change)
        return change

    def _base(self, aid: str, info: CatalogueMarket | None, book: OrderBook | None = None) -> float:
        volume = float(info.volume_24h or info.volume) if info is not None else 0.0
        liquidity = float(info.liquidity) if info is not None else 0.0
        spread = None
        if book is not None:
            bid, ask = book.best_bid_units(), book.best_ask_units()
            if bid is not None and ask is not None:
                spread = (ask - bid) / PRICE_SCALE
        return base_score(volume, liquidity, spread)

    def _apply_hot_change(self, change: HotSetChange) -> None:
        self.hot_changes["added"] += len(change.added)
        self.hot_changes["removed"] += len(change.removed)
        static_new = [a for a in change.added if a not in self._tracked]
        if static_new:
            self.track(static_new)
        confirmed = self.pool.apply(change.added, change.removed)
        for aid, last in confirmed.items():
            if last > self._confirmed.get(aid, _NEVER):
                self._confirmed[aid] = last
        self.poller.wake()

    def _on_shard_state(self, shard: WsShard, state: WsState) -> None:
        if state is not WsState.OPEN:
            self.poller.wake()  # its assets may need REST now
        self._wake.set()

    # --- REST -----------------------------------------------------------------------------

    def _ws_serves(self, aid: str, now: float) -> bool:
        shard = self._asset_shard.get(aid)
        if shard is None:
            return False
        cfg = self.config
        if not shard.is_fresh(now, cfg.ws_stale_after):
            return False
        if shard.is_synced(aid):
            return not self.ingest.is_resyncing(aid)
        # Subscribed in this session, snapshot due: give the WS a moment, unless the book has
        # nothing at all yet (then REST fills it while the WS initialises).
        since = shard.subscribed_at.get(aid)
        book = self.ingest.book(aid)
        return (
            since is not None
            and now - since < cfg.ws_snapshot_grace
            and book is not None
            and not book.awaiting_snapshot
        )

    def _rest_wanted(self, now: float, interval: float) -> list[str]:
        last = self.poller.last_fetch
        due: list[tuple[float, str]] = []
        for aid in self._tracked:
            if self._ws_serves(aid, now):
                continue
            fetched = last.get(aid, _NEVER)
            if now - fetched >= interval:
                due.append((fetched, aid))
        due.sort()
        return [aid for _, aid in due]

    def _on_rest_books(
        self, books: Sequence[OrderBookSummary], sent: float, requested: Sequence[str]
    ) -> None:
        for aid in self.ingest.apply_rest_books(books):
            if sent > self._confirmed.get(aid, _NEVER):
                self._confirmed[aid] = sent
        if len(books) < len(requested):
            got = {b.asset_id for b in books}
            for aid in requested:
                if aid not in got:
                    self.ingest.abandon_audit(aid)

    def _schedule_audits(self, now: float) -> None:
        """Ask REST for a check of WS-fed books not checked for `ws_audit_interval`."""
        interval = self.config.ws_audit_interval
        if interval <= 0:
            return
        budget = self.config.rest_batch_size
        audited = self._audited
        for aid in self._asset_shard:
            if not self._ws_serves(aid, now):
                continue
            last = audited.get(aid)
            if last is None:
                audited[aid] = now  # first seen on the WS: its snapshot is fresh
                continue
            if now - last < interval:
                continue
            audited[aid] = now
            if self.ingest.audit(aid):
                self.poller.request_resync(aid)
                budget -= 1
                if budget <= 0:
                    return

    def _on_resync(self, asset_id: str) -> None:
        self.poller.request_resync(asset_id)

    def _on_tick_size(self, asset_id: str, tick: TickSize) -> None:
        self.catalogue.set_tick(asset_id, tick)

    # --- background loops -----------------------------------------------------------------

    async def _housekeeping(self) -> None:
        cfg = self.config
        next_rerank = self._clock.monotonic()
        while True:
            now = self._clock.monotonic()
            try:
                if self._rerank_due or now >= next_rerank:
                    self.rerank()
                    next_rerank = now + cfg.rerank_interval
                self._evaluate_source()
                self._schedule_audits(now)
                if self.recorder is not None:
                    self.recorder.maybe_flush()
            except Exception:
                _log.exception("market-data housekeeping failed")
            self._wake.clear()
            await wait_event(self._wake, cfg.source_check_interval)

    async def _catalogue_loop(self) -> None:
        delay = 1.0
        while True:
            try:
                await self.refresh_catalogue()
                delay = self.config.catalogue_refresh_interval
            except Exception as exc:
                _log.warning("catalogue refresh failed: %s", exc)
                delay = min(max(delay * 2, 1.0), self.config.catalogue_refresh_interval)
            await asyncio.sleep(delay)

    def _after_catalogue(self) -> None:
        for aid in self._tracked:
            info = self.catalogue.by_token(aid)
            book = self.ingest.book(aid)
            if info is not None and book is not None and not book.market:
                book.market = info.condition_id
        if self.config.auto_track:
            self.track(t for m in self.catalogue.tradeable() for t in m.token_ids)

    # --- source state ---------------------------------------------------------------------

    def _evaluate_source(self) -> FeedSource:
        now = self._clock.monotonic()
        source = compute_source(
            self.pool.shards,
            now,
            use_ws=self.config.use_ws,
            stale_after=self.config.ws_stale_after,
            snapshot_timeout=self.config.ws_snapshot_timeout,
            ever_live=self.source.ever_live,
        )
        if self.source.update(source, self._clock.time(), now):
            level = logging.INFO if source is FeedSource.WS_LIVE else logging.WARNING
            _log.log(level, "market data source: %s", source.value)
            self.poller.wake()
        return source

    def status(self) -> dict[str, Any]:
        """The `fetch_info` section (docs/REPORTS.md): `current_source`,
        `ws_cooldown_remaining_seconds`, `subscribed_assets`, `hot_assets`, `messages`,
        `errors`, `last_message_age_seconds`, plus *(ours)* details (status.fetch_info)."""
        return fetch_info(self, self._evaluate_source(), self._clock.monotonic())

    def rest_served_count(self, now: float) -> int:
        return sum(1 for aid in self._tracked if not self._ws_serves(aid, now))

    @property
    def retired_ws_counters(self) -> dict[str, int]:
        """Counters of WS connections already closed (shards that emptied)."""
        return dict(self.pool.retired)
