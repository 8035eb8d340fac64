"""Shared HTTP machinery of the REST clients: one HTTP exchange -> error tree, limiter, retry,
per-endpoint counters.

Two engines carry the bytes: httpx (the default; the only one with proxy support) and the lean
`http1.Http1Client` (`engine="http1"`, the trading path: ~20x less client work before the
request is on the socket, `bench/http_client.py`). With a proxy configured, `engine="http1"`
falls back to httpx. Both give the same responses (`HttpResponse`) and the same errors.
With http1, a request sent again and again with only a few header values changing (the order
submits) can be prepared once (`template`) and sent with `send_prepared`.
Endpoint-specific code (paths, bodies, decoding) lives in `rest.py` (CLOB) and `gamma.py`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import quote, urlencode, urlsplit

import httpx
import msgspec

from polymarket_bot.core.clock import Clock, LiveClock
from polymarket_bot.protocol.wire_rest import ErrorResponse
from polymarket_bot.transport.errors import (
    ApiError,
    AuthError,
    HttpStatusError,
    NetworkError,
    RateLimitedError,
    ServerError,
    TimeoutError_,
    TransportError,
)
from polymarket_bot.transport.http1 import Http1Client, Http1Error, Http1Timeout, RequestTemplate
from polymarket_bot.transport.ratelimit import RestLimiter, Sleep
from polymarket_bot.transport.retry import RetryPolicy, parse_retry_after

__all__ = [
    "DEFAULT_USER_AGENT",
    "EndpointStats",
    "HttpCore",
    "HttpEngine",
    "HttpResponse",
    "QueryParams",
    "error_kind",
]

DEFAULT_USER_AGENT = "polymarket-bot"
_BODY_SNIPPET = 500
_ERROR_DECODER = msgspec.json.Decoder(ErrorResponse)

QueryParams = Sequence[tuple[str, str | int | float | bool | None]]
"""Query as ordered pairs (repeatable keys allowed); pairs whose value is None are dropped."""
HttpEngine = Literal["httpx", "http1"]
_HTTP1_MAX_CONNECTIONS = 32
# Characters httpx leaves unescaped in a path: anything else is percent-encoded the same way.
_PATH_SAFE = "/!$&'()*+,;=:@%-._~?"
_PLAIN_PATH = re.compile(r"[A-Za-z0-9/!$&'()*+,;=:@\-._~?]*")
"""A path with nothing to escape (the usual case; `%` is not in it: quote() judges those)."""


class ResponseHeaders(Protocol):
    def get(self, key: str, default: None = None) -> str | None: ...


class HttpResponse(Protocol):
    """What callers read from a response (httpx.Response and http1.Http1Response both fit)."""

    @property
    def status_code(self) -> int: ...

    @property
    def reason_phrase(self) -> str: ...

    @property
    def content(self) -> bytes: ...

    @property
    def headers(self) -> ResponseHeaders: ...


def error_kind(exc: BaseException) -> str:
    """Counter bucket of an error: timeout, network, rate_limited, server, auth, api, other."""
    if isinstance(exc, TimeoutError_):
        return "timeout"
    if isinstance(exc, NetworkError):
        return "network"
    if isinstance(exc, RateLimitedError):
        return "rate_limited"
    if isinstance(exc, ServerError):
        return "server"
    if isinstance(exc, AuthError):
        return "auth"
    if isinstance(exc, ApiError):
        return "api"
    return "other"


@dataclass(slots=True)
class EndpointStats:
    requests: int = 0
    """HTTP attempts (retries included)."""
    successes: int = 0
    retries: int = 0
    rate_limited: int = 0
    """429 answers."""
    ambiguous: int = 0
    """Submits whose outcome is unknown (also counted under their cause's kind)."""
    errors: dict[str, int] = field(default_factory=dict)
    latency_last_ms: float = 0.0
    latency_max_ms: float = 0.0
    latency_total_ms: float = 0.0
    latency_samples: int = 0

    def observe_latency(self, seconds: float) -> None:
        ms = seconds * 1000.0
        self.latency_last_ms = ms
        self.latency_max_ms = max(self.latency_max_ms, ms)
        self.latency_total_ms += ms
        self.latency_samples += 1

    def count_error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        avg = self.latency_total_ms / self.latency_samples if self.latency_samples else 0.0
        return {
            "requests": self.requests,
            "successes": self.successes,
            "errors": sum(self.errors.values()),
            "errors_by_kind": dict(self.errors),
            "retries": self.retries,
            "rate_limited": self.rate_limited,
            "ambiguous": self.ambiguous,
            "latency_last_ms": round(self.latency_last_ms, 3),
            "latency_avg_ms": round(avg, 3),
            "latency_max_ms": round(self.latency_max_ms, 3),
        }


def _clean_query(params: QueryParams | None) -> tuple[tuple[str, str], ...]:
    if not params:
        return ()
    out: list[tuple[str, str]] = []
    for key, value in params:
        if value is None:
            continue
        if isinstance(value, bool):
            out.append((key, "true" if value else "false"))
        else:
            out.append((key, str(value)))
    return tuple(out)


class HttpCore:
    """One base URL, one HTTP client, one limiter, one retry policy, per-endpoint stats.

    `engine="http1"` uses the lean `Http1Client` (keep-alive pool of up to 32 connections,
    connect/read/pool timeouts = `timeout`) instead of httpx, unless `proxy` is set (http1 has
    no proxy support: httpx then carries the requests; `self.engine` says which one runs).
    `http=` (an httpx client to use) only goes with the httpx engine.
    """

    def __init__(
        self,
        base_url: str,
        *,
        http: httpx.AsyncClient | None = None,
        limiter: RestLimiter | None = None,
        timeout: float = 10.0,
        proxy: str | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep | None = None,
        user_agent: str = DEFAULT_USER_AGENT,
        engine: HttpEngine = "httpx",
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url must be an absolute http(s) URL, got {base_url!r}")
        if engine not in ("httpx", "http1"):
            raise ValueError(f"engine must be 'httpx' or 'http1', got {engine!r}")
        if engine == "http1" and http is not None:
            raise ValueError("http= is an httpx client: it needs engine='httpx'")
        self.base_url = base_url.rstrip("/")
        self.path_prefix = parts.path.rstrip("/")
        """Path part of the base URL; part of what the server sees (and what L2 signs)."""
        self.clock = clock or LiveClock()
        self.limiter = limiter or RestLimiter(clock=self.clock, sleep=sleep)
        self.retry = retry or RetryPolicy()
        self._sleep: Sleep = sleep or asyncio.sleep
        self._timeout = httpx.Timeout(timeout)
        self.engine: HttpEngine = "http1" if engine == "http1" and not proxy else "httpx"
        self._h1: Http1Client | None = None
        self._http: httpx.AsyncClient | None = None
        self._owns_http = http is None
        default_headers = {"User-Agent": user_agent, "Accept": "*/*"}
        if self.engine == "http1":
            self._h1 = Http1Client(
                f"{parts.scheme}://{parts.netloc}",
                connect_timeout=timeout,
                read_timeout=timeout,
                pool_timeout=timeout,
                max_connections=_HTTP1_MAX_CONNECTIONS,
                # As httpx sends them (minus br/zstd); http1 decodes gzip and deflate.
                headers={**default_headers, "Accept-Encoding": "gzip, deflate"},
            )
        else:
            self._http = http or httpx.AsyncClient(
                timeout=self._timeout,
                proxy=proxy or None,
                # The proxy comes from PROXY_ENABLED/PROXY_URL only, never from ambient variables.
                trust_env=False,
                headers=default_headers,
            )
        self._stats: dict[str, EndpointStats] = {}
        self.last_activity: float | None = None
        """Monotonic time the last exchange ended (answered or failed); None before the first."""

    async def aclose(self) -> None:
        if self._h1 is not None:
            await self._h1.aclose()
        if self._http is not None and self._owns_http:
            await self._http.aclose()

    def signed_path(self, path: str) -> str:
        """The request path as the server receives it (no query): what L2 HMAC signs."""
        return self.path_prefix + path

    def endpoint_stats(self, endpoint: str) -> EndpointStats:
        stats = self._stats.get(endpoint)
        if stats is None:
            stats = self._stats[endpoint] = EndpointStats()
        return stats

    def stats(self) -> dict[str, dict[str, Any]]:
        """`{"GET /book": {requests, successes, errors, errors_by_kind, retries, rate_limited,
        latency_last_ms, latency_avg_ms, latency_max_ms}, ...}` (a fresh copy)."""
        return {name: s.as_dict() for name, s in sorted(self._stats.items())}

    async def request(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        params: QueryParams | None = None,
        body: str | None = None,
        headers: Callable[[], Mapping[str, str]] | None = None,
        idempotent: bool,
        on_sent: Callable[[], object] | None = None,
    ) -> HttpResponse:
        """One logical call: returns the 2xx response or raises the error tree.

        `body` is sent as these exact UTF-8 bytes (`Content-Type: application/json`). `headers` is
        called once per attempt (fresh L2 timestamps). Idempotent calls are retried per the
        policy; a 429/425 also cools the shared limiter down (honouring Retry-After).
        `on_sent` (only for calls that are not retried) is called once the request is on its
        way: with http1 right after its bytes are handed to the socket, before anything else
        runs; with httpx (which does not say) just before it is sent. Not at all when the
        request certainly never left (e.g. the connection could not be opened).
        """
        if on_sent is not None and idempotent:
            raise ValueError("on_sent is for calls that are sent once (idempotent=False)")
        stats = self.endpoint_stats(endpoint)
        query = _clean_query(params)
        if self._h1 is not None:
            url = _target(self.path_prefix + path, query)
        else:
            url = self.base_url + path
        content = body.encode("utf-8") if body is not None else None
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._attempt(
                    method, url, query, content, headers, endpoint, stats, on_sent
                )
            except TransportError as exc:
                stats.count_error(error_kind(exc))
                delay = self._after_failure(exc, attempt)
                if not idempotent or not self.retry.should_retry(exc, attempt):
                    raise
                stats.retries += 1
                if delay > 0:
                    await self._sleep(delay)

    def template(
        self, method: str, path: str, headers: Sequence[tuple[str, str | None]]
    ) -> RequestTemplate | None:
        """What `request(method, path, headers=...)` (no query) sends, prepared once for
        `send_prepared`: the headers whose value is None are filled per request. None with the
        httpx engine. Raises http1's InvalidRequest for a request that could not be sent."""
        h1 = self._h1
        if h1 is None:
            return None
        merged: dict[str, str | None] = {"Content-Type": "application/json"}
        merged.update(headers)  # as `_attempt` merges them: a same-named header replaces in place
        return h1.template(method, _target(self.path_prefix + path, ()), list(merged.items()))

    async def send_prepared(
        self,
        template: RequestTemplate,
        values: Callable[[bytes], Sequence[bytes]],
        body: bytes | None,
        *,
        endpoint: str,
        on_sent: Callable[[], object] | None = None,
    ) -> HttpResponse:
        """`request(..., idempotent=False)` of a request prepared by `template` (http1): one
        attempt, the same limiter slot, counters, cool-downs, errors and `on_sent`, less work
        before the write. `values(body)` gives the template's open header values; it is called
        once the limiter slot is held (fresh L2 timestamps)."""
        h1 = self._h1
        if h1 is None:
            raise ValueError("send_prepared needs the http1 engine")
        stats = self._stats.get(endpoint)
        if stats is None:
            stats = self._stats[endpoint] = EndpointStats()
        limiter = self.limiter
        try:
            if not limiter.try_acquire():
                await limiter.acquire()
            try:
                filled = values(body or b"")
                stats.requests += 1
                clock = self.clock
                started = clock.monotonic()
                try:
                    response: HttpResponse = await h1.send(
                        template.render(filled, body),
                        head_request=template.head_request,
                        on_sent=on_sent,
                    )
                except Http1Error as exc:
                    raise _from_http1(exc, endpoint) from exc
                finally:
                    self.last_activity = now = clock.monotonic()
                    stats.observe_latency(now - started)
            finally:
                limiter.release()
            return self._checked(response, stats, endpoint)
        except TransportError as exc:
            stats.count_error(error_kind(exc))
            self._after_failure(exc, 1)  # the cool-down of a 429/425; never retried here
            raise

    def _after_failure(self, exc: TransportError, attempt: int) -> float:
        """Apply the cool-down a failure calls for; return the local sleep before a retry.

        Only 429 and 425 (engine restart) cool *every* request down: they are venue-wide. A
        Retry-After on another 5xx (post-only mode, trading disabled) concerns new orders, not
        cancels or reads, so it only delays this call's own retry.
        """
        backoff = self.retry.backoff.delay(attempt - 1)
        retry_after = exc.retry_after if isinstance(exc, HttpStatusError) else None
        venue_wide = isinstance(exc, RateLimitedError) or (
            isinstance(exc, ServerError) and exc.status == 425
        )
        if venue_wide:
            # Capped: an hour-long Retry-After must not freeze cancels for an hour; after the
            # cap the next request asks again (and a fresh 429 cools down again).
            wait = retry_after if retry_after is not None else backoff
            self.limiter.cool_down(min(wait, self.retry.max_retry_after))
            return 0.0  # the limiter makes this retry (and everyone else) wait
        if retry_after is not None:
            return max(retry_after, backoff)
        return backoff

    async def _attempt(
        self,
        method: str,
        url: str,
        query: tuple[tuple[str, str], ...],
        content: bytes | None,
        headers: Callable[[], Mapping[str, str]] | None,
        endpoint: str,
        stats: EndpointStats,
        on_sent: Callable[[], object] | None = None,
    ) -> HttpResponse:
        """One exchange. `url` is the full URL (httpx) or the request target (http1)."""
        limiter = self.limiter
        if not limiter.try_acquire():  # `limiter.slot()` without the context manager's cost
            await limiter.acquire()
        try:
            request_headers = {"Content-Type": "application/json"}
            if headers is not None:
                request_headers.update(headers())
            stats.requests += 1
            started = self.clock.monotonic()
            try:
                h1 = self._h1
                if h1 is not None:
                    response: HttpResponse = await h1.send(
                        h1.encode_request(method, url, request_headers, content),
                        head_request=method == "HEAD",
                        on_sent=on_sent,
                    )
                else:
                    if on_sent is not None:
                        on_sent()
                    response = await self._httpx(method, url, query, content, request_headers)
            except Http1Error as exc:
                raise _from_http1(exc, endpoint) from exc
            except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                raise TimeoutError_(_describe(exc), endpoint=endpoint, sent=False) from exc
            except httpx.TimeoutException as exc:
                raise TimeoutError_(_describe(exc), endpoint=endpoint) from exc
            except (httpx.ConnectError, httpx.ProxyError) as exc:
                raise NetworkError(_describe(exc), endpoint=endpoint, sent=False) from exc
            except httpx.TransportError as exc:
                raise NetworkError(_describe(exc), endpoint=endpoint) from exc
            finally:
                self.last_activity = now = self.clock.monotonic()
                stats.observe_latency(now - started)
        finally:
            limiter.release()
        return self._checked(response, stats, endpoint)

    def _checked(self, response: HttpResponse, stats: EndpointStats, endpoint: str) -> HttpResponse:
        """A 2xx response, counted; anything else raised as its error (429s counted too)."""
        if 200 <= response.status_code < 300:
            stats.successes += 1
            return response
        if response.status_code == 429:
            stats.rate_limited += 1
        raise self.status_error(response, endpoint)

    async def _httpx(
        self,
        method: str,
        url: str,
        query: tuple[tuple[str, str], ...],
        content: bytes | None,
        request_headers: dict[str, str],
    ) -> httpx.Response:
        assert self._http is not None
        return await self._http.request(
            method,
            url,
            params=httpx.QueryParams(query) if query else None,
            content=content,
            headers=request_headers,
            timeout=self._timeout,
        )

    def status_error(self, response: HttpResponse, endpoint: str) -> HttpStatusError:
        """Map a non-2xx response to the error tree, reading the venue's `{"error": ...}`."""
        status = response.status_code
        raw = response.content
        text = raw[:_BODY_SNIPPET].decode("utf-8", "replace")
        error, code, body_retry = text.strip() or response.reason_phrase, None, None
        try:
            parsed = _ERROR_DECODER.decode(raw)
        except (msgspec.MsgspecError, RecursionError, UnicodeError):
            parsed = None
        if parsed is not None:
            error, code = parsed.error, parsed.code
            if parsed.retry_after_seconds is not None:
                body_retry = max(0.0, float(parsed.retry_after_seconds))
        retry_after = parse_retry_after(response.headers.get("Retry-After"), self.clock.time())
        if retry_after is None:
            retry_after = body_retry
        kwargs: dict[str, Any] = {
            "endpoint": endpoint,
            "code": code,
            "body": text,
            "retry_after": retry_after,
        }
        if status == 429:
            return RateLimitedError(status, error, **kwargs)
        if status >= 500 or status == 425:
            return ServerError(status, error, **kwargs)
        if status == 401:
            return AuthError(status, error, **kwargs)
        return ApiError(status, error, **kwargs)


def _target(path: str, query: tuple[tuple[str, str], ...]) -> str:
    """The request target http1 sends: the path escaped and the query encoded as httpx does."""
    target = path if _PLAIN_PATH.fullmatch(path) else quote(path, safe=_PATH_SAFE)
    if query:
        target += ("&" if "?" in target else "?") + urlencode(query)
    return target


def _from_http1(exc: Http1Error, endpoint: str) -> TransportError:
    """http1's failure as the error tree's: a timeout or a network error, `sent` kept."""
    kind = TimeoutError_ if isinstance(exc, Http1Timeout) else NetworkError
    return kind(_describe(exc), endpoint=endpoint, sent=exc.sent)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
