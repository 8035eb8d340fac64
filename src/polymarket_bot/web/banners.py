"""Dashboard banners: conditions read from the reports, each with the fix hints of the operations
guide's troubleshooting tables (seed §9 and §13, in English)."""

from __future__ import annotations

from typing import Any

DEGRADED_SOURCES = ("ws_stale", "rest_only")
RISK_REJECT_SHARE = 0.5
RISK_REJECT_MIN_DECISIONS = 20
REST_ERRORS_ALERT = 5
"""The seed's alert threshold for order REST poll errors (§19)."""

WS_DEGRADED_HINTS = [
    "Wait for the automatic retry: watch fetch_info.ws_cooldown_remaining_seconds and "
    "orders_ws.cooldown_remaining_seconds and check that the feed recovers.",
    "Confirm SERVICE_USE_WS=true and that this machine can reach the CLOB WS address "
    "(CLOB_WS_URL).",
    "If it stays degraded, check the network and proxy settings (PROXY_ENABLED, PROXY_URL).",
]
ORDER_WS_DISABLED_HINTS = [
    "Set SERVICE_USE_ORDER_WS=true.",
    "Make sure POLYMARKET_API_KEY, POLYMARKET_API_SECRET and POLYMARKET_API_PASSPHRASE are set "
    "in the environment (or .env).",
    "Behind a proxy, set PROXY_ENABLED=true and PROXY_URL so the WS connection goes through it.",
]
IO_DEGRADED_HINTS = [
    "Make sure the reports/ directory exists and is writable, and that the disk has free space.",
    "On Windows, keep the repository out of synced folders (OneDrive, Dropbox) and away from "
    "antivirus scanning: use a local, non-synced path.",
]
REST_ERRORS_HINTS = [
    "Poll less often (raise ORDER_REST_POLL_SECONDS) or turn the fallback off for a while: "
    "SERVICE_USE_ORDER_REST_FALLBACK=false.",
    "Check the API credentials and the rate limits (429/5xx): lower "
    "SERVICE_REST_MAX_CONCURRENCY and set SERVICE_REST_RATE_LIMIT_PER_SEC.",
]
RISK_HINTS = [
    "See Top Rejections in the Risk Audit panel; review the `trading` and `risk` limits in "
    "config/runtime.yaml (e.g. the VaR ceiling, the per-order maximum) and relax what is too "
    "tight.",
    "Use scripts/replay_order_store.py to find the rejected orders and their context.",
]
NO_STATUS_HINTS = [
    "Start the trader (polymarket-launch trade) or point the monitor at its reports directory "
    "(--reports-dir, POLY_REPORTS_DIR).",
]
STALE_HINTS = [
    "Check that the trader is running (polymarket-launch trade) and look at logs/polymarket.log.",
    "A growing io_errors count or a full disk can also stop status updates.",
]


def _banner(
    ident: str, level: str, title: str, message: str, hints: list[str] | None = None
) -> dict[str, Any]:
    return {"id": ident, "level": level, "title": title, "message": message, "hints": hints or []}


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def build_banners(
    status: dict[str, Any] | None,
    *,
    status_age: float | None,
    stale_after: float,
    risk_approved: int,
    risk_rejected: int,
    controls_applied: dict[str, Any],
    controls_requested: dict[str, Any],
    catching_up: bool,
) -> list[dict[str, Any]]:
    banners: list[dict[str, Any]] = []
    if catching_up:
        banners.append(
            _banner(
                "catching_up",
                "info",
                "Reading report history",
                "The monitor is still reading the report files; counts are growing to their "
                "final values.",
            )
        )
    if status is None:
        banners.append(
            _banner(
                "no_status",
                "warning",
                "No pipeline status yet",
                "reports/pipeline_status.json has not been written.",
                NO_STATUS_HINTS,
            )
        )
        return banners
    if status_age is not None and status_age > stale_after:
        banners.append(
            _banner(
                "status_stale",
                "warning",
                "Status is stale",
                f"pipeline_status.json was last updated {status_age:.0f} s ago.",
                STALE_HINTS,
            )
        )
    fetch = _dict(status.get("fetch_info"))
    orders_ws = _dict(fetch.get("orders_ws"))
    orders_rest = _dict(fetch.get("orders_rest"))
    source = fetch.get("current_source")
    ws_status = orders_ws.get("status")
    if source in DEGRADED_SOURCES or ws_status == "degraded":
        parts = []
        if source in DEGRADED_SOURCES:
            cooldown = fetch.get("ws_cooldown_remaining_seconds")
            parts.append(f"market data source is {source} (WS cooldown {cooldown or 0} s)")
        if ws_status == "degraded":
            cooldown = orders_ws.get("cooldown_remaining_seconds")
            parts.append(
                f"order WS is degraded after {orders_ws.get('failures', 0)} failures "
                f"(cooldown {cooldown or 0} s)"
            )
        title = "WS degraded: fallback to REST" if source == "rest_only" else "WS degraded"
        banners.append(
            _banner("ws_degraded", "error", title, "; ".join(parts) + ".", WS_DEGRADED_HINTS)
        )
    if ws_status == "disabled":
        banners.append(
            _banner(
                "order_ws_disabled",
                "warning",
                "Order WS disabled",
                "Order status comes from REST polling only (orders_ws.status=disabled).",
                ORDER_WS_DISABLED_HINTS,
            )
        )
    io_errors = _dict(status.get("io_errors"))
    failed = {k: v for k, v in io_errors.items() if isinstance(v, int) and v > 0}
    if failed:
        detail = ", ".join(f"{k}: {v}" for k, v in sorted(failed.items()))
        banners.append(
            _banner(
                "io_degraded",
                "error",
                "IO degraded",
                f"{sum(failed.values())} report writes failed ({detail}).",
                IO_DEGRADED_HINTS,
            )
        )
    rest_errors = orders_rest.get("errors")
    if isinstance(rest_errors, int) and rest_errors >= REST_ERRORS_ALERT:
        banners.append(
            _banner(
                "order_rest_errors",
                "warning",
                "Order REST poll errors",
                f"orders_rest.errors = {rest_errors}"
                + (f" (last: {orders_rest['last_error']})" if orders_rest.get("last_error") else "")
                + ".",
                REST_ERRORS_HINTS,
            )
        )
    decisions = risk_approved + risk_rejected
    if decisions >= RISK_REJECT_MIN_DECISIONS and risk_rejected / decisions > RISK_REJECT_SHARE:
        banners.append(
            _banner(
                "risk_rejects_high",
                "warning",
                "Many risk rejections",
                f"{risk_rejected} of {decisions} intents were rejected by risk checks.",
                RISK_HINTS,
            )
        )
    if controls_applied.get("kill_switch") or controls_requested.get("kill_switch"):
        banners.append(
            _banner(
                "kill_switch",
                "error",
                "Kill switch engaged",
                "No new orders are sent. Release it from Operator controls when safe.",
            )
        )
    elif controls_applied.get("paused") or controls_requested.get("paused"):
        banners.append(
            _banner(
                "paused",
                "info",
                "Entries paused",
                "The trader opens no new positions; exits and cancels go on.",
            )
        )
    return banners
