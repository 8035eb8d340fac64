"""Decoders: venue bytes -> typed wire structs. Sans-I/O, one decoder object per WS connection.

Two paths per frame:
- fast: one prebuilt msgspec decoder for `list[Event] | Event` (a tagged union on `event_type`)
  parses and validates the whole frame in C;
- lenient (only when the fast path rejects the frame): generic decode, skip objects whose
  `event_type` is unknown (counted), rewrite spelling variants (`protocol.normalize`), convert.

Plain-text control frames (`PONG`, `NO NEW ASSETS`) decode to `[]` and are counted; use
`is_control_frame()` to tell them apart beforehand. Anything malformed raises
`protocol.errors.DecodeError` and nothing else.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Generic, TypeVar

import msgspec

from polymarket_bot.protocol import normalize
from polymarket_bot.protocol.errors import DecodeError
from polymarket_bot.protocol.wire import (
    MARKET_EVENT_TYPES,
    USER_EVENT_TYPES,
    MarketEvent,
    Trade,
    UserEvent,
)
from polymarket_bot.protocol.wire_gamma import gamma_dec_hook
from polymarket_bot.protocol.wire_rest import CursorPage, OpenOrder, OrderBookSummary

__all__ = [
    "CONTROL_FRAMES",
    "MarketDecoder",
    "UserDecoder",
    "decode_rest",
    "decode_server_time",
    "is_control_frame",
]

E = TypeVar("E")
T = TypeVar("T")

CONTROL_FRAMES = frozenset({"PONG", "NO NEW ASSETS"})
"""Plain-text (non-JSON) frames the CLOB WS server sends."""
_CONTROL_BYTES = frozenset(f.encode() for f in CONTROL_FRAMES)
_MAX_UNKNOWN_KEYS = 64  # distinct unknown event types remembered (memory stays bounded)

# Generic decoder for the lenient path: floats become exact Decimals, never binary floats.
_GENERIC = msgspec.json.Decoder(float_hook=Decimal)
_CONVERT_ERRORS = (msgspec.MsgspecError, RecursionError, ValueError, TypeError)


def is_control_frame(data: bytes | str) -> bool:
    """True for the server's plain-text frames (`PONG`, `NO NEW ASSETS`)."""
    if isinstance(data, str):
        return data.strip() in CONTROL_FRAMES
    return bytes(data).strip() in _CONTROL_BYTES


class _ChannelDecoder(Generic[E]):
    """Shared machinery of the per-channel decoders."""

    def __init__(
        self,
        event_types: tuple[type[Any], ...],
        fixers: Mapping[str, normalize.Fixer],
    ) -> None:
        union: Any = typing.Union[event_types]  # noqa: UP007 - built from a runtime tuple
        self._fast = msgspec.json.Decoder(list[union] | union)
        self._by_tag: dict[str, type[Any]] = {}
        for event_type in event_types:
            tag = event_type.__struct_config__.tag
            if isinstance(tag, str):
                self._by_tag[tag] = event_type
        self._fixers = fixers
        self.frames = 0
        """Frames decoded (control frames included)."""
        self.control_frames = 0
        self.lenient_frames = 0
        """Frames that needed the lenient path (variant spellings, legacy forms, unknown types)."""
        self.unknown_events = 0
        """Objects skipped because their `event_type` is missing or unknown."""
        self.unknown_types: dict[str, int] = {}
        """Skipped objects per `event_type` (first 64 distinct values, then `<other>`)."""

    def decode(self, data: bytes | str) -> list[E]:
        """Decode one WS frame (a JSON object or an array of objects) into events, in order."""
        self.frames += 1
        try:
            out = self._fast.decode(data)
        except msgspec.ValidationError:
            return self._decode_lenient(data)
        except (msgspec.DecodeError, UnicodeError):  # str input with lone surrogates
            if is_control_frame(data):
                self.control_frames += 1
                return []
            raise DecodeError("malformed JSON frame", data) from None
        except RecursionError:
            raise DecodeError("frame nested too deeply", data) from None
        if type(out) is list:
            return out
        return [out]

    def _decode_lenient(self, data: bytes | str) -> list[E]:
        self.lenient_frames += 1
        try:
            obj = _GENERIC.decode(data)
        except (msgspec.DecodeError, RecursionError, UnicodeError):
            raise DecodeError("malformed JSON frame", data) from None
        items = obj if isinstance(obj, list) else [obj]
        out: list[E] = []
        for item in items:
            if not isinstance(item, dict):
                raise DecodeError("frame element is not a JSON object", data)
            tag = item.get("event_type")
            cls = self._by_tag.get(tag) if isinstance(tag, str) else None
            if cls is None or not isinstance(tag, str):
                self._count_unknown(tag)
                continue
            try:
                out.append(msgspec.convert(self._fixers[tag](item), cls))
            except _CONVERT_ERRORS as exc:
                raise DecodeError(f"invalid {tag!r} event: {exc}", data) from None
        return out

    def _count_unknown(self, tag: object) -> None:
        self.unknown_events += 1
        key = tag[:64] if isinstance(tag, str) else "<missing>" if tag is None else "<non-string>"
        if key not in self.unknown_types and len(self.unknown_types) >= _MAX_UNKNOWN_KEYS:
            key = "<other>"
        self.unknown_types[key] = self.unknown_types.get(key, 0) + 1


