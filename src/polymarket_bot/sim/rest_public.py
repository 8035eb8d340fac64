"""Public CLOB endpoints (ref §5.1-§5.4) and the two L1 key endpoints (§4.1).

Shapes follow the venue: numbers as strings in books and prices, JSON numbers in market objects
and `/tick-size` (printed exactly: `0.01`, `0.001`), books best-last with the ten-key hash,
cursor pages ending in `LTE=`. Token ids that are not decimal integers get 400 `Invalid token
id`; unknown ones 404 `No orderbook exists for the requested token id`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Final

from polymarket_bot.core.types import Side
from polymarket_bot.protocol.auth import AuthError, parse_l1_headers, verify_l1
from polymarket_bot.sim.markets import SimMarket
from polymarket_bot.sim.model import BookSnapshot
from polymarket_bot.sim.rest_api import (
    HttpError,
    Request,
    Response,
    Router,
    fmt_decimal,
    json_number,
    json_response,
    page,
)
from polymarket_bot.sim.state import SimState

__all__ = ["clob_market_wire", "iso", "market_wire", "register", "snapshot_or_error"]

BAD_TOKEN: Final = "Invalid token id"
NO_BOOK: Final = "No orderbook exists for the requested token id"
_INTERVALS: Final = {
    "1h": 3600,
    "6h": 6 * 3600,
    "1d": 86400,
    "1w": 7 * 86400,
    "1m": 30 * 86400,
    "max": None,
    "all": None,
}
_REWARDS: Final = {"rates": None, "min_size": 50, "max_spread": 3.5}


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def neg_risk_market_id(event_id: str) -> str:
    return "0x" + hashlib.sha256(f"neg-risk-market:{event_id}".encode()).hexdigest()


# --- lookups ----------------------------------------------------------------------------------


def snapshot_or_error(state: SimState, token_id: str | None) -> BookSnapshot:
    if not token_id or not token_id.isascii() or not token_id.isdigit():
        raise HttpError(400, BAD_TOKEN)
    snap = state.snapshot(token_id)
    if snap is None:
        raise HttpError(404, NO_BOOK)
    return snap


def _best(snap: BookSnapshot) -> tuple[Decimal, Decimal]:
    """Top of book with the venue's empty-side values (bid 0, ask 1)."""
    bid = Decimal(snap.best_bid) if snap.best_bid is not None else Decimal(0)
    ask = Decimal(snap.best_ask) if snap.best_ask is not None else Decimal(1)
    return bid, ask


def _side(value: str | None) -> Side:
    if value is None or value.upper() not in ("BUY", "SELL"):
        raise HttpError(400, "Invalid side")
    return Side(value.upper())


def _price(snap: BookSnapshot, side: Side) -> str:
    bid, ask = _best(snap)
    return fmt_decimal(bid if side is Side.BUY else ask)


def _mid(snap: BookSnapshot) -> str:
    bid, ask = _best(snap)
    return fmt_decimal((bid + ask) / 2)


def _spread(snap: BookSnapshot) -> str:
    bid, ask = _best(snap)
    return fmt_decimal(ask - bid)


def _last(snap: BookSnapshot) -> tuple[str, str]:
    if not snap.last_trade_price:
        return "0.5", ""
    return snap.last_trade_price, snap.last_trade_side


def _body_items(req: Request, limit: int) -> list[dict[str, Any]]:
    items = req.json("Invalid payload")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise HttpError(400, "Invalid payload")
    if len(items) > limit:
        raise HttpError(400, "Payload exceeds the limit")
    return items


def _token_of(item: dict[str, Any]) -> str | None:
    value = item.get("token_id")
    return value if isinstance(value, str) else None


# --- market objects ---------------------------------------------------------------------------


