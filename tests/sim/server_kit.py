"""Helpers for the simulator server tests: a started `SimServer`, a signing HTTP client built on
our protocol layer (L1/L2 headers, V2 orders), and polling with a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import httpx

from polymarket_bot.core.types import OrderType, Side, TickSize
from polymarket_bot.protocol.auth import ApiCreds, build_l1_headers, build_l2_headers
from polymarket_bot.protocol.eip712 import PrivateKeySigner
from polymarket_bot.protocol.signing import (
    SignedOrderV2,
    create_limit_order,
    order_to_json,
)
from polymarket_bot.sim.server import SimServer


def private_key(name: str) -> str:
    """A throwaway key derived from a name (never a funded key)."""
    return "0x" + hashlib.sha256(f"sim-test:{name}".encode()).hexdigest()


ALICE_KEY = private_key("alice")
BOB_KEY = private_key("bob")
CAROL_KEY = private_key("carol")


@contextlib.asynccontextmanager
async def running_server(**kwargs: Any) -> AsyncIterator[SimServer]:
    kwargs.setdefault("port", 0)
    kwargs.setdefault("log_level", "warning")
    server = SimServer(**kwargs)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def wait_for(
    predicate: Callable[[], Any],
    *,
    timeout: float = 5.0,
    interval: float = 0.02,
    what: str = "condition",
) -> Any:
    """Poll `predicate` (sync or async) until it returns something truthy, which is returned;
    fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(interval)


class VenueClient:
    """An L1/L2-signing client of the simulator for tests (our protocol code, httpx)."""

    _salts = itertools.count(1_000)

    def __init__(self, server: SimServer, key: str) -> None:
        self.server = server
        self.signer = PrivateKeySigner(key)
        self.http = httpx.AsyncClient(base_url=server.rest_url, timeout=10)
        self.creds: ApiCreds | None = None

    @property
    def address(self) -> str:
        return self.signer.address

    @property
    def api_key(self) -> str:
        assert self.creds is not None, "create_key() first"
        return self.creds.api_key

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> VenueClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- auth ---

    def l1_headers(self, *, nonce: int = 0, timestamp: int | None = None) -> dict[str, str]:
        ts = int(time.time()) if timestamp is None else timestamp
        return build_l1_headers(self.signer, timestamp=ts, nonce=nonce)

    async def create_key(self, nonce: int = 0) -> ApiCreds:
        r = await self.http.post("/auth/api-key", headers=self.l1_headers(nonce=nonce))
        assert r.status_code == 200, r.text
        body = r.json()
        self.creds = ApiCreds(body["apiKey"], body["secret"], body["passphrase"])
        return self.creds

    def l2_headers(
        self, method: str, path: str, body: str | None = None, *, timestamp: int | None = None
    ) -> dict[str, str]:
        assert self.creds is not None, "create_key() first"
        ts = int(time.time()) if timestamp is None else timestamp
        return build_l2_headers(self.creds, self.address, method, path, body, ts)

    async def l2(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        text = body if isinstance(body, str) or body is None else json.dumps(body)
        hdrs = self.l2_headers(method, path, text)
        if headers:
            hdrs.update(headers)
        return await self.http.request(
            method,
            path,
            content=text.encode() if text is not None else None,
            headers=hdrs,
            params=params,
        )

    # --- orders ---

    def sign(
        self,
        token_id: str,
        side: Side,
        price: str,
        size: str,
        *,
        tick: TickSize = TickSize.T0_01,
        neg_risk: bool = False,
        expiration: int = 0,
    ) -> SignedOrderV2:
        return create_limit_order(
            self.signer,
            token_id=token_id,
            side=side,
            price=Decimal(price),
            size=Decimal(size),
            tick_size=tick,
            neg_risk=neg_risk,
            salt=next(self._salts),
            timestamp_ms=int(time.time() * 1000),
            expiration=expiration,
        )

    def envelope(
        self,
        signed: SignedOrderV2,
        order_type: OrderType = OrderType.GTC,
        *,
        post_only: bool = False,
        owner: str | None = None,
    ) -> dict[str, Any]:
        assert self.creds is not None
        return order_to_json(
            signed,
            self.creds.api_key if owner is None else owner,
            order_type,
            post_only=post_only,
        )

    async def post_order(
        self,
        token_id: str,
        side: Side,
        price: str,
        size: str,
        order_type: OrderType = OrderType.GTC,
        *,
        post_only: bool = False,
        **kw: Any,
    ) -> httpx.Response:
        env = self.envelope(
            self.sign(token_id, side, price, size, **kw), order_type, post_only=post_only
        )
        return await self.l2("POST", "/order", json.dumps(env, separators=(",", ":")))


async def admin(server: SimServer, method: str, path: str, body: Any = None) -> Any:
    async with httpx.AsyncClient(base_url=server.rest_url, timeout=10) as http:
        r = await http.request(method, path, json=body)
    assert r.status_code == 200, r.text
    return r.json()


def inside_spread_market(server: SimServer) -> tuple[str, str, str, Decimal]:
    """(condition id, YES token, NO token, a price strictly inside the YES spread) of the
    first standard market whose spread is at least two ticks."""
    state = server.state
    for m in state.markets:
        if m.neg_risk:
            continue
        snap = state.exchange.book(m.token_ids[0])
        assert snap.best_bid is not None and snap.best_ask is not None
        bid, ask = Decimal(snap.best_bid), Decimal(snap.best_ask)
        tick = m.tick_size.decimal
        if ask - bid >= 2 * tick:
            return m.condition_id, m.token_ids[0], m.token_ids[1], bid + tick
    raise AssertionError("no market with a spread of two ticks")
