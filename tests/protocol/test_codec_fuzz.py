"""Property tests: every decoder (and the mapping after it) returns a result or raises
`DecodeError` — never anything else — for arbitrary bytes and for mutated real frames."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polymarket_bot.protocol.codec import (
    MarketDecoder,
    UserDecoder,
    decode_rest,
    decode_server_time,
)
from polymarket_bot.protocol.errors import DecodeError
from polymarket_bot.protocol.mapping import (
    book_snapshot,
    market_event_to_core,
    order_update,
    trade_update,
    user_event_to_core,
)
from polymarket_bot.protocol.wire import Trade
from polymarket_bot.protocol.wire_gamma import DataTrade, GammaEvent, GammaMarket
from polymarket_bot.protocol.wire_rest import (
    BalanceAllowance,
    CancelResponse,
    ClobMarketInfo,
    CursorPage,
    ErrorResponse,
    FeeRateResponse,
    Market,
    MidpointResponse,
    OpenOrder,
    OrderBookSummary,
    OrderResponse,
    PricesHistory,
    TickSizeResponse,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "polymarket"
FUZZ = settings(
    max_examples=300,
    derandomize=True,  # deterministic: same examples every run
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Everything a REST caller might ask for, each with the mapping applied to what it returns.
REST_TARGETS: list[tuple[Any, Callable[[Any], object]]] = [
    (OrderBookSummary, book_snapshot),
    (OpenOrder, order_update),
    (Trade, trade_update),
    (CursorPage[OpenOrder], lambda page: [order_update(o) for o in page.data]),
    (CursorPage[Trade], lambda page: [trade_update(t) for t in page.data]),
    (list[Trade], lambda rows: [trade_update(t) for t in rows]),
    (Market, lambda m: m),
    (CursorPage[Market], lambda p: p),
    (GammaMarket, lambda m: m.token_ids),
    (list[GammaMarket], lambda ms: [m.token_ids for m in ms]),
    (GammaEvent, lambda e: e),
    (list[GammaEvent], lambda es: es),
    (list[DataTrade], lambda ts: ts),
    (OrderResponse, lambda r: r.accepted),
    (CancelResponse, lambda r: r),
    (BalanceAllowance, lambda r: r),
    (MidpointResponse, lambda r: r.value),
    (TickSizeResponse, lambda r: r),
    (FeeRateResponse, lambda r: r),
    (PricesHistory, lambda r: r),
    (ClobMarketInfo, lambda r: r),
    (ErrorResponse, lambda r: r),
]


def check_everything(data: bytes | str) -> None:
    """Feed `data` to every decoder; results are mapped; only DecodeError may escape."""
    try:
        for market_event in MarketDecoder().decode(data):
            try:
                market_event_to_core(market_event)
            except DecodeError:
                pass
    except DecodeError:
        pass
    try:
        for user_event in UserDecoder().decode(data):
            try:
                user_event_to_core(user_event)
            except DecodeError:
                pass
    except DecodeError:
        pass
    for tp, map_rest in REST_TARGETS:
        try:
            map_rest(decode_rest(data, tp))
        except DecodeError:
            pass
    try:
        assert decode_server_time(data) >= 0
    except DecodeError:
        pass


def load_fixtures() -> list[Any]:
    frames = []
    for folder in ("ws_messages", "http_responses"):
        for path in sorted((FIXTURES / folder).glob("*.json")):
            if path.stat().st_size < 20_000:  # the 260 kB market page is fuzzed via a slice
                frames.append(json.loads(path.read_bytes()))
    page = json.loads((FIXTURES / "http_responses" / "markets.json").read_bytes())
    page["data"] = page["data"][:3]
    frames.append(page)
    return frames


FIXTURE_OBJECTS = load_fixtures()

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["BUY", "sell", "LIVE", "CANCELED_x", "TRADE_STATUS_MINED", "", "0.5", "-1"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


def paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(obj, dict):
        for key, value in obj.items():
            out.extend(paths(value, (*prefix, key)))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            out.extend(paths(value, (*prefix, i)))
    return out


def mutate(draw: Callable[[st.SearchStrategy[Any]], Any], obj: Any) -> Any:
    """Drop a key, replace a value by any JSON value, or re-case a string, at random paths."""
    obj = json.loads(json.dumps(obj))  # private deep copy
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        path = draw(st.sampled_from(paths(obj)))
        if not path:
            obj = draw(json_values) if draw(st.integers(0, 9)) == 0 else obj
            continue
        parent = obj
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        op = draw(st.sampled_from(["drop", "replace", "case", "wrap"]))
        if op == "drop" and isinstance(parent, dict):
            del parent[key]
        elif op == "case" and isinstance(parent[key], str):
            parent[key] = parent[key].lower() if draw(st.booleans()) else parent[key].upper()
        elif op == "wrap":
            parent[key] = [parent[key]]
        else:
            parent[key] = draw(json_values)
    return obj


@st.composite
def mutated_frames(draw: st.DrawFn) -> bytes:
    obj = mutate(draw, draw(st.sampled_from(FIXTURE_OBJECTS)))
    if draw(st.booleans()):
        obj = [obj, draw(st.sampled_from(FIXTURE_OBJECTS))]
    data = json.dumps(obj).encode()
    if draw(st.integers(0, 4)) == 0:
        data = data[: draw(st.integers(0, len(data)))]  # truncated frame
    return data


@FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_bytes(data: bytes) -> None:
    check_everything(data)


@FUZZ
@given(st.text(max_size=200))
def test_arbitrary_text(text: str) -> None:
    """WS libraries hand text frames over as `str` (possibly with lone surrogates)."""
    check_everything(text)
    check_everything(text.encode("utf-8", "surrogatepass"))


def test_str_frames_with_lone_surrogates() -> None:
    for frame in ("\ud800", '{"event_type": "book", "asset_id": "\ud800"}'):
        check_everything(frame)


@FUZZ
@given(mutated_frames())
def test_mutated_real_frames(data: bytes) -> None:
    check_everything(data)


@FUZZ
@given(st.sampled_from(FIXTURE_OBJECTS), st.data())
def test_lenient_path_agrees_with_fast_path(obj: Any, data: st.DataObject) -> None:
    """The lenient path (forced here through the private method, on purpose) gives the same
    events as the fast path for every frame the fast path accepts, and rejects what it rejects."""
    if data.draw(st.booleans()):
        obj = mutate(data.draw, obj)
    frame = json.dumps(obj if data.draw(st.booleans()) else [obj, obj]).encode()
    for decoder in (MarketDecoder(), UserDecoder()):
        try:
            fast = decoder.decode(frame)
        except DecodeError:
            continue  # the lenient path already ran inside decode() and rejected it
        if decoder.lenient_frames:
            continue  # a variant only the lenient path accepts
        assert decoder._decode_lenient(frame) == fast
