"""The venue's REST face as a small raw-ASGI application: request parsing, routing, error
shapes, REST faults and the helpers every endpoint module shares.

Error contract: every failure is the venue's `{"error": "..."}` with the venue's status (400
business/validation, 401 auth, 404 unknown, 405 method); nothing a client sends produces a 500.
A 500 only comes from a bug here (it is logged) or from an injected fault. The endpoint modules
(`rest_public`, `rest_trading`, `rest_gamma`, `admin`) register their handlers on a `Router`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final
from urllib.parse import parse_qs

import msgspec

from polymarket_bot.sim.faults import RestFault
from polymarket_bot.sim.state import SimState
from polymarket_bot.sim.ws_conn import abort_transport, set_cork, transport_socket

__all__ = [
    "END_CURSOR",
    "INITIAL_CURSOR",
    "HttpError",
    "LostResponse",
    "Request",
    "Response",
    "Router",
    "fmt_decimal",
    "http_app",
    "json_response",
    "page",
]

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

INITIAL_CURSOR: Final = "MA=="
END_CURSOR: Final = "LTE="
MAX_BODY: Final = 2 * 1024 * 1024
_JSON: Final = (b"content-type", b"application/json")
_TEXT: Final = (b"content-type", b"text/plain; charset=utf-8")
_encode = msgspec.json.encode


class HttpError(Exception):
    """An error answer: `body` is sent as JSON (`{"error": ...}` unless given whole)."""

    def __init__(
        self,
        status: int,
        error: str | Mapping[str, Any],
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        body = {"error": error} if isinstance(error, str) else dict(error)
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body
        self.headers = tuple(headers)


@dataclass(slots=True)
class Response:
    status: int
    body: bytes
    headers: list[tuple[bytes, bytes]] = field(default_factory=lambda: [_JSON])


@dataclass(frozen=True, slots=True)
class LostResponse:
    """The request was executed but its answer must not arrive (fault `lose_response`)."""

    mode: str  # "reset" | "drop" | "500"
    hang_s: float
    message: str


def json_response(
    obj: object, status: int = 200, headers: Sequence[tuple[str, str]] = ()
) -> Response:
    extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    return Response(status, _encode(obj), [_JSON, *extra])


def text_response(text: str, status: int) -> Response:
    return Response(status, text.encode(), [_TEXT])


class Request:
    __slots__ = ("body", "client", "headers", "method", "param", "path", "query", "send")

    def __init__(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
        client: str,
        send: Send,
    ) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.client = client
        self.send = send
        self.param = ""  # the path tail of a prefix route (`/markets/{param}`)

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def args(self, name: str) -> list[str]:
        """Repeatable parameter; comma-separated values are split too (`id=1,2&id=3`)."""
        out: list[str] = []
        for value in self.query.get(name, ()):
            out += [v for v in value.split(",") if v]
        return out

    def json(self, error: str = "Invalid payload") -> Any:
        """The body as JSON (ints exact, NaN/Infinity refused) or 400 `error`."""
        try:
            return json.loads(self.body, parse_constant=_refuse_constant)
        except (ValueError, RecursionError):
            raise HttpError(400, error) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


Handler = Callable[[SimState, Request], Awaitable["Response | LostResponse"]]


class Router:
    """Exact routes plus prefix routes (`/markets/` + condition id)."""

    def __init__(self) -> None:
        self._exact: dict[str, dict[str, Handler]] = {}
        self._prefix: list[tuple[str, dict[str, Handler]]] = []

    def route(self, method: str, path: str, handler: Handler) -> None:
        self._exact.setdefault(path, {})[method] = handler

    def prefix(self, method: str, prefix: str, handler: Handler) -> None:
        for p, table in self._prefix:
            if p == prefix:
                table[method] = handler
                return
        self._prefix.append((prefix, {method: handler}))
        self._prefix.sort(key=lambda item: -len(item[0]))  # longest prefix wins

    def resolve(self, method: str, path: str) -> tuple[Handler, str]:
        table = self._exact.get(path)
        param = ""
        if table is None:
            for prefix, candidate in self._prefix:
                if path.startswith(prefix) and len(path) > len(prefix):
                    table, param = candidate, path[len(prefix) :]
                    break
        if table is None:
            raise _NotFound(404, "404 page not found")
        handler = table.get(method)
        if handler is None:
            raise _NotFound(405, "Method Not Allowed")
        return handler, param


class _NotFound(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


# --- shared helpers ---------------------------------------------------------------------------


def fmt_decimal(value: Decimal) -> str:
    """Shortest plain decimal text: 0.50 -> "0.5", 10 -> "10"."""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


def json_number(value: Decimal) -> int | float:
    """A JSON number that prints like the decimal (`0.01`, `5`): int when integral."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def decode_cursor(cursor: str | None) -> int:
    """Offset of a `next_cursor` (base64 of a decimal integer; `MA==` = 0)."""
    if cursor in (None, ""):
        return 0
    if cursor == END_CURSOR:
        return -1
    try:
        text = base64.b64decode(cursor, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise HttpError(400, "invalid next_cursor") from None
    if not text.isdigit():
        raise HttpError(400, "invalid next_cursor")
    return int(text)


def page(items: Sequence[Any], cursor: str | None, size: int) -> dict[str, Any]:
    """The CLOB page envelope; the last page says `LTE=`."""
    offset = decode_cursor(cursor)
    if offset < 0:
        return {"limit": size, "count": 0, "next_cursor": END_CURSOR, "data": []}
    chunk = list(items[offset : offset + size])
    end = offset + len(chunk)
    nxt = END_CURSOR if end >= len(items) else base64.b64encode(str(end).encode()).decode()
    return {"limit": size, "count": len(chunk), "next_cursor": nxt, "data": chunk}


# --- the ASGI application ---------------------------------------------------------------------

_LOOPBACK: Final = frozenset({"127.0.0.1", "::1", "localhost", "testclient"})


async def _read_body(receive: Receive) -> tuple[bytes, bool] | None:
    """(body, too_large), or None when the client went away first. An oversized body is
    drained but not kept."""
    chunks: list[bytes] = []
    size = 0
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            return None
        chunk = msg.get("body", b"")
        size += len(chunk)
        if size <= MAX_BODY:
            chunks.append(chunk)
        if not msg.get("more_body", False):
            return (b"", True) if size > MAX_BODY else (b"".join(chunks), False)


async def _send(send: Send, response: Response) -> None:
    headers = [*response.headers, (b"content-length", str(len(response.body)).encode())]
    # uvicorn writes head and body separately: corked they leave as one segment.
    sock = transport_socket(send)
    corked = sock is not None and set_cork(sock, True)
    try:
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})
    finally:
        if corked:
            set_cork(sock, False)


