"""L2-authenticated CLOB endpoints (ref §4.2, §5.1, §5.5-§5.7, §6): orders, cancels, open
orders, trades, balances, heartbeats and key management.

L2: HMAC-SHA256 over `timestamp + METHOD + path + raw body bytes` (never a re-serialisation),
timestamp within `auth_window_s`, a known key, its passphrase, and POLY_ADDRESS = the key's
address; any failure is 401 `Unauthorized/Invalid api key`.

An order envelope is checked like the venue: owner = API key, signer = the key's address (type
0 also maker = signer), a known token, then the EIP-712 V2 digest is rebuilt with the market's
domain (the neg-risk exchange for neg-risk markets) and the signature recovered. The order id is
that digest. Business rules (tick, size, balance, FOK/FAK, post-only, GTD) are the exchange's.
"""

from __future__ import annotations

from typing import Any, Final

from polymarket_bot.core.errors import InvalidValueError
from polymarket_bot.core.types import OrderType
from polymarket_bot.protocol.auth import AuthError, parse_l2_headers, verify_l2_signature
from polymarket_bot.protocol.eip712 import SignatureError, recover_address
from polymarket_bot.protocol.signing import (
    CONTRACTS,
    SignatureType,
    exchange_domain,
    order_digest,
    order_from_json,
    recover_order_signer,
)
from polymarket_bot.sim.keys import ApiKeyRecord
from polymarket_bot.sim.model import (
    LIVE,
    HeartbeatMismatchError,
    OrderRejectedError,
    OrderRequest,
)
from polymarket_bot.sim.rest_api import (
    HttpError,
    LostResponse,
    Request,
    Response,
    Router,
    json_response,
    page,
)
from polymarket_bot.sim.state import SimState

__all__ = ["UNAUTHORIZED", "authenticate", "register"]

UNAUTHORIZED: Final = "Unauthorized/Invalid api key"
INVALID_ORDER: Final = "Invalid order payload"
OWNER_MISMATCH: Final = "the order owner has to be the owner of the API KEY"
SIGNER_MISMATCH: Final = "the order signer address has to be the address of the API KEY"
MAKER_MISMATCH: Final = "the order maker address has to be the signer address for EOA orders"
BAD_SIGNATURE: Final = "invalid signature"
BAD_TOKEN: Final = "Invalid token id"
NEG_RISK_ADAPTER: Final = "0xd91E80cF2E7be2e162c6513ceD06f1dD0dA35296"
MAX_UINT256: Final = str((1 << 256) - 1)
_SIG_TYPES: Final = {
    "EOA": 0,
    "POLY_PROXY": 1,
    "GNOSIS_SAFE": 2,
    "POLY_GNOSIS_SAFE": 2,
    "POLY_1271": 3,
}