def market_wire(state: SimState, m: SimMarket) -> dict[str, Any]:
    """Full CLOB market object (§5.3)."""
    st = state.exchange.market(m.condition_id)
    closed = st.closed if st is not None else m.closed
    tick = st.tick_size if st is not None else m.tick_size
    winner = st.winner_token_id if st is not None else None
    return {
        "enable_order_book": True,
        "active": not closed,
        "closed": closed,
        "archived": False,
        "accepting_orders": st is not None and st.accepting_orders and not closed,
        "accepting_order_timestamp": iso(state.started_at),
        "minimum_order_size": json_number(m.min_order_size),
        "minimum_tick_size": json_number(tick.decimal),
        "condition_id": m.condition_id,
        "question_id": m.question_id,
        "question": m.question,
        "description": f"Simulated market {m.name}. {m.question}",
        "market_slug": m.slug,
        "end_date_iso": m.end_date_iso or None,
        "game_start_time": None,
        "seconds_delay": 0,
        "fpmm": "",
        "maker_base_fee": 0,
        "taker_base_fee": m.fees.fee_rate_bps,
        "notifications_enabled": True,
        "neg_risk": m.neg_risk,
        "neg_risk_market_id": neg_risk_market_id(m.event_id) if m.neg_risk else "",
        "neg_risk_request_id": m.question_id if m.neg_risk else "",
        "icon": "",
        "image": "",
        "rewards": dict(_REWARDS),
        "is_50_50_outcome": False,
        "tokens": _tokens(state, m, winner),
        "tags": list(m.tags),
    }


def _tokens(state: SimState, m: SimMarket, winner: str | None) -> list[dict[str, Any]]:
    return [
        {
            "token_id": token,
            "outcome": outcome,
            "price": float(state.token_price(token)),
            "winner": token == winner,
        }
        for token, outcome in zip(m.token_ids, m.outcomes, strict=True)
    ]


def simplified_wire(state: SimState, m: SimMarket) -> dict[str, Any]:
    full = market_wire(state, m)
    keys = ("condition_id", "rewards", "active", "closed", "archived", "accepting_orders")
    return {"condition_id": full["condition_id"], "tokens": full["tokens"]} | {
        k: full[k] for k in keys[1:]
    }


def clob_market_wire(state: SimState, m: SimMarket) -> dict[str, Any]:
    """`GET /clob-markets/{cid}`: compact keys; `nr` and `fd.to` only when true (§5.3)."""
    st = state.exchange.market(m.condition_id)
    tick = st.tick_size if st is not None else m.tick_size
    fees = m.fees
    fd: dict[str, Any] = {"r": float(fees.rate), "e": json_number(fees.exponent)}
    if fees.taker_only:
        fd["to"] = True
    out: dict[str, Any] = {
        "c": m.condition_id,
        "t": [{"t": t, "o": o} for t, o in zip(m.token_ids, m.outcomes, strict=True)],
        "mts": json_number(tick.decimal),
    }
    if m.neg_risk:
        out["nr"] = True
    out |= {
        "fd": fd,
        "mbf": 0,
        "tbf": fees.fee_rate_bps,
        "r": None,
        "ao": st is not None and st.accepting_orders and not st.closed,
        "mos": json_number(m.min_order_size),
        "sd": 0,
        "cbos": False,
        "aot": iso(state.started_at),
        "rfqe": False,
        "itode": False,
        "ibce": False,
    }
    return out


def _market_or_404(state: SimState, condition_id: str) -> SimMarket:
    m = state.by_condition.get(condition_id)
    if m is None:
        raise HttpError(404, "market not found")
    return m


# --- handlers ---------------------------------------------------------------------------------


async def ok(state: SimState, req: Request) -> Response:
    return json_response("OK")


async def server_time(state: SimState, req: Request) -> Response:
    return json_response(int(state.now()))


async def version(state: SimState, req: Request) -> Response:
    return json_response({"version": 2})


async def markets(state: SimState, req: Request) -> Response:
    items = [market_wire(state, m) for m in state.markets]
    return json_response(page(items, req.arg("next_cursor"), state.config.page_size))


async def simplified_markets(state: SimState, req: Request) -> Response:
    items = [simplified_wire(state, m) for m in state.markets]
    return json_response(page(items, req.arg("next_cursor"), state.config.page_size))


async def market(state: SimState, req: Request) -> Response:
    return json_response(market_wire(state, _market_or_404(state, req.param)))


async def live_activity(state: SimState, req: Request) -> Response:
    _market_or_404(state, req.param)
    return json_response([])


