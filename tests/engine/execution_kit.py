"""Helpers for the execution tests: throwaway keys, market infos of a simulator, an order manager
wired to memory or file sinks, the simulator's admin API, and polling with a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import httpx

from polymarket_bot.core.clock import Clock, LiveClock
from polymarket_bot.core.intents import MarketInfo, OrderIntent
from polymarket_bot.core.ledger import Ledger
from polymarket_bot.core.types import OrderType, Outcome, Side, from_base_units
from polymarket_bot.engine.execution import MemorySink, OrderManager, VenueExecution
from polymarket_bot.engine.execution.sink import ExecutionSink
from polymarket_bot.protocol.auth import ApiCreds
from polymarket_bot.protocol.eip712 import PrivateKeySigner
from polymarket_bot.sim.markets import SimMarket
from polymarket_bot.sim.server import SimServer
from polymarket_bot.transport.rest import ClobRestClient


def throwaway_signer(name: str) -> PrivateKeySigner:
    """A key from seeded bytes (never a funded key)."""
    return PrivateKeySigner(hashlib.sha256(f"execution-test:{name}".encode()).digest())


def market_info(m: SimMarket) -> MarketInfo:
    return MarketInfo(
        condition_id=m.condition_id,
        yes_token=m.yes_token,
        no_token=m.no_token,
        tick_size=m.tick_size,
        min_order_size=m.min_order_size,
        neg_risk=m.neg_risk,
        event_id=m.event_id,
        name=m.name,
        fee_rate=m.fees.rate,
    )


def infos_by_token(sim: SimServer) -> dict[str, MarketInfo]:
    out: dict[str, MarketInfo] = {}
    for m in sim.state.markets:
        info = market_info(m)
        out[m.yes_token] = info
        out[m.no_token] = info
    return out


def intent(
    info: MarketInfo,
    side: Side,
    price: str,
    size: str,
    *,
    outcome: Outcome = Outcome.YES,
    order_type: OrderType = OrderType.GTC,
    strategy: str = "test",
    post_only: bool = False,
    expiration_s: int | None = None,
) -> OrderIntent:
    return OrderIntent(
        strategy=strategy,
        market=info.condition_id,
        outcome=outcome,
        token_id=info.token(outcome),
        side=side,
        size=Decimal(size),
        limit_price=Decimal(price),
        order_type=order_type,
        post_only=post_only,
        expiration_s=expiration_s,
    )


def make_manager(
    infos: dict[str, MarketInfo],
    *,
    starting_cash: Decimal = Decimal(0),
    sink: ExecutionSink | None = None,
    clock: Clock | None = None,
    runtime_mode: str = "offline",
    execution_mode: str = "simulation",
    books: Callable[[str], Any] | None = None,
) -> OrderManager:
    return OrderManager(
        Ledger(starting_cash),
        sink if sink is not None else MemorySink(),
        clock=clock or LiveClock(),
        runtime_mode=runtime_mode,
        execution_mode=execution_mode,
        markets=infos.get,
        books=books,
    )


async def wait_for(
    predicate: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.02, what: str = ""
) -> Any:
    """Poll `predicate` (sync or async) until truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or 'condition'}")
        await asyncio.sleep(interval)


async def admin(sim: SimServer, method: str, path: str, body: Any = None) -> Any:
    async with httpx.AsyncClient(base_url=sim.rest_url, timeout=10) as http:
        r = await http.request(method, path, json=body)
        r.raise_for_status()
        return r.json()


class Trader:
    """One account at the simulator: key, L2 creds, REST client, manager, venue execution."""

    def __init__(
        self,
        sim: SimServer,
        name: str,
        *,
        sink: ExecutionSink | None = None,
        user_ws: bool = True,
        heartbeat: bool = True,
        infos: dict[str, MarketInfo] | None = None,
        unknown_grace_s: float = 10.0,
        rest_timeout: float = 10.0,
        heartbeat_interval_s: float = 5.0,
    ) -> None:
        self.sim = sim
        self.signer = throwaway_signer(name)
        self.infos = infos if infos is not None else infos_by_token(sim)
        self.sink: ExecutionSink = sink if sink is not None else MemorySink()
        self.rest = ClobRestClient(sim.rest_url, timeout=rest_timeout)
        self.user_ws = user_ws
        self.heartbeat = heartbeat
        self.unknown_grace_s = unknown_grace_s
        self.heartbeat_interval_s = heartbeat_interval_s
        self.creds: ApiCreds | None = None
        self.start_cash = Decimal(0)
        self.manager: OrderManager
        self.venue: VenueExecution

    async def open(self) -> Trader:
        self.creds = await self.rest.create_or_derive_api_key(self.signer)
        self.rest.set_credentials(self.creds, self.signer.address)
        balance = await self.rest.get_balance_allowance()  # funds the account on first sight
        self.start_cash = from_base_units(int(balance.balance))
        self.manager = make_manager(self.infos, starting_cash=self.start_cash, sink=self.sink)
        self.venue = VenueExecution(
            self.manager,
            self.rest,
            self.signer,
            self.creds,
            chain_id=self.sim.state.config.chain_id,
            clock=LiveClock(),
            user_ws_url=self.sim.ws_url + "/user" if self.user_ws else None,
            heartbeat=self.heartbeat,
            heartbeat_interval_s=self.heartbeat_interval_s,
            unknown_grace_s=self.unknown_grace_s,
        )
        await self.venue.start()
        if self.user_ws:
            key = self.creds.api_key
            await wait_for(lambda: key in self.sim.state.hub.by_owner, what="user channel auth")
        return self

    async def close(self, *, cancel_open: bool = False) -> None:
        await self.venue.stop(cancel_open=cancel_open)
        await self.rest.aclose()

    @property
    def api_key(self) -> str:
        assert self.creds is not None
        return self.creds.api_key


@contextlib.asynccontextmanager
async def trader(sim: SimServer, name: str, **kwargs: Any) -> AsyncIterator[Trader]:
    t = await Trader(sim, name, **kwargs).open()
    try:
        yield t
    finally:
        await t.close()
