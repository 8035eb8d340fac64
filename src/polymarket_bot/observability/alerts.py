"""Alerts (seed §19, docs/OPERATIONS.md): rules over the trader's status, e-mail and webhook.

In the trader (an asyncio task beside the others):

    service = AlertService(settings.alert, trader.status_sections, interval=10.0)
    tasks.append(asyncio.create_task(service.run(stop)))    # evaluates every 10 s until stop
    reloader.subscribe(lambda s, _r: service.update_settings(s.alert))   # `alert.*` is hot

Every event is logged (WARNING when firing, INFO when resolved) whether or not a sink is
configured; sending happens on one background thread with a bounded queue, so a slow or broken
SMTP server delays nothing and a failure is logged and counted (`stats()`), never raised.

The pieces: `alerts_rules` (the rules), `alerts_engine` (the pure engine,
`AlertEngine.evaluate(status, now)`), `alerts_smtp` (`EmailSink`, `WebhookSink`), this module
(`AlertDispatcher`, `AlertService`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from polymarket_bot.config.model import AlertSettings
from polymarket_bot.core.clock import Clock, LiveClock
from polymarket_bot.observability.alerts_engine import FIRING, RESOLVED, AlertEngine, AlertEvent
from polymarket_bot.observability.alerts_rules import (
    AlertRuleConfig,
    Observation,
    Rule,
    default_rules,
)
from polymarket_bot.observability.alerts_smtp import (
    AlertSink,
    EmailSink,
    WebhookError,
    WebhookSink,
    sinks_from_settings,
)
from polymarket_bot.observability.logging import redact

__all__ = [
    "FIRING",
    "RESOLVED",
    "AlertDispatcher",
    "AlertEngine",
    "AlertEvent",
    "AlertRuleConfig",
    "AlertService",
    "AlertSink",
    "EmailSink",
    "Observation",
    "Rule",
    "WebhookError",
    "WebhookSink",
    "default_rules",
    "rule_config_from_settings",
    "sinks_from_settings",
    "status_file_reader",
]

log = logging.getLogger(__name__)


def rule_config_from_settings(
    settings: AlertSettings, base: AlertRuleConfig | None = None
) -> AlertRuleConfig:
    """The `alert.*` thresholds; the others keep `base`'s values (defaults)."""
    base = base or AlertRuleConfig()
    return AlertRuleConfig(
        order_rest_errors_threshold=settings.order_rest_errors_threshold,
        fallback_max_seconds=settings.fallback_max_seconds,
        ws_degraded_grace_seconds=base.ws_degraded_grace_seconds,
        growth_quiet_seconds=base.growth_quiet_seconds,
        cooldown_seconds=settings.cooldown_seconds,
    )


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {redact(str(error))}" if str(error) else type(error).__name__


