"""Transport error tree, organised by who reacts.

    TransportError
     ├── TimeoutError_            no answer in time              -> retry (idempotent calls)
     ├── NetworkError             connect/read/protocol failure  -> retry (idempotent calls)
     ├── HttpStatusError          the server answered non-2xx (status, venue `error` text)
     │    ├── RateLimitedError    429                            -> global cool-down, retry
     │    ├── ServerError         5xx, and 425 (engine restart)  -> retry after Retry-After
     │    └── ApiError            4xx business error             -> the caller; never retried
     │         └── AuthError      401                            -> operator (credentials)
     └── AmbiguousSubmitError     a submit may or may not have reached the book -> the engine
                                  reconciles (open orders / user WS); never blindly resubmitted

`should_retry(exc)` is the single pure policy the REST clients apply to idempotent calls.
"""

from __future__ import annotations

from polymarket_bot.core.errors import PolymarketBotError

__all__ = [
    "AmbiguousSubmitError",
    "ApiError",
    "AuthError",
    "HttpStatusError",
    "NetworkError",
    "RateLimitedError",
    "ServerError",
    "TimeoutError_",
    "TransportError",
    "should_retry",
]


class TransportError(PolymarketBotError):
    """Base of every error the transport layer raises on purpose.

    `endpoint` is the request's template (`"GET /book"`), `None` for WebSocket errors.
    """

    def __init__(self, message: str, *, endpoint: str | None = None) -> None:
        super().__init__(f"{endpoint}: {message}" if endpoint else message)
        self.endpoint = endpoint


class TimeoutError_(TransportError):  # trailing underscore: not the builtin TimeoutError
    """No response in time. `sent` is False when the request never left (connect/pool timeout)."""

    def __init__(self, message: str, *, endpoint: str | None = None, sent: bool = True) -> None:
        super().__init__(message, endpoint=endpoint)
        self.sent = sent


class NetworkError(TransportError):
    """Connection refused/reset, TLS or HTTP protocol failure. `sent` is False when the request
    certainly did not reach the server (the connection was never established)."""

    def __init__(self, message: str, *, endpoint: str | None = None, sent: bool = True) -> None:
        super().__init__(message, endpoint=endpoint)
        self.sent = sent


class HttpStatusError(TransportError):
    """The server answered with a non-2xx status.

    `error` is the venue's `{"error": ...}` text (or a snippet of a non-JSON body), `code` its
    optional machine code (`post_only_mode`), `body` the raw response text (bounded).
    """

    def __init__(
        self,
        status: int,
        error: str,
        *,
        endpoint: str | None = None,
        code: str | None = None,
        body: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"HTTP {status}: {error}", endpoint=endpoint)
        self.status = status
        self.error = error
        self.code = code
        self.body = body
        self.retry_after = retry_after
        """Seconds to wait (Retry-After header or `retry_after_seconds`), if the server said."""


class RateLimitedError(HttpStatusError):
    """429: over the venue's (Cloudflare's) rate limit; every request should cool down."""


class ServerError(HttpStatusError):
    """5xx, or 425 Too Early (matching engine restarting; honour Retry-After)."""


class ApiError(HttpStatusError):
    """4xx business error (`Invalid token id`, `not enough balance / allowance`, ...)."""


class AuthError(ApiError):
    """401: missing/invalid L1 or L2 credentials."""


class AmbiguousSubmitError(TransportError):
    """`POST /order(s)` failed in a way that leaves the outcome unknown (timeout after sending,
    connection lost mid-request, a gateway 5xx, an unreadable 200). The order may be live: the
    engine must reconcile by order id (known before posting) instead of resubmitting."""

    def __init__(self, message: str, *, endpoint: str | None = None, cause: Exception) -> None:
        super().__init__(message, endpoint=endpoint)
        self.cause = cause


def should_retry(exc: BaseException) -> bool:
    """True for transient failures of an idempotent call: timeout, network error, 429, 5xx, 425.
    False for 4xx business/auth errors, ambiguous submits and anything that is not a
    TransportError (a decode error or a bug does not get better by asking again)."""
    if isinstance(exc, AmbiguousSubmitError):
        return False
    return isinstance(exc, (TimeoutError_, NetworkError, RateLimitedError, ServerError))
