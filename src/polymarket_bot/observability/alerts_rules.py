"""The built-in alert rules: pure functions of the `pipeline_status.json` document and a time.

Each rule says whether its condition holds now (`Observation`); `alerts_engine.AlertEngine` turns
that into episodes and events. The rules (seed §19 first, docs/OPERATIONS.md):

| rule | condition | hold |
| --- | --- | --- |
| `io_errors` | `io_errors.*` (sum) grew, within the last `growth_quiet_seconds` | 0 |
| `order_rest_errors` | `fetch_info.orders_rest.errors` >= threshold (5) and grew, same window | 0 |
| `fallback` | `fetch_info.current_source` is `rest_only`/`ws_stale` (WS on) | 300 s (config) |
| `ws_degraded` | same condition | `ws_degraded_grace_seconds` (30) |
| `orders_ws_degraded` | `fetch_info.orders_ws.status == "degraded"` | `ws_degraded_grace_seconds` |
| `kill_switch` | `controls.kill_switch` | 0 |
| `daily_loss_stop` | `risk_audit.reasons.daily_loss` grew, within `growth_quiet_seconds` | 0 |
| `risk_halted` | `controls.risk_state` is `halted` or `reduce_only` | 0 |

Counters are cumulative per trader run: the first value seen is the baseline (no alert for
history), and a counter that goes down (trader restarted) becomes the new baseline. A rule
returns None when the document lacks its section (its state then stays as it was).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AlertRuleConfig",
    "Observation",
    "Rule",
    "default_rules",
    "format_duration",
]

_DEGRADED_SOURCES = ("rest_only", "ws_stale")
_HALTED_STATES = ("halted", "reduce_only")


@dataclass(frozen=True, slots=True)
class AlertRuleConfig:
    order_rest_errors_threshold: int = 5
    fallback_max_seconds: float = 300.0
    ws_degraded_grace_seconds: float = 30.0
    """A WS reconnect takes a few seconds: only a degradation that lasts this long is news."""
    growth_quiet_seconds: float = 300.0
    """A counter rule's episode ends after this long without growth."""
    cooldown_seconds: float = 600.0


@dataclass(frozen=True, slots=True)
class Observation:
    active: bool
    summary: str = ""
    """One line: what is wrong (or, inactive, how things are now)."""
    details: Mapping[str, Any] = field(default_factory=dict)
    since: float | None = None
    """When the condition began, if the document says (earlier than the first evaluation)."""


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


# -- reading the document ---------------------------------------------------------------------


def _section(doc: Mapping[str, Any], *path: str) -> Mapping[str, Any] | None:
    node: Any = doc
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node if isinstance(node, Mapping) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _count(value: float) -> int | float:
    return int(value) if value == int(value) else value


# -- rules ------------------------------------------------------------------------------------


class Rule:
    name = ""
    severity = "warning"
    hints: tuple[str, ...] = ()

    def title(self, config: AlertRuleConfig) -> str:
        raise NotImplementedError

    def hold_seconds(self, config: AlertRuleConfig) -> float:
        return 0.0

    def observe(
        self, status: Mapping[str, Any], now: float, config: AlertRuleConfig
    ) -> Observation | None:
        """None when the document has nothing to say (section missing)."""
        raise NotImplementedError


class _Growth:
    """A cumulative counter: did it grow within the quiet window?"""

    def __init__(self) -> None:
        self.value: float | None = None
        self.last_growth: float | None = None
        self.episode_base: float | None = None

    def update(self, value: float, now: float, quiet: float) -> bool:
        if self.value is not None and value > self.value:
            if self.last_growth is None or now - self.last_growth >= quiet:
                self.episode_base = self.value
            self.last_growth = now
        self.value = value  # also the new baseline after a restart (the counter went down)
        return self.last_growth is not None and now - self.last_growth < quiet

    def delta(self) -> float:
        if self.value is None or self.episode_base is None:
            return 0.0
        return max(0.0, self.value - self.episode_base)


