"""The alert engine: episodes, cooldown and events over the rules of `alerts_rules`.

    engine = AlertEngine(AlertRuleConfig(fallback_max_seconds=300))
    events = engine.evaluate(status_document, now)     # list[AlertEvent]

Pure: no I/O, no clock (the caller passes `now`). A rule says whether its condition holds; an
**episode** is a stretch of time during which it holds. The engine emits one `firing` event per
episode (once the condition has held for the rule's hold time) and one `resolved` event when it
clears. A rule's `firing` events are at least `cooldown_seconds` apart: a flapping condition
produces one message, and an episode whose firing fell inside the cooldown is announced when the
cooldown ends if it still holds (only announced episodes get a `resolved` event).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from polymarket_bot.observability.alerts_rules import (
    AlertRuleConfig,
    Observation,
    Rule,
    default_rules,
    format_duration,
)

__all__ = ["FIRING", "RESOLVED", "AlertEngine", "AlertEvent"]

FIRING = "firing"
RESOLVED = "resolved"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class AlertEvent:
    rule: str
    state: str
    """`firing` or `resolved`."""
    severity: str
    """`warning` or `critical`."""
    title: str
    summary: str
    at: float
    since: float
    """When the episode began."""
    details: Mapping[str, Any]
    hints: tuple[str, ...] = ()
    runtime_mode: str | None = None

    @property
    def duration_seconds(self) -> float:
        return max(0.0, self.at - self.since)

    def subject(self, prefix: str) -> str:
        return f"{prefix} {self.state.upper()}: {self.title}".strip()

    def body(self, *, host: str | None = None) -> str:
        head = "RECOVERED" if self.state == RESOLVED else f"ALERT ({self.severity})"
        lines = [
            f"{head}: {self.title}",
            "",
            self.summary,
            "",
            f"rule:     {self.rule}",
            f"state:    {self.state}",
            f"at:       {_iso(self.at)}",
            f"since:    {_iso(self.since)} ({format_duration(self.duration_seconds)})",
        ]
        if self.runtime_mode:
            lines.append(f"mode:     {self.runtime_mode}")
        if host:
            lines.append(f"host:     {host}")
        if self.details:
            lines += ["", "details:"]
            lines += [f"  {key}: {value}" for key, value in self.details.items()]
        if self.hints and self.state == FIRING:
            lines += ["", "what to check (operations guide §9, §13):"]
            lines += [f"  - {hint}" for hint in self.hints]
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "state": self.state,
            "severity": self.severity,
            "title": self.title,
            "summary": self.summary,
            "at": _iso(self.at),
            "at_epoch": round(self.at, 3),
            "since": _iso(self.since),
            "since_epoch": round(self.since, 3),
            "duration_seconds": round(self.duration_seconds, 3),
            "details": dict(self.details),
            "hints": list(self.hints),
            "runtime_mode": self.runtime_mode,
        }


# -- the engine -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Episode:
    since: float | None = None
    firing: bool = False
    """The hold time has passed (the event was sent, or is held back by the cooldown)."""
    notified: bool = False
    """Its firing event was emitted: a resolved event follows."""


class AlertEngine:
    def __init__(
        self, config: AlertRuleConfig | None = None, rules: Sequence[Rule] | None = None
    ) -> None:
        self.config = config or AlertRuleConfig()
        self.rules = list(rules) if rules is not None else default_rules()
        self._episodes = {rule.name: _Episode() for rule in self.rules}
        self._last_fired: dict[str, float] = {}
        self.suppressed: dict[str, int] = {rule.name: 0 for rule in self.rules}
        """Firing events held back by the cooldown, per rule."""

    def update_config(self, config: AlertRuleConfig) -> None:
        self.config = config

    def active(self) -> list[str]:
        """Rules in a notified episode now."""
        return [name for name, ep in self._episodes.items() if ep.notified]

    def evaluate(self, status: Mapping[str, Any], now: float) -> list[AlertEvent]:
        mode = status.get("runtime_mode")
        runtime_mode = mode if isinstance(mode, str) else None
        events: list[AlertEvent] = []
        for rule in self.rules:
            obs = rule.observe(status, now, self.config)
            if obs is None:
                continue
            episode = self._episodes[rule.name]
            if not obs.active:
                if episode.notified:
                    events.append(self._event(rule, RESOLVED, obs, episode, now, runtime_mode))
                self._episodes[rule.name] = _Episode()
                continue
            if episode.since is None:
                began = obs.since if obs.since is not None and obs.since <= now else now
                episode.since = began
            if not episode.firing and now - episode.since >= rule.hold_seconds(self.config):
                episode.firing = True
                if self._cooling(rule.name, now):
                    self.suppressed[rule.name] += 1
            if episode.firing and not episode.notified and not self._cooling(rule.name, now):
                episode.notified = True
                self._last_fired[rule.name] = now
                events.append(self._event(rule, FIRING, obs, episode, now, runtime_mode))
        return events

    def _cooling(self, name: str, now: float) -> bool:
        last = self._last_fired.get(name)
        return last is not None and now - last < self.config.cooldown_seconds

    def _event(
        self,
        rule: Rule,
        state: str,
        obs: Observation,
        episode: _Episode,
        now: float,
        runtime_mode: str | None,
    ) -> AlertEvent:
        since = episode.since if episode.since is not None else now
        summary = obs.summary
        if state == RESOLVED:
            summary = f"recovered after {format_duration(now - since)}: {obs.summary}"
        return AlertEvent(
            rule=rule.name,
            state=state,
            severity=rule.severity,
            title=rule.title(self.config),
            summary=summary,
            at=now,
            since=since,
            details=dict(obs.details),
            hints=rule.hints,
            runtime_mode=runtime_mode,
        )
