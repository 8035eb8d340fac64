"""CLOB REST client (ref §4, §5, §6.5-6.9): public reads, L1 key management, L2 trading calls.

Every authenticated request is signed over the path without query and the exact body bytes sent
(the body string is built once). Responses decode into `protocol.wire_rest` structs. Idempotent
calls (GETs, read-only POSTs, cancels) are retried per `should_retry`; `POST /order(s)` never is:
a submit whose outcome is unknown raises `AmbiguousSubmitError` and the engine reconciles.
Over http1 a submit's request is serialized once per identity (`_PreparedL2`,
`HttpCore.send_prepared`): per order only POLY_SIGNATURE, POLY_TIMESTAMP, Content-Length and the
body are new, the same bytes the generic path would send. Plumbing, public reads and L1 live in
`rest_base.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final, TypeVar

from polymarket_bot.core.types import OrderType
from polymarket_bot.protocol.codec import decode_rest
from polymarket_bot.protocol.errors import DecodeError
from polymarket_bot.protocol.signing import (
    SignedOrderV2,
    encode_post_order_body,
    encode_post_orders_body,
)
from polymarket_bot.protocol.wire import Trade
from polymarket_bot.protocol.wire_rest import (
    INITIAL_CURSOR,
    BalanceAllowance,
    CancelResponse,
    CursorPage,
    HeartbeatResponse,
    OpenOrder,
    OrderResponse,
)
from polymarket_bot.transport.errors import (
    AmbiguousSubmitError,
    ApiError,
    AuthError,
    NetworkError,
    ServerError,
    TimeoutError_,
)
from polymarket_bot.transport.http import QueryParams
from polymarket_bot.transport.rest_base import ClobRestBase, compact_json

__all__ = ["MAX_BATCH_ORDERS", "ClobRestClient", "is_definitive_rejection"]

T = TypeVar("T")
MAX_BATCH_ORDERS: Final = 15
"""`POST /orders` accepts 1..15 orders (raised from 5 on 2025-08-21)."""
_ORDER_RESPONSES = list[OrderResponse]
_ASSET_TYPES = ("COLLATERAL", "CONDITIONAL")
# 5xx texts meaning "rejected before reaching the book" (safe: the order is not live).
_DEFINITIVE_5XX = ("order timed out", "trading is currently", "post-only mode", "cancel-only")


def is_definitive_rejection(exc: ServerError) -> bool:
    """A submit answered 425 (engine restarting) or a venue 5xx text that says the order was
    not accepted (`order timed out`, trading disabled / cancel-only / post-only mode)."""
    if exc.status == 425:
        return True
    text = exc.error.lower()
    return any(marker in text for marker in _DEFINITIVE_5XX)


class ClobRestClient(ClobRestBase):
    """Async client of the CLOB REST API. `async with ClobRestClient(...) as c:` or `aclose()`.

    Constructor (see `ClobRestBase`): `ClobRestClient(base_url, *, creds=None, address=None,
    http=None, limiter=None, timeout=10.0, proxy=None, clock=None, retry=None, sleep=None,
    chain_id=137, signature_type=0, user_agent=..., engine="httpx")`.
    """

    async def __aenter__(self) -> ClobRestClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- L2: orders -----------------------------------------------------------------------

    async def _submit(
        self,
        path: str,
        endpoint: str,
        body: str,
        tp: type[T],
        on_sent: Callable[[], object] | None,
    ) -> T:
        # http1: the request was serialized at the first submit but for its signature and
        # timestamp (`_PreparedL2`); the body is encoded once, for the HMAC and the wire alike.
        prepared = self._prepared.get(endpoint)
        if (
            prepared is None
            or prepared.creds is not self.creds
            or prepared.address is not self.address
        ):
            prepared = self._prepared_l2(endpoint, "POST", path)
        try:
            if prepared is not None:
                response = await self._core.send_prepared(
                    prepared.template,
                    prepared.values,
                    body.encode(),
                    endpoint=endpoint,
                    on_sent=on_sent,
                )
            else:
                response = await self._core.request(
                    "POST",
                    path,
                    endpoint=endpoint,
                    body=body,
                    headers=self._l2("POST", path, body),
                    idempotent=False,
                    on_sent=on_sent,
                )
        except (TimeoutError_, NetworkError) as exc:
            if not exc.sent:
                raise  # never left this host: certainly not live
            raise self._ambiguous(endpoint, exc) from exc
        except ServerError as exc:
            if is_definitive_rejection(exc):
                raise
            raise self._ambiguous(endpoint, exc) from exc
        try:
            return decode_rest(response.content, tp)
        except DecodeError as exc:
            raise self._ambiguous(endpoint, exc) from exc

    def _ambiguous(self, endpoint: str, cause: Exception) -> AmbiguousSubmitError:
        self._core.endpoint_stats(endpoint).ambiguous += 1
        return AmbiguousSubmitError(f"outcome unknown: {cause}", endpoint=endpoint, cause=cause)

    def _owner(self) -> str:
        if self.creds is None:
            raise AuthError(401, "order submit without API credentials", endpoint="POST /order")
        return self.creds.api_key

    async def post_order(
        self,
        order: SignedOrderV2,
        order_type: OrderType,
        *,
        post_only: bool = False,
        defer_exec: bool = False,
        on_sent: Callable[[], object] | None = None,
    ) -> OrderResponse:
        """`POST /order`. Returns the venue's answer (check `.accepted`: a 200 can still carry a
        rejection). 4xx -> ApiError; unknown outcome -> AmbiguousSubmitError. Never retried.
        `on_sent`: see `HttpCore.request` (called once the order is on its way)."""
        body = encode_post_order_body(
            order, self._owner(), order_type, post_only=post_only, defer_exec=defer_exec
        )
        return await self._submit("/order", "POST /order", body, OrderResponse, on_sent)

    async def post_orders(
        self,
        orders: Sequence[tuple[SignedOrderV2, OrderType]],
        *,
        post_only: bool = False,
        defer_exec: bool = False,
        on_sent: Callable[[], object] | None = None,
    ) -> list[OrderResponse]:
        """`POST /orders` with 1..15 orders; one response per order, in order. Never retried.
        `on_sent`: see `HttpCore.request` (called once the orders are on their way)."""
        if not orders:
            raise ValueError("post_orders needs at least one order")
        if len(orders) > MAX_BATCH_ORDERS:
            raise ValueError(f"a batch holds at most {MAX_BATCH_ORDERS} orders, got {len(orders)}")
        body = encode_post_orders_body(
            orders, self._owner(), post_only=post_only, defer_exec=defer_exec
        )
        return await self._submit("/orders", "POST /orders", body, _ORDER_RESPONSES, on_sent)

    async def cancel(self, order_id: str) -> CancelResponse:
        """`DELETE /order`. Cancels are idempotent (a repeat is `not_canceled`), so retried."""
        body = compact_json({"orderID": order_id})
        return await self._call("DELETE", "/order", CancelResponse, body=body, l2=True)

    async def cancel_orders(self, order_ids: Sequence[str]) -> CancelResponse:
        if not order_ids:
            return CancelResponse(canceled=(), not_canceled={})
        body = compact_json(list(order_ids))
        return await self._call("DELETE", "/orders", CancelResponse, body=body, l2=True)

    async def cancel_all(self) -> CancelResponse:
        return await self._call("DELETE", "/cancel-all", CancelResponse, l2=True)

    async def cancel_market_orders(self, *, market: str = "", asset_id: str = "") -> CancelResponse:
        """Cancel every order in a market (condition id) and/or of one token."""
        if not market and not asset_id:
            raise ValueError("cancel_market_orders needs a market or an asset_id")
        body = compact_json({"market": market, "asset_id": asset_id})
        return await self._call(
            "DELETE", "/cancel-market-orders", CancelResponse, body=body, l2=True
        )

    async def get_open_orders(
        self,
        *,
        order_id: str | None = None,
        market: str | None = None,
        asset_id: str | None = None,
        next_cursor: str = INITIAL_CURSOR,
    ) -> CursorPage[OpenOrder]:
        """One page of `GET /data/orders` (active orders only)."""
        params = [
            ("market", market),
            ("asset_id", asset_id),
            ("id", order_id),
            ("next_cursor", next_cursor),
        ]
        return await self._call(
            "GET", "/data/orders", CursorPage[OpenOrder], params=params, l2=True
        )

    async def get_all_open_orders(
        self,
        *,
        order_id: str | None = None,
        market: str | None = None,
        asset_id: str | None = None,
        max_pages: int | None = None,
    ) -> list[OpenOrder]:
        async def fetch(cursor: str) -> CursorPage[OpenOrder]:
            return await self.get_open_orders(
                order_id=order_id, market=market, asset_id=asset_id, next_cursor=cursor
            )

        return await self._collect(fetch, INITIAL_CURSOR, max_pages)

    async def get_order(self, order_id: str) -> OpenOrder | None:
        """`GET /data/order/{id}`; None for an empty/`null` body or a 404 (the venue answers so
        for unknown *and* for already filled/cancelled orders)."""
        endpoint = "GET /data/order/{id}"
        path = f"/data/order/{order_id}"
        try:
            response = await self._core.request(
                "GET", path, endpoint=endpoint, headers=self._l2("GET", path, None), idempotent=True
            )
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        if response.content.strip() in (b"", b"null", b"{}"):
            return None
        return self._decode(response.content, OpenOrder, endpoint)

    async def get_trades(
        self,
        *,
        trade_id: str | None = None,
        maker_address: str | None = None,
        market: str | None = None,
        asset_id: str | None = None,
        before: int | None = None,
        after: int | None = None,
        next_cursor: str = INITIAL_CURSOR,
    ) -> CursorPage[Trade]:
        """One page of `GET /data/trades`; `before`/`after` are Unix seconds."""
        params = [
            ("market", market),
            ("asset_id", asset_id),
            ("after", after),
            ("before", before),
            ("maker_address", maker_address),
            ("id", trade_id),
            ("next_cursor", next_cursor),
        ]
        return await self._call("GET", "/data/trades", CursorPage[Trade], params=params, l2=True)

    async def get_all_trades(
        self,
        *,
        trade_id: str | None = None,
        maker_address: str | None = None,
        market: str | None = None,
        asset_id: str | None = None,
        before: int | None = None,
        after: int | None = None,
        max_pages: int | None = None,
    ) -> list[Trade]:
        async def fetch(cursor: str) -> CursorPage[Trade]:
            return await self.get_trades(
                trade_id=trade_id,
                maker_address=maker_address,
                market=market,
                asset_id=asset_id,
                before=before,
                after=after,
                next_cursor=cursor,
            )

        return await self._collect(fetch, INITIAL_CURSOR, max_pages)

    # --- L2: account ----------------------------------------------------------------------

    def _balance_params(
        self, asset_type: str, token_id: str | None, signature_type: int | None
    ) -> QueryParams:
        if asset_type not in _ASSET_TYPES:
            raise ValueError(f"asset_type must be one of {_ASSET_TYPES}, got {asset_type!r}")
        if asset_type == "CONDITIONAL" and not token_id:
            raise ValueError("a CONDITIONAL balance needs a token_id")
        sig = self.signature_type if signature_type is None else signature_type
        return [("signature_type", sig), ("asset_type", asset_type), ("token_id", token_id)]

    async def get_balance_allowance(
        self,
        asset_type: str = "COLLATERAL",
        *,
        token_id: str | None = None,
        signature_type: int | None = None,
    ) -> BalanceAllowance:
        """Base units (10**-6). COLLATERAL = pUSD; CONDITIONAL needs `token_id`."""
        params = self._balance_params(asset_type, token_id, signature_type)
        return await self._call(
            "GET", "/balance-allowance", BalanceAllowance, params=params, l2=True
        )

    async def update_balance_allowance(
        self,
        asset_type: str = "COLLATERAL",
        *,
        token_id: str | None = None,
        signature_type: int | None = None,
    ) -> None:
        """Ask the venue to re-read chain balances/allowances (after a deposit or approval)."""
        path = "/balance-allowance/update"
        params = self._balance_params(asset_type, token_id, signature_type)
        await self._core.request(
            "GET",
            path,
            endpoint=f"GET {path}",
            params=params,
            headers=self._l2("GET", path, None),
            idempotent=True,
        )

    async def heartbeat(self, heartbeat_id: str = "") -> HeartbeatResponse:
        """`POST /v1/heartbeats` (dead-man switch): `""` first, then the id last returned.

        A 400 whose body carries the venue's current `heartbeat_id` is returned as a response
        with `error` set (send that id next); other errors raise. Not retried: a lost answer is
        repaired by that 400 on the next beat.
        """
        path = "/v1/heartbeats"
        endpoint = f"POST {path}"
        body = compact_json({"heartbeat_id": heartbeat_id})
        try:
            response = await self._core.request(
                "POST",
                path,
                endpoint=endpoint,
                body=body,
                headers=self._l2("POST", path, body),
                idempotent=False,
            )
        except ApiError as exc:
            if exc.status != 400:
                raise
            try:
                reply = decode_rest(exc.body, HeartbeatResponse)
            except DecodeError:
                raise exc from None
            return HeartbeatResponse(
                heartbeat_id=reply.heartbeat_id, error=reply.error or exc.error
            )
        return self._decode(response.content, HeartbeatResponse, endpoint)
