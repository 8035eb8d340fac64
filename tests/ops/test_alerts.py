"""Alerts end to end: the rule engine steps through scripted episodes and real mail arrives at a
real SMTP server on loopback (aiosmtpd); a real simulator fault degrades a real trader's status
file and produces the WS-degraded and fallback mails, then their recoveries.

Under CI=true a missing aiosmtpd fails these tests; elsewhere it skips them.
"""

from __future__ import annotations

import asyncio
import copy
import email
import email.policy
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from polymarket_bot.config import build_settings
from polymarket_bot.config.model import AlertSettings
from polymarket_bot.core.clock import TestClock
from polymarket_bot.observability.alerts import (
    AlertDispatcher,
    AlertEngine,
    AlertEvent,
    AlertRuleConfig,
    AlertService,
    WebhookError,
    WebhookSink,
    status_file_reader,
)
from polymarket_bot.observability.logging import clear_registered_secrets, register_secrets

try:
    from aiosmtpd.controller import Controller
except ImportError:  # pragma: no cover - depends on the environment
    Controller = None

PREFIX = "[Py-Polymarket] alert"
T0 = 1_760_000_000.0


def _require_aiosmtpd() -> None:
    if Controller is None:
        message = "aiosmtpd is not installed (pip install -r requirements/dev.txt)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