class AlertDispatcher:
    """Delivers events to the sinks on one daemon thread (started on first use)."""

    def __init__(self, sinks: Sequence[AlertSink] = (), *, max_queue: int = 100) -> None:
        self._sinks: tuple[AlertSink, ...] = tuple(sinks)
        self._queue: queue.Queue[AlertEvent | None] = queue.Queue(maxsize=max_queue)
        self._thread: threading.Thread | None = None
        self._idle = threading.Condition()
        self._pending = 0
        self._closed = False
        self.sent: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.dropped = 0
        self.last_error: dict[str, str] = {}

    @property
    def sinks(self) -> tuple[AlertSink, ...]:
        return self._sinks

    def set_sinks(self, sinks: Sequence[AlertSink]) -> None:
        self._sinks = tuple(sinks)  # the worker reads the tuple once per event

    def submit(self, event: AlertEvent) -> bool:
        """Queue the event for every sink; False if there is none, or the queue is full."""
        if not self._sinks or self._closed:
            return False
        with self._idle:
            self._pending += 1
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()
            self.dropped += 1
            log.warning("alert queue full: %s %s not sent", event.rule, event.state)
            return False
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="alert-dispatch", daemon=True)
            self._thread.start()
        return True

    def _work(self) -> None:
        while True:
            event = self._queue.get()
            if event is None:
                return
            for sink in self._sinks:
                try:
                    sink.send(event)
                except Exception as error:  # a broken sink must not stop the others, or trading
                    self.failed[sink.name] += 1
                    self.last_error[sink.name] = _describe(error)
                    log.warning(
                        "alert %s (%s) not delivered by %s: %s",
                        event.rule,
                        event.state,
                        sink.name,
                        self.last_error[sink.name],
                    )
                else:
                    self.sent[sink.name] += 1
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Block until every queued event was handled (tests, shutdown); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued (up to `timeout`), then stop the worker."""
        self._closed = True
        if self._thread is None:
            return
        self.wait_idle(timeout)
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        self._thread.join(timeout=0.5)

    def stats(self) -> dict[str, Any]:
        return {
            "sinks": [sink.name for sink in self._sinks],
            "sent": dict(self.sent),
            "failed": dict(self.failed),
            "dropped": self.dropped,
            "pending": self._pending,
            "last_error": dict(self.last_error),
        }


class AlertService:
    """Evaluate the rules every `interval` seconds over `status()` and dispatch the events."""

    def __init__(
        self,
        settings: AlertSettings,
        status: Callable[[], Mapping[str, Any]],
        *,
        interval: float = 10.0,
        clock: Clock | None = None,
        sinks: Sequence[AlertSink] | None = None,
        rule_config: AlertRuleConfig | None = None,
        rules: Sequence[Rule] | None = None,
        close_timeout: float = 5.0,
    ) -> None:
        self.settings = settings
        self.interval = interval
        self.clock = clock or LiveClock()
        self.close_timeout = close_timeout
        self._status = status
        self._base_config = rule_config or AlertRuleConfig()
        self._fixed_sinks = sinks is not None
        self.engine = AlertEngine(rule_config_from_settings(settings, self._base_config), rules)
        self.dispatcher = AlertDispatcher(
            sinks if sinks is not None else sinks_from_settings(settings)
        )
        self.events: Counter[str] = Counter()
        self.status_errors = 0

    def update_settings(self, settings: AlertSettings) -> None:
        """Hot reload of `alert.*`: thresholds, cooldown and the sinks (open episodes stay)."""
        self.settings = settings
        self.engine.update_config(rule_config_from_settings(settings, self._base_config))
        if not self._fixed_sinks:
            self.dispatcher.set_sinks(sinks_from_settings(settings))

    def check(self) -> list[AlertEvent]:
        """One evaluation: read the status, log and dispatch the events. Never raises."""
        try:
            status = self._status()
            events = self.engine.evaluate(status, self.clock.time())
        except Exception:
            self.status_errors += 1
            log.exception("alert evaluation failed")
            return []
        for event in events:
            self.events[f"{event.rule}.{event.state}"] += 1
            if event.state == FIRING:
                log.warning("ALERT %s: %s: %s", event.rule, event.title, redact(event.summary))
            else:
                log.info("alert %s resolved: %s", event.rule, redact(event.summary))
            self.dispatcher.submit(event)
        return events

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                self.check()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.interval)
        finally:
            await asyncio.to_thread(self.dispatcher.close, self.close_timeout)

    def close(self) -> None:
        self.dispatcher.close(self.close_timeout)

    def stats(self) -> dict[str, Any]:
        """*(ours)* for `pipeline_status.json` → `alerts`, if the trader publishes it."""
        return {
            "active": self.engine.active(),
            "events": dict(self.events),
            "suppressed": {k: v for k, v in self.engine.suppressed.items() if v},
            "status_errors": self.status_errors,
            **self.dispatcher.stats(),
        }


def status_file_reader(path: Path) -> Callable[[], Mapping[str, Any]]:
    """A `status` callable over a `pipeline_status.json` file (an out-of-process watcher);
    a missing or broken file reads as `{}` (no rule changes state)."""
    import json

    def read() -> Mapping[str, Any]:
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    return read
