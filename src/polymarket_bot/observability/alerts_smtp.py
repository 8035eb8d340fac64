"""Where alerts go: e-mail over SMTP (seed §19) and a JSON webhook.

Each sink's `send(event)` blocks (it runs on the dispatcher's worker thread, never on the
trading loop), bounds every network step by `alert.timeout_seconds`, and raises on failure.
Secrets never leave through an error: the SMTP password is only handed to `login`, the webhook
URL (the credential itself) is never put in an exception message, and every outgoing text goes
through the log redaction (registered secrets, key-like strings).
"""

from __future__ import annotations

import email.policy
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Protocol

import httpx

from polymarket_bot.config.model import AlertSettings
from polymarket_bot.observability.alerts_engine import AlertEvent
from polymarket_bot.observability.logging import redact

# Long subjects stay on one line (RFC 5322 allows 998): some readers keep the leading space of
# a subject folded right after "Subject:".
_POLICY = email.policy.default.clone(max_line_length=998)

__all__ = ["AlertSink", "EmailSink", "WebhookError", "WebhookSink", "sinks_from_settings"]


class AlertSink(Protocol):
    name: str

    def send(self, event: AlertEvent) -> None: ...


class EmailSink:
    name = "email"

    def __init__(self, settings: AlertSettings, *, host: str | None = None) -> None:
        self._settings = settings
        self._host = host or socket.gethostname()

    def __repr__(self) -> str:
        s = self._settings
        return f"EmailSink({s.smtp_server}:{s.smtp_port} -> {len(s.to_email)} recipient(s))"

    def message(self, event: AlertEvent) -> EmailMessage:
        s = self._settings
        msg = EmailMessage(policy=_POLICY)
        msg["Subject"] = redact(event.subject(s.subject))
        msg["From"] = s.sender
        msg["To"] = ", ".join(s.to_email)
        msg["Date"] = formatdate(event.at, usegmt=True)
        # An explicit domain: make_msgid would otherwise resolve this host's FQDN (DNS).
        msg["Message-ID"] = make_msgid(domain="polymarket-bot.invalid")
        msg["X-Alert-Rule"] = event.rule
        msg["X-Alert-State"] = event.state
        msg.set_content(redact(event.body(host=self._host)))
        return msg

    def send(self, event: AlertEvent) -> None:
        s = self._settings
        msg = self.message(event)
        timeout = s.timeout_seconds
        smtp: smtplib.SMTP
        if s.use_tls:
            smtp = smtplib.SMTP_SSL(
                s.smtp_server, s.smtp_port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(s.smtp_server, s.smtp_port, timeout=timeout)
        with smtp:
            if s.use_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if s.username and s.password is not None:
                smtp.login(s.username, s.password.get_secret_value())
            smtp.send_message(msg)


class WebhookError(Exception):
    """A webhook delivery failed (the message never contains the URL)."""


class WebhookSink:
    """POST `{"text": subject, "alert": event}` as JSON (Slack-style `text` for chat hooks)."""

    name = "webhook"

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        prefix: str = "",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._url = url
        self._timeout = timeout
        self._prefix = prefix
        self._transport = transport

    def __repr__(self) -> str:
        return "WebhookSink(<url hidden>)"

    def payload(self, event: AlertEvent) -> dict[str, Any]:
        alert = event.to_json()
        alert["summary"] = redact(alert["summary"])
        alert["details"] = {k: _redacted(v) for k, v in alert["details"].items()}
        return {"text": redact(event.subject(self._prefix)), "alert": alert}

    def send(self, event: AlertEvent) -> None:
        try:
            with httpx.Client(timeout=self._timeout, transport=self._transport) as client:
                response = client.post(self._url, json=self.payload(event))
        except httpx.HTTPError as error:
            raise WebhookError(f"webhook request failed: {type(error).__name__}") from None
        if response.status_code >= 400:
            raise WebhookError(f"webhook answered HTTP {response.status_code}")


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


def sinks_from_settings(settings: AlertSettings) -> list[AlertSink]:
    """E-mail when `enable_email`, the webhook when `webhook_url` is set."""
    sinks: list[AlertSink] = []
    if settings.enable_email:
        sinks.append(EmailSink(settings))
    if settings.webhook_url is not None:
        sinks.append(
            WebhookSink(
                settings.webhook_url.get_secret_value(),
                timeout=settings.timeout_seconds,
                prefix=settings.subject,
            )
        )
    return sinks
