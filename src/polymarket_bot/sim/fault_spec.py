"""What a fault is and how it is written down: kinds, their parameters (validated, with
defaults) and scenario files. The behaviour lives in `sim.faults.FaultController`."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from polymarket_bot.core.errors import InvalidValueError

__all__ = [
    "CANCEL_ENDPOINTS",
    "CANCEL_ONLY_MSG",
    "NEW_ORDER_ENDPOINTS",
    "ORDER_ENDPOINTS",
    "POST_ONLY_MSG",
    "REST_KINDS",
    "TOO_EARLY_MSG",
    "TRADING_DISABLED_MSG",
    "WS_KINDS",
    "FaultKind",
    "ScheduledFault",
    "load_scenario",
    "normalise_params",
    "parse_kind",
    "parse_scenario",
]


class FaultKind(str, enum.Enum):
    WS_DISCONNECT = "ws_disconnect"
    WS_STALL = "ws_stall"
    WS_MALFORMED = "ws_malformed"
    WS_TRUNCATED = "ws_truncated"
    WS_DUPLICATE = "ws_duplicate"
    WS_REORDER = "ws_reorder"
    WS_BAD_HASH = "ws_bad_hash"
    USER_DROP = "user_drop"
    REST_DELAY = "rest_delay"
    REST_429 = "rest_429"
    REST_5XX = "rest_5xx"
    ENGINE_RESTART = "engine_restart"
    TRADING_DISABLED = "trading_disabled"
    CANCEL_ONLY = "cancel_only"
    POST_ONLY = "post_only"
    LOSE_RESPONSE = "lose_response"


NEW_ORDER_ENDPOINTS: Final = frozenset({("POST", "/order"), ("POST", "/orders")})
CANCEL_ENDPOINTS: Final = frozenset(
    {
        ("DELETE", "/order"),
        ("DELETE", "/orders"),
        ("DELETE", "/cancel-all"),
        ("DELETE", "/cancel-market-orders"),
    }
)
ORDER_ENDPOINTS: Final = NEW_ORDER_ENDPOINTS | CANCEL_ENDPOINTS

TRADING_DISABLED_MSG: Final = "Trading is currently disabled. Check polymarket.com for updates"
CANCEL_ONLY_MSG: Final = (
    "Trading is currently cancel-only. New orders are not accepted, but cancels are allowed."
)
POST_ONLY_MSG: Final = "post-only mode: only post-only orders and cancels are allowed"
TOO_EARLY_MSG: Final = "the matching engine is restarting, please retry later"
_STATUS_TEXT: Final = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

WS_KINDS: Final = frozenset(
    {
        FaultKind.WS_STALL,
        FaultKind.WS_MALFORMED,
        FaultKind.WS_TRUNCATED,
        FaultKind.WS_DUPLICATE,
        FaultKind.WS_REORDER,
        FaultKind.WS_BAD_HASH,
        FaultKind.USER_DROP,
    }
)
REST_KINDS: Final = frozenset(
    {
        FaultKind.REST_DELAY,
        FaultKind.REST_429,
        FaultKind.REST_5XX,
        FaultKind.ENGINE_RESTART,
        FaultKind.TRADING_DISABLED,
        FaultKind.CANCEL_ONLY,
    }
)
_CHANNELS: Final = ("market", "user", "all")
_INF: Final = float("inf")


@dataclass(frozen=True, slots=True)
class ScheduledFault:
    at_s: float
    kind: FaultKind
    params: Mapping[str, Any] = field(default_factory=dict)
    duration_s: float | None = None


# --- parameters and scenarios -------------------------------------------------------------------


def _num(params: Mapping[str, Any], key: str, default: float, lo: float, hi: float) -> float:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidValueError(f"{key} must be a number")
    if not lo <= float(value) <= hi:
        raise InvalidValueError(f"{key} must be in [{lo}, {hi}]")
    return float(value)


def _int(params: Mapping[str, Any], key: str, default: int | None, lo: int) -> int | None:
    value = params.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise InvalidValueError(f"{key} must be an integer >= {lo}")
    return value


def _str_list(params: Mapping[str, Any], key: str) -> list[str] | None:
    value = params.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidValueError(f"{key} must be a string or a list of strings")
    return list(value)


def normalise_params(kind: FaultKind, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validated params with defaults filled in (unknown keys are an error: typos must show)."""
    p: dict[str, Any] = {}
    allowed = {"channel", "probability", "every", "paths", "methods", "count"}
    if kind in WS_KINDS or kind is FaultKind.WS_DISCONNECT:
        default_channel = (
            "all" if kind in (FaultKind.WS_DISCONNECT, FaultKind.WS_STALL) else "market"
        )
        channel = raw.get("channel", default_channel)
        if channel not in _CHANNELS:
            raise InvalidValueError(f"channel must be one of {_CHANNELS}")
        p["channel"] = "user" if kind is FaultKind.USER_DROP else channel
        p["probability"] = _num(raw, "probability", 1.0, 0.0, 1.0)
        p["every"] = _int(raw, "every", 1, 1)
    if kind is FaultKind.WS_DISCONNECT:
        allowed |= {"mode", "code"}
        mode = raw.get("mode", "abort")
        if mode not in ("abort", "close"):
            raise InvalidValueError("mode must be abort or close")
        p["mode"] = mode
        p["code"] = _int(raw, "code", 1001, 1000)
    elif kind is FaultKind.WS_BAD_HASH:
        allowed |= {"rest"}
        p["rest"] = bool(raw.get("rest", False))
    elif kind in REST_KINDS or kind in (FaultKind.POST_ONLY, FaultKind.LOSE_RESPONSE):
        p["paths"] = _str_list(raw, "paths")
        methods = _str_list(raw, "methods")
        p["methods"] = None if methods is None else [m.upper() for m in methods]
        p["probability"] = _num(raw, "probability", 1.0, 0.0, 1.0)
        p["count"] = _int(raw, "count", 1 if kind is FaultKind.LOSE_RESPONSE else None, 1)
    if kind is FaultKind.REST_DELAY:
        allowed.add("delay_ms")
        p["delay_ms"] = _num(raw, "delay_ms", 500.0, 0.0, 600_000.0)
    elif kind in (FaultKind.REST_429, FaultKind.ENGINE_RESTART, FaultKind.POST_ONLY):
        allowed |= {"retry_after", "post_only_s"}
        p["retry_after"] = _num(
            raw, "retry_after", 5.0 if kind is not FaultKind.REST_429 else 1, 0, 3600
        )
        if kind is FaultKind.ENGINE_RESTART:
            p["post_only_s"] = _num(raw, "post_only_s", 0.0, 0.0, 3600.0)
    elif kind is FaultKind.REST_5XX:
        allowed |= {"status", "message"}
        status = _int(raw, "status", 500, 500)
        if status not in _STATUS_TEXT:
            raise InvalidValueError(f"status must be one of {sorted(_STATUS_TEXT)}")
        p["status"] = status
        p["message"] = str(raw.get("message", _STATUS_TEXT[status]))
    elif kind is FaultKind.LOSE_RESPONSE:
        allowed |= {"mode", "hang_s", "message"}
        mode = raw.get("mode", "reset")
        if mode not in ("reset", "drop", "500"):
            raise InvalidValueError("mode must be reset, drop or 500")
        p["mode"] = mode
        p["hang_s"] = _num(raw, "hang_s", 30.0, 0.0, 3600.0)
        p["message"] = str(raw.get("message", "Internal Server Error"))
    unknown = set(raw) - allowed
    if unknown:
        raise InvalidValueError(f"unknown params for {kind.value}: {sorted(unknown)}")
    return p


