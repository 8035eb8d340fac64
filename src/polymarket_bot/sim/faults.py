"""Fault injection for the simulated venue: what can go wrong on the wire, on demand.

Faults come from the loopback admin API (`POST /admin/faults {fault, params, duration_s}`) or a
scenario file (YAML or JSON list of `{at_s, fault, params, duration_s}`, `at_s` counted from
server start). Each fault is active from injection until `duration_s` passes, its `count` is used
up, or it is cleared; `duration_s: null` means "until cleared or used up". `ws_disconnect` is an
action (applied once). Kinds, with their params and defaults in brackets:

* `ws_disconnect`: close every WS connection at once [channel=all, mode=abort|close, code=1001]
* `ws_stall`: sockets stay open, no frames, no PONG [channel=all]
* `ws_malformed`: frames replaced by invalid JSON [channel=market, every=1]
* `ws_truncated`: frames cut short [channel=market, every=1]
* `ws_duplicate`: every frame sent twice [channel=market, probability=1]
* `ws_reorder`: adjacent frames swapped [channel=market]
* `ws_bad_hash`: `book` snapshots carry a wrong hash, REST `/book` too with rest [rest=false]
* `user_drop`: user-channel events dropped [probability=1]
* `rest_delay`: REST answers late [delay_ms=500, paths, methods]
* `rest_429`: 429 with Retry-After [retry_after=1, paths, methods, probability=1, count]
* `rest_5xx`: 5xx answers [status=500, message, paths, methods, probability=1, count]
* `engine_restart`: 425 Too Early on order endpoints, then post-only mode for `post_only_s`
  [retry_after=5, post_only_s=0]
* `trading_disabled`: 503 "Trading is currently disabled..." on order endpoints
* `cancel_only`: 503 on new orders, cancels work
* `post_only`: 503 for orders without postOnly (a 200 leg with errorMsg inside a batch)
* `lose_response`: POST /order is executed but its answer is lost
  [mode=reset|drop|500, count=1, hang_s=30 for drop]

Heartbeat expiry needs no fault: the exchange cancels a silent owner's orders on its own.
`paths` are path prefixes (`["/order", "/book"]`), `methods` upper-case HTTP methods.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from polymarket_bot.core.errors import InvalidValueError
from polymarket_bot.sim.fault_spec import (
    CANCEL_ENDPOINTS,
    CANCEL_ONLY_MSG,
    NEW_ORDER_ENDPOINTS,
    ORDER_ENDPOINTS,
    POST_ONLY_MSG,
    TOO_EARLY_MSG,
    TRADING_DISABLED_MSG,
    WS_KINDS,
    FaultKind,
    ScheduledFault,
    load_scenario,
    normalise_params,
    parse_kind,
    parse_scenario,
)

__all__ = [
    "CANCEL_ENDPOINTS",
    "CANCEL_ONLY_MSG",
    "NEW_ORDER_ENDPOINTS",
    "POST_ONLY_MSG",
    "TRADING_DISABLED_MSG",
    "Fault",
    "FaultController",
    "FaultKind",
    "RestFault",
    "ScheduledFault",
    "load_scenario",
    "parse_scenario",
]

_INF: Final = float("inf")


@dataclass(slots=True)
class Fault:
    """An active fault. Times are the controller's clock (monotonic seconds)."""

    fault_id: int
    kind: FaultKind
    params: dict[str, Any]
    started: float
    until: float | None
    remaining: int | None
    hits: int = 0

    def to_wire(self, now: float) -> dict[str, Any]:
        return {
            "id": self.fault_id,
            "fault": self.kind.value,
            "params": self.params,
            "remaining_s": None if self.until is None else max(0.0, self.until - now),
            "remaining_count": self.remaining,
            "hits": self.hits,
        }


@dataclass(frozen=True, slots=True)
class RestFault:
    """What a REST request must get instead of (or before) its normal answer."""

    delay_s: float = 0.0
    status: int | None = None
    body: Mapping[str, Any] | None = None
    headers: tuple[tuple[str, str], ...] = ()


# --- the controller ------------------------------------------------------------------------------


def _matches(params: Mapping[str, Any], method: str, path: str) -> bool:
    methods = params.get("methods")
    if methods is not None and method not in methods:
        return False
    paths = params.get("paths")
    return paths is None or any(path.startswith(prefix) for prefix in paths)