def text(message: EmailMessage) -> str:
    content = message.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    """aiosmtpd handler: every message received, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            if time.monotonic() > deadline:
                raise AssertionError(f"{count} mails expected, {len(self.messages)} arrived")
            time.sleep(0.02)

    def keys(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(str(m["X-Alert-Rule"]), str(m["X-Alert-State"])) for m in self.messages]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    _require_aiosmtpd()
    assert Controller is not None
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def alert_settings(port: int, **extra: Any) -> AlertSettings:
    values = {
        "alert.enable_email": True,
        "alert.smtp_server": "127.0.0.1",
        "alert.smtp_port": port,
        "alert.to_email": ["ops@example.com", "oncall@example.com"],
        "alert.from_email": "bot@example.com",
        "alert.use_starttls": False,
        "alert.timeout_seconds": 5.0,
        "alert.cooldown_seconds": 0.0,
        **{f"alert.{k}": v for k, v in extra.items()},
    }
    return build_settings(values).alert


def healthy_status() -> dict[str, Any]:
    """A pipeline_status.json document as the trader writes it (docs/REPORTS.md), all well."""
    return {
        "updated_at": "2025-10-13T10:07:00.000Z",
        "runtime_mode": "dry-run",
        "fetch_info": {
            "current_source": "ws_live",
            "ws_cooldown_remaining_seconds": 0,
            "subscribed_assets": 16,
            "hot_assets": 16,
            "messages": {"ws": 1200, "rest": 40},
            "errors": {"ws": 0, "rest": 0},
            "last_message_age_seconds": 0.1,
            "source_since_epoch": T0 - 3600,
            "ws": {"enabled": True, "connections": 1, "open": 1},
            "orders_ws": {
                "status": "ok",
                "failures": 0,
                "cooldown_remaining_seconds": 0,
                "last_success_epoch": T0 - 1,
                "last_error_epoch": None,
                "last_error": None,
            },
            "orders_rest": {
                "running": True,
                "interval_seconds": 15,
                "limit": 50,
                "success": 10,
                "errors": 0,
                "last_success_epoch": T0 - 5,
                "last_error_epoch": None,
                "last_error": None,
            },
        },
        "external_fills": {
            "processed": 0,
            "opened": 0,
            "applied_same_side": 0,
            "reduced_opposite": 0,
            "closed": 0,
            "last_seen": None,
        },
        "risk_audit": {"approved": 12, "rejected": 1, "reasons": {"liquidity": 1}},
        "io_errors": {"orders": 0, "trades": 0, "status": 0, "positions": 0, "risk_audit": 0},
        "execution": {
            "pending": [],
            "partial": [],
            "filled": [],
            "counts": {"submitted": 12, "partial": 0, "filled": 3, "canceled": 2, "rejected": 0},
        },
        "controls": {
            "paused": False,
            "kill_switch": False,
            "risk_state": "normal",
            "control_revision": 0,
            "cancel_all_seq": 0,
        },
    }


class Script:
    """A status document and a clock stepped together through an episode."""

    def __init__(
        self, service_for: Callable[[Callable[[], dict[str, Any]], TestClock], AlertService]
    ) -> None:
        self.status = healthy_status()
        self.clock = TestClock(T0)
        self.service = service_for(lambda: copy.deepcopy(self.status), self.clock)
        self.fired: list[AlertEvent] = []

    def step(
        self, seconds: float, edit: Callable[[dict[str, Any]], None] | None = None
    ) -> list[tuple[str, str]]:
        self.clock.advance(seconds)
        if edit is not None:
            edit(self.status)
        events = self.service.check()
        self.fired.extend(events)
        return [(e.rule, e.state) for e in events]


def set_path(doc: dict[str, Any], dotted: str, value: Any) -> None:
    node = doc
    *parents, last = dotted.split(".")
    for key in parents:
        node = node[key]
    node[last] = value


def edit(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        for dotted, value in changes.items():
            set_path(doc, dotted.replace("__", "."), value)

    return apply


def test_each_rule_fires_once_per_episode_and_recovers_with_real_mail(
    smtp: tuple[Inbox, int],
) -> None:
    inbox, port = smtp
    settings = alert_settings(port, order_rest_errors_threshold=5, fallback_max_seconds=300.0)
    s = Script(lambda status, clock: AlertService(settings, status, clock=clock))
    try:
        assert s.step(0) == []  # baseline: counters seen for the first time raise nothing

        # io_errors: a write failure, more failures (same episode), quiet for 5 min: recovered.
        assert s.step(10, edit(io_errors__orders=1)) == [("io_errors", "firing")]
        assert s.step(10, edit(io_errors__orders=3, io_errors__status=1)) == []
        assert s.step(200) == []
        assert s.step(101) == [("io_errors", "resolved")]

        # order REST poll errors: growing below the threshold is not an alert; >= 5 and growing
        # is; still growing is the same episode; steady for 5 min is a recovery.
        assert s.step(10, edit(fetch_info__orders_rest__errors=3)) == []
        assert s.step(
            10,
            edit(fetch_info__orders_rest__errors=5, fetch_info__orders_rest__last_error="HTTP 503"),
        ) == [("order_rest_errors", "firing")]
        assert s.step(10, edit(fetch_info__orders_rest__errors=8)) == []
        assert s.step(301) == [("order_rest_errors", "resolved")]

        # market WS fallback: degraded after the 30 s grace, fallback after 5 min, both recover.
        fallback_at = s.clock.time() + 5
        assert (
            s.step(
                5,
                edit(
                    fetch_info__current_source="rest_only",
                    fetch_info__source_since_epoch=fallback_at,
                ),
            )
            == []
        )
        assert s.step(29) == []
        assert s.step(1) == [("ws_degraded", "firing")]
        assert s.step(60, edit(fetch_info__current_source="ws_stale")) == []  # same episode
        assert s.step(209) == []  # 299 s in fallback
        assert s.step(1) == [("fallback", "firing")]
        assert s.step(60) == []
        assert sorted(s.step(5, edit(fetch_info__current_source="ws_live"))) == [
            ("fallback", "resolved"),
            ("ws_degraded", "resolved"),
        ]

        # order WS degraded
        assert (
            s.step(
                5, edit(fetch_info__orders_ws__status="degraded", fetch_info__orders_ws__failures=4)
            )
            == []
        )
        assert s.step(30) == [("orders_ws_degraded", "firing")]
        assert s.step(5, edit(fetch_info__orders_ws__status="ok")) == [
            ("orders_ws_degraded", "resolved")
        ]

        # kill switch, risk mode, daily loss stop
        assert s.step(5, edit(controls__kill_switch=True)) == [("kill_switch", "firing")]
        assert s.step(5) == []
        assert s.step(5, edit(controls__kill_switch=False)) == [("kill_switch", "resolved")]
        assert s.step(5, edit(controls__risk_state="halted")) == [("risk_halted", "firing")]
        assert s.step(5, edit(controls__risk_state="normal")) == [("risk_halted", "resolved")]
        assert s.step(5, edit(risk_audit__reasons={"liquidity": 1, "daily_loss": 2})) == [
            ("daily_loss_stop", "firing")
        ]
        assert s.step(60, edit(risk_audit__reasons={"liquidity": 1, "daily_loss": 9})) == []
        assert s.step(300) == [("daily_loss_stop", "resolved")]

        rules = [
            "io_errors",
            "order_rest_errors",
            "ws_degraded",
            "fallback",
            "orders_ws_degraded",
            "kill_switch",
            "risk_halted",
            "daily_loss_stop",
        ]
        mails = inbox.wait_for(2 * len(rules))
        assert s.service.dispatcher.wait_idle(5)
        assert len(mails) == 2 * len(rules)  # nothing more than one pair per episode
        for rule in rules:
            assert inbox.keys().count((rule, "firing")) == 1, rule
            assert inbox.keys().count((rule, "resolved")) == 1, rule
        by_key = {(str(m["X-Alert-Rule"]), str(m["X-Alert-State"])): m for m in mails}

        fallback = by_key["fallback", "firing"]
        assert (
            fallback["Subject"]
            == f"{PREFIX} FIRING: market data on fallback for more than 5 min 0 s"
        )
        assert fallback["From"] == "bot@example.com"
        assert fallback["To"] == "ops@example.com, oncall@example.com"
        body = text(fallback)
        assert "fetch_info.current_source = ws_stale (not ws_live)" in body
        since = datetime.fromtimestamp(fallback_at, tz=timezone.utc)
        assert f"since:    {since:%Y-%m-%dT%H:%M:%SZ} (5 min 0 s)" in body
        assert "CLOB_WS_URL" in body and "mode:     dry-run" in body
        assert inbox.envelopes[0] == ("bot@example.com", ["ops@example.com", "oncall@example.com"])

        recovered = by_key["fallback", "resolved"]
        assert recovered["Subject"] == (
            f"{PREFIX} RESOLVED: market data on fallback for more than 5 min 0 s"
        )
        assert "RECOVERED" in text(recovered)
        assert "recovered after 6 min 5 s: market data on ws_live" in text(recovered)

        rest = by_key["order_rest_errors", "firing"]
        assert rest["Subject"] == f"{PREFIX} FIRING: order REST poll errors (>= 5 and growing)"
        assert "fetch_info.orders_rest.errors = 5 (threshold 5)" in text(rest)
        assert "last_error: HTTP 503" in text(rest)

        io = text(by_key["io_errors", "firing"])
        assert "+1 (orders 1)" in io
        assert by_key["kill_switch", "firing"]["Subject"] == f"{PREFIX} FIRING: kill switch engaged"
        assert "(critical)" in text(by_key["daily_loss_stop", "firing"])
        assert "rejected 2 order(s)" in text(by_key["daily_loss_stop", "firing"])
        assert by_key["ws_degraded", "firing"]["Subject"] == f"{PREFIX} FIRING: market WS degraded"
        stats = s.service.stats()
        assert stats["sent"] == {"email": 16} and stats["failed"] == {}
        assert stats["active"] == []
    finally:
        s.service.close()


def test_a_second_episode_alerts_again_and_the_cooldown_holds_back_a_flap(
    smtp: tuple[Inbox, int],
) -> None:
    inbox, port = smtp
    settings = alert_settings(port, cooldown_seconds=600.0)
    s = Script(lambda status, clock: AlertService(settings, status, clock=clock))
    try:
        on, off = edit(controls__kill_switch=True), edit(controls__kill_switch=False)
        assert s.step(0, on) == [("kill_switch", "firing")]
        assert s.step(10, off) == [("kill_switch", "resolved")]
        # Flapping inside the cooldown: held back, no mail, no recovery mail either ...
        assert s.step(10, on) == []
        assert s.step(10, off) == []
        assert s.service.engine.suppressed["kill_switch"] == 1
        # ... but an episode that outlasts the cooldown is announced when the cooldown ends.
        assert s.step(10, on) == []
        assert s.step(559) == []
        assert s.step(1) == [("kill_switch", "firing")]  # 600 s after the first mail
        assert s.step(10, off) == [("kill_switch", "resolved")]
        # A new episode after the cooldown alerts at once.
        assert s.step(601, on) == [("kill_switch", "firing")]
        inbox.wait_for(5)
        assert s.service.dispatcher.wait_idle(5)
        assert inbox.keys() == [("kill_switch", "firing"), ("kill_switch", "resolved")] * 2 + [
            ("kill_switch", "firing")
        ]
    finally:
        s.service.close()


def test_a_trader_restart_resets_the_counter_baselines() -> None:
    engine = AlertEngine(AlertRuleConfig(cooldown_seconds=0))
    doc = healthy_status()
    doc["io_errors"]["orders"] = 7
    assert engine.evaluate(doc, T0) == []  # history from before we looked: no alert
    doc["io_errors"]["orders"] = 0  # the trader restarted: counters start again
    assert engine.evaluate(doc, T0 + 10) == []
    doc["io_errors"]["orders"] = 1
    assert [(e.rule, e.state) for e in engine.evaluate(doc, T0 + 20)] == [("io_errors", "firing")]


def test_missing_sections_change_nothing_and_rest_only_without_ws_is_no_fallback() -> None:
    engine = AlertEngine(AlertRuleConfig(fallback_max_seconds=10, ws_degraded_grace_seconds=0))
    doc = healthy_status()
    doc["controls"]["kill_switch"] = True
    assert [e.rule for e in engine.evaluate(doc, T0)] == ["kill_switch"]
    assert engine.evaluate({}, T0 + 5) == []  # an empty/unreadable status: still firing
    assert engine.active() == ["kill_switch"]
    doc = healthy_status()
    doc["fetch_info"]["current_source"] = "rest_only"
    doc["fetch_info"]["ws"]["enabled"] = False  # SERVICE_USE_WS=false: REST by design
    events = engine.evaluate(doc, T0 + 100)
    assert [(e.rule, e.state) for e in events] == [("kill_switch", "resolved")]


def test_smtp_failures_are_logged_and_counted_and_never_raise_nor_leak_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    password = "s3cret-smtp-pw-1234"
    # Nothing listens on this port: every delivery fails.
    settings = alert_settings(free_port(), username="bot", password=password)
    status = healthy_status()
    status["controls"]["kill_switch"] = True
    service = AlertService(settings, lambda: status, clock=TestClock(T0))
    try:
        with caplog.at_level(logging.INFO):
            started = time.monotonic()
            events = service.check()
            assert time.monotonic() - started < 0.5  # sending is not done on the caller
            assert [e.rule for e in events] == ["kill_switch"]
            assert service.dispatcher.wait_idle(10)
        assert service.stats()["failed"] == {"email": 1}
        assert "ConnectionRefusedError" in service.stats()["last_error"]["email"]
        text = caplog.text
        assert "ALERT kill_switch" in text and "not delivered by email" in text
        assert password not in text
    finally:
        service.close()


def test_a_hung_sink_never_blocks_the_evaluation() -> None:
    release = threading.Event()

    class Hung:
        name = "hung"

        def send(self, event: AlertEvent) -> None:
            release.wait(10)

    status = healthy_status()
    clock = TestClock(T0)
    service = AlertService(alert_settings(1), lambda: status, clock=clock, sinks=[Hung()])
    try:
        status["controls"]["kill_switch"] = True
        started = time.monotonic()
        assert len(service.check()) == 1
        status["controls"]["kill_switch"] = False
        clock.advance(1)
        assert len(service.check()) == 1
        assert time.monotonic() - started < 0.5
        assert service.dispatcher.stats()["pending"] == 2
        release.set()
        assert service.dispatcher.wait_idle(5)
        assert service.dispatcher.sent["hung"] == 2
    finally:
        release.set()
        service.close()


def test_webhook_posts_json_and_a_failure_never_shows_the_url(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = "https://hooks.example.invalid/services/T000/B000/tok-very-secret-123"
    received: list[dict[str, Any]] = []
    answer = {"status": 200}

    def handler(request: httpx.Request) -> httpx.Response:
        received.append(json.loads(request.content))
        return httpx.Response(answer["status"])

    sink = WebhookSink(url, prefix=PREFIX, transport=httpx.MockTransport(handler))
    dispatcher = AlertDispatcher([sink])
    engine = AlertEngine(AlertRuleConfig(cooldown_seconds=0))
    doc = healthy_status()
    doc["controls"]["kill_switch"] = True
    (event,) = engine.evaluate(doc, T0)
    try:
        assert dispatcher.submit(event) and dispatcher.wait_idle(5)
        assert received[0]["text"] == f"{PREFIX} FIRING: kill switch engaged"
        assert received[0]["alert"]["rule"] == "kill_switch"
        assert received[0]["alert"]["state"] == "firing"
        assert received[0]["alert"]["severity"] == "critical"
        answer["status"] = 500
        with caplog.at_level(logging.WARNING):
            assert dispatcher.submit(event) and dispatcher.wait_idle(5)
        assert dispatcher.failed["webhook"] == 1
        assert "HTTP 500" in dispatcher.last_error["webhook"]
        assert "tok-very-secret" not in caplog.text and "tok-very-secret" not in repr(sink)
        with pytest.raises(WebhookError) as error:
            WebhookSink(url, transport=httpx.MockTransport(_refuse)).send(event)
        assert "tok-very-secret" not in str(error.value) and error.value.__cause__ is None
    finally:
        dispatcher.close()


def _refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def test_registered_secrets_are_masked_in_the_mail(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    secret = "api-secret-value-0123456789"
    register_secrets(secret)
    status = healthy_status()
    clock = TestClock(T0)
    service = AlertService(alert_settings(port), lambda: status, clock=clock)
    try:
        service.check()
        status["fetch_info"]["orders_rest"]["errors"] = 6
        status["fetch_info"]["orders_rest"]["last_error"] = f"401 for key {secret}"
        clock.advance(1)
        assert [e.rule for e in service.check()] == ["order_rest_errors"]
        (mail,) = inbox.wait_for(1)
        assert secret not in mail.as_string()
        assert "401 for key" in text(mail)
    finally:
        service.close()
        clear_registered_secrets()


def test_hot_reload_changes_thresholds_and_sinks(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    quiet = build_settings({}).alert  # email disabled: log only
    status = healthy_status()
    clock = TestClock(T0)
    service = AlertService(quiet, lambda: status, clock=clock)
    try:
        status["controls"]["kill_switch"] = True
        assert len(service.check()) == 1
        assert service.dispatcher.sinks == ()
        service.update_settings(alert_settings(port, fallback_max_seconds=60.0))
        assert service.engine.config.fallback_max_seconds == 60.0
        status["controls"]["kill_switch"] = False
        clock.advance(1)
        assert [e.state for e in service.check()] == ["resolved"]
        (mail,) = inbox.wait_for(1)
        assert mail["X-Alert-State"] == "resolved"
    finally:
        service.close()


# -- a real fault on a real trader -------------------------------------------------------------


async def _eventually(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_a_simulator_ws_fault_in_a_real_trader_mails_degraded_and_fallback(
    smtp: tuple[Inbox, int], tmp_path: Path, quick_feed: dict[str, float]
) -> None:
    from polymarket_bot.engine.trader import Trader, TraderOptions
    from polymarket_bot.sim.server import SimServer

    inbox, port = smtp
    async with SimServer(n_markets=2, seed=5) as sim:
        settings = build_settings(
            {
                "mode.offline_mode": True,
                "venue.clob_rest_url": sim.rest_url,
                "venue.clob_ws_url": sim.ws_url,
                "venue.gamma_api_url": sim.gamma_url,
                "paths.reports_dir": str(tmp_path / "reports"),
                "paths.run_dir": str(tmp_path / "run"),
                "paths.logs_dir": str(tmp_path / "logs"),
            },
            base_dir=tmp_path,
        )
        options = TraderOptions(interval=1.0, status_interval=1.0, market_data=quick_feed)
        trader = Trader(settings, options=options)
        stop = asyncio.Event()
        run = asyncio.create_task(trader.run(stop))
        read = status_file_reader(tmp_path / "reports" / "pipeline_status.json")

        def source() -> str | None:
            return (read().get("fetch_info") or {}).get("current_source")

        clock = TestClock(time.time())
        service = AlertService(alert_settings(port, fallback_max_seconds=300.0), read, clock=clock)
        try:
            await _eventually(lambda: source() == "ws_live", 30, "a ws_live status file")
            assert service.check() == []
            async with httpx.AsyncClient(base_url=sim.rest_url, timeout=5.0) as client:
                response = await client.post(
                    "/admin/faults",
                    json={"fault": "ws_stall", "params": {"channel": "market"}},
                )
                response.raise_for_status()
                await _eventually(
                    lambda: source() in ("ws_stale", "rest_only"), 15, "a degraded status file"
                )
                clock.set(max(clock.time(), time.time()))
                assert service.check() == []  # within the grace period
                clock.advance(31)
                assert [(e.rule, e.state) for e in service.check()] == [("ws_degraded", "firing")]
                clock.advance(300)
                assert [(e.rule, e.state) for e in service.check()] == [("fallback", "firing")]
                (await client.delete("/admin/faults")).raise_for_status()
            await _eventually(lambda: source() == "ws_live", 20, "ws_live again")
            clock.advance(5)
            assert sorted((e.rule, e.state) for e in service.check()) == [
                ("fallback", "resolved"),
                ("ws_degraded", "resolved"),
            ]
            mails = inbox.wait_for(4)
        finally:
            service.close()
            stop.set()
            await run
    # One worker sends in event order; resolutions come in rule order (fallback first).
    assert [str(m["Subject"]) for m in mails] == [
        f"{PREFIX} FIRING: market WS degraded",
        f"{PREFIX} FIRING: market data on fallback for more than 5 min 0 s",
        f"{PREFIX} RESOLVED: market data on fallback for more than 5 min 0 s",
        f"{PREFIX} RESOLVED: market WS degraded",
    ]
    body = text(mails[0])
    assert "fetch_info.current_source = " in body and "mode:     offline" in body


async def test_the_service_runs_as_an_asyncio_task_until_stopped() -> None:
    got: list[tuple[str, str]] = []

    class Recorder:
        name = "recorder"

        def send(self, event: AlertEvent) -> None:
            got.append((event.rule, event.state))

    status = healthy_status()
    status["controls"]["kill_switch"] = True
    service = AlertService(
        build_settings({}).alert, lambda: status, interval=0.05, sinks=[Recorder()]
    )
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    await _eventually(lambda: got == [("kill_switch", "firing")], 5, "the firing event")
    status["controls"]["kill_switch"] = False
    await _eventually(lambda: len(got) == 2, 5, "the recovery")
    stop.set()
    await asyncio.wait_for(task, 5)
    assert got == [("kill_switch", "firing"), ("kill_switch", "resolved")]
    assert service.stats()["events"] == {"kill_switch.firing": 1, "kill_switch.resolved": 1}
    late = AlertEvent("x", "firing", "warning", "t", "s", 0.0, 0.0, {})
    assert not service.dispatcher.submit(late)  # closed when the task ended
