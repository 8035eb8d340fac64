"""Gamma (market discovery, ref §8) under the `/gamma` prefix of the same server, since the CLOB
already owns `/markets`: point `GAMMA_API_URL` at `http://127.0.0.1:PORT/gamma`.

camelCase fields; `outcomes`, `outcomePrices`, `clobTokenIds` and `umaResolutionStatuses` are
JSON arrays encoded as strings, like the live API. `/markets` and `/events` are offset-paged
arrays (limit <= 100 for markets, offset > 10000 -> 422); the `/keyset` variants page with
`after_cursor` and omit `next_cursor` on the last page.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Final, TypeVar

from polymarket_bot.sim.markets import SimEvent, SimMarket
from polymarket_bot.sim.rest_api import (
    HttpError,
    Request,
    Response,
    Router,
    fmt_decimal,
    json_number,
    json_response,
)
from polymarket_bot.sim.rest_public import iso, neg_risk_market_id
from polymarket_bot.sim.state import SimState

__all__ = ["PREFIX", "event_wire", "gamma_market_wire", "register"]

PREFIX: Final = "/gamma"
_MAX_MARKETS: Final = 100
_MAX_EVENTS: Final = 500
_MAX_OFFSET: Final = 10_000
T = TypeVar("T")


def _enc(items: Sequence[str]) -> str:
    return json.dumps(list(items))


def gamma_market_wire(state: SimState, m: SimMarket) -> dict[str, Any]:
    st = state.exchange.market(m.condition_id)
    closed = st.closed if st is not None else m.closed
    tick = st.tick_size if st is not None else m.tick_size
    prices = [state.token_price(t) for t in m.token_ids]
    snap = state.snapshot(m.token_ids[0])
    best_bid = Decimal(snap.best_bid) if snap is not None and snap.best_bid else Decimal(0)
    best_ask = Decimal(snap.best_ask) if snap is not None and snap.best_ask else Decimal(1)
    last = snap.last_trade_price if snap is not None and snap.last_trade_price else "0.5"
    event = next((e for e in state.events if e.event_id == m.event_id), None)
    fees = m.fees
    wire: dict[str, Any] = {
        "id": m.gamma_id,
        "question": m.question,
        "conditionId": m.condition_id,
        "questionID": m.question_id,
        "slug": m.slug,
        "description": f"Simulated market {m.name}. {m.question}",
        "resolutionSource": "",
        "outcomes": _enc(m.outcomes),
        "outcomePrices": _enc([fmt_decimal(p) for p in prices]),
        "clobTokenIds": _enc(m.token_ids),
        "umaResolutionStatuses": "[]",
        "volume": fmt_decimal(m.volume),
        "volumeNum": float(m.volume),
        "volume24hr": float(m.volume),
        "liquidity": fmt_decimal(m.liquidity),
        "liquidityNum": float(m.liquidity),
        "active": not closed,
        "closed": closed,
        "archived": False,
        "acceptingOrders": st is not None and st.accepting_orders and not closed,
        "enableOrderBook": True,
        "startDate": iso(state.started_at),
        "endDate": m.end_date_iso or None,
        "endDateIso": m.end_date_iso[:10] or None,
        "orderPriceMinTickSize": json_number(tick.decimal),
        "orderMinSize": json_number(m.min_order_size),
        "negRisk": m.neg_risk,
        "negRiskMarketID": neg_risk_market_id(m.event_id) if m.neg_risk else None,
        "negRiskOther": False,
        "makerBaseFee": 0,
        "takerBaseFee": fees.fee_rate_bps,
        "feesEnabled": fees.rate > 0,
        "feeType": "sim_fees" if fees.rate > 0 else None,
        "feeSchedule": {
            "exponent": json_number(fees.exponent),
            "rate": float(fees.rate),
            "takerOnly": fees.taker_only,
            "rebateRate": 0,
        },
        "bestBid": float(best_bid),
        "bestAsk": float(best_ask),
        "spread": float(best_ask - best_bid),
        "lastTradePrice": float(Decimal(last)),
        "rewardsMinSize": 50,
        "rewardsMaxSpread": 3.5,
        "groupItemTitle": m.question if m.neg_risk else "",
        "events": [] if event is None else [_event_ref(event)],
    }
    return wire


def _event_ref(e: SimEvent) -> dict[str, Any]:
    return {"id": e.event_id, "slug": e.slug, "title": e.title, "negRisk": e.neg_risk}


def event_wire(state: SimState, e: SimEvent) -> dict[str, Any]:
    members = [state.by_name[n] for n in e.market_names if n in state.by_name]
    markets = [gamma_market_wire(state, m) for m in members]
    closed = bool(markets) and all(m["closed"] for m in markets)
    return {
        "id": e.event_id,
        "ticker": e.slug,
        "slug": e.slug,
        "title": e.title,
        "description": f"Simulated event {e.title}",
        "startDate": iso(state.started_at),
        "endDate": members[0].end_date_iso if members else None,
        "active": not closed,
        "closed": closed,
        "archived": False,
        "liquidity": float(sum((m.liquidity for m in members), Decimal(0))),
        "volume": float(sum((m.volume for m in members), Decimal(0))),
        "openInterest": 0,
        "negRisk": e.neg_risk,
        "negRiskMarketID": neg_risk_market_id(e.event_id) if e.neg_risk else None,
        "enableNegRisk": e.neg_risk,
        "negRiskAugmented": False,
        "markets": markets,
    }


# --- query helpers ----------------------------------------------------------------------------


def _bool(req: Request, name: str) -> bool | None:
    value = req.arg(name)
    if value is None or value == "":
        return None
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise HttpError(422, f"invalid {name}: {value}")
    return lowered == "true"


def _int(req: Request, name: str, default: int, hi: int | None = None) -> int:
    value = req.arg(name)
    if value is None or value == "":
        return default
    if not value.isdigit():
        raise HttpError(422, f"invalid {name}: {value}")
    number = int(value)
    return min(number, hi) if hi is not None else number


def _offset(req: Request) -> int:
    offset = _int(req, "offset", 0)
    if offset > _MAX_OFFSET:
        raise HttpError(422, f"offset must be <= {_MAX_OFFSET}")
    return offset


def _filter_markets(state: SimState, req: Request) -> list[SimMarket]:
    items: list[SimMarket] = list(state.markets)
    closed_of = {m.condition_id: _closed(state, m) for m in items}
    flags = {k: _bool(req, k) for k in ("active", "closed", "archived")}
    if flags["active"] is not None:
        items = [m for m in items if (not closed_of[m.condition_id]) == flags["active"]]
    if flags["closed"] is not None:
        items = [m for m in items if closed_of[m.condition_id] == flags["closed"]]
    if flags["archived"]:
        items = []
    selectors: tuple[tuple[str, Callable[[SimMarket], set[str]]], ...] = (
        ("id", lambda m: {m.gamma_id}),
        ("slug", lambda m: {m.slug}),
        ("clob_token_ids", lambda m: set(m.token_ids)),
        ("condition_ids", lambda m: {m.condition_id}),
        ("question_ids", lambda m: {m.question_id}),
    )
    for name, get in selectors:
        wanted = set(req.args(name))
        if wanted:
            items = [m for m in items if get(m) & wanted]
    order = req.arg("order")
    if order:
        keys: dict[str, Callable[[SimMarket], Any]] = {
            "volume": lambda m: m.volume,
            "volumeNum": lambda m: m.volume,
            "volume24hr": lambda m: m.volume,
            "liquidity": lambda m: m.liquidity,
            "liquidityNum": lambda m: m.liquidity,
            "id": lambda m: int(m.gamma_id),
            "endDate": lambda m: m.end_date_iso,
        }
        key = keys.get(order.split(",")[0])
        if key is not None:
            items.sort(key=key, reverse=_bool(req, "ascending") is not True)
    return items


def _closed(state: SimState, m: SimMarket) -> bool:
    st = state.exchange.market(m.condition_id)
    return st.closed if st is not None else m.closed


def _filter_events(state: SimState, req: Request) -> list[SimEvent]:
    items = list(state.events)
    wanted_ids, wanted_slugs = set(req.args("id")), set(req.args("slug"))
    if wanted_ids:
        items = [e for e in items if e.event_id in wanted_ids]
    if wanted_slugs:
        items = [e for e in items if e.slug in wanted_slugs]
    closed = _bool(req, "closed")
    active = _bool(req, "active")
    if closed is not None or active is not None:

        def is_closed(e: SimEvent) -> bool:
            members = [state.by_name[n] for n in e.market_names if n in state.by_name]
            return bool(members) and all(_closed(state, m) for m in members)

        if closed is not None:
            items = [e for e in items if is_closed(e) == closed]
        if active is not None:
            items = [e for e in items if (not is_closed(e)) == active]
    return items


def _keyset(req: Request, items: Sequence[T], limit: int) -> tuple[list[T], str | None]:
    if req.arg("offset") is not None:
        raise HttpError(422, "offset is not supported by keyset pagination")
    cursor = req.arg("after_cursor")
    start = 0
    if cursor:
        try:
            start = int(base64.urlsafe_b64decode(cursor.encode()).decode())
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise HttpError(422, "invalid after_cursor") from None
    size = _int(req, "limit", limit, limit) or limit
    chunk = list(items[start : start + size])
    end = start + len(chunk)
    nxt = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None
    return chunk, nxt


# --- handlers ---------------------------------------------------------------------------------


async def markets(state: SimState, req: Request) -> Response:
    items = _filter_markets(state, req)
    offset = _offset(req)
    limit = _int(req, "limit", _MAX_MARKETS, _MAX_MARKETS)
    return json_response([gamma_market_wire(state, m) for m in items[offset : offset + limit]])


async def markets_keyset(state: SimState, req: Request) -> Response:
    chunk, nxt = _keyset(req, _filter_markets(state, req), _MAX_MARKETS)
    body: dict[str, Any] = {"markets": [gamma_market_wire(state, m) for m in chunk]}
    if nxt is not None:
        body["next_cursor"] = nxt
    return json_response(body)


async def market(state: SimState, req: Request) -> Response:
    m = state.by_gamma_id.get(req.param)
    if m is None:
        raise HttpError(404, "not found")
    return json_response(gamma_market_wire(state, m))


async def market_by_slug(state: SimState, req: Request) -> Response:
    m = state.by_slug.get(req.param)
    if m is None:
        raise HttpError(404, "not found")
    return json_response(gamma_market_wire(state, m))


async def events(state: SimState, req: Request) -> Response:
    items = _filter_events(state, req)
    offset = _offset(req)
    limit = _int(req, "limit", _MAX_EVENTS, _MAX_EVENTS)
    return json_response([event_wire(state, e) for e in items[offset : offset + limit]])


async def events_keyset(state: SimState, req: Request) -> Response:
    chunk, nxt = _keyset(req, _filter_events(state, req), _MAX_EVENTS)
    body: dict[str, Any] = {"events": [event_wire(state, e) for e in chunk]}
    if nxt is not None:
        body["next_cursor"] = nxt
    return json_response(body)


async def event(state: SimState, req: Request) -> Response:
    e = next((e for e in state.events if e.event_id == req.param), None)
    if e is None:
        raise HttpError(404, "not found")
    return json_response(event_wire(state, e))


async def event_by_slug(state: SimState, req: Request) -> Response:
    e = next((e for e in state.events if e.slug == req.param), None)
    if e is None:
        raise HttpError(404, "not found")
    return json_response(event_wire(state, e))


def register(router: Router) -> None:
    r, p = router.route, router.prefix
    r("GET", PREFIX + "/markets", markets)
    r("GET", PREFIX + "/markets/keyset", markets_keyset)
    p("GET", PREFIX + "/markets/slug/", market_by_slug)
    p("GET", PREFIX + "/markets/", market)
    r("GET", PREFIX + "/events", events)
    r("GET", PREFIX + "/events/keyset", events_keyset)
    p("GET", PREFIX + "/events/slug/", event_by_slug)
    p("GET", PREFIX + "/events/", event)
