"""Error tree, `should_retry`, backoff with full jitter, Retry-After parsing, proxy settings."""

from __future__ import annotations

import random

import pytest

from polymarket_bot.protocol.errors import DecodeError
from polymarket_bot.transport.errors import (
    AmbiguousSubmitError,
    ApiError,
    AuthError,
    NetworkError,
    RateLimitedError,
    ServerError,
    TimeoutError_,
    TransportError,
    should_retry,
)
from polymarket_bot.transport.proxy import redact_proxy_url, resolve_proxy
from polymarket_bot.transport.rest import is_definitive_rejection
from polymarket_bot.transport.retry import Backoff, RetryPolicy, parse_retry_after


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (TimeoutError_("read timeout"), True),
        (TimeoutError_("connect timeout", sent=False), True),
        (NetworkError("reset"), True),
        (RateLimitedError(429, "Too Many Requests", retry_after=3.0), True),
        (ServerError(500, "internal"), True),
        (ServerError(503, "Trading is currently disabled"), True),
        (ServerError(425, "Too Early", retry_after=5.0), True),
        (ApiError(400, "Invalid token id"), False),
        (ApiError(404, "No orderbook exists for the requested token id"), False),
        (AuthError(401, "Unauthorized/Invalid api key"), False),
        (AmbiguousSubmitError("x", cause=TimeoutError_("t")), False),
        (DecodeError("bad body"), False),
        (TransportError("generic"), False),
        (ValueError("bug"), False),
    ],
)
def test_should_retry_matrix(exc: BaseException, expected: bool) -> None:
    assert should_retry(exc) is expected


def test_tree_is_organised_by_reaction() -> None:
    assert issubclass(AuthError, ApiError)
    for cls in (TimeoutError_, NetworkError, RateLimitedError, ServerError, ApiError):
        assert issubclass(cls, TransportError)
    err = ApiError(400, "not enough balance / allowance", endpoint="POST /order", code="x")
    assert (err.status, err.error, err.code, err.endpoint) == (
        400,
        "not enough balance / allowance",
        "x",
        "POST /order",
    )
    assert "POST /order" in str(err) and "400" in str(err)


def test_backoff_is_full_jitter_bounded_and_deterministic() -> None:
    a = Backoff(base=0.5, cap=8.0, rng=random.Random(7))
    b = Backoff(base=0.5, cap=8.0, rng=random.Random(7))
    seq_a = [a.delay(n) for n in range(12)]
    assert seq_a == [b.delay(n) for n in range(12)]
    for n, delay in enumerate(seq_a):
        assert 0.0 <= delay <= min(8.0, 0.5 * 2**n)
    assert a.ceiling(0) == 0.5 and a.ceiling(3) == 4.0 and a.ceiling(4) == 8.0
    assert a.ceiling(10_000) == 8.0  # no overflow
    # Full jitter really spreads: many draws of one attempt cover most of [0, ceiling].
    draws = [a.delay(3) for _ in range(500)]
    assert min(draws) < 0.4 and max(draws) > 3.6


def test_backoff_min_delay_and_validation() -> None:
    b = Backoff(base=1.0, cap=4.0, min_delay=0.5, rng=random.Random(1))
    assert all(0.5 <= b.delay(n) <= 4.0 for n in range(20))
    with pytest.raises(ValueError):
        Backoff(base=-1)
    with pytest.raises(ValueError):
        Backoff(factor=0.5)


def test_retry_policy_counts_attempts_and_caps_retry_after() -> None:
    policy = RetryPolicy(max_attempts=3, max_retry_after=10.0)
    err = ServerError(502, "bad gateway")
    assert policy.should_retry(err, 1) and policy.should_retry(err, 2)
    assert not policy.should_retry(err, 3)
    assert not policy.should_retry(ApiError(400, "bad"), 1)
    assert policy.should_retry(RateLimitedError(429, "slow", retry_after=10.0), 1)
    assert not policy.should_retry(RateLimitedError(429, "slow", retry_after=60.0), 1)
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


def test_parse_retry_after() -> None:
    now = 1_767_225_600.0  # 2026-01-01T00:00:00Z
    assert parse_retry_after("7", now) == 7.0
    assert parse_retry_after(" 1.5 ", now) == 1.5
    assert parse_retry_after("-3", now) == 0.0
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now) == 30.0
    assert parse_retry_after(None, now) is None
    assert parse_retry_after("", now) is None
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("nan", now) is None


def test_definitive_submit_rejections() -> None:
    assert is_definitive_rejection(ServerError(425, "Too Early"))
    assert is_definitive_rejection(ServerError(500, "order timed out"))
    assert is_definitive_rejection(
        ServerError(503, "Trading is currently disabled. Check polymarket.com for updates")
    )
    assert is_definitive_rejection(
        ServerError(503, "post-only mode: only post-only orders and cancels are allowed")
    )
    assert not is_definitive_rejection(ServerError(500, "could not run the execution"))
    assert not is_definitive_rejection(ServerError(502, "<html>Bad Gateway</html>"))
    assert not is_definitive_rejection(ServerError(504, "Gateway Timeout"))


def test_resolve_proxy() -> None:
    assert resolve_proxy(False, "http://proxy:3128") is None
    assert resolve_proxy(True, " http://proxy:3128 ") == "http://proxy:3128"
    assert resolve_proxy(True, "socks5://127.0.0.1:1080") == "socks5://127.0.0.1:1080"
    for bad in ("", "proxy:3128", "ftp://proxy:21", "http://:3128", "http://proxy:99999"):
        with pytest.raises(ValueError):
            resolve_proxy(True, bad)
    with pytest.raises(ValueError) as info:
        resolve_proxy(True, "ftp://user:hunter2@proxy:21")
    assert "hunter2" not in str(info.value)
    assert redact_proxy_url("http://user:pw@proxy:3128") == "http://***@proxy:3128"
    assert redact_proxy_url("http://proxy:3128") == "http://proxy:3128"
