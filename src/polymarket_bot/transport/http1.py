"""A lean HTTP/1.1 client for ONE origin, on asyncio protocols: the trading path's REST calls.

    client = Http1Client("https://clob.polymarket.com", connect_timeout=5, read_timeout=5)
    response = await client.request("POST", "/order", headers={...}, body=b"{...}")
    response.status_code, response.headers.get("retry-after"), response.content
    await client.aclose()

Why: httpx (AsyncClient -> httpcore -> anyio) spends ~300 us of Python before the request's
last byte is handed to the socket; here the request is serialized by hand into one bytes object
and written with one `transport.write`, ~10-15 us after the call (issue #6, tick-to-order
latency; `bench/http_client.py`). A request repeated with only some header values changing can
be serialized once (`template`), filled per request (`RequestTemplate.render`) and sent as bytes
(`send`).

- Keep-alive pool: at most `max_connections` exchanges in flight, one per connection; idle
  connections are reused last-in first-out. A connection is discarded on any error, on
  `Connection: close`, on a read-to-close body, on unexpected bytes, or when the server closed it.
  Before a request is written on an idle connection, the socket is polled: readable means EOF
  (the server's keep-alive timeout) or garbage, and the connection is replaced by a fresh one.
  A server that closes in the instant between that poll and the write still makes the request
  fail with `sent=True` (ambiguous): requests are never re-sent here (HttpCore retries only
  idempotent calls).
- Responses: status line, headers (case-insensitive lookups, repeated headers joined with ", "),
  body by Content-Length, `Transfer-Encoding: chunked` (trailers discarded) or read-to-close;
  HEAD/204/304 have no body; 1xx interim responses are skipped; gzip/deflate content is decoded.
- Timeouts: `connect_timeout` (TCP + TLS), `pool_timeout` (waiting for a free connection slot;
  defaults to `connect_timeout`), `read_timeout` (silence after the request was written: reset
  by every byte received). `keepalive_expiry` (5 s, as httpx): a connection idle longer than
  that is closed instead of reused, so we do not race a server's own idle timeout (uvicorn's is
  5 s; the close could cross our request on the wire, which would make it ambiguous). Writes
  never block (the transport buffers); a request body must be small enough to leave within the
  read timeout (orders are a few kB).
- Errors: `Http1Error(sent=...)` and its subclass `Http1Timeout`. `sent=False` means no byte of
  the request was written (invalid request, pool timeout, connect failure/timeout); anything
  after the write is `sent=True`. `InvalidRequest` (CR/LF in a header, a bad method/target,
  non-ASCII header) is raised before any I/O.
- `https` uses `ssl.create_default_context()` (or the given context), `server_hostname=host`.
- No proxy support: with a proxy, HttpCore keeps httpx.
"""

from __future__ import annotations

import asyncio
import re
import select
import ssl
import zlib
from collections import deque
from collections.abc import Callable, ItemsView, Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from typing import Final, NoReturn, cast
from urllib.parse import urlsplit

__all__ = [
    "Headers",
    "Http1Client",
    "Http1Error",
    "Http1Response",
    "Http1Timeout",
    "InvalidRequest",
    "ProtocolError",
    "RequestTemplate",
    "ResponseParser",
]

