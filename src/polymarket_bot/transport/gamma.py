"""Gamma API client (ref §8): market and event discovery, public, no auth.

Offset paging (`/markets`, `/events`: `limit` <= 100, `offset` <= 10000) and keyset paging
(`/markets/keyset`, `/events/keyset`: `after_cursor`, `next_cursor` absent on the last page).
`active`/`closed` are always sent explicitly (the venue's defaults changed in 2026).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import httpx

from polymarket_bot.core.clock import Clock
from polymarket_bot.protocol.codec import decode_rest
from polymarket_bot.protocol.errors import DecodeError
from polymarket_bot.protocol.wire_gamma import (
    GammaEvent,
    GammaEventsPage,
    GammaMarket,
    GammaMarketsPage,
)
from polymarket_bot.transport.errors import ApiError
from polymarket_bot.transport.http import DEFAULT_USER_AGENT, HttpCore, QueryParams
from polymarket_bot.transport.ratelimit import RestLimiter, Sleep
from polymarket_bot.transport.retry import RetryPolicy

__all__ = ["MAX_GAMMA_LIMIT", "MAX_GAMMA_OFFSET", "GammaClient", "GammaFilter"]

T = TypeVar("T")
MAX_GAMMA_LIMIT: Final = 100
"""`limit` above 100 is silently capped by the venue; we refuse it instead."""
MAX_GAMMA_OFFSET: Final = 10_000
"""`offset` above this answers 422: use keyset paging to go further."""
_MAX_CONDITION_IDS: Final = 100


@dataclass(frozen=True, slots=True)
class GammaFilter:
    """Query filters. `None` = not sent; `active`/`closed` default to the tradeable set and are
    sent explicitly. `condition_ids`/`clob_token_ids` apply to markets only; `extra` passes any
    other Gamma parameter through (`liquidity_num_min`, `end_date_max`, ...)."""

    active: bool | None = True
    closed: bool | None = False
    archived: bool | None = None
    ids: Sequence[str] = ()
    slugs: Sequence[str] = ()
    condition_ids: Sequence[str] = ()
    clob_token_ids: Sequence[str] = ()
    tag_id: str | int | None = None
    order: str | None = None
    """Comma list of fields, e.g. `volume24hr`."""
    ascending: bool | None = None
    extra: QueryParams = ()

    def params(self) -> list[tuple[str, Any]]:
        if len(self.condition_ids) > _MAX_CONDITION_IDS:
            raise ValueError(f"at most {_MAX_CONDITION_IDS} condition_ids per request")
        out: list[tuple[str, Any]] = [
            ("active", self.active),
            ("closed", self.closed),
            ("archived", self.archived),
        ]
        out += [("id", v) for v in self.ids]
        out += [("slug", v) for v in self.slugs]
        out += [("condition_ids", v) for v in self.condition_ids]
        out += [("clob_token_ids", v) for v in self.clob_token_ids]
        out += [("tag_id", self.tag_id), ("order", self.order), ("ascending", self.ascending)]
        out += list(self.extra)
        return out


_DEFAULT_FILTER = GammaFilter()


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_GAMMA_LIMIT:
        raise ValueError(f"limit must be 1..{MAX_GAMMA_LIMIT}, got {limit}")


class GammaClient:
    """Async Gamma client; `async with GammaClient(url) as g:` or `aclose()`."""

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
    ) -> None:
        self._core = HttpCore(
            base_url,
            http=http,
            limiter=limiter,
            timeout=timeout,
            proxy=proxy,
            clock=clock,
            retry=retry,
            sleep=sleep,
            user_agent=user_agent,
        )

    async def __aenter__(self) -> GammaClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._core.aclose()

    def stats(self) -> dict[str, dict[str, Any]]:
        return self._core.stats()

    async def _get(
        self, path: str, tp: type[T], *, endpoint: str | None = None, params: QueryParams = ()
    ) -> T:
        endpoint = endpoint or f"GET {path}"
        response = await self._core.request(
            "GET", path, endpoint=endpoint, params=params, idempotent=True
        )
        try:
            return decode_rest(response.content, tp)
        except DecodeError:
            self._core.endpoint_stats(endpoint).count_error("decode")
            raise

    async def _get_optional(self, path: str, tp: type[T], endpoint: str) -> T | None:
        try:
            return await self._get(path, tp, endpoint=endpoint)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    # --- markets --------------------------------------------------------------------------

    async def list_markets(
        self, filters: GammaFilter = _DEFAULT_FILTER, *, limit: int = 100, offset: int = 0
    ) -> list[GammaMarket]:
        """One page of `GET /markets` (offset paging)."""
        _check_limit(limit)
        params = [*filters.params(), ("limit", limit), ("offset", offset)]
        return await self._get("/markets", list[GammaMarket], params=params)

    async def iter_markets(
        self, filters: GammaFilter = _DEFAULT_FILTER, *, page_size: int = 100
    ) -> AsyncIterator[list[GammaMarket]]:
        """Offset pages until a short page or the venue's offset ceiling (10 000)."""
        _check_limit(page_size)
        offset = 0
        while offset <= MAX_GAMMA_OFFSET:
            page = await self.list_markets(filters, limit=page_size, offset=offset)
            if page:
                yield page
            if len(page) < page_size:
                return
            offset += page_size

    async def list_markets_keyset(
        self,
        filters: GammaFilter = _DEFAULT_FILTER,
        *,
        limit: int = 100,
        after_cursor: str | None = None,
    ) -> GammaMarketsPage:
        """One page of `GET /markets/keyset`; pass the page's `next_cursor` as `after_cursor`."""
        _check_limit(limit)
        params = [*filters.params(), ("limit", limit), ("after_cursor", after_cursor)]
        return await self._get("/markets/keyset", GammaMarketsPage, params=params)

    async def iter_markets_keyset(
        self,
        filters: GammaFilter = _DEFAULT_FILTER,
        *,
        page_size: int = 100,
        max_pages: int | None = None,
    ) -> AsyncIterator[GammaMarketsPage]:
        cursor: str | None = None
        seen: set[str] = set()
        pages = 0
        while True:
            page = await self.list_markets_keyset(filters, limit=page_size, after_cursor=cursor)
            pages += 1
            yield page
            cursor = page.next_cursor
            if not cursor or (max_pages is not None and pages >= max_pages):
                return
            if cursor in seen:
                raise DecodeError(f"keyset cursor {cursor!r} repeats")
            seen.add(cursor)

    async def get_all_markets(
        self, filters: GammaFilter = _DEFAULT_FILTER, *, max_pages: int | None = None
    ) -> list[GammaMarket]:
        """Every market matching `filters`, by keyset paging."""
        out: list[GammaMarket] = []
        async for page in self.iter_markets_keyset(filters, max_pages=max_pages):
            out.extend(page.markets)
        return out

    async def get_market(self, market_id: str | int) -> GammaMarket | None:
        """`GET /markets/{id}` (numeric Gamma id); None on 404."""
        return await self._get_optional(f"/markets/{market_id}", GammaMarket, "GET /markets/{id}")

    async def get_market_by_slug(self, slug: str) -> GammaMarket | None:
        return await self._get_optional(
            f"/markets/slug/{slug}", GammaMarket, "GET /markets/slug/{slug}"
        )

    # --- events ---------------------------------------------------------------------------

    async def list_events(
        self, filters: GammaFilter = _DEFAULT_FILTER, *, limit: int = 100, offset: int = 0
    ) -> list[GammaEvent]:
        """One page of `GET /events` (events embed their markets)."""
        _check_limit(limit)
        params = [*filters.params(), ("limit", limit), ("offset", offset)]
        return await self._get("/events", list[GammaEvent], params=params)

    async def list_events_keyset(
        self,
        filters: GammaFilter = _DEFAULT_FILTER,
        *,
        limit: int = 100,
        after_cursor: str | None = None,
    ) -> GammaEventsPage:
        _check_limit(limit)
        params = [*filters.params(), ("limit", limit), ("after_cursor", after_cursor)]
        return await self._get("/events/keyset", GammaEventsPage, params=params)

    async def get_event(self, event_id: str | int) -> GammaEvent | None:
        return await self._get_optional(f"/events/{event_id}", GammaEvent, "GET /events/{id}")

    async def get_event_by_slug(self, slug: str) -> GammaEvent | None:
        return await self._get_optional(
            f"/events/slug/{slug}", GammaEvent, "GET /events/slug/{slug}"
        )
