"""One reconnecting WebSocket connection to the CLOB (market or user channel), ref §7.

The connection knows nothing about Polymarket payloads except the heartbeat: it sends the text
frame `PING` every `ping_interval` seconds and swallows the server's `PONG`. Everything else is
handed raw (bytes, undecoded) to `on_message(data, recv_ts)`; decoding is the caller's job.

After every (re)connect it sends the frames returned by `subscribe_frames()` — the caller builds
them from its *current* desired subscriptions (the server keeps no session). A watchdog closes a
connection that delivered no frame at all (not even a PONG) for `silence_timeout` seconds: a
stalled-but-open socket is detected and replaced. Reconnects back off exponentially with full
jitter; `cooldown_remaining_seconds` reports the wait.

Frames reach `on_message` straight from the socket's `data_received` (`_DirectConnection`): a
whole data frame with nothing queued ahead of it is handed over there and then, without the
websockets queue, a task wake-up and a loop turn (~10 us of a tick-to-order path, issue #6).
Fragments, and frames arriving while older ones are queued, take websockets' own queue and
`recv()`, so the order of frames never changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode

from polymarket_bot.core.clock import Clock, LiveClock
from polymarket_bot.transport.retry import Backoff

__all__ = ["DEFAULT_MAX_SIZE", "OnMessage", "SubscribeFrames", "WsConnection", "WsState"]

_log = logging.getLogger(__name__)

DEFAULT_MAX_SIZE: Final = 16 * 1024 * 1024
"""Initial book dumps of many assets arrive as one large JSON array."""
PING_FRAME: Final = "PING"
_PONG: Final = b"PONG"

OnMessage = Callable[[bytes | str, float], None]
"""`(raw frame, wall-clock receive time in Unix seconds)`; synchronous and fast. Frames arrive
as undecoded `bytes` (text frames are not UTF-8 decoded: msgspec parses bytes directly)."""
SubscribeFrames = Callable[[], Sequence[str | bytes]]
"""Frames to send after every (re)connect, e.g. `[market_subscribe_json]`."""


class WsState(str, enum.Enum):
    CONNECTING = "connecting"
    OPEN = "open"
    BACKOFF = "backoff"
    CLOSED = "closed"


class _DirectConnection(ClientConnection):
    """A client connection that hands whole data frames to `on_frame` inside `data_received`
    while nothing is queued for `recv()` and no fragmented message is being assembled; every
    other frame goes the usual way (websockets' queue), so frames keep their order: a frame is
    only handed over directly when every earlier one has been consumed."""

    on_frame: Callable[[bytes], None] | None = None
    direct_frames = 0
    _fragmented = False

    def process_event(self, event: Any) -> None:
        on_frame = self.on_frame
        if on_frame is None or type(event) is not Frame or self.response is None:
            super().process_event(event)
            return
        opcode = event.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
            if event.fin and not self._fragmented and not len(self.recv_messages.frames):
                data = event.data
                self.direct_frames += 1
                on_frame(data if type(data) is bytes else bytes(data))
                return
            # (websockets itself refuses a new message inside a fragmented one; tracked anyway)
            self._fragmented = not event.fin
        elif opcode is Opcode.CONT:
            self._fragmented = not event.fin
        super().process_event(event)


def _direct_delivery_works() -> bool:
    """websockets internals `_DirectConnection` relies on (checked once; else plain `recv()`)."""
    try:
        from websockets.asyncio.messages import Assembler, SimpleQueue

        return (
            "process_event" in ClientConnection.__dict__
            and hasattr(SimpleQueue, "__len__")
            and "frames" in Assembler.__init__.__code__.co_names
        )
    except (ImportError, AttributeError):
        return False


DIRECT_DELIVERY: Final = _direct_delivery_works()
"""Whether frames are delivered from `data_received` (see the module docstring)."""


class _Silent(Exception):
    """The watchdog's verdict: no frame for too long."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionClosed):
        rcvd = exc.rcvd
        if rcvd is None:
            return "connection lost (no close frame)"
        return f"closed by server: {rcvd.code} {rcvd.reason}".rstrip()
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class WsConnection:
    """`await conn.start()` ... `await conn.stop()` (or `async with conn:`)."""

    def __init__(
        self,
        url: str,
        *,
        on_message: OnMessage,
        subscribe_frames: SubscribeFrames | None = None,
        ping_interval: float = 10.0,
        silence_timeout: float = 30.0,
        open_timeout: float = 10.0,
        close_timeout: float = 2.0,
        backoff: Backoff | None = None,
        stable_after: float = 30.0,
        proxy: str | None = None,
        max_size: int = DEFAULT_MAX_SIZE,
        max_queue: int = 1024,
        additional_headers: Mapping[str, str] | None = None,
        user_agent: str = "polymarket-bot",
        clock: Clock | None = None,
        on_state: Callable[[WsState], None] | None = None,
        name: str = "ws",
    ) -> None:
        self.url = url
        self.name = name
        self.ping_interval = ping_interval
        """Seconds between text PINGs; <= 0 disables them."""
        self.silence_timeout = silence_timeout
        """Seconds without any frame before reconnecting; <= 0 disables the watchdog."""
        self.stable_after = stable_after
        """A session open this long resets the backoff exponent."""
        self._on_message = on_message
        self._subscribe_frames = subscribe_frames
        self._on_state = on_state
        self._clock = clock or LiveClock()
        self._backoff = backoff or Backoff(base=0.5, cap=30.0, min_delay=0.1)
        self._connect_kwargs: dict[str, Any] = {
            "open_timeout": open_timeout,
            "close_timeout": close_timeout,
            "ping_interval": None,  # the venue's heartbeat is the text PING below
            "ping_timeout": None,
            "max_size": max_size,
            "max_queue": max_queue,
            "compression": None,
            # Only PROXY_ENABLED/PROXY_URL decide; None also disables ambient proxy variables.
            "proxy": proxy or None,
            "user_agent_header": user_agent,
            "additional_headers": dict(additional_headers or {}),
        }
        if DIRECT_DELIVERY:
            self._connect_kwargs["create_connection"] = _DirectConnection
        self._task: asyncio.Task[None] | None = None
        self._ws: ClientConnection | None = None
        self._opened = asyncio.Event()
        self._stopping = False
        self._reconnect_requested = False
        self._streak = 0
        self._cooldown_until = 0.0
        self._state = WsState.CLOSED
        # status
        self.connects = 0
        """Successful opens (handshake done and subscribe frames sent)."""
        self.disconnects = 0
        self.failures = 0
        """Consecutive failures (failed connects, sessions ended by an error); 0 once open."""
        self.total_failures = 0
        self.messages = 0
        """Frames handed to `on_message` (PONGs excluded)."""
        self.pongs = 0
        self.pings = 0
        self.frames_sent = 0
        """Subscribe/dynamic frames sent (PINGs excluded)."""
        self.callback_errors = 0
        self.last_message_monotonic: float | None = None
        self.last_message_epoch: float | None = None
        self.last_frame_monotonic: float | None = None
        """Any frame, PONG included (what the watchdog watches)."""
        self.last_error: str | None = None
        self.last_error_epoch: float | None = None
        self.last_success_epoch: float | None = None
        """When the connection last opened successfully."""

    # --- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> WsConnection:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        if self._task is not None:
            return
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=f"ws:{self.name}")

    async def stop(self) -> None:
        """Close the socket and stop reconnecting (idempotent)."""
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._set_state(WsState.CLOSED)

    aclose = stop

    async def reconnect(self) -> None:
        """Drop the current connection (e.g. after a detected gap); the loop reconnects and
        re-subscribes at once."""
        ws = self._ws
        if ws is not None:
            self._reconnect_requested = True
            await ws.close()

    async def wait_open(self, timeout: float | None = None) -> bool:
        try:
            await asyncio.wait_for(self._opened.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    # --- sending --------------------------------------------------------------------------

    async def send(self, frame: str | bytes) -> bool:
        """Send a frame (dynamic subscribe/unsubscribe) as text on the open connection.

        False when not open: nothing is queued, because `subscribe_frames()` re-sends the whole
        desired state after the next connect.
        """
        ws = self._ws
        if ws is None or self._state is not WsState.OPEN:
            return False
        text = frame.decode("utf-8") if isinstance(frame, bytes) else frame
        try:
            await ws.send(text)
        except ConnectionClosed:
            return False
        self.frames_sent += 1
        return True

    # --- status ---------------------------------------------------------------------------

    @property
    def state(self) -> WsState:
        return self._state

    @property
    def is_open(self) -> bool:
        return self._state is WsState.OPEN

    @property
    def cooldown_remaining_seconds(self) -> float:
        if self._state is not WsState.BACKOFF:
            return 0.0
        return max(0.0, self._cooldown_until - self._clock.monotonic())

    def status(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self._state.value,
            "connects": self.connects,
            "disconnects": self.disconnects,
            "failures": self.failures,
            "total_failures": self.total_failures,
            "messages": self.messages,
            "pings": self.pings,
            "pongs": self.pongs,
            "frames_sent": self.frames_sent,
            "callback_errors": self.callback_errors,
            "last_message_monotonic": self.last_message_monotonic,
            "last_message_epoch": self.last_message_epoch,
            "last_frame_monotonic": self.last_frame_monotonic,
            "last_error": self.last_error,
            "last_error_epoch": self.last_error_epoch,
            "last_success_epoch": self.last_success_epoch,
            "cooldown_remaining_seconds": round(self.cooldown_remaining_seconds, 3),
        }

    # --- internals ------------------------------------------------------------------------

    def _set_state(self, state: WsState) -> None:
        if state is self._state:
            return
        self._state = state
        if state is WsState.OPEN:
            self._opened.set()
        else:
            self._opened.clear()
        if self._on_state is not None:
            try:
                self._on_state(state)
            except Exception:
                _log.exception("ws %s: on_state callback failed", self.name)

    def _fail(self, reason: str) -> None:
        self.failures += 1
        self.total_failures += 1
        self.last_error = reason
        self.last_error_epoch = self._clock.time()
        _log.warning("ws %s: %s", self.name, reason)

    async def _run(self) -> None:
        while not self._stopping:
            self._set_state(WsState.CONNECTING)
            try:
                ws = await connect(self.url, **self._connect_kwargs)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # handshake, DNS, refused, timeout, proxy, bad URL
                self._fail(f"connect failed: {_describe(exc)}")
                await self._pause()
                continue
            opened_at = self._clock.monotonic()
            try:
                reason = await self._session(ws)
            finally:
                self._ws = None
                with contextlib.suppress(Exception):
                    await ws.close()  # bounded by close_timeout, then the socket is aborted
            self.disconnects += 1
            if self._clock.monotonic() - opened_at >= self.stable_after:
                self._streak = 0
            if self._stopping:
                return
            if self._reconnect_requested:
                self._reconnect_requested = False
                self._streak = 0
            else:
                self._fail(reason)
            await self._pause()

    async def _pause(self) -> None:
        delay = self._backoff.delay(self._streak)
        self._streak += 1
        self._cooldown_until = self._clock.monotonic() + delay
        self._set_state(WsState.BACKOFF)
        await asyncio.sleep(delay)

    async def _session(self, ws: ClientConnection) -> str:
        """Subscribe, then read until the connection fails; returns why it ended."""
        try:
            frames = list(self._subscribe_frames()) if self._subscribe_frames is not None else []
        except Exception as exc:
            return f"subscribe_frames() failed: {_describe(exc)}"
        # OPEN before the first await: a caller changing its subscriptions from now on sees an
        # open connection and sends a dynamic frame; one that changed them earlier is in `frames`.
        self._ws = ws
        self.last_frame_monotonic = self._clock.monotonic()
        self._set_state(WsState.OPEN)
        try:
            for frame in frames:
                await ws.send(frame.decode("utf-8") if isinstance(frame, bytes) else frame)
                self.frames_sent += 1
        except Exception as exc:
            return f"subscribe failed: {_describe(exc)}"
        self.connects += 1
        self.failures = 0
        self.last_success_epoch = self._clock.time()
        tasks = [asyncio.create_task(self._reader(ws), name=f"ws:{self.name}:reader")]
        if self.silence_timeout > 0:
            tasks.append(asyncio.create_task(self._watchdog(), name=f"ws:{self.name}:watchdog"))
        if self.ping_interval > 0:
            tasks.append(asyncio.create_task(self._pinger(ws), name=f"ws:{self.name}:ping"))
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            error = None if task.cancelled() else task.exception()
            if error is not None:
                return str(error) if isinstance(error, _Silent) else _describe(error)
        return "connection ended"

    async def _reader(self, ws: ClientConnection) -> None:
        recv, deliver = ws.recv, self._deliver
        direct = ws if isinstance(ws, _DirectConnection) else None
        if direct is not None:
            direct.on_frame = deliver  # from now on; what is already queued comes via recv()
        try:
            while True:
                deliver(await recv(decode=False))
        finally:
            if direct is not None:
                direct.on_frame = None

    def _deliver(self, data: bytes) -> None:
        """One frame to `on_message` (from `recv()` or straight from the socket)."""
        now = self._clock.monotonic()
        self.last_frame_monotonic = now
        if data == _PONG:
            self.pongs += 1
            return
        ts = self._clock.time()
        self.messages += 1
        self.last_message_monotonic = now
        self.last_message_epoch = ts
        try:
            self._on_message(data, ts)
        except Exception:
            # A bug in the consumer must not tear down the feed for everyone.
            self.callback_errors += 1
            if self.callback_errors <= 10 or self.callback_errors % 1000 == 0:
                _log.exception("ws %s: on_message failed", self.name)

    async def _watchdog(self) -> None:
        while True:
            now = self._clock.monotonic()
            last = self.last_frame_monotonic if self.last_frame_monotonic is not None else now
            silent_for = now - last
            if silent_for >= self.silence_timeout:
                raise _Silent(f"silent for {silent_for:.1f}s (no frame, no PONG)")
            await asyncio.sleep(self.silence_timeout - silent_for)

    async def _pinger(self, ws: ClientConnection) -> None:
        while True:
            await asyncio.sleep(self.ping_interval)
            await ws.send(PING_FRAME)
            self.pings += 1
