"""The market catalogue from Gamma and the CLOB: pagination, double-encoded fields, trading
parameters, periodic refresh picking up new markets."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent))
from market_data_kit import running_sim, test_config

from polymarket_bot.core.types import TickSize
from polymarket_bot.engine.market_data import (
    Catalogue,
    CatalogueMarket,
    MarketDataService,
)
from polymarket_bot.engine.market_data.catalogue import parse_end_date
from polymarket_bot.sim.state import ServerConfig
from polymarket_bot.transport.gamma import GammaClient
from polymarket_bot.transport.rest import ClobRestClient
from polymarket_bot.transport.retry import RetryPolicy

NO_RETRY = RetryPolicy(max_attempts=1)


async def test_catalogue_from_the_simulator_over_several_pages() -> None:
    async with running_sim(config=ServerConfig(page_size=3), with_flow=False) as sim:
        rest = ClobRestClient(sim.rest_url, retry=NO_RETRY)
        gamma = GammaClient(sim.gamma_url, retry=NO_RETRY)
        try:
            cat = Catalogue(gamma=gamma, rest=rest, gamma_page_size=3)
            new = await cat.refresh()
        finally:
            await rest.aclose()
            await gamma.aclose()
        assert len(new) == len(sim.state.markets) == 8
        assert cat.last_counts == {"gamma": 8, "clob": 8}  # 3 pages each
        gamma_pages = [k for k in rest.stats() if "markets" in k]
        assert gamma_pages == ["GET /markets"]
        assert rest.stats()["GET /markets"]["requests"] == 3
        for m in sim.state.markets:
            entry = cat.market(m.condition_id)
            assert entry is not None
            assert entry.token_ids == tuple(m.token_ids)  # Gamma sends them JSON-encoded
            assert entry.outcomes == tuple(m.outcomes)
            assert entry.tick_size is m.tick_size
            assert entry.min_order_size == m.min_order_size
            assert entry.neg_risk is m.neg_risk
            assert entry.end_date_s == parse_end_date(m.end_date_iso)
            assert entry.sources == {"gamma", "clob"}
            assert entry.rewards_min_size is not None and entry.tradeable
            assert cat.by_token(m.token_ids[1]) is entry
            info = entry.to_market_info(m.name)
            assert info is not None and info.no_token == m.token_ids[1] and info.label == m.name
        assert any(e.neg_risk for e in cat) and any(not e.neg_risk for e in cat)
        assert await Catalogue(gamma=None, rest=None).refresh() == []


async def test_one_source_down_still_refreshes_both_down_raises() -> None:
    async with running_sim(with_flow=False) as sim:
        dead = _dead_port()
        rest = ClobRestClient(sim.rest_url, retry=NO_RETRY)
        gamma = GammaClient(f"http://127.0.0.1:{dead}/gamma", retry=NO_RETRY, timeout=2)
        dead_rest = ClobRestClient(f"http://127.0.0.1:{dead}", retry=NO_RETRY, timeout=2)
        try:
            cat = Catalogue(gamma=gamma, rest=rest)
            assert len(await cat.refresh()) == 8
            assert cat.errors == 1 and cat.last_error is not None and "gamma" in cat.last_error
            assert all(e.sources == {"clob"} for e in cat)
            with pytest.raises(RuntimeError, match="catalogue refresh failed"):
                await Catalogue(gamma=gamma, rest=dead_rest).refresh()
        finally:
            for client in (rest, gamma, dead_rest):
                await client.aclose()


def test_end_dates_and_tick_overrides() -> None:
    assert parse_end_date("2026-12-31T00:00:00Z") == 1798675200.0
    assert parse_end_date("2026-12-31") == 1798675200.0
    assert parse_end_date("2026-12-31T02:00:00+02:00") == 1798675200.0
    assert parse_end_date("soon") is None and parse_end_date(None) is None
    cat = Catalogue(gamma=None, rest=None)
    cat.upsert(CatalogueMarket(condition_id="0xc", token_ids=("1", "2")))
    cat.set_tick("2", TickSize.T0_001)
    entry = cat.market("0xc")
    assert entry is not None and entry.tick_size is TickSize.T0_001


# --- a venue whose market list changes -----------------------------------------------------


def _gamma_market(i: int, *, closed: bool = False) -> dict[str, Any]:
    return {
        "id": str(1000 + i),
        "conditionId": f"0x{i:064x}",
        "question": f"Market {i}?",
        "slug": f"market-{i}",
        "outcomes": json.dumps(["Yes", "No"]),
        "clobTokenIds": json.dumps([str(10_000 + 2 * i), str(10_001 + 2 * i)]),
        "outcomePrices": json.dumps(["0.5", "0.5"]),
        "volumeNum": 1000.0 * i,
        "liquidityNum": 500.0,
        "active": not closed,
        "closed": closed,
        "enableOrderBook": True,
        "endDate": "2027-01-01T00:00:00Z",
        "orderPriceMinTickSize": 0.001,
        "orderMinSize": 15,
        "negRisk": i % 2 == 0,
        "events": [{"id": f"ev-{i}"}],
    }


def _clob_market(i: int, *, closed: bool = False) -> dict[str, Any]:
    return {
        "condition_id": f"0x{i:064x}",
        "tokens": [
            {"token_id": str(10_000 + 2 * i), "outcome": "Yes", "price": 0.5},
            {"token_id": str(10_001 + 2 * i), "outcome": "No", "price": 0.5},
        ],
        "active": not closed,
        "closed": closed,
        "accepting_orders": not closed,
        "minimum_order_size": 5,
        "minimum_tick_size": 0.01,
        "neg_risk": i % 2 == 0,
        "end_date_iso": "2027-01-01T00:00:00Z",
        "rewards": {"rates": None, "min_size": 20, "max_spread": 3},
    }


class ChangingVenue:
    """Gamma keyset pages and CLOB cursor pages of two items over a mutable market list."""

    def __init__(self) -> None:
        self.ids = [1, 2, 3]
        self.closed: set[int] = set()
        self.app = Starlette(
            routes=[
                Route("/gamma/markets/keyset", self.gamma),
                Route("/markets", self.clob),
            ]
        )

    async def gamma(self, request: Request) -> JSONResponse:
        start = int(request.query_params.get("after_cursor") or 0)
        ids = [i for i in self.ids if i not in self.closed]
        page = ids[start : start + 2]
        body: dict[str, Any] = {"markets": [_gamma_market(i) for i in page]}
        if start + 2 < len(ids):
            body["next_cursor"] = str(start + 2)
        return JSONResponse(body)

    async def clob(self, request: Request) -> JSONResponse:
        cursor = request.query_params.get("next_cursor") or "MA=="
        start = int(base64.b64decode(cursor))
        page = self.ids[start : start + 2]
        nxt = start + 2
        return JSONResponse(
            {
                "limit": 2,
                "count": len(page),
                "next_cursor": base64.b64encode(str(nxt).encode()).decode()
                if nxt < len(self.ids)
                else "LTE=",
                "data": [_clob_market(i, closed=i in self.closed) for i in page],
            }
        )


@pytest.fixture
async def venue() -> AsyncIterator[tuple[ChangingVenue, str]]:
    fake = ChangingVenue()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(fake.app, lifespan="off", log_level="warning", access_log=False, ws="none")
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        assert not task.done()
        await asyncio.sleep(0.005)
    try:
        yield fake, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def test_new_markets_are_picked_up_and_closures_recorded(
    venue: tuple[ChangingVenue, str],
) -> None:
    fake, url = venue
    rest = ClobRestClient(url, retry=NO_RETRY)
    gamma = GammaClient(url + "/gamma", retry=NO_RETRY)
    seen: list[list[str]] = []
    try:
        config = test_config("ws://127.0.0.1:9/ws", use_ws=False, auto_track=True)
        svc = MarketDataService(config, rest=rest, gamma=gamma)
        svc.catalogue.on_new.append(lambda ms: seen.append([m.condition_id for m in ms]))
        new = await svc.refresh_catalogue()
        assert [m.question for m in new] == ["Market 1?", "Market 2?", "Market 3?"]
        m2 = svc.catalogue.market(f"0x{2:064x}")
        assert m2 is not None
        # CLOB wins for trading parameters, Gamma gives the rest.
        assert m2.tick_size is TickSize.T0_01 and m2.min_order_size == Decimal(5)
        assert m2.neg_risk and m2.event_id == "ev-2" and m2.volume == Decimal(2000)
        assert m2.rewards_min_size == Decimal(20) and m2.end_date == "2027-01-01T00:00:00Z"
        assert svc.tracked == {str(10_000 + k) for k in range(2, 8)}  # auto_track

        fake.ids.append(4)
        fake.closed.add(1)
        new = await svc.refresh_catalogue()
        assert [m.condition_id for m in new] == [f"0x{4:064x}"]
        assert seen == [[f"0x{i:064x}" for i in (1, 2, 3)], [f"0x{4:064x}"]]
        closed = svc.catalogue.market(f"0x{1:064x}")
        assert closed is not None and closed.closed and not closed.tradeable
        assert {"10008", "10009"} <= svc.tracked
        assert len(svc.catalogue) == 4 and svc.catalogue.refreshes == 2
    finally:
        await rest.aclose()
        await gamma.aclose()


def _dead_port() -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port
