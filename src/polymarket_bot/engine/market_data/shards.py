"""Market-channel WebSocket shards: the hot assets spread over several `WsConnection`s, each
holding at most `capacity` assets (the venue caps subscriptions per connection).

A shard owns one connection and its *desired* asset set. The connection re-sends the whole set
after every (re)connect (`subscribe_frames`); changes while it is open go out as dynamic
`subscribe`/`unsubscribe` frames without reconnecting, sent in order by one flusher task that
sends the difference between what the server has (`sent`) and what is desired.

Liveness per asset: `synced[asset] == session` when the current session delivered the asset's
`book` snapshot; the connection's `last_frame_monotonic` (any frame, PONG included) is then the
asset's last confirmation. When a session ends, those confirmations are kept in `confirmed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

import msgspec

from polymarket_bot.core.clock import Clock
from polymarket_bot.engine.market_data.books import BookIngest
from polymarket_bot.engine.market_data.capture import CaptureRecorder
from polymarket_bot.protocol.codec import MarketDecoder
from polymarket_bot.transport.retry import Backoff
from polymarket_bot.transport.ws import WsConnection, WsState

__all__ = ["ShardPool", "WsShard", "initial_frame", "operation_frame"]

_log = logging.getLogger(__name__)
_encode = msgspec.json.encode


def initial_frame(asset_ids: Iterable[str]) -> str:
    """The first frame of a market connection (ref §7.1)."""
    return _encode({"type": "market", "assets_ids": list(asset_ids)}).decode()


def operation_frame(operation: str, asset_ids: Iterable[str]) -> str:
    """A dynamic `subscribe`/`unsubscribe` frame on an open market connection."""
    return _encode({"operation": operation, "assets_ids": list(asset_ids)}).decode()


class WsShard:
    """One market connection and the assets it should carry."""

    def __init__(
        self,
        shard_id: int,
        url: str,
        ingest: BookIngest,
        *,
        capacity: int,
        clock: Clock,
        recorder: CaptureRecorder | None = None,
        ping_interval: float = 10.0,
        silence_timeout: float = 30.0,
        backoff: Backoff | None = None,
        proxy: str | None = None,
        on_state: Callable[[WsShard, WsState], None] | None = None,
    ) -> None:
        self.shard_id = shard_id
        self.capacity = capacity
        self.ingest = ingest
        self.recorder = recorder
        self.after_frame: Callable[[], None] | None = None
        """Called after each frame is applied to the books (the trader decides there)."""
        self._clock = clock
        self._on_state_cb = on_state
        self.assets: set[str] = set()
        """Desired subscriptions."""
        self.sent: set[str] = set()
        """What the server was asked to hold in the current session."""
        self.synced: dict[str, int] = {}
        """asset -> session whose `book` snapshot it last received."""
        self.subscribed_at: dict[str, float] = {}
        """asset -> monotonic time of its subscribe in the current session."""
        self.confirmed: dict[str, float] = {}
        """asset -> last frame time of an ended session that had synced it."""
        self.session = 0
        self.opened_at: float | None = None
        self.decoder = MarketDecoder()
        self._was_open = False
        self._wake = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self.conn = WsConnection(
            url,
            on_message=self._on_message,
            subscribe_frames=self._subscribe_frames,
            ping_interval=ping_interval,
            silence_timeout=silence_timeout,
            backoff=backoff,
            proxy=proxy,
            clock=clock,
            on_state=self._on_state,
            name=f"market-{shard_id}",
        )

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        return self._flusher is not None

    async def start(self) -> None:
        if self._flusher is not None:
            return
        self._flusher = asyncio.create_task(self._flush_loop(), name=f"ws-shard-{self.shard_id}")
        await self.conn.start()

    async def stop(self) -> None:
        task, self._flusher = self._flusher, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.conn.stop()

    # --- subscriptions --------------------------------------------------------------------

    @property
    def room(self) -> int:
        return self.capacity - len(self.assets)

    def add(self, asset_id: str) -> None:
        self.assets.add(asset_id)
        self._wake.set()

    def remove(self, asset_id: str) -> float | None:
        """Drop an asset; returns its last WS confirmation (monotonic) if it had one."""
        self.assets.discard(asset_id)
        self.subscribed_at.pop(asset_id, None)
        last = self.confirmation(asset_id)
        self.synced.pop(asset_id, None)
        self.confirmed.pop(asset_id, None)
        self._wake.set()
        return last

    def _subscribe_frames(self) -> list[str]:
        # Called by the connection right before it turns OPEN: the whole desired set.
        self.sent = set(self.assets)
        now = self._clock.monotonic()
        self.subscribed_at = dict.fromkeys(self.sent, now)
        return [initial_frame(sorted(self.sent))] if self.sent else []

    async def _flush_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self.conn.is_open:
                continue  # the next connect sends the whole set
            gone = sorted(self.sent - self.assets)
            new = sorted(self.assets - self.sent)
            if gone and await self.conn.send(operation_frame("unsubscribe", gone)):
                self.sent.difference_update(gone)
            if new and await self.conn.send(operation_frame("subscribe", new)):
                self.sent.update(new)
                now = self._clock.monotonic()
                for asset in new:
                    self.subscribed_at[asset] = now

    # --- frames and states ----------------------------------------------------------------

    def _on_message(self, data: bytes | str, recv_ts: float) -> None:
        recorder = self.recorder
        if recorder is not None:
            recorder.write(data, recv_ts)
        self.ingest.feed_ws(data, self.decoder, self.synced, self.session)
        after = self.after_frame
        if after is not None:
            after()

    def _on_state(self, state: WsState) -> None:
        if state is WsState.OPEN:
            self.session += 1
            self.opened_at = self._clock.monotonic()
            self._was_open = True
            self._wake.set()  # changes made while connecting
        elif self._was_open:
            self._was_open = False
            last = self.conn.last_frame_monotonic
            if last is not None:
                for asset, session in self.synced.items():
                    if session == self.session:
                        self.confirmed[asset] = last
        if self._on_state_cb is not None:
            self._on_state_cb(self, state)

    # --- liveness -------------------------------------------------------------------------

    def is_synced(self, asset_id: str) -> bool:
        """The current session delivered this asset's snapshot."""
        return self.synced.get(asset_id) == self.session and self.session > 0

    def confirmation(self, asset_id: str) -> float | None:
        """Monotonic time the WS last vouched for this asset's book."""
        if self.is_synced(asset_id):
            return self.conn.last_frame_monotonic
        return self.confirmed.get(asset_id)

    def silent_for(self, now: float) -> float | None:
        last = self.conn.last_frame_monotonic
        return None if last is None else max(0.0, now - last)

    def is_fresh(self, now: float, stale_after: float) -> bool:
        """Open and heard from within `stale_after` seconds."""
        if not self.conn.is_open:
            return False
        silent = self.silent_for(now)
        return silent is not None and silent < stale_after

    def unsynced(self, now: float, timeout: float) -> tuple[int, int]:
        """(assets still waiting for their snapshot within `timeout`, assets past it)."""
        waiting = overdue = 0
        session = self.session
        synced = self.synced
        for asset in self.assets:
            if synced.get(asset) == session:
                continue
            since = self.subscribed_at.get(asset)
            if since is not None and now - since >= timeout:
                overdue += 1
            else:
                waiting += 1
        return waiting, overdue

    def status(self) -> dict[str, Any]:
        out = self.conn.status()
        out.update(
            {
                "shard": self.shard_id,
                "assets": len(self.assets),
                "subscribed": len(self.sent),
                "session": self.session,
                "decoder": {
                    "frames": self.decoder.frames,
                    "control_frames": self.decoder.control_frames,
                    "lenient_frames": self.decoder.lenient_frames,
                    "unknown_events": self.decoder.unknown_events,
                },
            }
        )
        return out


