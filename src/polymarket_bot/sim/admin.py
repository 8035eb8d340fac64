"""Loopback-only admin API of the simulator (`/admin/*`; other clients get 403).

* `GET /admin/state`: counters (orders received per API key ...), WS stats, faults, markets
* `POST /admin/faults {fault, params?, duration_s?}`: inject a fault (see `sim.faults`);
  `GET /admin/faults` lists them, `DELETE /admin/faults[?id=]` clears one or all
* `POST /admin/balance {address, pusd?, tokens?: {token_id: shares}}`: set balances (decimals)
* `POST /admin/resolve {market, winner}` or `{event, winner}`: winner = token id or outcome
* `POST /admin/tick-size {market, tick_size}`: change a tick (WS `tick_size_change`)
* `POST /admin/accepting {market, accepting}`: open/close a market for new orders
* `POST /admin/pause {paused}`: freeze the background flow and timers (quiescent books)
* `POST /admin/tick`: run one background tick now
* `POST /admin/bench/blast {n, asset_id?}`: push n price_change frames through the WS
  publish path (for bench/sim.py)

`market` may be a name (`SIM-3`), condition id, token id, Gamma id or slug.
"""

from __future__ import annotations

import time
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from polymarket_bot.core.errors import InvalidValueError
from polymarket_bot.core.types import TickSize, to_base_units
from polymarket_bot.sim.markets import SimMarket
from polymarket_bot.sim.rest_api import HttpError, Request, Response, Router, json_response
from polymarket_bot.sim.state import SimState

__all__ = ["blast", "register"]


def _body(req: Request) -> dict[str, Any]:
    body = req.json("invalid JSON body") if req.body else {}
    if not isinstance(body, dict):
        raise HttpError(400, "body must be a JSON object")
    return body


def _market(state: SimState, key: object) -> SimMarket:
    m = state.market(key) if isinstance(key, str) else None
    if m is None:
        raise HttpError(404, f"unknown market {key!r}")
    return m


