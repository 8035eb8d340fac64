"""The user channel (ref §7.6): our order and trade events, straight into the `OrderManager`.

    stream = UserStream(manager, sim.ws_url + "/user", creds, clock=clock)
    await stream.start() ... await stream.stop()

One reconnecting `WsConnection`; after every (re)connect the first frame is the auth message
`{"auth": {apiKey, secret, passphrase}, "type": "user"}` (plus `markets` when filtered). Frames
are decoded by `UserDecoder`, mapped to core events and applied: `order` events move order state,
`trade` events book fills (the manager de-duplicates per (trade id, status), books on the first
non-FAILED status and voids on FAILED). The connection may miss events while it is down; whoever
owns reconciliation passes `on_reconnect` to re-query the venue after every reconnect.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any, Final

from polymarket_bot.core.clock import Clock, LiveClock
from polymarket_bot.engine.execution.manager import OrderManager
from polymarket_bot.protocol.auth import ApiCreds
from polymarket_bot.protocol.codec import UserDecoder
from polymarket_bot.protocol.errors import DecodeError
from polymarket_bot.protocol.mapping import order_update, trade_update
from polymarket_bot.protocol.wire import OrderEvent, TradeEvent
from polymarket_bot.transport.retry import Backoff
from polymarket_bot.transport.ws import WsConnection, WsState

__all__ = ["SOURCE_WS", "UserStream", "user_auth_frame"]

log = logging.getLogger(__name__)

SOURCE_WS: Final = "order_ws"


def user_auth_frame(creds: ApiCreds, markets: Sequence[str] = ()) -> str:
    """The first frame of a user-channel connection."""
    message: dict[str, Any] = {
        "auth": {"apiKey": creds.api_key, "secret": creds.secret, "passphrase": creds.passphrase},
        "type": "user",
    }
    if markets:
        message["markets"] = list(markets)
    return json.dumps(message, separators=(",", ":"))


class UserStream:
    """Feeds the user channel into `manager`; `status()` is `fetch_info.orders_ws`."""

    def __init__(
        self,
        manager: OrderManager,
        url: str,
        creds: ApiCreds,
        *,
        clock: Clock | None = None,
        markets: Sequence[str] = (),
        on_reconnect: Callable[[], None] | None = None,
        proxy: str | None = None,
        ping_interval: float = 10.0,
        silence_timeout: float = 30.0,
        backoff: Backoff | None = None,
    ) -> None:
        self.manager = manager
        self.creds = creds
        self.markets = tuple(markets)
        self.on_reconnect = on_reconnect
        self._decoder = UserDecoder()
        self._opens = 0
        self.events = 0
        """Order and trade events applied."""
        self.decode_errors = 0
        self.apply_errors = 0
        self.conn = WsConnection(
            url,
            on_message=self._on_message,
            subscribe_frames=lambda: [user_auth_frame(self.creds, self.markets)],
            ping_interval=ping_interval,
            silence_timeout=silence_timeout,
            backoff=backoff,
            proxy=proxy,
            clock=clock or LiveClock(),
            on_state=self._on_state,
            name="user",
        )

    async def start(self) -> None:
        await self.conn.start()

    async def stop(self) -> None:
        await self.conn.stop()

    async def wait_open(self, timeout: float | None = None) -> bool:
        return await self.conn.wait_open(timeout)

    def _on_state(self, state: WsState) -> None:
        if state is not WsState.OPEN:
            return
        self._opens += 1
        if self._opens > 1 and self.on_reconnect is not None:
            self.on_reconnect()  # events may have been missed while we were away

    def _on_message(self, data: bytes | str, recv_ts: float) -> None:
        try:
            events = self._decoder.decode(data)
        except DecodeError as exc:
            self.decode_errors += 1
            log.warning("user channel: undecodable frame: %s", exc)
            return
        for ev in events:
            try:
                if isinstance(ev, OrderEvent):
                    self.manager.apply_order_update(order_update(ev), source=SOURCE_WS)
                elif isinstance(ev, TradeEvent):
                    self.manager.apply_trade_update(trade_update(ev), source=SOURCE_WS)
                else:  # pragma: no cover - the decoder yields only these two
                    continue
            except DecodeError as exc:
                self.decode_errors += 1
                log.warning("user channel: unusable %s event: %s", type(ev).__name__, exc)
                continue
            self.events += 1

    def status(self) -> dict[str, Any]:
        """`fetch_info.orders_ws` (seed §12): status ok | degraded | connecting | stopped."""
        conn = self.conn
        state = conn.state
        if state is WsState.OPEN:
            status = "ok"
        elif state is WsState.BACKOFF:
            status = "degraded"
        elif state is WsState.CONNECTING:
            status = "connecting" if conn.failures == 0 else "degraded"
        else:
            status = "stopped"
        return {
            "status": status,
            "failures": conn.failures,
            "cooldown_remaining_seconds": round(conn.cooldown_remaining_seconds, 3),
            "last_success_epoch": conn.last_success_epoch,
            "last_error_epoch": conn.last_error_epoch,
            "last_error": conn.last_error,
            "messages": conn.messages,
            "events": self.events,
            "decode_errors": self.decode_errors,
        }
