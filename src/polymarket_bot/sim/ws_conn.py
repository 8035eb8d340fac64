"""One WebSocket client connection of the simulator and the socket tricks its writer uses.

A connection owns a bounded send queue drained by its writer task; the publisher only appends,
so a slow consumer never blocks it. A backlog is written corked (TCP_CORK): many frames per TCP
segment, which on loopback saves the receiver's TCP path that otherwise runs inside every
`send()` of ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

__all__ = ["Send", "WsConn", "abort_transport", "set_cork", "transport_socket"]

log = logging.getLogger(__name__)

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]

_BATCH: Final = 512
"""Frames written per corked batch."""
_HAS_CORK: Final = hasattr(socket, "TCP_CORK")


class WsConn:
    """One client connection: subscription state plus its bounded send queue."""

    __slots__ = (
        "assets",
        "channel",
        "closing",
        "custom",
        "held",
        "idle",
        "markets",
        "owner",
        "queue",
        "send",
        "sent",
        "started",
        "wake",
        "writer",
    )

    def __init__(self, channel: str, send: Send) -> None:
        self.channel = channel
        self.send = send
        self.queue: deque[str] = deque()
        self.wake = asyncio.Event()
        self.writer: asyncio.Task[None] | None = None
        self.closing: tuple[int, str] | None = None
        self.started = False  # the initial subscription/auth frame was accepted
        self.assets: set[str] = set()
        self.custom = False
        self.owner: str | None = None
        self.markets: set[str] = set()
        self.held: str | None = None  # a frame kept back by the reorder fault
        self.sent = 0
        self.idle = asyncio.Event()  # set by the writer whenever its queue runs empty

    async def drained(self) -> None:
        """Wait until everything queued so far was written (or the connection ended)."""
        while self.queue and self.closing is None and self.writer and not self.writer.done():
            self.idle.clear()
            await self.idle.wait()

    async def run_writer(self) -> None:
        queue, send, wake = self.queue, self.send, self.wake
        sock = transport_socket(send)
        try:
            while True:
                if queue:
                    # A backlog leaves corked: many frames per TCP segment instead of one each.
                    corked = sock is not None and len(queue) > 1 and set_cork(sock, True)
                    sent = 0
                    try:
                        while queue and sent < _BATCH:
                            frame = queue.popleft()
                            await send({"type": "websocket.send", "text": frame})
                            sent += 1
                    finally:
                        self.sent += sent
                        if corked and sock is not None:
                            set_cork(sock, False)
                    continue
                if self.closing is not None:
                    break
                self.idle.set()
                wake.clear()
                await wake.wait()
            code, reason = self.closing
            await send({"type": "websocket.close", "code": code, "reason": reason})
        except Exception:  # the peer vanished mid-send (uvicorn raises ClientDisconnected)
            log.debug("ws writer ended", exc_info=True)
        finally:
            self.idle.set()

    def close(self, code: int, reason: str) -> None:
        """Stop sending data: queued frames are dropped and a close frame goes out next."""
        if self.closing is not None:
            return
        self.closing = (code, reason)
        self.queue.clear()
        self.wake.set()


def transport_socket(send: Send) -> Any:
    """The socket under an ASGI `send` (uvicorn keeps its transport on the bound method's
    protocol object), or None when not reachable."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    return None if transport is None else transport.get_extra_info("socket")


def set_cork(sock: Any, on: bool) -> bool:
    """TCP_CORK on/off (Linux): corked writes leave as full segments. On loopback every
    segment costs the receiver's TCP path inside our own `send()`, so batching matters."""
    if not _HAS_CORK:
        return False
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1 if on else 0)
    except OSError:
        return False
    return True


def abort_transport(send: Send, *, reset: bool = True) -> bool:
    """Drop the TCP connection under an ASGI `send`. With `reset` the peer gets an RST
    instead of a FIN. False if the transport is not reachable."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        return False
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    return True