class _Rejected(Exception):
    """An order-level rejection: 400 for a single order, a `success: false` leg in a batch."""

    def __init__(self, message: str, status: int = 400, body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body


def authenticate(state: SimState, req: Request) -> ApiKeyRecord:
    """Verify L2 headers against the raw request; the key record or 401."""
    try:
        h = parse_l2_headers(req.headers)
    except AuthError:
        raise HttpError(401, UNAUTHORIZED) from None
    if abs(int(h.timestamp) - int(state.now())) > state.config.auth_window_s:
        raise HttpError(401, UNAUTHORIZED)
    record = state.keys.lookup(h.api_key)
    if (
        record is None
        or record.creds.passphrase != h.passphrase
        or record.address.lower() != h.address.lower()
        or not verify_l2_signature(
            record.creds.secret, h.timestamp, req.method, req.path, req.body, h.signature
        )
    ):
        raise HttpError(401, UNAUTHORIZED)
    return record


# --- orders -----------------------------------------------------------------------------------


def _order_request(state: SimState, record: ApiKeyRecord, env: object) -> OrderRequest:
    """Validate one envelope (§6.5) down to the exchange's input, or raise `_Rejected`."""
    if not isinstance(env, dict) or not isinstance(env.get("order"), dict):
        raise _Rejected(INVALID_ORDER)
    if env.get("owner") != record.api_key:
        raise _Rejected(OWNER_MISMATCH)
    try:
        order_type = OrderType(env.get("orderType", "GTC"))
    except ValueError:
        raise _Rejected(INVALID_ORDER) from None
    post_only = env.get("postOnly", False)
    if not isinstance(post_only, bool) or not isinstance(env.get("deferExec", False), bool):
        raise _Rejected(INVALID_ORDER)
    try:
        order, signature = order_from_json(env["order"])
    except InvalidValueError:
        raise _Rejected(INVALID_ORDER) from None
    key_address = record.address.lower()
    sig_type = order.signature_type
    if sig_type != SignatureType.POLY_1271:
        if order.signer.lower() != key_address:
            raise _Rejected(SIGNER_MISMATCH)
        if sig_type == SignatureType.EOA and order.maker.lower() != order.signer.lower():
            raise _Rejected(MAKER_MISMATCH)
    market = state.exchange.market_for_token(order.token_id)
    if market is None:
        raise _Rejected(BAD_TOKEN)
    domain = exchange_domain(state.config.chain_id, neg_risk=market.spec.neg_risk)
    digest = order_digest(order, domain)  # hashed once: recovery input and order id
    try:
        if sig_type == SignatureType.POLY_1271:
            # The deposit wallet (signer = maker) is modelled as owned by the key signing it.
            recovered = recover_order_signer(order, signature, domain)
        else:
            recovered = recover_address(digest, signature)
    except SignatureError:
        raise _Rejected(BAD_SIGNATURE) from None
    if recovered.lower() != key_address:
        raise _Rejected(BAD_SIGNATURE)
    return OrderRequest(
        order_id="0x" + digest.hex(),
        owner=record.api_key,
        maker_address=order.maker,
        token_id=order.token_id,
        side=order.side,
        maker_amount=order.maker_amount,
        taker_amount=order.taker_amount,
        order_type=order_type,
        expiration=order.expiration,
        post_only=post_only,
    )


def _submit(state: SimState, record: ApiKeyRecord, env: object) -> dict[str, Any]:
    """Place one envelope; the §6.6 success shape, or `_Rejected`."""
    req = _order_request(state, record, env)
    if not req.post_only:
        blocked = state.faults.post_only_mode(state.clock.monotonic())
        if blocked is not None:
            raise _Rejected(str((blocked.body or {})["error"]), 503, dict(blocked.body or {}))
    try:
        result = state.exchange.place_order(req, state.now())
    except OrderRejectedError as exc:
        raise _Rejected(exc.message) from None
    order = env["order"] if isinstance(env, dict) else {}
    record.funders.setdefault(int(order.get("signatureType", 0)), req.maker_address)
    return result.to_wire()


def _failed_leg(message: str) -> dict[str, Any]:
    return {
        "success": False,
        "errorMsg": message,
        "orderID": "",
        "status": "",
        "makingAmount": "",
        "takingAmount": "",
        "transactionsHashes": [],
        "tradeIDs": [],
    }


def _count_received(state: SimState, req: Request, n: int) -> None:
    key = req.headers.get("poly_api_key") or "<none>"
    state.counters.bump(state.counters.orders_received, key, n)


async def post_order(state: SimState, req: Request) -> Response | LostResponse:
    _count_received(state, req, 1)
    record = authenticate(state, req)
    env = req.json(INVALID_ORDER)
    counters = state.counters
    try:
        wire = _submit(state, record, env)
    except _Rejected as exc:
        counters.bump(counters.orders_rejected, record.api_key)
        if exc.body is not None:
            retry = exc.body.get("retry_after_seconds")
            headers = [("Retry-After", str(retry))] if retry is not None else []
            raise HttpError(exc.status, exc.body, headers) from None
        raise HttpError(exc.status, exc.message) from None
    finally:
        state.publish()
    counters.bump(counters.orders_accepted, record.api_key)
    lost = state.faults.take_lost_response(req.method, req.path, state.clock.monotonic())
    if lost is not None:
        return LostResponse(str(lost["mode"]), float(lost["hang_s"]), str(lost["message"]))
    return json_response(wire)


async def post_orders(state: SimState, req: Request) -> Response | LostResponse:
    record = authenticate(state, req)
    envs = req.json(INVALID_ORDER)
    if not isinstance(envs, list) or not envs:
        _count_received(state, req, 1)
        raise HttpError(400, INVALID_ORDER)
    _count_received(state, req, len(envs))
    limit = state.config.max_batch_orders
    if len(envs) > limit:
        raise HttpError(400, f"Too many orders in payload: {len(envs)}, max allowed: {limit}")
    counters = state.counters
    out: list[dict[str, Any]] = []
    try:
        for env in envs:
            try:
                out.append(_submit(state, record, env))
                counters.bump(counters.orders_accepted, record.api_key)
            except _Rejected as exc:
                counters.bump(counters.orders_rejected, record.api_key)
                if exc.status == 503:  # post-only mode: a 200 leg with success and the reason
                    leg = _failed_leg(exc.message)
                    leg["success"] = True
                    out.append(leg)
                else:
                    out.append(_failed_leg(exc.message))
    finally:
        state.publish()
    lost = state.faults.take_lost_response(req.method, req.path, state.clock.monotonic())
    if lost is not None:
        return LostResponse(str(lost["mode"]), float(lost["hang_s"]), str(lost["message"]))
    return json_response(out)


# --- cancels ----------------------------------------------------------------------------------


def _cancelled(state: SimState, record: ApiKeyRecord, result: Any) -> Response:
    state.counters.bump(state.counters.cancel_requests, record.api_key)
    state.publish()
    return json_response(result.to_wire())


async def cancel_order(state: SimState, req: Request) -> Response:
    record = authenticate(state, req)
    body = req.json()
    order_id = body.get("orderID") if isinstance(body, dict) else None
    if not isinstance(order_id, str) or not order_id:
        raise HttpError(400, "Invalid payload")
    return _cancelled(
        state, record, state.exchange.cancel_order(record.api_key, order_id, state.now())
    )


async def cancel_orders(state: SimState, req: Request) -> Response:
    record = authenticate(state, req)
    ids = req.json()
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise HttpError(400, "Invalid payload")
    limit = state.config.max_cancel_ids
    if len(ids) > limit:
        raise HttpError(400, f"Too many orders in payload: {len(ids)}, max allowed: {limit}")
    return _cancelled(state, record, state.exchange.cancel_orders(record.api_key, ids, state.now()))


async def cancel_all(state: SimState, req: Request) -> Response:
    record = authenticate(state, req)
    return _cancelled(state, record, state.exchange.cancel_all(record.api_key, state.now()))


async def cancel_market_orders(state: SimState, req: Request) -> Response:
    record = authenticate(state, req)
    body = req.json() if req.body else {}
    if not isinstance(body, dict):
        raise HttpError(400, "Invalid payload")
    market, asset = body.get("market", ""), body.get("asset_id", "")
    if not isinstance(market, str) or not isinstance(asset, str) or not (market or asset):
        raise HttpError(400, "Invalid payload")
    result = state.exchange.cancel_market_orders(
        record.api_key, state.now(), market=market, asset_id=asset
    )
    return _cancelled(state, record, result)


# --- reads ------------------------------------------------------------------------------------


async def open_orders(state: SimState, req: Request) -> Response:
    record = authenticate(state, req)
    orders = state.exchange.open_orders(
        record.api_key,
        market=req.arg("market") or "",
        asset_id=req.arg("asset_id") or "",
        order_id=req.arg("id") or "",
    )
    items = [o.to_wire() for o in orders]
    return json_response(page(items, req.arg("next_cursor"), state.config.page_size))


async def get_order(state: SimState, req: Request) -> Response:
    record = authenticate(state, req)
    order = state.exchange.order(req.param)
    if order is None or order.owner != record.api_key or order.status != LIVE:
        return json_response(None)
    return json_response(order.to_wire())


def _int_arg(req: Request, name: str) -> int | None:
    value = req.arg(name)
    if value in (None, ""):
        return None
    if not value.isdigit():
        raise HttpError(400, f"invalid {name}")
    return int(value)


async def trades(state: SimState, req: Request) -> Response:
    record = authenticate(state, req)
    found = state.exchange.trades(
        record.api_key,
        trade_id=req.arg("id") or "",
        market=req.arg("market") or "",
        asset_id=req.arg("asset_id") or "",
        maker_address=req.arg("maker_address") or "",
        before=_int_arg(req, "before"),
        after=_int_arg(req, "after"),
    )
    items = [t.to_wire(record.api_key) for t in found]
    return json_response(page(items, req.arg("next_cursor"), state.config.page_size))


def _signature_type(req: Request) -> int:
    value = req.arg("signature_type")
    if value in (None, "", "-1"):
        return 0
    if value.isdigit() and int(value) in (0, 1, 2, 3):
        return int(value)
    named = _SIG_TYPES.get(value.upper())
    if named is None:
        raise HttpError(400, "Invalid signature_type")
    return named


async def balance_allowance(state: SimState, req: Request) -> Response:
    record = authenticate(state, req)
    asset_type = (req.arg("asset_type") or "COLLATERAL").upper()
    account = state.exchange.account(record.funder(_signature_type(req)), record.api_key)
    if asset_type == "COLLATERAL":
        balance = account.pusd
    elif asset_type == "CONDITIONAL":
        token = req.arg("token_id")
        if not token or state.exchange.market_for_token(token) is None:
            raise HttpError(400, BAD_TOKEN)
        balance = account.token_balance(token)
    else:
        raise HttpError(400, "Invalid asset type")
    contracts = CONTRACTS.get(state.config.chain_id, CONTRACTS[137])
    spenders = (contracts.exchange_v2, contracts.neg_risk_exchange_v2, NEG_RISK_ADAPTER)
    return json_response(
        {"balance": str(balance), "allowances": dict.fromkeys(spenders, MAX_UINT256)}
    )


async def heartbeat(state: SimState, req: Request) -> Response:
    record = authenticate(state, req)
    body = req.json() if req.body else {}
    hb_id = body.get("heartbeat_id", "") if isinstance(body, dict) else None
    if not isinstance(hb_id, str):
        raise HttpError(400, "Invalid payload")
    try:
        new_id = state.exchange.heartbeat(record.api_key, hb_id, state.now())
    except HeartbeatMismatchError as exc:
        raise HttpError(
            400, {"heartbeat_id": exc.expected_id, "error": "Invalid Heartbeat ID"}
        ) from None
    state.publish()
    return json_response({"heartbeat_id": new_id})


async def api_keys(state: SimState, req: Request) -> Response:
    record = authenticate(state, req)
    return json_response({"apiKeys": state.keys.keys_of(record.address)})


async def delete_api_key(state: SimState, req: Request) -> Response:
    record = authenticate(state, req)
    state.keys.delete(record.api_key)
    return json_response("OK")


async def closed_only(state: SimState, req: Request) -> Response:
    authenticate(state, req)
    return json_response({"closed_only": False})


async def order_scoring(state: SimState, req: Request) -> Response:
    authenticate(state, req)
    return json_response({"scoring": False})


async def orders_scoring(state: SimState, req: Request) -> Response:
    authenticate(state, req)
    ids = req.json()
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise HttpError(400, "Invalid payload")
    return json_response(dict.fromkeys(ids, False))


async def notifications(state: SimState, req: Request) -> Response:
    authenticate(state, req)
    return json_response([] if req.method == "GET" else "OK")


async def pre_migration_orders(state: SimState, req: Request) -> Response:
    authenticate(state, req)
    return json_response(page([], req.arg("next_cursor"), state.config.page_size))


def register(router: Router) -> None:
    r, p = router.route, router.prefix
    r("POST", "/order", post_order)
    r("POST", "/orders", post_orders)
    r("DELETE", "/order", cancel_order)
    r("DELETE", "/orders", cancel_orders)
    r("DELETE", "/cancel-all", cancel_all)
    r("DELETE", "/cancel-market-orders", cancel_market_orders)
    r("GET", "/data/orders", open_orders)
    p("GET", "/data/order/", get_order)
    r("GET", "/data/trades", trades)
    r("GET", "/data/pre-migration-orders", pre_migration_orders)
    r("GET", "/balance-allowance", balance_allowance)
    r("GET", "/balance-allowance/update", balance_allowance)
    r("POST", "/v1/heartbeats", heartbeat)
    r("GET", "/auth/api-keys", api_keys)
    r("DELETE", "/auth/api-key", delete_api_key)
    r("GET", "/auth/ban-status/closed-only", closed_only)
    r("GET", "/order-scoring", order_scoring)
    r("POST", "/orders-scoring", orders_scoring)
    r("GET", "/notifications", notifications)
    r("DELETE", "/notifications", notifications)
