"""GammaClient against a loopback HTTP server: explicit filters, offset/keyset paging, lookups."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from transport_kit import FakeClob, FakeSleep, Reply, Seen

from polymarket_bot.core.clock import TestClock
from polymarket_bot.protocol.errors import DecodeError
from polymarket_bot.transport.gamma import GammaClient, GammaFilter
from polymarket_bot.transport.retry import Backoff, RetryPolicy

HTTP_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "polymarket" / "http_responses"


def market(i: int) -> dict[str, object]:
    return {
        "id": str(i),
        "conditionId": "0x" + f"{i:064x}",
        "clobTokenIds": json.dumps([str(10 * i), str(10 * i + 1)]),
        "outcomes": '["Yes", "No"]',
        "active": True,
        "closed": False,
    }


@pytest.fixture
async def gamma(
    clob: FakeClob, clock: TestClock, fake_sleep: FakeSleep
) -> AsyncIterator[GammaClient]:
    retry = RetryPolicy(max_attempts=2, backoff=Backoff(base=0.1))
    async with GammaClient(clob.url, clock=clock, sleep=fake_sleep, retry=retry) as client:
        yield client


async def test_list_markets_sends_explicit_filters(clob: FakeClob, gamma: GammaClient) -> None:
    clob.on("GET", "/markets", Reply(body=(HTTP_FIXTURES / "markets_list.json").read_bytes()))
    markets = await gamma.list_markets(
        GammaFilter(condition_ids=["0xa", "0xb"], order="volume24hr", ascending=False), limit=50
    )
    assert markets and markets[0].conditionId.startswith("0x4319532e")
    assert len(markets[0].token_ids) == 2
    (seen,) = clob.requests("GET", "/markets")
    assert seen.query == [
        ("active", "true"),
        ("closed", "false"),
        ("condition_ids", "0xa"),
        ("condition_ids", "0xb"),
        ("order", "volume24hr"),
        ("ascending", "false"),
        ("limit", "50"),
        ("offset", "0"),
    ]


async def test_limits_are_validated(clob: FakeClob, gamma: GammaClient) -> None:
    with pytest.raises(ValueError):
        await gamma.list_markets(limit=101)
    with pytest.raises(ValueError):
        await gamma.list_markets(GammaFilter(condition_ids=[str(i) for i in range(101)]))
    assert clob.seen == []


async def test_offset_paging_stops_on_a_short_page(clob: FakeClob, gamma: GammaClient) -> None:
    rows = [market(i) for i in range(1, 8)]

    def handler(seen: Seen) -> Reply:
        q = dict(seen.query)
        offset, limit = int(q["offset"]), int(q["limit"])
        return Reply(body=json.dumps(rows[offset : offset + limit]))

    clob.on("GET", "/markets", handler)
    pages = [page async for page in gamma.iter_markets(page_size=3)]
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [m.id for p in pages for m in p] == [str(i) for i in range(1, 8)]
    assert [dict(s.query)["offset"] for s in clob.seen] == ["0", "3", "6"]


async def test_keyset_paging(clob: FakeClob, gamma: GammaClient) -> None:
    def handler(seen: Seen) -> Reply:
        cursor = dict(seen.query).get("after_cursor")
        if cursor is None:
            return Reply(body=json.dumps({"markets": [market(1), market(2)], "next_cursor": "c2"}))
        assert cursor == "c2"
        return Reply(body=json.dumps({"markets": [market(3)], "next_cursor": None}))

    clob.on("GET", "/markets/keyset", handler)
    markets = await gamma.get_all_markets(GammaFilter(closed=None))
    assert [m.id for m in markets] == ["1", "2", "3"]
    first, second = clob.requests("GET", "/markets/keyset")
    assert first.query == [("active", "true"), ("limit", "100")]
    assert second.query[-1] == ("after_cursor", "c2")


async def test_keyset_repeating_cursor_is_refused(clob: FakeClob, gamma: GammaClient) -> None:
    clob.on(
        "GET", "/markets/keyset", Reply(body=json.dumps({"markets": [], "next_cursor": "same"}))
    )
    with pytest.raises(DecodeError):
        await gamma.get_all_markets()


async def test_events_and_lookups(clob: FakeClob, gamma: GammaClient) -> None:
    clob.on("GET", "/events", Reply(body=(HTTP_FIXTURES / "events_list.json").read_bytes()))
    clob.on("GET", "/events/185377", Reply(body=(HTTP_FIXTURES / "event.json").read_bytes()))
    clob.on(
        "GET",
        "/markets/slug/kamala-harris-divorce-in-2025",
        Reply(body=(HTTP_FIXTURES / "market_slug.json").read_bytes()),
    )
    clob.on("GET", "/events/keyset", Reply(body=json.dumps({"events": [], "next_cursor": None})))
    events = await gamma.list_events(limit=2)
    assert [e.id for e in events][:2] == ["2890", "2891"]
    event = await gamma.get_event(185377)
    assert event is not None and event.markets[0].conditionId.startswith("0xed7d522e")
    by_slug = await gamma.get_market_by_slug("kamala-harris-divorce-in-2025")
    assert by_slug is not None and by_slug.id == "519589"
    assert await gamma.get_market(999) is None  # 404 -> None
    assert (await gamma.list_events_keyset()).events == ()
    assert "GET /markets/{id}" in gamma.stats()


async def test_gamma_5xx_is_retried(clob: FakeClob, gamma: GammaClient) -> None:
    clob.on("GET", "/markets/7", Reply(503, "busy"), Reply(body=json.dumps(market(7))))
    got = await gamma.get_market(7)
    assert got is not None and got.id == "7"
    assert len(clob.requests("GET", "/markets/7")) == 2