def parse_kind(value: object) -> FaultKind:
    try:
        return FaultKind(value)
    except ValueError:
        names = ", ".join(k.value for k in FaultKind)
        raise InvalidValueError(f"unknown fault {value!r} (one of: {names})") from None


def parse_scenario(items: object) -> list[ScheduledFault]:
    """Validate a decoded scenario: a list of `{at_s, fault, params?, duration_s?}`."""
    if not isinstance(items, list):
        raise InvalidValueError("a scenario is a list of {at_s, fault, params, duration_s}")
    out: list[ScheduledFault] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidValueError(f"scenario item {i} is not a mapping")
        extra = set(item) - {"at_s", "fault", "params", "duration_s"}
        if extra:
            raise InvalidValueError(f"scenario item {i}: unknown keys {sorted(extra)}")
        kind = parse_kind(item.get("fault"))
        at_s = _num(item, "at_s", 0.0, 0.0, 10**9)
        params = item.get("params") or {}
        if not isinstance(params, dict):
            raise InvalidValueError(f"scenario item {i}: params must be a mapping")
        normalise_params(kind, params)  # fail at load time, not when the fault fires
        duration = item.get("duration_s")
        if duration is not None:
            duration = _num(item, "duration_s", 0.0, 0.0, 10**9)
        out.append(ScheduledFault(at_s, kind, dict(params), duration))
    return sorted(out, key=lambda s: s.at_s)


def load_scenario(path: Path) -> list[ScheduledFault]:
    """Read a `.json`, `.yaml` or `.yml` scenario file."""
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise InvalidValueError(f"{path}: cannot parse scenario: {exc}") from None
    return parse_scenario(data)