async def clob_market(state: SimState, req: Request) -> Response:
    return json_response(clob_market_wire(state, _market_or_404(state, req.param)))


async def market_by_token(state: SimState, req: Request) -> Response:
    token = req.param
    if not token.isascii() or not token.isdigit():
        raise HttpError(400, BAD_TOKEN)
    m = state.by_token.get(token)
    if m is None:
        raise HttpError(404, "market not found")
    index = m.token_ids.index(token)
    return json_response(
        {
            "condition_id": m.condition_id,
            "primary_token_id": m.token_ids[0],
            "secondary_token_id": m.token_ids[1],
            "token_id": token,
            "outcome": m.outcomes[index],
        }
    )


def _book(state: SimState, snap: BookSnapshot) -> dict[str, Any]:
    wire = snap.to_wire(state.book_timestamp(snap.asset_id))
    if state.faults.ws_active and state.faults.bad_hash(state.clock.monotonic(), rest=True):
        wire["hash"] = hashlib.sha1(
            b"bad" + wire["hash"].encode(), usedforsecurity=False
        ).hexdigest()
    return wire


async def book(state: SimState, req: Request) -> Response:
    return json_response(_book(state, snapshot_or_error(state, req.arg("token_id"))))


async def books(state: SimState, req: Request) -> Response:
    out = []
    for item in _body_items(req, state.config.max_books):
        token = _token_of(item)
        if token is None or not token.isdigit():
            raise HttpError(400, "Invalid payload")
        snap = state.snapshot(token)
        if snap is not None:
            out.append(_book(state, snap))
    return json_response(out)


async def price(state: SimState, req: Request) -> Response:
    snap = snapshot_or_error(state, req.arg("token_id"))
    return json_response({"price": _price(snap, _side(req.arg("side")))})


async def prices(state: SimState, req: Request) -> Response:
    out: dict[str, dict[str, str]] = {}
    for item in _body_items(req, state.config.max_books):
        snap = snapshot_or_error(state, _token_of(item))
        side = item.get("side")
        sides = [Side.BUY, Side.SELL] if side in (None, "") else [_side(str(side))]
        entry = out.setdefault(snap.asset_id, {})
        for s in sides:
            entry[s.value] = _price(snap, s)
    return json_response(out)


async def midpoint(state: SimState, req: Request) -> Response:
    return json_response({"mid": _mid(snapshot_or_error(state, req.arg("token_id")))})


async def midpoints(state: SimState, req: Request) -> Response:
    if req.method == "GET":
        tokens: list[str | None] = list(req.args("token_ids"))
    else:
        tokens = [_token_of(i) for i in _body_items(req, state.config.max_books)]
    out = {}
    for token in tokens:
        snap = snapshot_or_error(state, token)
        out[snap.asset_id] = _mid(snap)
    return json_response(out)


async def spread(state: SimState, req: Request) -> Response:
    return json_response({"spread": _spread(snapshot_or_error(state, req.arg("token_id")))})


async def spreads(state: SimState, req: Request) -> Response:
    out = {}
    for item in _body_items(req, state.config.max_books):
        snap = snapshot_or_error(state, _token_of(item))
        out[snap.asset_id] = _spread(snap)
    return json_response(out)


async def last_trade_price(state: SimState, req: Request) -> Response:
    p, s = _last(snapshot_or_error(state, req.arg("token_id")))
    return json_response({"price": p, "side": s})


async def last_trades_prices(state: SimState, req: Request) -> Response:
    out = []
    for item in _body_items(req, state.config.max_books):
        snap = snapshot_or_error(state, _token_of(item))
        p, s = _last(snap)
        out.append({"token_id": snap.asset_id, "price": p, "side": s})
    return json_response(out)


async def tick_size(state: SimState, req: Request) -> Response:
    snap = snapshot_or_error(state, req.arg("token_id"))
    tick = state.tick_size(snap.asset_id)
    value = tick.decimal if tick is not None else Decimal(snap.tick_size)
    return json_response({"minimum_tick_size": json_number(value)})


async def neg_risk(state: SimState, req: Request) -> Response:
    snap = snapshot_or_error(state, req.arg("token_id"))
    return json_response({"neg_risk": snap.neg_risk})


