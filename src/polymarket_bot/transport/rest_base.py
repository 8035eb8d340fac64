"""CLOB REST client, first half: plumbing (signing, decoding, pagination), public reads (L0) and
API-key management (L1). The trading and account calls (L2) are in `rest.py`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import httpx

from polymarket_bot.core.clock import Clock
from polymarket_bot.core.types import Side
from polymarket_bot.protocol.auth import (
    POLY_SIGNATURE,
    POLY_TIMESTAMP,
    ApiCreds,
    build_l1_headers,
    build_l2_headers,
    l2_signer,
)
from polymarket_bot.protocol.auth import AuthError as AuthHeaderError
from polymarket_bot.protocol.codec import decode_rest, decode_server_time
from polymarket_bot.protocol.eip712 import PrivateKeySigner
from polymarket_bot.protocol.errors import DecodeError
from polymarket_bot.protocol.wire_rest import (
    INITIAL_CURSOR,
    ClobMarketInfo,
    CursorPage,
    FeeRateResponse,
    LastTradePriceResponse,
    LastTradesPricesItem,
    Market,
    MarketByToken,
    MidpointResponse,
    MidpointsResponse,
    NegRiskResponse,
    OrderBookSummary,
    PriceResponse,
    PricesResponse,
    SimplifiedMarket,
    SpreadResponse,
    SpreadsResponse,
    TickSizeResponse,
    VersionResponse,
)
from polymarket_bot.protocol.wire_rest import ApiCreds as WireApiCreds
from polymarket_bot.transport.errors import ApiError, AuthError
from polymarket_bot.transport.http import DEFAULT_USER_AGENT, HttpCore, HttpEngine, QueryParams
from polymarket_bot.transport.http1 import InvalidRequest, RequestTemplate
from polymarket_bot.transport.ratelimit import RestLimiter, Sleep
from polymarket_bot.transport.retry import RetryPolicy

__all__ = ["ClobRestBase", "compact_json"]

T = TypeVar("T")


def compact_json(obj: object) -> str:
    """Compact JSON exactly as the SDKs send (and sign) it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


_L2_SLOTS = (POLY_SIGNATURE, POLY_TIMESTAMP)
"""The L2 headers that change with every request (in `build_l2_headers` order)."""


class _PreparedL2:
    """An L2-signed request (method and path) of one identity, serialized once for
    `HttpCore.send_prepared`: every header is fixed but POLY_SIGNATURE and POLY_TIMESTAMP,
    which `values(body)` computes at send time (`build_l2_headers`' values, as bytes)."""

    __slots__ = ("_now_s", "_sign", "address", "creds", "template")

    def __init__(
        self,
        creds: ApiCreds,
        address: str,
        template: RequestTemplate,
        sign: Callable[[bytes, bytes], bytes],
        now_s: Callable[[], int],
    ) -> None:
        self.creds = creds
        self.address = address
        self.template = template
        self._sign = sign
        self._now_s = now_s

    def values(self, body: bytes) -> tuple[bytes, bytes]:
        timestamp = str(self._now_s()).encode()
        return self._sign(timestamp, body), timestamp