MAX_HEAD_BYTES: Final = 64 * 1024
"""Largest status line + header block (and largest trailer block) accepted."""
MAX_CHUNK_LINE: Final = 4096
"""Longest chunk-size line (size plus extensions) accepted."""

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_NAME_LIST = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:\n[!#$%&'*+\-.^_`|~0-9A-Za-z]+)*")
_BAD_VALUE = re.compile(r"[\r\n\x00]")
_BAD_VALUE_BYTES = re.compile(rb"[\r\n\x00\x80-\xff]")
_TARGET = re.compile(r"/[!-~]*")
_RESERVED = frozenset({"host", "content-length", "transfer-encoding", "connection"})
"""Header names the client sets itself; a caller may not pass them."""
_BODYLESS_STATUS = frozenset({204, 304})
_COMMON_METHODS = frozenset({"GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"})
_NAME_SETS_REMEMBERED: Final = 64
_HEX = frozenset(b"0123456789abcdefABCDEF")

# Parser states.
_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILERS, _CLOSE, _DONE = range(8)


class Http1Error(Exception):
    """An exchange failed. `sent` is False only when no byte of the request was written."""

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


class Http1Timeout(Http1Error):
    """Connect, pool (`sent=False`) or read (`sent=True`) timeout."""


class InvalidRequest(Http1Error, ValueError):
    """The request cannot be serialized safely (refused before any I/O; `sent` is False)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, sent=False)


class ProtocolError(Http1Error):
    """The server's answer is not valid HTTP/1.x (always `sent=True`)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, sent=True)


class Headers:
    """Response headers in arrival order; lookups are case-insensitive and a repeated header's
    values are joined with ", " (`get_list` returns them one by one)."""

    __slots__ = ("_joined", "_raw")

    def __init__(self, raw: list[tuple[str, str]], joined: dict[str, str] | None = None) -> None:
        self._raw = raw
        if joined is None:
            joined = {}
            for name, value in raw:
                key = name.lower()
                joined[key] = f"{joined[key]}, {value}" if key in joined else value
        self._joined = joined

    def get(self, key: str, default: str | None = None) -> str | None:
        return self._joined.get(key.lower(), default)

    def get_list(self, key: str) -> list[str]:
        wanted = key.lower()
        return [value for name, value in self._raw if name.lower() == wanted]

    def items(self) -> list[tuple[str, str]]:
        """(name, value) pairs as received (names in the server's case)."""
        return list(self._raw)

    def __getitem__(self, key: str) -> str:
        return self._joined[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._joined

    def __iter__(self) -> Iterator[str]:
        return iter(self._joined)

    def __len__(self) -> int:
        return len(self._joined)

    def __repr__(self) -> str:
        return f"Headers({self._raw!r})"


class Http1Response:
    """One final response: `status_code`, `reason_phrase`, `headers`, `content` (decoded bytes),
    `http_version` ("HTTP/1.1")."""

    __slots__ = ("content", "headers", "http_version", "reason_phrase", "status_code")

    def __init__(
        self,
        status_code: int,
        reason_phrase: str,
        headers: Headers,
        content: bytes,
        http_version: str = "HTTP/1.1",
    ) -> None:
        self.status_code = status_code
        self.reason_phrase = reason_phrase
        self.headers = headers
        self.content = content
        self.http_version = http_version

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def __repr__(self) -> str:
        return f"<Http1Response [{self.status_code} {self.reason_phrase}]>"


# --- response parsing ---------------------------------------------------------------------------


class ResponseParser:
    """Incremental parser of one response to one request (interim 1xx responses skipped).

    `feed(bytes)` until it returns True (or `feed_eof()` for a read-to-close body), then
    `response()`; `keep_alive` says whether the connection may carry another request.
    """

    __slots__ = (
        "body",
        "buf",
        "head_request",
        "headers",
        "keep_alive",
        "reason",
        "remaining",
        "state",
        "status",
        "trailer_bytes",
        "version",
    )

    def __init__(self, head_request: bool) -> None:
        self.head_request = head_request
        self.buf = bytearray()
        self.body = bytearray()
        self.state = _HEAD
        self.status = 0
        self.reason = ""
        self.version = "HTTP/1.1"
        self.headers = Headers([], {})
        self.keep_alive = True
        self.remaining = 0
        self.trailer_bytes = 0

    def feed(self, data: bytes) -> bool:
        """Take bytes from the socket; True once the response is complete."""
        self.buf += data
        return self._advance()

    def feed_eof(self) -> bool:
        """The server closed its side: True if that completes the response (read-to-close)."""
        if self.state == _CLOSE:
            self.state = _DONE
            self.keep_alive = False
            return True
        return self.state == _DONE

    def _advance(self) -> bool:
        buf = self.buf
        while True:
            state = self.state
            if state == _HEAD:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > MAX_HEAD_BYTES:
                        raise ProtocolError("response head too large")
                    return False
                if end > MAX_HEAD_BYTES:
                    raise ProtocolError("response head too large")
                head = bytes(buf[:end])
                del buf[: end + 4]
                self._head(head)
            elif state in (_LENGTH, _CHUNK_DATA):
                n = min(self.remaining, len(buf))
                if n:
                    self.body += buf[:n] if n < len(buf) else buf
                    del buf[:n]
                    self.remaining -= n
                if self.remaining:
                    return False
                self.state = _DONE if state == _LENGTH else _CHUNK_END
            elif state == _CHUNK_SIZE:
                end = buf.find(b"\r\n")
                if end < 0:
                    if len(buf) > MAX_CHUNK_LINE:
                        raise ProtocolError("chunk size line too long")
                    return False
                line = bytes(buf[:end]).split(b";", 1)[0].strip(b" \t")
                del buf[: end + 2]
                if not line or not _HEX.issuperset(line) or len(line) > 16:
                    raise ProtocolError(f"bad chunk size {line[:20]!r}")
                size = int(line, 16)
                if size:
                    self.remaining = size
                    self.state = _CHUNK_DATA
                else:
                    self.state = _TRAILERS
            elif state == _CHUNK_END:
                if len(buf) < 2:
                    return False
                if buf[0] != 13 or buf[1] != 10:
                    raise ProtocolError("chunk data not followed by CRLF")
                del buf[:2]
                self.state = _CHUNK_SIZE
            elif state == _TRAILERS:
                end = buf.find(b"\r\n")
                if end < 0:
                    if self.trailer_bytes + len(buf) > MAX_HEAD_BYTES:
                        raise ProtocolError("trailers too large")
                    return False
                self.trailer_bytes += end + 2
                if self.trailer_bytes > MAX_HEAD_BYTES:
                    raise ProtocolError("trailers too large")
                del buf[: end + 2]
                if end == 0:
                    self.state = _DONE
            elif state == _CLOSE:
                if buf:
                    self.body += buf
                    del buf[:]
                return False
            else:  # _DONE
                if buf:
                    self.keep_alive = False  # bytes beyond the response: never reuse
                return True

    def _head(self, head: bytes) -> None:
        text = head.decode("latin-1")
        crlf = text.count("\r\n")
        if "\x00" in text or text.count("\n") != crlf or text.count("\r") != crlf:
            raise ProtocolError("bare CR, LF or NUL in the response head")
        lines = text.split("\r\n")
        parts = lines[0].split(" ", 2)
        version = parts[0]
        if len(parts) < 2 or version not in ("HTTP/1.1", "HTTP/1.0"):
            raise ProtocolError(f"bad status line {lines[0][:80]!r}")
        code = parts[1]
        if len(code) != 3 or not code.isdigit() or not code.isascii():
            raise ProtocolError(f"bad status code {code[:10]!r}")
        status = int(code)
        raw: list[tuple[str, str]] = []
        joined: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon:
                raise ProtocolError(f"bad header line {line[:80]!r}")
            value = value.strip(" \t")
            raw.append((name, value))
            key = name.lower()
            joined[key] = f"{joined[key]}, {value}" if key in joined else value
        # Names are tokens: no spaces (so no obs-fold continuation lines), no non-ASCII.
        if raw and not _NAME_LIST.fullmatch("\n".join([name for name, _ in raw])):
            bad = next(name for name, _ in raw if not _TOKEN.fullmatch(name))
            raise ProtocolError(f"bad header name {bad[:80]!r}")
        if 100 <= status < 200:
            if status == 101:
                raise ProtocolError("unexpected 101 Switching Protocols")
            return  # interim response: the final one follows
        self.status = status
        self.reason = parts[2] if len(parts) > 2 else ""
        self.version = version
        self.headers = Headers(raw, joined)
        tokens = {t.strip().lower() for t in joined.get("connection", "").split(",")}
        if version == "HTTP/1.0":
            self.keep_alive = "keep-alive" in tokens
        else:
            self.keep_alive = "close" not in tokens
        if self.head_request or status in _BODYLESS_STATUS:
            self.state = _DONE
            return
        te = joined.get("transfer-encoding")
        length = joined.get("content-length")
        if te is not None:
            codings = [c.strip().lower() for c in te.split(",")]
            if codings[-1] != "chunked":
                self.state = _CLOSE  # RFC 9112 6.3: the body runs to the close
                self.keep_alive = False
            elif codings != ["chunked"]:
                raise ProtocolError(f"unsupported transfer coding {te!r}")
            else:
                self.state = _CHUNK_SIZE
            if length is not None:
                self.keep_alive = False  # both framings: smuggling risk, do not reuse
            return
        if length is not None:
            values = {v.strip() for v in length.split(",")}
            if len(values) != 1:
                raise ProtocolError(f"conflicting Content-Length {length!r}")
            (text,) = values
            if not (text.isascii() and text.isdigit()) or len(text) > 18:
                raise ProtocolError(f"bad Content-Length {length!r}")
            self.remaining = int(text)
            self.state = _LENGTH if self.remaining else _DONE
            return
        self.state = _CLOSE
        self.keep_alive = False

    def response(self) -> Http1Response:
        content = bytes(self.body)
        encoding = self.headers.get("content-encoding")
        if encoding is not None and content:
            content = _decode_content(content, encoding)
        return Http1Response(self.status, self.reason, self.headers, content, self.version)


def _decode_content(content: bytes, encoding: str) -> bytes:
    for coding in reversed([c.strip().lower() for c in encoding.split(",")]):
        try:
            if coding in ("gzip", "x-gzip"):
                content = zlib.decompress(content, 16 + zlib.MAX_WBITS)
            elif coding == "deflate":
                try:
                    content = zlib.decompress(content)
                except zlib.error:
                    content = zlib.decompress(content, -zlib.MAX_WBITS)
            elif coding not in ("identity", ""):
                raise ProtocolError(f"unsupported content encoding {encoding!r}")
        except zlib.error as exc:
            raise ProtocolError(f"cannot decode {coding} content: {exc}") from exc
    return content


# --- one connection -----------------------------------------------------------------------------


class _ReadProbe:
    """Whether an idle socket has something to read (EOF or stray bytes: unusable either way).
    `poll` (no FD_SETSIZE limit) where it exists, `select` elsewhere."""

    __slots__ = ("_fd", "_poll")

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._poll: select.poll | None = None
        if hasattr(select, "poll"):
            self._poll = select.poll()
            self._poll.register(fd, select.POLLIN | select.POLLPRI)

    def readable(self) -> bool:
        try:
            if self._poll is not None:
                return bool(self._poll.poll(0))
            ready, _, _ = select.select([self._fd], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(ready)


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection carrying one exchange at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.idle_since = 0.0
        self.transport: asyncio.Transport | None = None
        self.fd = -1
        self._probe: _ReadProbe | None = None
        self.closed = False
        self.exchanges = 0
        self._parser: ResponseParser | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._last_data = 0.0

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream transport (uvloop's are not asyncio.Transport subclasses: no isinstance)
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with suppress(OSError):
                self.fd = sock.fileno()
                self._probe = _ReadProbe(self.fd)

    def data_received(self, data: bytes) -> None:
        parser, waiter = self._parser, self._waiter
        if parser is None or waiter is None or waiter.done():
            self.close()  # bytes nobody asked for: the connection is out of step
            return
        self._last_data = self.loop.time()
        try:
            done = parser.feed(data)
        except Http1Error as exc:
            self._fail(exc)
            return
        if done:
            waiter.set_result(None)

    def eof_received(self) -> bool:
        self._end_of_stream(None)
        return False  # let the transport close

    def connection_lost(self, exc: Exception | None) -> None:
        self._end_of_stream(exc)

    # internals

    def _end_of_stream(self, exc: Exception | None) -> None:
        self.closed = True
        parser, waiter = self._parser, self._waiter
        if parser is None or waiter is None or waiter.done():
            return
        if exc is None and parser.feed_eof():
            waiter.set_result(None)
            return
        if exc is not None:
            message = f"connection lost while waiting for the response: {_describe(exc)}"
        elif parser.state == _HEAD and not parser.buf:
            message = "server closed the connection without sending a response"
        else:
            message = "server closed the connection in the middle of the response"
        self._fail(Http1Error(message, sent=True))

    def _fail(self, exc: Http1Error) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.close()

    def _on_timer(self, timeout: float) -> None:
        self._timer = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        silent = self.loop.time() - self._last_data
        if silent < timeout:
            self._timer = self.loop.call_later(timeout - silent, self._on_timer, timeout)
            return
        self._fail(Http1Timeout(f"no response data for {timeout:g}s (read timeout)", sent=True))

    # used by the client

    def usable(self) -> bool:
        """Open, and the last request fully handed to the kernel (a server may answer before
        reading a whole body; the rest of it must not precede the next request)."""
        transport = self.transport
        return (
            not self.closed
            and transport is not None
            and not transport.is_closing()
            and not transport.get_write_buffer_size()
        )

    def reusable(self) -> bool:
        """Idle and healthy: not closed by either side, nothing waiting to be read."""
        return self.usable() and (self._probe is None or not self._probe.readable())

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    async def exchange(
        self,
        data: bytes,
        head_request: bool,
        read_timeout: float | None,
        on_sent: Callable[[], object] | None = None,
    ) -> ResponseParser:
        """Write `data` (one `transport.write`), call `on_sent`, then wait for the response and
        return the parser holding it."""
        transport = self.transport
        assert transport is not None
        self.exchanges += 1
        transport.write(data)
        if on_sent is not None:
            on_sent()  # before anything else runs: nothing can answer before the await below
        # Nothing is received before the `await` below: the parser can come after the write.
        loop = self.loop
        parser = ResponseParser(head_request)
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiter, self._parser = waiter, parser
        if read_timeout is not None:
            self._last_data = loop.time()
            self._timer = loop.call_later(read_timeout, self._on_timer, read_timeout)
        try:
            await waiter
        finally:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._waiter = self._parser = None
        return parser


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --- the client ---------------------------------------------------------------------------------


class RequestTemplate:
    """A request serialized once but for some header values (`Http1Client.template`): the
    request line, the Host and default header block and every fixed header are validated and
    encoded up front. `render(values, body)` gives exactly the bytes `encode_request` gives for
    the same headers with those values filled in."""

    __slots__ = ("_chunks", "_empty_end", "_values", "head_request", "method", "target")

    def __init__(self, method: str, target: str, parts: Sequence[bytes]) -> None:
        self.method = method
        self.target = target
        self.head_request = method == "HEAD"
        slots = len(parts) - 1
        # parts interleaved with the values, then Content-Length + blank line, then the body
        chunks: list[bytes] = [b""] * (2 * slots + 3)
        chunks[0 : 2 * slots + 1 : 2] = parts
        self._chunks = chunks
        self._values = slice(1, 2 * slots, 2)
        self._empty_end = (
            b"Content-Length: 0\r\n\r\n" if method in ("POST", "PUT", "PATCH") else b"\r\n"
        )

    @property
    def slots(self) -> int:
        """How many header values `render` takes."""
        return (len(self._chunks) - 3) // 2

    def render(self, values: Sequence[bytes], body: bytes | None = None) -> bytes:
        """The request bytes with `values` (ASCII, no CR/LF/NUL: else InvalidRequest) in the
        template's open header slots, in order, then Content-Length and `body`."""
        out = self._chunks.copy()
        if len(values) != (len(out) - 3) // 2:
            raise InvalidRequest(f"{(len(out) - 3) // 2} header values expected, got {len(values)}")
        if _BAD_VALUE_BYTES.search(b"".join(values)):
            raise InvalidRequest("invalid header value (non-ASCII, CR, LF or NUL)")
        out[self._values] = values
        if body is None:
            out[-2] = self._empty_end
        else:
            out[-2] = b"Content-Length: %d\r\n\r\n" % len(body)
            out[-1] = body
        return b"".join(out)


class Http1Client:
    """HTTP/1.1 client of one origin (`scheme://host[:port]`, no path) with a keep-alive pool.

    `headers` are sent with every request (a request's own header of the same name replaces
    one). `Host`, `Content-Length`, `Transfer-Encoding` and `Connection` are the client's own.
    """

    def __init__(
        self,
        origin: str,
        *,
        connect_timeout: float | None = 10.0,
        read_timeout: float | None = 10.0,
        pool_timeout: float | None = None,
        keepalive_expiry: float | None = 5.0,
        max_connections: int = 10,
        ssl_context: ssl.SSLContext | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"origin must be http(s)://host[:port], got {origin!r}")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(f"origin must have no path, query or fragment: {origin!r}")
        if parts.username or parts.password:
            raise ValueError("credentials in the origin are not supported")
        if max_connections < 1:
            raise ValueError("max_connections must be >= 1")
        self.scheme = parts.scheme
        self.host = parts.hostname
        default_port = 443 if self.scheme == "https" else 80
        self.port = parts.port or default_port
        self.origin = f"{self.scheme}://{parts.netloc}"
        if self.scheme == "https":
            self._ssl: ssl.SSLContext | None = ssl_context or ssl.create_default_context()
        elif ssl_context is not None:
            raise ValueError("ssl_context given for a plain http origin")
        else:
            self._ssl = None
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.pool_timeout = connect_timeout if pool_timeout is None else pool_timeout
        self.keepalive_expiry = keepalive_expiry
        self.max_connections = max_connections
        host = f"[{self.host}]" if ":" in self.host else self.host
        host_header = host if self.port == default_port else f"{host}:{self.port}"
        defaults: dict[str, tuple[str, str]] = {}
        for name, value in (headers or {}).items():
            self._check_header(name, value)
            defaults[name.lower()] = (name, value)
        self._defaults = defaults
        self._blocks: dict[str, str] = {}
        """Header-name sets (joined by LF) already validated -> the default block they leave."""
        self._host_line = f"Host: {host_header}\r\n"
        self._default_block = self._host_line + "".join(
            f"{name}: {value}\r\n" for name, value in defaults.values()
        )
        self._idle: deque[_Connection] = deque()
        self._in_use = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._closed = False
        self.connections_opened = 0
        """Connections established so far (keep-alive reuse keeps it low)."""

    async def __aenter__(self) -> Http1Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close idle connections; connections in use close when their exchange ends."""
        self._closed = True
        while self._idle:
            self._idle.pop().close()

    @property
    def idle_connections(self) -> int:
        return len(self._idle)

    # --- request serialization ------------------------------------------------------------

    @staticmethod
    def _check_header(name: str, value: str) -> None:
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise InvalidRequest(f"invalid header name {name!r}")
        if not isinstance(value, str) or _BAD_VALUE.search(value):
            raise InvalidRequest(f"invalid header value for {name!r} (CR, LF or NUL)")
        if not value.isascii():
            raise InvalidRequest(f"non-ASCII header value for {name!r}")

    def encode_request(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        body: bytes | None = None,
    ) -> bytes:
        """The request as the bytes written to the socket. Raises InvalidRequest."""
        if method not in _COMMON_METHODS and not _TOKEN.fullmatch(method):
            raise InvalidRequest(f"invalid method {method!r}")
        if not _TARGET.fullmatch(target):
            raise InvalidRequest(f"invalid request target {target!r} (absolute path, no spaces)")
        block = self._default_block
        lines = ""
        if headers:
            # A few C-level passes (the hot path): one CRLF per header line and no NUL means no
            # CR/LF smuggled in a name or a value; a set of names seen before skips the name
            # validation. The per-header check only words a refusal.
            items: Sequence[tuple[str, str]] | ItemsView[str, str]
            try:
                if type(headers) is dict:
                    items = headers.items()
                    names = "\n".join(headers)
                else:
                    items = list(headers.items() if isinstance(headers, Mapping) else headers)
                    names = "\n".join([name for name, _ in items])
                lines = "\r\n".join(map(": ".join, items)) + "\r\n"
            except (TypeError, ValueError):
                self._refuse(headers.items() if isinstance(headers, Mapping) else list(headers))
            count = len(items)
            if lines.count("\n") != count or lines.count("\r") != count or "\x00" in lines:
                self._refuse(items)
            cached = self._blocks.get(names)
            block = self._block_for(names, items) if cached is None else cached
        if body is not None:
            end = f"Content-Length: {len(body)}\r\n\r\n"
        elif method in ("POST", "PUT", "PATCH"):
            end = "Content-Length: 0\r\n\r\n"
        else:
            end = "\r\n"
        try:
            head = "".join((method, " ", target, " HTTP/1.1\r\n", block, lines, end)).encode(
                "ascii"
            )
        except UnicodeEncodeError as exc:
            raise InvalidRequest(f"non-ASCII request head: {exc}") from None
        return head + body if body else head

    def _refuse(self, items: Iterable[object]) -> NoReturn:
        for item in items:
            if not isinstance(item, tuple) or len(item) != 2:
                raise InvalidRequest(f"a header must be a (name, value) pair, got {item!r}")
            self._check_header(*item)
        raise InvalidRequest("invalid headers")

    def _block_for(self, names: str, items: Iterable[tuple[str, str]]) -> str:
        """Validate a set of header names (joined by LF); return the Host line plus the default
        headers they do not replace, remembered for the next request with the same names."""
        if not _NAME_LIST.fullmatch(names):
            self._refuse(items)
        keys = names.lower().split("\n")
        for key in keys:
            if key in _RESERVED:
                raise InvalidRequest(f"header {key!r} is set by the client")
        block = self._host_line + "".join(
            f"{n}: {v}\r\n" for k, (n, v) in self._defaults.items() if k not in keys
        )
        if len(self._blocks) >= _NAME_SETS_REMEMBERED:
            self._blocks.clear()
        self._blocks[names] = block
        return block

    def template(
        self, method: str, target: str, headers: Sequence[tuple[str, str | None]]
    ) -> RequestTemplate:
        """`encode_request(method, target, headers, body)` prepared once for requests that
        differ only in the headers whose value is None here (and the body): validated now
        (InvalidRequest as `encode_request` would raise it), filled by `RequestTemplate.render`.
        """
        if method not in _COMMON_METHODS and not _TOKEN.fullmatch(method):
            raise InvalidRequest(f"invalid method {method!r}")
        if not _TARGET.fullmatch(target):
            raise InvalidRequest(f"invalid request target {target!r} (absolute path, no spaces)")
        text = method + " " + target + " HTTP/1.1\r\n"
        if headers:
            checked = [(name, "" if value is None else value) for name, value in headers]
            for name, fixed in checked:
                self._check_header(name, fixed)
            text += self._block_for("\n".join([name for name, _ in checked]), checked)
        else:
            text += self._default_block
        parts: list[bytes] = []
        try:
            for name, value in headers:
                if value is None:
                    parts.append(f"{text}{name}: ".encode("ascii"))
                    text = "\r\n"
                else:
                    text += f"{name}: {value}\r\n"
            parts.append(text.encode("ascii"))
        except UnicodeEncodeError as exc:
            raise InvalidRequest(f"non-ASCII request head: {exc}") from None
        return RequestTemplate(method, target, parts)

    # --- the exchange ---------------------------------------------------------------------

    async def request(
        self,
        method: str,
        target: str,
        *,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        body: bytes | None = None,
        on_sent: Callable[[], object] | None = None,
    ) -> Http1Response:
        """One exchange. `target` is the path (and query) as sent: `/order`, `/book?token_id=1`.
        `on_sent` is called once, right after the request is handed to the socket (not at all
        when it never was).

        Raises InvalidRequest, Http1Timeout or Http1Error; never re-sends a request.
        """
        data = self.encode_request(method, target, headers, body)
        return await self.send(data, head_request=method == "HEAD", on_sent=on_sent)

    async def send(
        self,
        data: bytes,
        *,
        head_request: bool = False,
        on_sent: Callable[[], object] | None = None,
    ) -> Http1Response:
        """One exchange of a request already serialized (`encode_request`,
        `RequestTemplate.render`): `request` without the serialization. `head_request`: it is
        a HEAD (no response body). Same `on_sent` and errors as `request`."""
        if self._closed:
            raise Http1Error("client is closed", sent=False)
        if self._in_use < self.max_connections and not self._waiters:
            self._in_use += 1  # a free slot: no suspension before the write
        else:
            await self._wait_for_slot()
        conn: _Connection | None = None
        try:
            conn = self._pop_idle()
            if conn is None:
                conn = await self._connect()
            parser = await conn.exchange(data, head_request, self.read_timeout, on_sent)
            response = parser.response()
        except BaseException:
            if conn is not None:
                conn.close()
            self._release()
            raise
        if parser.keep_alive and conn.usable() and not self._closed:
            conn.idle_since = conn.loop.time()
            self._idle.append(conn)
        else:
            conn.close()
        self._release()
        return response

    def _pop_idle(self) -> _Connection | None:
        idle = self._idle
        if not idle:
            return None
        expiry = self.keepalive_expiry
        oldest = idle[0].loop.time() - expiry if expiry is not None else float("-inf")
        while idle:
            conn = idle.pop()
            if conn.idle_since >= oldest and conn.reusable():
                return conn
            conn.close()
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, conn = await loop.create_connection(
                    lambda: _Connection(loop),
                    self.host,
                    self.port,
                    ssl=self._ssl,
                    server_hostname=self.host if self._ssl is not None else None,
                )
        except TimeoutError:
            raise Http1Timeout(
                f"connect to {self.origin} timed out after {self.connect_timeout:g}s", sent=False
            ) from None
        except OSError as exc:  # refused, unreachable, DNS, TLS (ssl.SSLError is an OSError)
            raise Http1Error(f"connect to {self.origin}: {_describe(exc)}", sent=False) from exc
        self.connections_opened += 1
        return conn

    async def _wait_for_slot(self) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            async with asyncio.timeout(self.pool_timeout):
                await fut
        except BaseException as exc:
            if fut.done() and not fut.cancelled():
                self._release()  # the slot arrived as we gave up: pass it on
            else:
                fut.cancel()
                with suppress(ValueError):
                    self._waiters.remove(fut)
            if isinstance(exc, TimeoutError):
                raise Http1Timeout(
                    f"no free connection to {self.origin} within {self.pool_timeout:g}s",
                    sent=False,
                ) from None
            raise

    def _release(self) -> None:
        waiters = self._waiters
        while waiters:
            fut = waiters.popleft()
            if not fut.done():
                fut.set_result(None)  # the slot goes straight to the next waiter
                return
        self._in_use -= 1