async def fee_rate(state: SimState, req: Request) -> Response:
    snap = snapshot_or_error(state, req.arg("token_id"))
    m = state.by_token.get(snap.asset_id)
    return json_response({"base_fee": m.fees.fee_rate_bps if m is not None else 0})


async def builder_fees(state: SimState, req: Request) -> Response:
    return json_response({"builder_maker_fee_rate_bps": 0, "builder_taker_fee_rate_bps": 0})


def _int_arg(req: Request, name: str) -> int | None:
    value = req.arg(name)
    if value in (None, ""):
        return None
    if not value.lstrip("-").isdigit():
        raise HttpError(400, f"invalid {name}")
    return int(value)


async def prices_history(state: SimState, req: Request) -> Response:
    token = req.arg("market")
    snapshot_or_error(state, token)
    assert token is not None
    now = int(state.now())
    start, end = _int_arg(req, "startTs"), _int_arg(req, "endTs")
    interval = req.arg("interval")
    if interval is not None and interval not in _INTERVALS:
        raise HttpError(400, f"invalid interval: {interval}")
    if start is None or end is None:
        span = _INTERVALS.get(interval or "max")
        end = now if end is None else end
        start = (end - span if span is not None else 0) if start is None else start
    if start > end:
        raise HttpError(400, "startTs must not be after endTs")
    fidelity = _int_arg(req, "fidelity") or 1
    if fidelity < 1:
        raise HttpError(400, "invalid fidelity")
    history = state.history.query(token, start, end, fidelity * 60)
    return json_response({"history": history})


# --- L1: API keys ---------------------------------------------------------------------------


def _l1(state: SimState, req: Request) -> tuple[str, int]:
    try:
        address = verify_l1(
            req.headers,
            chain_id=state.config.chain_id,
            now_s=int(state.now()),
            max_skew_s=state.config.auth_window_s,
        )
        nonce = parse_l1_headers(req.headers).nonce
    except AuthError:
        raise HttpError(401, "Invalid L1 Request headers") from None
    return address, nonce


def _creds(record: Any) -> dict[str, str]:
    creds = record.creds
    return {"apiKey": creds.api_key, "secret": creds.secret, "passphrase": creds.passphrase}


async def create_api_key(state: SimState, req: Request) -> Response:
    address, nonce = _l1(state, req)
    record = state.keys.create(address, nonce)
    if record is None:
        raise HttpError(400, "Could not create api key")
    return json_response(_creds(record))


async def derive_api_key(state: SimState, req: Request) -> Response:
    address, nonce = _l1(state, req)
    record = state.keys.derive(address, nonce)
    if record is None:
        raise HttpError(400, "Could not derive api key!")
    return json_response(_creds(record))


def register(router: Router) -> None:
    r, p = router.route, router.prefix
    r("GET", "/", ok)
    r("GET", "/ok", ok)
    r("GET", "/time", server_time)
    r("GET", "/version", version)
    for path in ("/markets", "/sampling-markets"):
        r("GET", path, markets)
    for path in ("/simplified-markets", "/sampling-simplified-markets"):
        r("GET", path, simplified_markets)
    p("GET", "/markets/", market)
    p("GET", "/markets/live-activity/", live_activity)
    p("GET", "/clob-markets/", clob_market)
    p("GET", "/markets-by-token/", market_by_token)
    r("GET", "/book", book)
    r("POST", "/books", books)
    r("GET", "/price", price)
    r("POST", "/prices", prices)
    r("GET", "/midpoint", midpoint)
    r("GET", "/midpoints", midpoints)
    r("POST", "/midpoints", midpoints)
    r("GET", "/spread", spread)
    r("POST", "/spreads", spreads)
    r("GET", "/last-trade-price", last_trade_price)
    r("POST", "/last-trades-prices", last_trades_prices)
    r("GET", "/tick-size", tick_size)
    r("GET", "/neg-risk", neg_risk)
    r("GET", "/fee-rate", fee_rate)
    p("GET", "/fees/builder-fees/", builder_fees)
    r("GET", "/prices-history", prices_history)
    r("POST", "/auth/api-key", create_api_key)
    r("GET", "/auth/derive-api-key", derive_api_key)
