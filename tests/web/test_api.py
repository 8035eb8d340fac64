"""The monitor's HTTP API through httpx's ASGI transport: /api/data (typed, matching the reports),
banners, controls (token rules and the control file), /metrics, /healthz, OpenAPI."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from monitor_kit import (
    Expected,
    append_bytes,
    frontier_document,
    pipeline_status,
    write_json,
    write_reports,
)
from prometheus_client.parser import text_string_to_metric_families

from polymarket_bot.observability.controls import read_control_state
from polymarket_bot.web.app import create_app
from polymarket_bot.web.schemas import DataResponse

NOW = 1_760_350_000.0
TOKEN = "s3cret-control-token"


class Env:
    def __init__(self, tmp_path: Path, token: str | None) -> None:
        self.reports = tmp_path / "reports"
        self.run = tmp_path / "run"
        self.exp: Expected = write_reports(self.reports, NOW)
        self.app = create_app(
            self.reports, control_token=token, run_dir=self.run, clock=lambda: NOW
        )
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://monitor"
        )

    async def data(self, **params: Any) -> dict[str, Any]:
        response = await self.client.get("/api/data", params=params)
        assert response.status_code == 200, response.text
        document: dict[str, Any] = response.json()
        DataResponse.model_validate(document)  # the documented schema is the real one
        return document

    def status(self, **overrides: Any) -> None:
        write_json(self.reports / "pipeline_status.json", pipeline_status(NOW, **overrides))


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    environment = Env(tmp_path, token=None)
    yield environment
    await environment.client.aclose()


@pytest.fixture
async def env_token(tmp_path: Path) -> AsyncIterator[Env]:
    environment = Env(tmp_path, token=TOKEN)
    yield environment
    await environment.client.aclose()


async def test_data_holds_every_panel(env: Env) -> None:
    d = await env.data()
    exp = env.exp
    assert d["runtime_mode"] == "offline" and d["catching_up"] is False
    assert d["banners"] == []
    realized = d["realized"]
    assert realized["source"] == "realized_summary.json"
    for key in ("realized_pnl", "win_rate", "wins", "losses", "count", "average_win"):
        assert realized[key] == pytest.approx(exp.realized[key])
    assert [p["realized_pnl"] for p in realized["equity_curve"]] == [
        p["realized_pnl"] for p in exp.realized["equity_curve"]
    ]
    lc = d["lifecycle"]
    assert (lc["approvals"], lc["rejects"], lc["fills"], lc["partials"], lc["pending"]) == (
        exp.risk_approved,
        exp.order_events["reject"],
        exp.order_events["filled"],
        exp.order_events["partial"],
        3,
    )
    assert lc["trades"]["count"] == exp.trades
    assert lc["orders_ws"]["status"] == "ok"
    assert lc["orders_rest"]["last_error"] == "HTTP 429 Too Many Requests"
    assert lc["external_fills"]["opened"] == 3
    totals = {w: lc["ext_trends"][w]["total"] for w in ("5", "15", "60")}
    assert totals == {"5": 2, "15": 4, "60": 5}
    assert lc["io_errors_total"] == 0
    assert sum(p["count"] for p in lc["orders_per_minute"]) == sum(exp.order_events.values())
    assert len(lc["recent_orders"]) == 25
    risk = d["risk"]
    assert (risk["approved"], risk["rejected"]) == (exp.risk_approved, exp.risk_rejected)
    assert {r["reason"]: r["count"] for r in risk["top_rejections"]} == dict(exp.risk_reasons)
    rl = d["rate_limits"]
    assert [s["scope"] for s in rl["scopes"]] == ["global", "strategy:market_maker"]
    assert rl["hotspots"][0]["market_id"] == "SIM-1" and rl["hotspots"][0]["usage"] == 1.0
    assert rl["rate_limit_rejects"] == exp.reject_reasons["strategy_rate_limit"]
    ledger = d["ledger"]
    assert ledger["cash"] == exp.positions["cash"]
    assert ledger["positions_count"] == 2
    assert ledger["fees"] == pytest.approx(exp.fills_fees)
    assert ledger["total_pnl"] == pytest.approx(exp.realized["realized_pnl"] - 3.62)
    assert d["frontier"]["available"] is False
    assert "No backtest has run yet" in d["frontier"]["message"]
    assert d["pipeline_status"] == exp.status
    assert d["files"]["streams"]["orders"]["records"] == sum(exp.order_events.values())


async def test_ext_window_selects_the_trend(env: Env) -> None:
    d = await env.data(ext_window=15)
    assert d["ext_trend"]["window_minutes"] == 15 and len(d["ext_trend"]["points"]) == 15
    assert d["ext_trend"]["total"] == 4
    assert (await env.data())["ext_trend"]["window_minutes"] == 60
    for bad in ("0", "1441", "abc"):
        response = await env.client.get("/api/data", params={"ext_window": bad})
        assert response.status_code == 422


async def test_frontier_appears_after_a_backtest(env: Env) -> None:
    write_json(env.reports / "backtest_frontier.json", frontier_document(NOW))
    frontier = (await env.data())["frontier"]
    assert frontier["available"] is True
    assert len(frontier["points"]) == 6 and frontier["chosen"] == 2
    assert frontier["chosen_point"]["return"] == 0.052
    assert frontier["chosen_point"]["params"] == {"spread_bps": 40, "max_inventory": 700}


async def test_data_follows_new_records(env: Env) -> None:
    before = await env.data()
    filled = {"timestamp": "2025-10-13T10:06:30.000Z", "event": "filled"}
    # The newline ends the torn line: it is malformed and skipped.
    append_bytes(env.reports / "orders.jsonl", b"\n" + json.dumps(filled).encode() + b"\n")
    after = await env.data()
    assert after["lifecycle"]["fills"] == before["lifecycle"]["fills"] + 1
    assert after["version"] > before["version"]
    assert after["files"]["streams"]["orders"]["malformed"] == 1


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"source": "rest_only"}, {"ws_degraded"}),
        ({"source": "ws_stale"}, {"ws_degraded"}),
        ({"source": "ws_initialising"}, set()),
        (
            {"io_errors": {"orders": 2, "trades": 0, "status": 1, "positions": 0, "risk_audit": 0}},
            {"io_degraded"},
        ),
    ],
)
async def test_banners(env: Env, overrides: dict[str, Any], expected: set[str]) -> None:
    env.status(**overrides)
    banners = (await env.data())["banners"]
    assert {b["id"] for b in banners} == expected
    for banner in banners:
        assert banner["hints"], banner
    if "ws_degraded" in expected:
        assert any("SERVICE_USE_WS=true" in h for h in banners[0]["hints"])


async def test_order_ws_banners(env: Env) -> None:
    status = pipeline_status(NOW)
    status["fetch_info"]["orders_ws"]["status"] = "disabled"
    status["fetch_info"]["orders_rest"]["errors"] = 7
    write_json(env.reports / "pipeline_status.json", status)
    banners = {b["id"]: b for b in (await env.data())["banners"]}
    assert set(banners) == {"order_ws_disabled", "order_rest_errors"}
    assert any("POLYMARKET_API_KEY" in h for h in banners["order_ws_disabled"]["hints"])
    assert any("ORDER_REST_POLL_SECONDS" in h for h in banners["order_rest_errors"]["hints"])
    status["fetch_info"]["orders_ws"]["status"] = "degraded"
    write_json(env.reports / "pipeline_status.json", status)
    ids = {b["id"] for b in (await env.data())["banners"]}
    assert "ws_degraded" in ids and "order_ws_disabled" not in ids


async def test_missing_and_stale_status(env: Env) -> None:
    (env.reports / "pipeline_status.json").unlink()
    assert [b["id"] for b in (await env.data())["banners"]] == ["no_status"]
    status = pipeline_status(NOW)
    status["updated_at"] = "2025-10-13T09:00:00.000Z"
    write_json(env.reports / "pipeline_status.json", status)
    assert [b["id"] for b in (await env.data())["banners"]] == ["status_stale"]


async def test_empty_reports_dir(tmp_path: Path) -> None:
    app = create_app(tmp_path / "nothing", control_token=None, clock=lambda: NOW)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://m") as client:
        response = await client.get("/api/data")
        assert response.status_code == 200
        d = DataResponse.model_validate(response.json())
        assert d.realized.source == "none" and d.lifecycle.fills == 0
        assert d.ledger.available is False and d.frontier.available is False
        health = (await client.get("/healthz")).json()
        assert health["status"] == "ok" and health["reports_dir_exists"] is False


async def test_controls_disabled_without_a_token(env: Env) -> None:
    for path in ("pause", "resume", "cancel-all", "kill-switch", "kill-switch/release"):
        response = await env.client.post(
            f"/api/controls/{path}", headers={"Authorization": "Bearer anything"}
        )
        assert response.status_code == 403
        assert "no control token is configured" in response.json()["detail"]
    assert not (env.run / "control.json").exists()
    assert (await env.data())["controls"]["enabled"] is False


async def test_controls_need_the_right_token(env_token: Env) -> None:
    client = env_token.client
    missing = await client.post("/api/controls/pause")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    wrong = await client.post("/api/controls/pause", headers={"X-Control-Token": "nope"})
    assert wrong.status_code == 401
    wrong_scheme = await client.post("/api/controls/pause", headers={"Authorization": TOKEN})
    assert wrong_scheme.status_code == 401
    assert not (env_token.run / "control.json").exists()

    ok = await client.post("/api/controls/pause", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    body = ok.json()
    assert body["accepted"] is True and body["state"]["paused"] is True
    assert body["state"]["revision"] == 1
    assert read_control_state(env_token.run).paused is True

    headers = {"X-Control-Token": TOKEN}
    await client.post("/api/controls/cancel-all", headers=headers)
    await client.post("/api/controls/kill-switch", headers=headers)
    state = read_control_state(env_token.run)
    assert (state.revision, state.paused, state.kill_switch, state.cancel_all.seq) == (
        3,
        True,
        True,
        2,
    )
    assert state.last_action is not None and state.last_action["action"] == "kill_switch"
    await client.post("/api/controls/resume", headers=headers)
    await client.post("/api/controls/kill-switch/release", headers=headers)
    state = read_control_state(env_token.run)
    assert (state.paused, state.kill_switch, state.cancel_all.seq) == (False, False, 2)
    raw = json.loads((env_token.run / "control.json").read_text())
    assert raw["version"] == 1 and raw["revision"] == 5

    controls = (await client.get("/api/controls")).json()
    assert controls["enabled"] is True and controls["pending"] is True
    status = pipeline_status(NOW)
    status["controls"] = {"paused": False, "kill_switch": False, "control_revision": 5}
    write_json(env_token.reports / "pipeline_status.json", status)
    controls = (await client.get("/api/controls")).json()
    assert controls["pending"] is False
    assert (await env_token.data())["controls"]["pending"] is False


async def test_kill_switch_banner_from_request_or_trader(env_token: Env) -> None:
    await env_token.client.post("/api/controls/kill-switch", headers={"X-Control-Token": TOKEN})
    assert "kill_switch" in {b["id"] for b in (await env_token.data())["banners"]}


async def test_metrics(env: Env) -> None:
    env.status(
        source="rest_only",
        io_errors={"orders": 2, "trades": 0, "status": 0, "positions": 0, "risk_audit": 1},
    )
    response = await env.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    exp = env.exp
    assert samples[("polymarket_order_events_total", (("event", "filled"),))] == 25
    assert samples[("polymarket_order_rejects_total", (("reason", "strategy_rate_limit"),))] == 4
    assert samples[("polymarket_risk_decisions_total", (("decision", "rejected"),))] == (
        exp.risk_rejected
    )
    assert samples[("polymarket_market_feed_source", (("source", "rest_only"),))] == 1
    assert samples[("polymarket_market_feed_source", (("source", "ws_live"),))] == 0
    assert samples[("polymarket_io_errors_total", (("file", "orders"),))] == 2
    assert samples[("polymarket_feed_messages_total", (("channel", "ws"),))] == 48211
    assert samples[("polymarket_realized_pnl", ())] == pytest.approx(exp.realized["realized_pnl"])
    assert samples[("polymarket_cash", ())] == exp.positions["cash"]
    assert samples[("polymarket_open_positions", ())] == 2
    assert samples[("polymarket_fills_total", (("status", "filled"),))] == 24


async def test_metrics_registries_are_private(tmp_path: Path) -> None:
    apps = [create_app(tmp_path / str(i), control_token=None) for i in range(2)]
    for app in apps:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://m") as client:
            assert (await client.get("/metrics")).status_code == 200


async def test_dashboard_and_openapi(env: Env) -> None:
    page = await env.client.get("/")
    assert page.status_code == 200 and "Realized Summary" in page.text
    for asset in ("/static/app.js", "/static/app.css", "/static/minichart.js"):
        assert (await env.client.get(asset)).status_code == 200
    spec = (await env.client.get("/openapi.json")).json()
    data = spec["paths"]["/api/data"]["get"]
    assert data["parameters"][0]["name"] == "ext_window"
    assert data["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/DataResponse"
    )
    assert "return" in spec["components"]["schemas"]["FrontierPoint"]["properties"]
    assert {"/api/controls/pause", "/api/controls/kill-switch", "/metrics", "/healthz"} <= set(
        spec["paths"]
    )
    assert (await env.client.get("/docs")).status_code == 200