class FaultController:
    """Active faults plus the schedule; every query takes `now` (monotonic seconds)."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random(0)
        self._faults: list[Fault] = []
        self._schedule: list[ScheduledFault] = []
        self._origin = 0.0
        self._next_id = 1
        self.injected = 0
        self.ws_active = False
        """Fast-path flag: some WS fault is active (checked per published frame)."""
        self.rest_active = False
        self._next_until = _INF

    # --- lifecycle ---

    def inject(
        self,
        kind: FaultKind | str,
        params: Mapping[str, Any] | None,
        duration_s: float | None,
        now: float,
    ) -> Fault:
        kind = parse_kind(kind)
        if duration_s is not None and (
            isinstance(duration_s, bool)
            or not isinstance(duration_s, (int, float))
            or duration_s < 0
        ):
            raise InvalidValueError("duration_s must be a number >= 0 or null")
        norm = normalise_params(kind, params or {})
        fault = Fault(
            fault_id=self._next_id,
            kind=kind,
            params=norm,
            started=now,
            until=None if duration_s is None else now + float(duration_s),
            remaining=norm.get("count"),
        )
        self._next_id += 1
        self.injected += 1
        if kind is not FaultKind.WS_DISCONNECT:  # an action, nothing stays active
            self._faults.append(fault)
        self._refresh()
        return fault

    def clear(self, fault_id: int | None = None) -> int:
        before = len(self._faults)
        self._faults = [f for f in self._faults if fault_id is not None and f.fault_id != fault_id]
        self._refresh()
        return before - len(self._faults)

    def set_schedule(self, items: Iterable[ScheduledFault], origin: float) -> None:
        self._schedule = sorted(items, key=lambda s: s.at_s)
        self._origin = origin

    def due(self, now: float) -> list[ScheduledFault]:
        """Scheduled faults whose time has come (removed from the schedule)."""
        out: list[ScheduledFault] = []
        while self._schedule and self._origin + self._schedule[0].at_s <= now:
            out.append(self._schedule.pop(0))
        return out

    def active(self, now: float) -> list[Fault]:
        self._expire(now)
        return list(self._faults)

    def _expire(self, now: float) -> list[Fault]:
        ended = [
            f for f in self._faults if (f.until is not None and now >= f.until) or f.remaining == 0
        ]
        if ended:
            self._faults = [f for f in self._faults if f not in ended]
            for f in ended:  # a restart hands over to post-only mode (§5.8) without a gap
                post_only_s = float(f.params.get("post_only_s") or 0)
                if f.kind is FaultKind.ENGINE_RESTART and post_only_s > 0 and f.until:
                    self.inject(FaultKind.POST_ONLY, {}, post_only_s, f.until)
            self._refresh()
        return ended

    def tick(self, now: float) -> list[Fault]:
        """Expire faults; returns the ones that ended now."""
        return self._expire(now)

    def _refresh(self) -> None:
        self.ws_active = any(f.kind in WS_KINDS for f in self._faults)
        self.rest_active = any(f.kind not in WS_KINDS for f in self._faults)
        self._next_until = min((f.until for f in self._faults if f.until is not None), default=_INF)

    def _maybe_expire(self, now: float) -> None:
        if now >= self._next_until:
            self._expire(now)

    def _find(self, kind: FaultKind, now: float) -> Fault | None:
        for f in self._faults:
            if f.kind is kind and (f.until is None or now < f.until) and f.remaining != 0:
                return f
        return None

    def _use(self, fault: Fault) -> None:
        fault.hits += 1
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining == 0:
                self._faults.remove(fault)
                self._refresh()

    def _roll(self, fault: Fault) -> bool:
        p = float(fault.params.get("probability", 1.0))
        return p >= 1.0 or self._rng.random() < p

    # --- REST ---

    def rest_fault(self, method: str, path: str, now: float) -> RestFault | None:
        """Delay and/or an error answer for this request, or None (the hot-path check is the
        caller's `rest_active`)."""
        if not self.rest_active:
            return None
        self._maybe_expire(now)
        delay = 0.0
        for f in self._faults:
            if f.kind is FaultKind.REST_DELAY and _matches(f.params, method, path):
                delay = max(delay, f.params["delay_ms"] / 1000)
                f.hits += 1
        key = (method, path)
        for f in list(self._faults):
            kind = f.kind
            if kind is FaultKind.REST_429 and _matches(f.params, method, path) and self._roll(f):
                self._use(f)
                retry = f.params["retry_after"]
                return RestFault(
                    delay,
                    429,
                    {"error": "Too Many Requests"},
                    (("Retry-After", _fmt_seconds(retry)),),
                )
            if kind is FaultKind.REST_5XX and _matches(f.params, method, path) and self._roll(f):
                self._use(f)
                return RestFault(delay, f.params["status"], {"error": f.params["message"]})
            if kind is FaultKind.ENGINE_RESTART and self._order_path(f, key, ORDER_ENDPOINTS):
                f.hits += 1
                retry = f.params["retry_after"]
                return RestFault(
                    delay, 425, {"error": TOO_EARLY_MSG}, (("Retry-After", _fmt_seconds(retry)),)
                )
            if kind is FaultKind.TRADING_DISABLED and self._order_path(f, key, ORDER_ENDPOINTS):
                f.hits += 1
                return RestFault(delay, 503, {"error": TRADING_DISABLED_MSG})
            if kind is FaultKind.CANCEL_ONLY and self._order_path(f, key, NEW_ORDER_ENDPOINTS):
                f.hits += 1
                return RestFault(delay, 503, {"error": CANCEL_ONLY_MSG})
        return RestFault(delay) if delay else None

    @staticmethod
    def _order_path(
        fault: Fault, key: tuple[str, str], default: frozenset[tuple[str, str]]
    ) -> bool:
        if fault.params.get("paths") is None and fault.params.get("methods") is None:
            return key in default
        return _matches(fault.params, key[0], key[1])

    def post_only_mode(self, now: float) -> RestFault | None:
        """503 body for a non-post-only order while post-only mode is on (§5.8)."""
        if not self.rest_active:
            return None
        self._maybe_expire(now)
        f = self._find(FaultKind.POST_ONLY, now)
        if f is None:
            return None
        f.hits += 1
        left = f.params["retry_after"] if f.until is None else max(1.0, f.until - now)
        return RestFault(
            0.0,
            503,
            {"error": POST_ONLY_MSG, "code": "post_only_mode", "retry_after_seconds": round(left)},
            (("Retry-After", _fmt_seconds(left)),),
        )

    def take_lost_response(self, method: str, path: str, now: float) -> Mapping[str, Any] | None:
        """Params of a `lose_response` fault that claims this request (and uses one count)."""
        if not self.rest_active:
            return None
        for f in self._faults:
            if (
                f.kind is FaultKind.LOSE_RESPONSE
                and (f.until is None or now < f.until)
                and self._lose_matches(f, method, path)
                and self._roll(f)
            ):
                params = dict(f.params)
                self._use(f)
                return params
        return None

    @staticmethod
    def _lose_matches(fault: Fault, method: str, path: str) -> bool:
        if fault.params.get("paths") is None and fault.params.get("methods") is None:
            return method == "POST" and path == "/order"
        return _matches(fault.params, method, path)

    # --- WebSocket ---

    def ws_fault(self, kind: FaultKind, channel: str, now: float) -> Fault | None:
        """The active WS fault of `kind` that applies to `channel` ("market" | "user")."""
        if not self.ws_active:
            return None
        self._maybe_expire(now)
        for f in self._faults:
            if (
                f.kind is kind
                and f.params.get("channel", "all") in (channel, "all")
                and (f.until is None or now < f.until)
            ):
                return f
        return None

    def stalled(self, channel: str, now: float) -> bool:
        return self.ws_fault(FaultKind.WS_STALL, channel, now) is not None

    def mangle(self, channel: str, frame: str, now: float) -> list[str]:
        """Frames to send instead of `frame` under malformed/truncated/duplicate faults
        (reordering and bad hashes are applied by the publisher, which sees the stream)."""
        out = [frame]
        f = self.ws_fault(FaultKind.WS_MALFORMED, channel, now)
        if f is not None and self._every(f):
            out = ['{"event_type": "price_change", "market": 0x' + frame[-7:]]
        f = self.ws_fault(FaultKind.WS_TRUNCATED, channel, now)
        if f is not None and self._every(f):
            out = [s[: max(1, len(s) // 2)] for s in out]
        f = self.ws_fault(FaultKind.WS_DUPLICATE, channel, now)
        if f is not None and self._roll(f):
            f.hits += 1
            out = out + out
        return out

    def _every(self, fault: Fault) -> bool:
        fault.hits += 1
        return fault.hits % int(fault.params.get("every") or 1) == 0

    def drop_user_event(self, now: float) -> bool:
        f = self.ws_fault(FaultKind.USER_DROP, "user", now)
        if f is None or not self._roll(f):
            return False
        f.hits += 1
        return True

    def bad_hash(self, now: float, *, rest: bool = False) -> bool:
        f = self.ws_fault(FaultKind.WS_BAD_HASH, "market", now)
        if f is None or (rest and not f.params.get("rest")):
            return False
        f.hits += 1
        return True

    def to_wire(self, now: float) -> list[dict[str, Any]]:
        return [f.to_wire(now) for f in self.active(now)]

    def pending(self) -> Sequence[ScheduledFault]:
        return tuple(self._schedule)


def _fmt_seconds(value: float) -> str:
    """Retry-After is whole seconds (RFC 9110); round up so clients never come back early."""
    whole = int(value)
    return str(whole if whole == value else whole + 1)