class ShardPool:
    """The market connections: hot assets fill the existing shards first (at most `capacity`
    each), a new shard opens when all are full, and a shard left empty is closed."""

    def __init__(
        self,
        url: str,
        ingest: BookIngest,
        *,
        capacity: int,
        clock: Clock,
        recorder: CaptureRecorder | None = None,
        ping_interval: float = 10.0,
        silence_timeout: float = 30.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        proxy: str | None = None,
        on_state: Callable[[WsShard, WsState], None] | None = None,
    ) -> None:
        self.url = url
        self.ingest = ingest
        self.capacity = capacity
        self._clock = clock
        self.recorder = recorder
        self._ping_interval = ping_interval
        self._silence_timeout = silence_timeout
        self._backoff = (backoff_base, backoff_cap)
        self._proxy = proxy
        self._on_state = on_state
        self.after_frame: Callable[[], None] | None = None
        """Handed to every shard (`WsShard.after_frame`)."""
        self.shards: list[WsShard] = []
        self.by_asset: dict[str, WsShard] = {}
        self.retired: dict[str, int] = {"messages": 0, "failures": 0, "connects": 0}
        """Counters of connections already closed."""
        self._next_id = 1
        self._tasks: set[asyncio.Task[None]] = set()
        self.running = False

    async def start(self) -> None:
        self.running = True
        self._start_idle()

    async def stop(self) -> None:
        self.running = False
        # Pending starts/stops finish first, so that none starts a connection after this.
        await asyncio.gather(*self._tasks, return_exceptions=True)
        shards, self.shards = self.shards, []
        await asyncio.gather(*(s.stop() for s in shards), return_exceptions=True)
        for shard in shards:
            self._retire(shard)
        self.by_asset.clear()

    def remove(self, asset_id: str) -> float | None:
        """Unsubscribe an asset; returns its last WS confirmation (monotonic), if any."""
        shard = self.by_asset.pop(asset_id, None)
        return None if shard is None else shard.remove(asset_id)

    def apply(self, added: Iterable[str], removed: Iterable[str]) -> dict[str, float]:
        """Subscribe `added`, unsubscribe `removed` (dynamic frames, no reconnect). Returns the
        last WS confirmation of each removed asset that had one."""
        confirmed: dict[str, float] = {}
        for aid in removed:
            last = self.remove(aid)
            if last is not None:
                confirmed[aid] = last
        for aid in added:
            if aid in self.by_asset:
                continue
            shard = next((s for s in self.shards if s.room > 0), None) or self._new_shard()
            shard.add(aid)
            self.by_asset[aid] = shard
        for shard in [s for s in self.shards if not s.assets]:
            self.shards.remove(shard)
            self._spawn(self._stop_shard(shard))
        self._start_idle()
        return confirmed

    def _start_idle(self) -> None:
        if self.running:
            for shard in self.shards:
                if not shard.started:
                    self._spawn(shard.start())

    def _new_shard(self) -> WsShard:
        base, cap = self._backoff
        shard = WsShard(
            self._next_id,
            self.url,
            self.ingest,
            capacity=self.capacity,
            clock=self._clock,
            recorder=self.recorder,
            ping_interval=self._ping_interval,
            silence_timeout=self._silence_timeout,
            backoff=Backoff(base=base, cap=cap, min_delay=min(0.1, base)),
            proxy=self._proxy,
            on_state=self._on_state,
        )
        shard.after_frame = self.after_frame
        self._next_id += 1
        self.shards.append(shard)
        return shard

    async def _stop_shard(self, shard: WsShard) -> None:
        await shard.stop()
        self._retire(shard)

    def _retire(self, shard: WsShard) -> None:
        self.retired["messages"] += shard.conn.messages
        self.retired["failures"] += shard.conn.total_failures
        self.retired["connects"] += shard.conn.connects

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