class IoErrorsRule(Rule):
    name = "io_errors"
    hints = (
        "reports/ exists and is writable; free disk space",
        "on Windows keep the repository out of synced folders and antivirus scanning",
    )

    def __init__(self) -> None:
        self._growth = _Growth()

    def title(self, config: AlertRuleConfig) -> str:
        return "report writes failing (io_errors growing)"

    def observe(
        self, status: Mapping[str, Any], now: float, config: AlertRuleConfig
    ) -> Observation | None:
        section = _section(status, "io_errors")
        if section is None:
            return None
        counts = {k: n for k, v in section.items() if (n := _number(v)) is not None}
        total = sum(counts.values())
        active = self._growth.update(total, now, config.growth_quiet_seconds)
        failing = ", ".join(f"{k} {_count(v)}" for k, v in counts.items() if v) or "none"
        details = {"io_errors": {k: _count(v) for k, v in counts.items()}, "total": _count(total)}
        if not active:
            quiet = format_duration(config.growth_quiet_seconds)
            return Observation(False, f"no new write failure for {quiet}", details)
        delta = _count(self._growth.delta())
        return Observation(True, f"JSONL/JSON writes failing: +{delta} ({failing})", details)


class OrderRestErrorsRule(Rule):
    name = "order_rest_errors"
    hints = (
        "poll less often (ORDER_REST_POLL_SECONDS) or set SERVICE_USE_ORDER_REST_FALLBACK=false",
        "check the API credentials and the venue's rate limits (429/5xx)",
    )

    def __init__(self) -> None:
        self._growth = _Growth()

    def title(self, config: AlertRuleConfig) -> str:
        return f"order REST poll errors (>= {config.order_rest_errors_threshold} and growing)"

    def observe(
        self, status: Mapping[str, Any], now: float, config: AlertRuleConfig
    ) -> Observation | None:
        section = _section(status, "fetch_info", "orders_rest")
        errors = _number(section.get("errors")) if section is not None else None
        if section is None or errors is None:
            return None
        grew = self._growth.update(errors, now, config.growth_quiet_seconds)
        active = grew and errors >= config.order_rest_errors_threshold
        details = {
            "errors": _count(errors),
            "success": section.get("success"),
            "last_error": section.get("last_error"),
            "last_error_epoch": section.get("last_error_epoch"),
            "last_success_epoch": section.get("last_success_epoch"),
        }
        if not active:
            return Observation(False, f"orders_rest.errors steady at {_count(errors)}", details)
        return Observation(
            True,
            f"fetch_info.orders_rest.errors = {_count(errors)} "
            f"(threshold {config.order_rest_errors_threshold}), still growing",
            details,
        )


def _feed(status: Mapping[str, Any]) -> tuple[str, bool, Mapping[str, Any]] | None:
    fetch = _section(status, "fetch_info")
    if fetch is None or not isinstance(fetch.get("current_source"), str):
        return None
    ws = fetch.get("ws")
    enabled = not (isinstance(ws, Mapping) and ws.get("enabled") is False)
    return str(fetch["current_source"]), enabled, fetch


class _FeedRule(Rule):
    """current_source is a fallback (rest_only / ws_stale) while the WS is meant to be used."""

    def observe(
        self, status: Mapping[str, Any], now: float, config: AlertRuleConfig
    ) -> Observation | None:
        feed = _feed(status)
        if feed is None:
            return None
        source, enabled, fetch = feed
        details = {
            "current_source": source,
            "ws_cooldown_remaining_seconds": fetch.get("ws_cooldown_remaining_seconds"),
            "last_message_age_seconds": fetch.get("last_message_age_seconds"),
            "errors": fetch.get("errors"),
        }
        if not enabled or source not in _DEGRADED_SOURCES:
            return Observation(False, f"market data on {source}", details)
        since = _number(fetch.get("source_since_epoch"))
        return Observation(True, self.summary(source, config), details, since)

    def summary(self, source: str, config: AlertRuleConfig) -> str:
        raise NotImplementedError


class FallbackRule(_FeedRule):
    name = "fallback"
    hints = (
        "wait for the automatic retry (fetch_info.ws_cooldown_remaining_seconds)",
        "SERVICE_USE_WS=true and CLOB_WS_URL reachable from this host",
        "behind a proxy: PROXY_ENABLED=true and PROXY_URL",
    )

    def title(self, config: AlertRuleConfig) -> str:
        return (
            f"market data on fallback for more than {format_duration(config.fallback_max_seconds)}"
        )

    def hold_seconds(self, config: AlertRuleConfig) -> float:
        return config.fallback_max_seconds

    def summary(self, source: str, config: AlertRuleConfig) -> str:
        return (
            f"fetch_info.current_source = {source} (not ws_live) for more than "
            f"{format_duration(config.fallback_max_seconds)}: REST serves the books"
        )


