"""Lenient rewriting of generic decoded JSON (dicts) into the canonical wire shapes.

Only the decoders' slow path runs this: a frame that fits the strict msgspec types is decoded in C
and never comes here. Each fixer takes one event/row dict (our private copy), rewrites venue
spelling variants in place and returns it; anything it cannot make sense of is left alone so the
following `msgspec.convert` reports it. Fixers never raise on odd input.

Variants handled (ref §5.5, §6.8, §7.5, §7.6, §12):
- sides in any case (`buy`) -> `BUY`; `trader_side`, order event `type` likewise;
- `ORDER_STATUS_` / `TRADE_STATUS_` prefixes stripped; `CANCELED_<reason>` -> status `CANCELED` and
  `status_reason` `<reason>` (longest known prefix); unknown spellings -> `UNKNOWN` + raw text;
- `matchtime` -> `match_time`; `token_id` -> `asset_id`; `asset_ids`/`token_ids` -> `assets_ids`;
- legacy `price_change` forms -> the `price_changes` array form;
- REST open-order `created_at` as a numeric string -> int.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from polymarket_bot.core.events import OrderEventType, OrderStatus, TraderSide, TradeStatus

Fixer = Callable[[dict[str, Any]], dict[str, Any]]

_ORDER_STATUS_PREFIX = "ORDER_STATUS_"
_TRADE_STATUS_PREFIX = "TRADE_STATUS_"
_ORDER_STATUSES = {s.value: s for s in OrderStatus}
# Longest first, so CANCELED_MARKET_RESOLVED_x splits after the longer known prefix.
_ORDER_STATUS_PREFIXES = sorted(
    (s for s in OrderStatus if s is not OrderStatus.UNKNOWN), key=lambda s: -len(s.value)
)
_TRADE_STATUSES = {s.value: s for s in TradeStatus}
_EVENT_TYPES = {t.value for t in OrderEventType}
_TRADER_SIDES = {t.value for t in TraderSide}


def parse_order_status(raw: str) -> tuple[OrderStatus, str]:
    """`"LIVE"` and `"ORDER_STATUS_LIVE"` -> (LIVE, "");
    `"CANCELED_order couldn't be fully filled."` -> (CANCELED, "order couldn't be fully filled.");
    anything else -> (UNKNOWN, raw)."""
    text = raw.strip()
    if text.upper().startswith(_ORDER_STATUS_PREFIX):
        text = text[len(_ORDER_STATUS_PREFIX) :]
    upper = text.upper()
    exact = _ORDER_STATUSES.get(upper)
    if exact is not None and exact is not OrderStatus.UNKNOWN:
        return exact, ""
    for status in _ORDER_STATUS_PREFIXES:
        if upper.startswith(status.value + "_"):
            return status, text[len(status.value) + 1 :]
    return OrderStatus.UNKNOWN, raw


def parse_trade_status(raw: str) -> tuple[TradeStatus, str]:
    """Strip `TRADE_STATUS_`, upper-case; unknown -> (UNKNOWN, raw)."""
    text = raw.strip().upper()
    if text.startswith(_TRADE_STATUS_PREFIX):
        text = text[len(_TRADE_STATUS_PREFIX) :]
    status = _TRADE_STATUSES.get(text)
    if status is None or status is TradeStatus.UNKNOWN:
        return TradeStatus.UNKNOWN, raw
    return status, ""


def _upper(obj: dict[str, Any], key: str) -> None:
    value = obj.get(key)
    if isinstance(value, str):
        obj[key] = value.strip().upper()


def _optional_upper(obj: dict[str, Any], key: str) -> None:
    """Upper-case; an empty string means absent (the field is optional)."""
    value = obj.get(key)
    if isinstance(value, str):
        value = value.strip().upper()
        if value:
            obj[key] = value
        else:
            del obj[key]


def _alias(obj: dict[str, Any], canonical: str, *aliases: str) -> None:
    if canonical in obj:
        return
    for alias in aliases:
        if alias in obj:
            obj[canonical] = obj.pop(alias)
            return


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


# --- market channel ---------------------------------------------------------------------------


def fix_book(obj: dict[str, Any]) -> dict[str, Any]:
    _alias(obj, "asset_id", "token_id")
    return obj


def fix_price_change(obj: dict[str, Any]) -> dict[str, Any]:
    if "price_changes" not in obj:
        _alias(obj, "asset_id", "token_id")
        inherited: dict[str, Any] = {k: obj[k] for k in ("asset_id", "hash") if k in obj}
        changes = obj.get("changes")
        if isinstance(changes, list):
            # pre-2025-09-15: top-level asset_id/hash + `changes: [{price, side, size}]`
            obj["price_changes"] = [
                {**inherited, **c} if isinstance(c, dict) else c for c in changes
            ]
        elif "price" in obj or "size" in obj or "side" in obj:
            # older still: one flat change at top level
            entry = dict(inherited)
            for key in ("price", "size", "side", "best_bid", "best_ask"):
                if key in obj:
                    entry[key] = obj[key]
            obj["price_changes"] = [entry]
    for entry in _dicts(obj.get("price_changes")):
        _alias(entry, "asset_id", "token_id")
        _upper(entry, "side")
    return obj


def fix_side_event(obj: dict[str, Any]) -> dict[str, Any]:
    """`last_trade_price` and other single-token events with a side."""
    _alias(obj, "asset_id", "token_id")
    _upper(obj, "side")
    return obj


def fix_asset_event(obj: dict[str, Any]) -> dict[str, Any]:
    _alias(obj, "asset_id", "token_id")
    return obj


def fix_market_lifecycle(obj: dict[str, Any]) -> dict[str, Any]:
    """`new_market`, `market_resolved`."""
    _alias(obj, "assets_ids", "asset_ids", "token_ids")
    obj.setdefault("assets_ids", [])
    return obj


MARKET_FIXERS: dict[str, Fixer] = {
    "book": fix_book,
    "price_change": fix_price_change,
    "last_trade_price": fix_side_event,
    "tick_size_change": fix_asset_event,
    "best_bid_ask": fix_asset_event,
    "new_market": fix_market_lifecycle,
    "market_resolved": fix_market_lifecycle,
}


# --- orders and trades (user channel and REST) ------------------------------------------------


def _fix_order_common(obj: dict[str, Any]) -> None:
    _alias(obj, "asset_id", "token_id")
    _upper(obj, "side")
    status = obj.get("status")
    if isinstance(status, str) and status.strip():
        parsed, reason = parse_order_status(status)
        obj["status"] = parsed.value
        obj["status_reason"] = reason


def fix_order_event(obj: dict[str, Any]) -> dict[str, Any]:
    """User-channel `order` event."""
    _fix_order_common(obj)
    status = obj.get("status")
    if isinstance(status, str) and not status.strip():
        del obj["status"]  # optional in the spec; "" = not given
    kind = obj.get("type")
    if isinstance(kind, str):
        kind = kind.strip().upper()
        obj["type"] = kind if kind in _EVENT_TYPES else OrderEventType.UNKNOWN.value
    return obj


def fix_open_order(obj: dict[str, Any]) -> dict[str, Any]:
    """REST open order (`/data/orders`)."""
    _fix_order_common(obj)
    created = obj.get("created_at")
    if isinstance(created, str):
        text = created.strip()
        if text.isascii() and text.isdigit() and len(text) <= 20:
            obj["created_at"] = int(text)  # an int on the wire; tolerate the string form
    return obj


def fix_trade(obj: dict[str, Any]) -> dict[str, Any]:
    """User `trade` event or REST trade."""
    _alias(obj, "asset_id", "token_id")
    _upper(obj, "side")
    status = obj.get("status")
    if isinstance(status, str):
        parsed, reason = parse_trade_status(status)
        obj["status"] = parsed.value
        obj["status_reason"] = reason
    trader_side = obj.get("trader_side")
    if isinstance(trader_side, str):
        trader_side = trader_side.strip().upper()
        if trader_side in _TRADER_SIDES:
            obj["trader_side"] = trader_side
        else:
            del obj["trader_side"]  # optional; an unknown value is not worth failing the trade
    if "match_time" not in obj:
        obj["match_time"] = obj.pop("matchtime", "")
    for leg in _dicts(obj.get("maker_orders")):
        _alias(leg, "asset_id", "token_id")
        _optional_upper(leg, "side")
    return obj


USER_FIXERS: dict[str, Fixer] = {"order": fix_order_event, "trade": fix_trade}