class ClobRestBase:
    """Plumbing, public reads and L1 of `ClobRestClient` (use that class).

    `creds`/`address` enable L2 calls (`address` = the signing key's address, never the funder);
    `signature_type` is the wallet type sent with balance queries. `proxy` is the PROXY_URL when
    PROXY_ENABLED. `limiter` is usually shared by every REST client of the process. `engine`
    picks the HTTP client: "httpx" (default) or "http1" (the lean one of the trading path; falls
    back to httpx when `proxy` is set, see `HttpCore`).
    """

    def __init__(
        self,
        base_url: str,
        *,
        creds: ApiCreds | None = None,
        address: str | None = None,
        http: httpx.AsyncClient | None = None,
        limiter: RestLimiter | None = None,
        timeout: float = 10.0,
        proxy: str | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep | None = None,
        chain_id: int = 137,
        signature_type: int = 0,
        user_agent: str = DEFAULT_USER_AGENT,
        engine: HttpEngine = "httpx",
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
            engine=engine,
        )
        self.creds = creds
        self.address = address
        self.chain_id = chain_id
        self.signature_type = signature_type
        self.time_offset_s = 0
        """Added to the local clock for POLY_TIMESTAMP (see `sync_server_time`)."""
        self._prepared: dict[str, _PreparedL2] = {}
        """Endpoint -> its prepared L2 request (http1 only), for the current creds/address."""

    async def aclose(self) -> None:
        await self._core.aclose()

    @property
    def limiter(self) -> RestLimiter:
        return self._core.limiter

    def idle_seconds(self) -> float | None:
        """Seconds since the last exchange ended (None before the first)."""
        last = self._core.last_activity
        return None if last is None else self._core.clock.monotonic() - last

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per-endpoint counters: requests, successes, errors (+ by kind), retries, rate_limited,
        latency last/avg/max in ms."""
        return self._core.stats()

    def set_credentials(self, creds: ApiCreds, address: str) -> None:
        self.creds, self.address = creds, address

    # --- plumbing -------------------------------------------------------------------------

    def _now_s(self) -> int:
        return int(self._core.clock.time()) + self.time_offset_s

    def _l2(self, method: str, path: str, body: str | None) -> Callable[[], Mapping[str, str]]:
        creds, address = self.creds, self.address
        if creds is None or address is None:
            raise AuthError(401, "L2 call without API credentials", endpoint=f"{method} {path}")
        signed_path = self._core.signed_path(path)
        return lambda: build_l2_headers(creds, address, method, signed_path, body, self._now_s())

    def _prepared_l2(self, endpoint: str, method: str, path: str) -> _PreparedL2 | None:
        """The request `_l2(method, path, body)` headers would make, prepared once per
        identity (`HttpCore.template`); None with httpx, without credentials, or when those
        headers cannot be built or sent (the generic path then fails as it always did)."""
        creds, address = self.creds, self.address
        prepared = self._prepared.get(endpoint)
        if prepared is not None and prepared.creds is creds and prepared.address is address:
            return prepared
        if creds is None or address is None or self._core.engine != "http1":
            return None
        signed_path = self._core.signed_path(path)
        try:
            # The headers exactly as `build_l2_headers` orders them; the per-request ones open.
            headers = build_l2_headers(creds, address, method, signed_path, None, 0)
            slots = [name for name in headers if name in _L2_SLOTS]
            template = self._core.template(
                method, path, [(k, None if k in _L2_SLOTS else v) for k, v in headers.items()]
            )
            sign = l2_signer(creds.secret, method, signed_path)
        except (AuthHeaderError, InvalidRequest):
            return None
        if template is None or tuple(slots) != _L2_SLOTS:
            return None
        prepared = self._prepared[endpoint] = _PreparedL2(
            creds, address, template, sign, self._now_s
        )
        return prepared

    async def _call(
        self,
        method: str,
        path: str,
        tp: type[T],
        *,
        endpoint: str | None = None,
        params: QueryParams | None = None,
        body: str | None = None,
        l2: bool = False,
        idempotent: bool = True,
    ) -> T:
        endpoint = endpoint or f"{method} {path}"
        headers = self._l2(method, path, body) if l2 else None
        response = await self._core.request(
            method,
            path,
            endpoint=endpoint,
            params=params,
            body=body,
            headers=headers,
            idempotent=idempotent,
        )
        return self._decode(response.content, tp, endpoint)

    def _decode(self, content: bytes, tp: type[T], endpoint: str) -> T:
        try:
            return decode_rest(content, tp)
        except DecodeError:
            self._core.endpoint_stats(endpoint).count_error("decode")
            raise

    async def _pages(
        self, fetch: Callable[[str], Awaitable[CursorPage[T]]], start: str, max_pages: int | None
    ) -> AsyncIterator[CursorPage[T]]:
        """Walk `next_cursor` from `start` until `LTE=`; a repeated or empty cursor is a venue
        bug (it would loop forever) and raises DecodeError."""
        cursor, seen, pages = start, {start}, 0
        while True:
            page = await fetch(cursor)
            pages += 1
            yield page
            if page.is_last or (max_pages is not None and pages >= max_pages):
                return
            cursor = page.next_cursor or ""
            if not cursor or cursor in seen:
                raise DecodeError(f"pagination cursor {cursor!r} would loop")
            seen.add(cursor)

    async def _collect(
        self, fetch: Callable[[str], Awaitable[CursorPage[T]]], start: str, max_pages: int | None
    ) -> list[T]:
        out: list[T] = []
        async for page in self._pages(fetch, start, max_pages):
            out.extend(page.data)
        return out

    # --- public reads (L0) ----------------------------------------------------------------

    async def get_server_time(self) -> int:
        response = await self._core.request("GET", "/time", endpoint="GET /time", idempotent=True)
        return decode_server_time(response.content)

    async def sync_server_time(self) -> int:
        """Set `time_offset_s` so POLY_TIMESTAMP follows the venue clock; returns the offset."""
        self.time_offset_s = 0
        self.time_offset_s = await self.get_server_time() - self._now_s()
        return self.time_offset_s

    async def get_version(self) -> int:
        return (await self._call("GET", "/version", VersionResponse)).version

    async def get_markets(self, next_cursor: str = INITIAL_CURSOR) -> CursorPage[Market]:
        return await self._call(
            "GET", "/markets", CursorPage[Market], params=[("next_cursor", next_cursor)]
        )

    def iter_market_pages(
        self, *, start: str = INITIAL_CURSOR, max_pages: int | None = None
    ) -> AsyncIterator[CursorPage[Market]]:
        return self._pages(self.get_markets, start, max_pages)

    async def get_all_markets(self, *, max_pages: int | None = None) -> list[Market]:
        return await self._collect(self.get_markets, INITIAL_CURSOR, max_pages)

    async def get_simplified_markets(
        self, next_cursor: str = INITIAL_CURSOR
    ) -> CursorPage[SimplifiedMarket]:
        return await self._call(
            "GET",
            "/simplified-markets",
            CursorPage[SimplifiedMarket],
            params=[("next_cursor", next_cursor)],
        )

    async def get_market(self, condition_id: str) -> Market:
        path = f"/markets/{condition_id}"
        return await self._call("GET", path, Market, endpoint="GET /markets/{condition_id}")

    async def get_clob_market_info(self, condition_id: str) -> ClobMarketInfo:
        path = f"/clob-markets/{condition_id}"
        return await self._call(
            "GET", path, ClobMarketInfo, endpoint="GET /clob-markets/{condition_id}"
        )

    async def get_market_by_token(self, token_id: str) -> MarketByToken:
        path = f"/markets-by-token/{token_id}"
        return await self._call("GET", path, MarketByToken, endpoint="GET /markets-by-token/{id}")

    async def get_book(self, token_id: str) -> OrderBookSummary:
        return await self._call("GET", "/book", OrderBookSummary, params=[("token_id", token_id)])

    async def get_books(self, token_ids: Sequence[str]) -> list[OrderBookSummary]:
        """`POST /books` (read-only, so retried like a GET)."""
        if not token_ids:
            return []
        body = compact_json([{"token_id": t} for t in token_ids])
        return await self._call("POST", "/books", list[OrderBookSummary], body=body)

    async def get_price(self, token_id: str, side: Side) -> PriceResponse:
        """BUY returns the best bid, SELL the best ask (venue semantics)."""
        params = [("token_id", token_id), ("side", Side(side).value)]
        return await self._call("GET", "/price", PriceResponse, params=params)

    async def get_prices(self, requests: Sequence[tuple[str, Side]]) -> PricesResponse:
        if not requests:
            return {}
        body = compact_json([{"token_id": t, "side": Side(s).value} for t, s in requests])
        return await self._call("POST", "/prices", PricesResponse, body=body)

    async def get_midpoint(self, token_id: str) -> MidpointResponse:
        return await self._call(
            "GET", "/midpoint", MidpointResponse, params=[("token_id", token_id)]
        )

    async def get_midpoints(self, token_ids: Sequence[str]) -> MidpointsResponse:
        if not token_ids:
            return {}
        body = compact_json([{"token_id": t} for t in token_ids])
        return await self._call("POST", "/midpoints", MidpointsResponse, body=body)

    async def get_spread(self, token_id: str) -> SpreadResponse:
        return await self._call("GET", "/spread", SpreadResponse, params=[("token_id", token_id)])

    async def get_spreads(self, token_ids: Sequence[str]) -> SpreadsResponse:
        if not token_ids:
            return {}
        body = compact_json([{"token_id": t} for t in token_ids])
        return await self._call("POST", "/spreads", SpreadsResponse, body=body)

    async def get_tick_size(self, token_id: str) -> TickSizeResponse:
        params = [("token_id", token_id)]
        return await self._call("GET", "/tick-size", TickSizeResponse, params=params)

    async def get_neg_risk(self, token_id: str) -> NegRiskResponse:
        return await self._call(
            "GET", "/neg-risk", NegRiskResponse, params=[("token_id", token_id)]
        )

    async def get_fee_rate(self, token_id: str) -> FeeRateResponse:
        return await self._call(
            "GET", "/fee-rate", FeeRateResponse, params=[("token_id", token_id)]
        )

    async def get_last_trade_price(self, token_id: str) -> LastTradePriceResponse:
        params = [("token_id", token_id)]
        return await self._call("GET", "/last-trade-price", LastTradePriceResponse, params=params)

    async def get_last_trades_prices(self, token_ids: Sequence[str]) -> list[LastTradesPricesItem]:
        if not token_ids:
            return []
        body = compact_json([{"token_id": t} for t in token_ids])
        return await self._call(
            "POST", "/last-trades-prices", list[LastTradesPricesItem], body=body
        )

    # --- L1: API key management -----------------------------------------------------------

    async def _l1_call(
        self, method: str, path: str, signer: PrivateKeySigner, nonce: int, idempotent: bool
    ) -> ApiCreds:
        def headers() -> Mapping[str, str]:
            return build_l1_headers(
                signer, timestamp=self._now_s(), nonce=nonce, chain_id=self.chain_id
            )

        endpoint = f"{method} {path}"
        response = await self._core.request(
            method, path, endpoint=endpoint, headers=headers, idempotent=idempotent
        )
        wire = self._decode(response.content, WireApiCreds, endpoint)
        return ApiCreds(api_key=wire.apiKey, secret=wire.secret, passphrase=wire.passphrase)

    async def create_api_key(self, signer: PrivateKeySigner, nonce: int = 0) -> ApiCreds:
        """`POST /auth/api-key`; 400 if a key already exists for (address, nonce)."""
        return await self._l1_call("POST", "/auth/api-key", signer, nonce, idempotent=False)

    async def derive_api_key(self, signer: PrivateKeySigner, nonce: int = 0) -> ApiCreds:
        """`GET /auth/derive-api-key`; 400 if no key exists for (address, nonce)."""
        return await self._l1_call("GET", "/auth/derive-api-key", signer, nonce, idempotent=True)

    async def create_or_derive_api_key(self, signer: PrivateKeySigner, nonce: int = 0) -> ApiCreds:
        """Create; on a business error (key exists) derive the existing one. Auth errors raise."""
        try:
            return await self.create_api_key(signer, nonce)
        except AuthError:
            raise
        except ApiError:
            return await self.derive_api_key(signer, nonce)
