"""The venue's WebSocket face (ref §7): `/ws/market` and `/ws/user` as raw ASGI handlers.

Market channel: the first frame is `{"type": "market", "assets_ids": [...],
"custom_feature_enabled"?, "initial_dump"?}`; later frames `{"operation": "subscribe" |
"unsubscribe", "assets_ids": [...]}`. A subscribe answers with one array frame of `book`
snapshots (the same ten keys and hash as `GET /book`); then `price_change`, `last_trade_price`,
`tick_size_change` (followed by fresh `book`s, as clients drop their book on it), a `book` after
trades, and with `custom_feature_enabled` also `best_bid_ask` and `market_resolved`. A
connection holds at most `asset_limit` assets; the excess is silently not subscribed.
User channel: the first frame carries `{"auth": {apiKey, secret, passphrase}, "type": "user",
"markets"?: [...]}`; bad credentials close the socket. `order`/`trade` events of that key only,
filtered by `markets` (condition ids) when given. Text `PING` -> `PONG` on both; anything else
that is not a valid request gets the venue's text `INVALID OPERATION`.

Each event is serialized once and sent as one text frame. Every connection has a bounded send
queue drained by its own writer task, so a slow consumer never blocks the publisher: when its
queue overflows the connection is closed (1008 "slow consumer") and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Protocol

import msgspec

from polymarket_bot.core.clock import Clock
from polymarket_bot.sim.faults import FaultController, FaultKind
from polymarket_bot.sim.model import (
    LastTradePriceEvent,
    MarketResolvedEvent,
    OrderEvent,
    PriceChangeEvent,
    SimEvent,
    TickSizeChangeEvent,
    TradeEvent,
)
from polymarket_bot.sim.ws_conn import WsConn, abort_transport

__all__ = ["MarketDataSource", "WsConfig", "WsConn", "WsHub"]

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

INVALID_OPERATION: Final = "INVALID OPERATION"
_SLOW_CONSUMER: Final = "slow consumer: send queue overflow"
_encode = msgspec.json.encode


class MarketDataSource(Protocol):
    """What the hub needs from the venue state (synthetic exchange or replay)."""

    def book_wire(self, asset_id: str) -> dict[str, Any] | None:
        """The ten-key REST book with its hash, or None for an unknown asset."""
        ...

    def tokens_of(self, condition_id: str) -> tuple[str, ...]: ...


Authenticate = Callable[[str, str, str], str | None]
"""(apiKey, secret, passphrase) -> owner (the API key) or None."""


@dataclass(frozen=True, slots=True)
class WsConfig:
    asset_limit: int = 500
    """Assets one market connection may hold; the excess of a subscribe is ignored."""
    queue_limit: int = 10_000
    """Frames waiting per connection before it counts as a slow consumer and is closed."""
    close_timeout_s: float = 2.0
    """How long a close frame may wait for a full socket before the transport is aborted."""
    book_on_trade: bool = True


class WsHub:
    """All WS connections, their subscriptions, and the fan-out of venue events."""

    def __init__(
        self,
        source: MarketDataSource,
        authenticate: Authenticate,
        faults: FaultController,
        clock: Clock,
        config: WsConfig | None = None,
    ) -> None:
        self.source = source
        self.authenticate = authenticate
        self.faults = faults
        self.clock = clock
        self.config = config or WsConfig()
        self.conns: set[WsConn] = set()
        self.by_asset: dict[str, set[WsConn]] = {}
        self.by_owner: dict[str, set[WsConn]] = {}
        self._best: dict[str, tuple[str, str]] = {}  # asset -> (best_bid, best_ask) last seen
        self.stats: dict[str, int] = dict.fromkeys(
            (
                "connections",
                "market_frames",
                "user_frames",
                "slow_closed",
                "aborted",
                "stalled_frames",
                "dropped_user_events",
                "invalid_operations",
                "auth_failures",
            ),
            0,
        )

    # --- ASGI entry ---------------------------------------------------------------------------

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        channel = {"/ws/market": "market", "/ws/user": "user"}.get(path.rstrip("/"))
        msg = await receive()
        if msg["type"] != "websocket.connect":
            return
        if channel is None:
            # Refused before the handshake: HTTP 403. (A 404 via the ASGI denial-response
            # extension works too, but uvicorn then logs an error for every such request.)
            await send({"type": "websocket.close", "code": 1008})
            return
        await send({"type": "websocket.accept"})
        conn = WsConn(channel, send)
        conn.writer = asyncio.create_task(conn.run_writer())
        self.conns.add(conn)
        self.stats["connections"] += 1
        try:
            while True:
                msg = await receive()
                kind = msg["type"]
                if kind == "websocket.disconnect":
                    break
                if kind != "websocket.receive" or conn.closing is not None:
                    continue
                text = msg.get("text")
                if text is None:
                    raw = msg.get("bytes") or b""
                    text = raw.decode("utf-8", "replace")
                self.on_message(conn, text)
        finally:
            self._forget(conn)
            task = conn.writer
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def close(self, conn: WsConn, code: int, reason: str) -> None:
        """Close `conn` from the server side; if its socket is full and the close frame cannot
        be written within `close_timeout_s`, the TCP connection is aborted."""
        if conn.closing is not None:
            return
        conn.close(code, reason)
        asyncio.get_running_loop().call_later(
            self.config.close_timeout_s, self._abort_if_stuck, conn
        )

    def _abort_if_stuck(self, conn: WsConn) -> None:
        if conn.writer is not None and not conn.writer.done() and abort_transport(conn.send):
            self.stats["aborted"] += 1

    def _forget(self, conn: WsConn) -> None:
        self.conns.discard(conn)
        for asset in conn.assets:
            subs = self.by_asset.get(asset)
            if subs is not None:
                subs.discard(conn)
                if not subs:
                    del self.by_asset[asset]
        conn.assets.clear()
        if conn.owner is not None:
            subs = self.by_owner.get(conn.owner)
            if subs is not None:
                subs.discard(conn)
                if not subs:
                    del self.by_owner[conn.owner]

    # --- client frames ------------------------------------------------------------------------

    def on_message(self, conn: WsConn, text: str) -> None:
        if text.strip() == "PING":
            if not self.faults.stalled(conn.channel, self.clock.monotonic()):
                self._push(conn, "PONG", force=True)
            return
        try:
            obj = msgspec.json.decode(text)
        except msgspec.DecodeError:
            obj = None
        if not isinstance(obj, dict):
            self._invalid(conn)
            return
        if conn.channel == "market":
            self._on_market_message(conn, obj)
        else:
            self._on_user_message(conn, obj)

    def _invalid(self, conn: WsConn) -> None:
        self.stats["invalid_operations"] += 1
        self._push(conn, INVALID_OPERATION, force=True)

    def _on_market_message(self, conn: WsConn, obj: Mapping[str, Any]) -> None:
        assets = _str_list(obj.get("assets_ids", obj.get("asset_ids", [])))
        if assets is None:
            self._invalid(conn)
            return
        operation = obj.get("operation")
        if not conn.started:
            kind = obj.get("type")
            if not (
                (isinstance(kind, str) and kind.lower() == "market") or operation == "subscribe"
            ):
                self._invalid(conn)
                return
            conn.started = True
            operation = "subscribe"
        elif obj.get("type") is not None and operation is None:
            self._invalid(conn)  # a second initial message (as the venue answers it)
            return
        custom = obj.get("custom_feature_enabled")
        if isinstance(custom, bool):
            conn.custom = custom
        if operation == "subscribe":
            added = self._subscribe_assets(conn, assets)
            if added and obj.get("initial_dump", True) is not False:
                self._send_books(conn, added)
        elif operation == "unsubscribe":
            for asset in assets:
                if asset in conn.assets:
                    conn.assets.discard(asset)
                    subs = self.by_asset.get(asset)
                    if subs is not None:
                        subs.discard(conn)
                        if not subs:
                            del self.by_asset[asset]
        else:
            self._invalid(conn)

    def _subscribe_assets(self, conn: WsConn, assets: list[str]) -> list[str]:
        added: list[str] = []
        room = self.config.asset_limit - len(conn.assets)
        for asset in dict.fromkeys(assets):
            if room <= 0:
                break
            if asset in conn.assets or not asset:
                continue
            conn.assets.add(asset)
            self.by_asset.setdefault(asset, set()).add(conn)
            added.append(asset)
            room -= 1
        return added

    def _send_books(self, conn: WsConn, assets: Iterable[str]) -> None:
        books = [b for b in (self.book_event(a) for a in assets) if b is not None]
        if books:
            self._deliver(conn, _encode(books).decode())

    def book_event(self, asset_id: str) -> dict[str, Any] | None:
        wire = self.source.book_wire(asset_id)
        if wire is None:
            return None
        event: dict[str, Any] = {"event_type": "book", **wire}
        if self.faults.ws_active and self.faults.bad_hash(self.clock.monotonic()):
            event["hash"] = hashlib.sha1(
                ("bad" + wire["hash"]).encode(), usedforsecurity=False
            ).hexdigest()
        return event

    def _on_user_message(self, conn: WsConn, obj: Mapping[str, Any]) -> None:
        markets = _str_list(obj.get("markets", []))
        if markets is None:
            self._invalid(conn)
            return
        operation = obj.get("operation")
        if not conn.started:
            auth = obj.get("auth")
            owner = None
            if isinstance(auth, dict):
                key, secret, phrase = (auth.get(k) for k in ("apiKey", "secret", "passphrase"))
                if isinstance(key, str) and isinstance(secret, str) and isinstance(phrase, str):
                    owner = self.authenticate(key, secret, phrase)
            if owner is None:
                self.stats["auth_failures"] += 1
                self.close(conn, 1008, "Unauthorized/Invalid api key")
                return
            conn.started = True
            conn.owner = owner
            conn.markets = set(markets)
            self.by_owner.setdefault(owner, set()).add(conn)
            return
        if operation == "subscribe":
            if conn.markets or not markets:
                conn.markets.update(markets)
        elif operation == "unsubscribe":
            conn.markets.difference_update(markets)
            if not conn.markets and markets:
                conn.markets = {""}  # unsubscribed from everything: match nothing
        else:
            self._invalid(conn)

    # --- sending ------------------------------------------------------------------------------

    def _push(self, conn: WsConn, frame: str, *, force: bool = False) -> None:
        if conn.closing is not None:
            return
        if not force and len(conn.queue) >= self.config.queue_limit:
            self.stats["slow_closed"] += 1
            self.close(conn, 1008, _SLOW_CONSUMER)
            return
        conn.queue.append(frame)
        conn.wake.set()

    def _deliver(self, conn: WsConn, frame: str) -> None:
        """One data frame to one connection, through the fault filters when any is active."""
        if not self.faults.ws_active:
            self._push(conn, frame)
            return
        now = self.clock.monotonic()
        faults = self.faults
        if faults.stalled(conn.channel, now):
            self.stats["stalled_frames"] += 1
            return
        for out in faults.mangle(conn.channel, frame, now):
            if faults.ws_fault(FaultKind.WS_REORDER, conn.channel, now) is not None:
                if conn.held is None:
                    conn.held = out
                    continue
                held, conn.held = conn.held, None
                self._push(conn, out)
                self._push(conn, held)
                continue
            self._push(conn, out)

    def flush_held(self) -> None:
        """Release frames the reorder fault held back once it is over (called every tick)."""
        now = self.clock.monotonic()
        for conn in self.conns:
            if conn.held is not None and (
                self.faults.ws_fault(FaultKind.WS_REORDER, conn.channel, now) is None
            ):
                held, conn.held = conn.held, None
                self._push(conn, held)

    def publish_market(self, asset_ids: Iterable[str], frame: str) -> int:
        """Send a market frame to every connection subscribed to any of `asset_ids`."""
        by_asset = self.by_asset
        targets: set[WsConn] | None = None
        for asset in asset_ids:
            subs = by_asset.get(asset)
            if subs:
                # One asset: iterate the live set (only the connection's own task removes
                # from it, never while we are here); several: a union without duplicates.
                targets = subs if targets is None else targets | subs
        if not targets:
            return 0
        for conn in targets:
            self._deliver(conn, frame)
        self.stats["market_frames"] += len(targets)
        return len(targets)

    def has_subscribers(self, asset_ids: Iterable[str]) -> bool:
        by_asset = self.by_asset
        return any(asset in by_asset for asset in asset_ids)

    def publish_custom(self, asset_ids: Iterable[str], frame: str) -> None:
        """Custom-feature events: only to connections that enabled them."""
        seen: set[WsConn] = set()
        for asset in asset_ids:
            for conn in self.by_asset.get(asset, ()):
                if conn.custom and conn not in seen:
                    seen.add(conn)
                    self._deliver(conn, frame)
        self.stats["market_frames"] += len(seen)

    def publish_user(self, owner: str, market: str, frame: str) -> None:
        for conn in self.by_owner.get(owner, ()):
            if conn.markets and market not in conn.markets:
                continue
            if self.faults.ws_active and self.faults.drop_user_event(self.clock.monotonic()):
                self.stats["dropped_user_events"] += 1
                continue
            self._deliver(conn, frame)
            self.stats["user_frames"] += 1

    def publish_exchange(self, events: Iterable[SimEvent]) -> None:
        """Fan out what `Exchange.drain_events()` returned, in order; then a fresh `book` for
        every market that traded or changed tick size."""
        resync: dict[str, None] = {}
        by_asset = self.by_asset
        by_owner = self.by_owner
        for ev in events:
            if isinstance(ev, PriceChangeEvent):
                assets = ev.asset_ids
                if any(a in by_asset for a in assets):
                    self.publish_market(assets, _encode(ev.to_wire()).decode())
                    self._best_bid_ask(ev)
            elif isinstance(ev, OrderEvent):
                for owner in ev.owners:
                    if owner in by_owner:
                        self.publish_user(owner, ev.market, _encode(ev.to_wire()).decode())
            elif isinstance(ev, TradeEvent):
                for owner in ev.owners:
                    if owner in by_owner:
                        self.publish_user(owner, ev.market, _encode(ev.to_wire(owner)).decode())
            elif isinstance(ev, LastTradePriceEvent):
                if ev.asset_id in by_asset:
                    self.publish_market((ev.asset_id,), _encode(ev.to_wire()).decode())
                if self.config.book_on_trade:
                    resync[ev.market] = None
            elif isinstance(ev, TickSizeChangeEvent):
                if ev.asset_id in by_asset:
                    self.publish_market((ev.asset_id,), _encode(ev.to_wire()).decode())
                resync[ev.market] = None
            elif isinstance(ev, MarketResolvedEvent):
                self.publish_custom(ev.assets_ids, _encode(ev.to_wire()).decode())
        for market in resync:
            for asset in self.source.tokens_of(market):
                if asset in by_asset:
                    book = self.book_event(asset)
                    if book is not None:
                        self.publish_market((asset,), _encode(book).decode())

    def _best_bid_ask(self, ev: PriceChangeEvent) -> None:
        """`best_bid_ask` (custom feature) whenever an asset's top of book moved."""
        seen: dict[str, tuple[str, str]] = {}
        for change in ev.changes:
            seen[change.asset_id] = (change.best_bid, change.best_ask)
        for asset, top in seen.items():
            if self._best.get(asset) == top:
                continue
            self._best[asset] = top
            if not any(c.custom for c in self.by_asset.get(asset, ())):
                continue
            bid, ask = top
            frame = _encode(
                {
                    "event_type": "best_bid_ask",
                    "market": ev.market,
                    "asset_id": asset,
                    "best_bid": bid,
                    "best_ask": ask,
                    "spread": _fmt_decimal(Decimal(ask) - Decimal(bid)),
                    "timestamp": str(ev.timestamp_ms),
                }
            ).decode()
            self.publish_custom((asset,), frame)

    # --- faults and control --------------------------------------------------------------------

    def disconnect_all(self, channel: str = "all", *, mode: str = "abort", code: int = 1001) -> int:
        """Drop every connection of `channel` ("market" | "user" | "all")."""
        victims = [c for c in self.conns if channel in ("all", c.channel)]
        for conn in victims:
            if mode == "abort" and abort_transport(conn.send):
                conn.close(code, "disconnect")
            else:
                self.close(conn, code, "server going away")
        return len(victims)

    def summary(self) -> dict[str, Any]:
        market = [c for c in self.conns if c.channel == "market"]
        return {
            **self.stats,
            "open_market": len(market),
            "open_user": len(self.conns) - len(market),
            "subscribed_assets": len(self.by_asset),
            "queued_frames": sum(len(c.queue) for c in self.conns),
        }


def _str_list(value: object) -> list[str] | None:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    return value


def _fmt_decimal(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text