class WsDegradedRule(_FeedRule):
    name = "ws_degraded"
    hints = FallbackRule.hints

    def title(self, config: AlertRuleConfig) -> str:
        return "market WS degraded"

    def hold_seconds(self, config: AlertRuleConfig) -> float:
        return config.ws_degraded_grace_seconds

    def summary(self, source: str, config: AlertRuleConfig) -> str:
        return f"fetch_info.current_source = {source}: the market WebSocket is not live"


class OrdersWsDegradedRule(Rule):
    name = "orders_ws_degraded"
    hints = (
        "watch fetch_info.orders_ws.cooldown_remaining_seconds: it retries by itself",
        "if it stays degraded: network/proxy and the CLOB WS address",
        "POLYMARKET_API_KEY/SECRET/PASSPHRASE set and valid",
    )

    def title(self, config: AlertRuleConfig) -> str:
        return "order WS degraded"

    def hold_seconds(self, config: AlertRuleConfig) -> float:
        return config.ws_degraded_grace_seconds

    def observe(
        self, status: Mapping[str, Any], now: float, config: AlertRuleConfig
    ) -> Observation | None:
        section = _section(status, "fetch_info", "orders_ws")
        if section is None or not isinstance(section.get("status"), str):
            return None
        state = str(section["status"])
        details = {
            "status": state,
            "failures": section.get("failures"),
            "cooldown_remaining_seconds": section.get("cooldown_remaining_seconds"),
            "last_error": section.get("last_error"),
            "last_success_epoch": section.get("last_success_epoch"),
        }
        if state != "degraded":
            return Observation(False, f"fetch_info.orders_ws.status = {state}", details)
        return Observation(True, "fetch_info.orders_ws.status = degraded", details)


class KillSwitchRule(Rule):
    name = "kill_switch"
    severity = "critical"
    hints = (
        "engaged from the dashboard, run/control.json or risk.kill_switch_file: "
        "no new orders until it is released",
    )

    def title(self, config: AlertRuleConfig) -> str:
        return "kill switch engaged"

    def observe(
        self, status: Mapping[str, Any], now: float, config: AlertRuleConfig
    ) -> Observation | None:
        controls = _section(status, "controls")
        if controls is None or "kill_switch" not in controls:
            return None
        details = {"kill_switch": controls.get("kill_switch"), "paused": controls.get("paused")}
        if controls.get("kill_switch") is True:
            return Observation(True, "controls.kill_switch = true: trading stopped", details)
        return Observation(False, "kill switch released", details)


class DailyLossRule(Rule):
    name = "daily_loss_stop"
    severity = "critical"
    hints = (
        "entries stop until the next UTC day (risk.daily_loss_stop); exits still run",
        "Risk Audit panel: Top Rejections; reports/risk_audit.jsonl for the orders",
    )

    def __init__(self) -> None:
        self._growth = _Growth()

    def title(self, config: AlertRuleConfig) -> str:
        return "daily loss stop hit"

    def observe(
        self, status: Mapping[str, Any], now: float, config: AlertRuleConfig
    ) -> Observation | None:
        reasons = _section(status, "risk_audit", "reasons")
        if reasons is None:
            return None
        rejected = _number(reasons.get("daily_loss")) or 0.0
        active = self._growth.update(rejected, now, config.growth_quiet_seconds)
        details = {"daily_loss_rejections": _count(rejected)}
        if not active:
            return Observation(False, "no order rejected by the daily loss stop lately", details)
        delta = _count(self._growth.delta())
        return Observation(
            True, f"the daily loss stop rejected {delta} order(s): entries are stopped", details
        )


class RiskHaltedRule(Rule):
    name = "risk_halted"
    severity = "critical"
    hints = ("the risk mode was set to reduce-only or halted: only exits (or nothing) trade",)

    def title(self, config: AlertRuleConfig) -> str:
        return "trading restricted by the risk mode"

    def observe(
        self, status: Mapping[str, Any], now: float, config: AlertRuleConfig
    ) -> Observation | None:
        controls = _section(status, "controls")
        state = controls.get("risk_state") if controls is not None else None
        if not isinstance(state, str):
            return None
        details = {"risk_state": state}
        if state.lower() in _HALTED_STATES:
            return Observation(True, f"controls.risk_state = {state}", details)
        return Observation(False, f"controls.risk_state = {state}", details)


def default_rules() -> list[Rule]:
    return [
        IoErrorsRule(),
        OrderRestErrorsRule(),
        FallbackRule(),
        WsDegradedRule(),
        OrdersWsDegradedRule(),
        KillSwitchRule(),
        DailyLossRule(),
        RiskHaltedRule(),
    ]