class MarketDecoder(_ChannelDecoder[MarketEvent]):
    """Market channel (`/ws/market`): book, price_change, last_trade_price, tick_size_change,
    best_bid_ask, new_market, market_resolved. `decode(data) -> list[MarketEvent]`."""

    def __init__(self) -> None:
        super().__init__(MARKET_EVENT_TYPES, normalize.MARKET_FIXERS)


class UserDecoder(_ChannelDecoder[UserEvent]):
    """User channel (`/ws/user`): order, trade. `decode(data) -> list[UserEvent]`."""

    def __init__(self) -> None:
        super().__init__(USER_EVENT_TYPES, normalize.USER_FIXERS)


# --- REST -------------------------------------------------------------------------------------

_REST_FIXERS: dict[Any, normalize.Fixer] = {
    OpenOrder: normalize.fix_open_order,
    Trade: normalize.fix_trade,
    OrderBookSummary: normalize.fix_book,
}
_AnyFixer = Callable[[Any], Any]


@functools.lru_cache(maxsize=256)
def _rest_decoder(tp: Any) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(tp, dec_hook=gamma_dec_hook)


@functools.lru_cache(maxsize=256)
def _rest_fixer(tp: Any) -> _AnyFixer | None:
    """The lenient rewrite for a body of type `tp` (reaching into `CursorPage[X]` and `list[X]`),
    or None when `tp` has no spelling variants to fix."""
    row_fixer = _REST_FIXERS.get(tp)
    if row_fixer is not None:
        fix_row = row_fixer
        return lambda obj: fix_row(obj) if isinstance(obj, dict) else obj
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    inner = _rest_fixer(args[0]) if args else None
    if inner is None:
        return None
    fix_item = inner
    if origin is CursorPage:

        def fix_page(obj: Any) -> Any:
            if isinstance(obj, dict) and isinstance(obj.get("data"), list):
                obj["data"] = [fix_item(row) for row in obj["data"]]
            return obj

        return fix_page
    if origin in (list, tuple):
        return lambda obj: [fix_item(o) for o in obj] if isinstance(obj, list) else obj
    return None


def decode_rest(data: bytes | str, tp: type[T]) -> T:
    """Decode a REST response body into `tp` (a wire struct, `list[Struct]`,
    `CursorPage[Struct]`, a dict alias such as `PricesResponse`, or `int`)."""
    key: Any = tp  # generic aliases and structs are hashable; mypy cannot see it through type[T]
    try:
        return _rest_decoder(key).decode(data)  # type: ignore[no-any-return]
    except msgspec.ValidationError as exc:
        first_error = exc
    except (msgspec.DecodeError, RecursionError, UnicodeError):
        raise DecodeError(f"malformed JSON body for {_name(tp)}", data) from None
    fixer = _rest_fixer(key)
    if fixer is None:
        raise DecodeError(f"invalid {_name(tp)}: {first_error}", data) from None
    try:
        obj = fixer(_GENERIC.decode(data))
        return msgspec.convert(obj, tp, dec_hook=gamma_dec_hook)
    except _CONVERT_ERRORS as exc:
        raise DecodeError(f"invalid {_name(tp)}: {exc}", data) from None


def decode_server_time(data: bytes | str) -> int:
    """`GET /time`: a bare integer of Unix seconds; `{"time": n}`/`{"timestamp": n}` tolerated."""
    try:
        value = _GENERIC.decode(data)
    except (msgspec.DecodeError, RecursionError, UnicodeError):
        raise DecodeError("malformed /time body", data) from None
    if isinstance(value, dict):
        value = value.get("time", value.get("timestamp"))
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip()) if len(value.strip()) <= 20 else None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise DecodeError("/time is not a non-negative integer", data)


def _name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or repr(tp)