async def http_app(
    state: SimState, router: Router, scope: Scope, receive: Receive, send: Send
) -> None:
    read = await _read_body(receive)
    if read is None:
        return
    body, too_large = read
    method: str = scope["method"]
    path: str = scope["path"]
    raw_qs: bytes = scope.get("query_string", b"")
    query = parse_qs(raw_qs.decode("latin-1"), keep_blank_values=True) if raw_qs else {}
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    client = (scope.get("client") or ("", 0))[0]
    req = Request(method, path, query, headers, body, client, send)
    state.counters.requests += 1
    if too_large:
        response: Response | LostResponse = json_response(
            {"error": "Payload exceeds the limit"}, 400
        )
    else:
        response = await _dispatch(state, router, req)
    if isinstance(response, LostResponse):
        await _lose(state, req, response, receive)
        return
    table = state.counters.by_status
    table[response.status] = table.get(response.status, 0) + 1
    await _send(send, response)


async def _dispatch(state: SimState, router: Router, req: Request) -> Response | LostResponse:
    try:
        handler, req.param = router.resolve(req.method, req.path)
    except _NotFound as exc:
        return text_response(exc.text, exc.status)
    is_admin = req.path.startswith("/admin/")
    if is_admin and req.client not in _LOOPBACK:
        return json_response({"error": "admin API is loopback-only"}, 403)
    if not is_admin and state.faults.rest_active:
        fault = state.faults.rest_fault(req.method, req.path, state.clock.monotonic())
        if fault is not None:
            answer = await _apply_fault(fault)
            if answer is not None:
                return answer
    try:
        return await handler(state, req)
    except HttpError as exc:
        return json_response(exc.body, exc.status, exc.headers)
    except Exception:
        log.exception("internal error on %s %s", req.method, req.path)
        return json_response({"error": "internal error"}, 500)


async def _apply_fault(fault: RestFault) -> Response | None:
    if fault.delay_s > 0:
        await asyncio.sleep(fault.delay_s)
    if fault.status is None:
        return None
    return json_response(fault.body or {"error": "error"}, fault.status, fault.headers)


async def _lose(state: SimState, req: Request, lost: LostResponse, receive: Receive) -> None:
    """Executed, but the client never hears back: an RST, a hang then a cut, or a 500."""
    state.counters.lost_responses += 1
    if lost.mode == "500":
        await _send(req.send, json_response({"error": lost.message}, 500))
        return
    if lost.mode == "drop":
        try:
            await asyncio.wait_for(_wait_disconnect(receive), lost.hang_s)
            return
        except (TimeoutError, asyncio.TimeoutError):
            pass
    if abort_transport(req.send, reset=lost.mode == "reset"):
        await _wait_disconnect(receive)
    else:  # not under uvicorn: the closest we can do
        await _send(req.send, json_response({"error": lost.message}, 500))


async def _wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