def _units(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise HttpError(400, f"{name} must be a decimal")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise HttpError(400, f"{name} must be a decimal") from None
    if not amount.is_finite():
        raise HttpError(400, f"{name} must be finite")
    return to_base_units(amount)


async def state_view(state: SimState, req: Request) -> Response:
    mono = state.clock.monotonic()
    markets = []
    for m in state.markets:
        st = state.exchange.market(m.condition_id)
        snap = state.snapshot(m.token_ids[0])
        markets.append(
            {
                "name": m.name,
                "condition_id": m.condition_id,
                "token_ids": list(m.token_ids),
                "neg_risk": m.neg_risk,
                "closed": bool(st is not None and st.closed),
                "tick_size": st.tick_size.value if st is not None else m.tick_size.value,
                "best_bid": snap.best_bid if snap is not None else None,
                "best_ask": snap.best_ask if snap is not None else None,
            }
        )
    flow = state.universe.flow if state.universe is not None else None
    return json_response(
        {
            "now": state.now(),
            "uptime_s": mono - state.started_mono,
            "paused": state.paused,
            "counters": state.counters.to_wire(),
            "ws": state.hub.summary(),
            "faults": state.faults.to_wire(mono),
            "scheduled_faults": len(state.faults.pending()),
            "api_keys": len(state.keys),
            "flow": flow.stats() if flow is not None else None,
            "replay": None
            if state.replay is None
            else {
                "frames_released": state.replay.source.frames_released,
                "done": state.replay.source.done,
                "undecodable": state.replay.undecodable,
            },
            "markets": markets,
        }
    )


async def add_fault(state: SimState, req: Request) -> Response:
    body = _body(req)
    params = body.get("params") or {}
    if not isinstance(params, dict):
        raise HttpError(400, "params must be an object")
    try:
        fault = state.inject_fault(str(body.get("fault")), params, body.get("duration_s"))
    except InvalidValueError as exc:
        raise HttpError(400, str(exc)) from None
    return json_response(fault.to_wire(state.clock.monotonic()))


async def list_faults(state: SimState, req: Request) -> Response:
    return json_response(state.faults.to_wire(state.clock.monotonic()))


async def clear_faults(state: SimState, req: Request) -> Response:
    value = req.arg("id")
    if value is not None and not value.isdigit():
        raise HttpError(400, "id must be an integer")
    cleared = state.faults.clear(int(value) if value is not None else None)
    state.hub.flush_held()
    return json_response({"cleared": cleared})


async def set_balance(state: SimState, req: Request) -> Response:
    body = _body(req)
    address = body.get("address")
    if not isinstance(address, str) or not address.startswith("0x") or len(address) != 42:
        raise HttpError(400, "address must be a 0x address")
    pusd = _units(body["pusd"], "pusd") if body.get("pusd") is not None else None
    raw_tokens = body.get("tokens") or {}
    if not isinstance(raw_tokens, dict):
        raise HttpError(400, "tokens must be an object")
    tokens = {}
    for token, amount in raw_tokens.items():
        if state.exchange.market_for_token(token) is None:
            raise HttpError(400, f"unknown token {token}")
        tokens[token] = _units(amount, "tokens")
    acct = state.exchange.set_balance(address, pusd=pusd, tokens=tokens or None)
    return json_response(
        {"address": acct.address, "pusd": str(acct.pusd), "tokens": dict(acct.tokens)}
    )


async def resolve(state: SimState, req: Request) -> Response:
    body = _body(req)
    winner = body.get("winner")
    if not isinstance(winner, str):
        raise HttpError(400, "winner is required")
    now = state.now()
    try:
        if body.get("event") is not None:
            winning = _market(state, winner).condition_id
            state.exchange.resolve_event(str(body["event"]), winning, now)
            resolved = [m for m in state.markets if m.event_id == str(body["event"])]
        else:
            m = _market(state, body.get("market"))
            token = winner if winner in m.token_ids else None
            if token is None:
                labels = [o.lower() for o in m.outcomes]
                if winner.lower() not in labels:
                    raise HttpError(400, f"winner must be a token id or one of {m.outcomes}")
                token = m.token_ids[labels.index(winner.lower())]
            state.exchange.resolve_market(m.condition_id, token, now)
            resolved = [m]
    except InvalidValueError as exc:
        raise HttpError(400, str(exc)) from None
    for m in resolved:
        st = state.exchange.market(m.condition_id)
        m.closed = True
        if st is not None and st.winner_token_id in m.token_ids:
            m.winner_index = m.token_ids.index(st.winner_token_id)
    state.publish()
    return json_response({"resolved": [m.name for m in resolved]})


async def tick_size(state: SimState, req: Request) -> Response:
    body = _body(req)
    m = _market(state, body.get("market"))
    try:
        tick = TickSize.parse(str(body.get("tick_size")))
        state.exchange.set_tick_size(m.condition_id, tick, state.now())
    except InvalidValueError as exc:
        raise HttpError(400, str(exc)) from None
    m.tick_size = tick
    state.publish()
    return json_response({"market": m.name, "tick_size": tick.value})


async def accepting(state: SimState, req: Request) -> Response:
    body = _body(req)
    m = _market(state, body.get("market"))
    flag = body.get("accepting")
    if not isinstance(flag, bool):
        raise HttpError(400, "accepting must be a boolean")
    state.exchange.set_accepting_orders(m.condition_id, flag)
    return json_response({"market": m.name, "accepting_orders": flag})


async def pause(state: SimState, req: Request) -> Response:
    flag = _body(req).get("paused", True)
    if not isinstance(flag, bool):
        raise HttpError(400, "paused must be a boolean")
    state.paused = flag
    return json_response({"paused": flag})


async def tick(state: SimState, req: Request) -> Response:
    state.tick()
    return json_response({"ticks": state.counters.ticks})


async def blast(state: SimState, n: int, asset_id: str) -> float:
    """Publish `n` distinct price_change frames for `asset_id` through the hub, waiting (never
    dropping) while any subscriber's queue is over half full; returns the seconds taken."""
    hub = state.hub
    market = state.by_token.get(asset_id)
    cid = market.condition_id if market is not None else "0x" + "0" * 64
    encode = msgspec.json.encode
    half = max(1, hub.config.queue_limit // 2)
    start = time.perf_counter()
    ts = str(state.now_ms())
    for i in range(n):
        size = f"{100 + i % 5000}.{i % 100:02d}"
        frame = encode(
            {
                "event_type": "price_change",
                "market": cid,
                "price_changes": [
                    {
                        "asset_id": asset_id,
                        "price": "0.42",
                        "size": size,
                        "side": "BUY",
                        "hash": f"{i:040x}",
                        "best_bid": "0.42",
                        "best_ask": "0.43",
                    }
                ],
                "timestamp": ts,
            }
        ).decode()
        hub.publish_market((asset_id,), frame)
        if i % 256 == 255:
            for conn in list(hub.by_asset.get(asset_id, ())):
                if len(conn.queue) > half:
                    await conn.drained()
    for conn in list(hub.by_asset.get(asset_id, ())):
        await conn.drained()
    return time.perf_counter() - start


async def bench_blast(state: SimState, req: Request) -> Response:
    body = _body(req)
    n = body.get("n", 10_000)
    if isinstance(n, bool) or not isinstance(n, int) or not 0 < n <= 10_000_000:
        raise HttpError(400, "n must be an integer in 1..10000000")
    asset = body.get("asset_id")
    if asset is None:
        asset = state.markets[0].token_ids[0] if state.markets else "1"
    if not isinstance(asset, str):
        raise HttpError(400, "asset_id must be a string")
    subscribers = len(state.hub.by_asset.get(asset, ()))
    elapsed = await blast(state, n, asset)
    return json_response(
        {"frames": n, "subscribers": subscribers, "elapsed_s": elapsed, "asset_id": asset}
    )


def register(router: Router) -> None:
    r = router.route
    r("GET", "/admin/state", state_view)
    r("POST", "/admin/faults", add_fault)
    r("GET", "/admin/faults", list_faults)
    r("DELETE", "/admin/faults", clear_faults)
    r("POST", "/admin/balance", set_balance)
    r("POST", "/admin/resolve", resolve)
    r("POST", "/admin/tick-size", tick_size)
    r("POST", "/admin/accepting", accepting)
    r("POST", "/admin/pause", pause)
    r("POST", "/admin/tick", tick)
    r("POST", "/admin/bench/blast", bench_blast)
