"""The `/api/data` document: every dashboard panel built from `ReportsState` (schemas.py types it).

Called with `state.lock` held; its cost depends on the size of the bounded aggregates, never on
the length of the report history.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from polymarket_bot.observability.controls import ControlState, iso_ms
from polymarket_bot.web.aggregates import (
    ReportsState,
    key_of_minute,
    minute_key,
    minute_of,
    parse_iso,
    to_json_number,
)
from polymarket_bot.web.banners import build_banners

TREND_WINDOWS = (5, 15, 60)
TOP = 10
MAX_POSITIONS = 200
MAX_FRONTIER_POINTS = 2000
NO_FRONTIER = (
    "No backtest has run yet: reports/backtest_frontier.json appears after the first backtest."
)


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _num(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return None


def _int(value: object) -> int | None:
    number = _num(value)
    return None if number is None else int(number)


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _dec(value: Decimal) -> float:
    return float(round(value, 6))


def ext_trend(state: ReportsState, window: int, now: float) -> dict[str, Any]:
    """Per-minute external fills for the `window` minutes ending now.

    Minutes that `pipeline_status.json` -> `external_fills_trend` covers come from there (the
    order-status process's own count); older or missing minutes from `trades.jsonl` records with
    `external: true`.
    """
    status = _dict(state.snapshot("pipeline_status"))
    reported: dict[str, int] = {}
    for point in _list(status.get("external_fills_trend")):
        point = _dict(point)
        key = minute_key(str(point.get("t", "")))
        count = _num(point.get("count"))
        if key is not None and count is not None:
            reported[key] = reported.get(key, 0) + int(count)
    first, last = (min(reported), max(reported)) if reported else ("", "")
    from_trades = state.trades.agg.external_per_minute.series(window, now)
    points = []
    covered = 0
    for key, count in from_trades:
        if reported and first <= key <= last:
            count = reported.get(key, 0)
            covered += 1
        points.append({"t": key + ":00Z", "count": count})
    if covered == len(points):
        source = "pipeline_status"
    elif covered == 0:
        source = "trades.jsonl"
    else:
        source = "mixed"
    return {
        "window_minutes": window,
        "source": source,
        "total": sum(p["count"] for p in points),
        "points": points,
    }


def _realized(state: ReportsState) -> dict[str, Any]:
    summary = state.snapshot("realized_summary")
    if summary is not None:
        curve = [
            {"t": str(p.get("t", "")), "realized_pnl": _num(p.get("realized_pnl"))}
            for p in map(_dict, _list(summary.get("equity_curve")))
        ]
        return {
            "source": "realized_summary.json",
            "updated_at": summary.get("updated_at"),
            **{k: _int(summary.get(k)) for k in ("count", "wins", "losses")},
            **{
                k: _num(summary.get(k))
                for k in (
                    "realized_pnl",
                    "fees",
                    "win_rate",
                    "average_win",
                    "average_loss",
                    "average_pnl",
                )
            },
            "equity_curve": curve,
        }
    agg = state.realized.agg
    return {
        "source": "realized_exits.jsonl" if agg.count else "none",
        "updated_at": None,
        "realized_pnl": _dec(agg.pnl),
        "fees": _dec(agg.fees),
        "count": agg.count,
        "wins": agg.wins,
        "losses": agg.losses,
        "win_rate": _ratio(agg.wins, agg.count),
        "average_win": _dec(agg.win_sum / agg.wins) if agg.wins else None,
        "average_loss": _dec(agg.loss_sum / agg.losses) if agg.losses else None,
        "average_pnl": _dec(agg.pnl / agg.count) if agg.count else None,
        "equity_curve": [{"t": t, "realized_pnl": _dec(v)} for t, v in agg.curve],
    }


def _usage(current: object, limit: object) -> float | None:
    c, m = _num(current), _num(limit)
    return None if c is None or not m else c / m


def _rate_limits(state: ReportsState, status: dict[str, Any]) -> dict[str, Any]:
    section = _dict(status.get("rate_limits"))
    scopes = []
    for name, scope in _dict(section.get("scopes")).items():
        scope = _dict(scope)
        scopes.append(
            {
                "scope": str(name),
                "interval_seconds": _num(scope.get("interval_seconds")),
                "max_orders": _num(scope.get("max_orders")),
                "current_window": _num(scope.get("current_window")),
                "usage": _usage(scope.get("current_window"), scope.get("max_orders")),
            }
        )
    hotspots = []
    for spot in map(_dict, _list(section.get("hotspots"))):
        hotspots.append(
            {
                "strategy": spot.get("strategy"),
                "market_id": spot.get("market_id"),
                "action": spot.get("action"),
                "side": spot.get("side"),
                "current_window": _num(spot.get("current_window")),
                "max_orders": _num(spot.get("max_orders")),
                "usage": _usage(spot.get("current_window"), spot.get("max_orders")),
            }
        )
    hotspots.sort(key=lambda h: (-(h["usage"] or 0.0), -(h["current_window"] or 0.0)))
    limited = state.orders.agg.rate_limited
    return {
        "scopes": scopes,
        "hotspots": hotspots[:TOP],
        "rate_limit_rejects": limited.total(),
        "rejects_by_market": [
            {"market_id": key.partition("|")[0], "action": key.partition("|")[2], "count": n}
            for key, n in limited.top(TOP)
        ],
    }


def _lifecycle(state: ReportsState, status: dict[str, Any], now: float) -> dict[str, Any]:
    orders, trades, fills = state.orders.agg, state.trades.agg, state.fills.agg
    risk = state.risk.agg
    fetch = _dict(status.get("fetch_info"))
    execution = _dict(status.get("execution"))
    status_risk = _dict(status.get("risk_audit"))
    approvals = risk.approved if state.risk.records else int(_num(status_risk.get("approved")) or 0)
    io_errors = {
        k: int(v) for k, v in _dict(status.get("io_errors")).items() if _num(v) is not None
    }
    ext = _dict(status.get("external_fills"))
    recent = [
        {
            k: v
            for k, v in msgspec.structs.asdict(rec).items()
            if k in ("timestamp", "event", "market_id", "action", "side", "size", "price")
            or k in ("reason", "status", "strategy", "source")
        }
        for rec in reversed(orders.recent)
    ]
    last = minute_of(now)
    per_minute = orders.per_minute.counts
    return {
        "approvals": approvals,
        "rejects": orders.events.get("reject", 0),
        "fills": orders.events.get("filled", 0),
        "partials": orders.events.get("partial", 0),
        "pending": len(_list(execution.get("pending"))),
        "submitted": orders.events.get("submit", 0),
        "canceled": orders.events.get("cancel", 0),
        "events": dict(orders.events),
        "reject_reasons": [{"reason": r, "count": n} for r, n in orders.reject_reasons.top(TOP)],
        "execution_counts": _dict(execution.get("counts")),
        "trades": {
            "count": trades.count,
            "shares": _dec(trades.shares),
            "notional": _dec(trades.notional),
            "fees": _dec(trades.fees),
            "by_status": dict(trades.by_status),
            "modes": dict(trades.modes),
            "last_timestamp": trades.last_timestamp,
        },
        "execution_quality": {
            "fills": fills.count,
            "entries": fills.events.get("entry", 0),
            "exits": fills.events.get("exit", 0),
            "notional": _dec(fills.notional),
            "fees": _dec(fills.fees),
            "average_slippage": to_json_number(fills.average_slippage),
            "modes": dict(fills.modes),
        },
        "market_feed": {
            "current_source": fetch.get("current_source"),
            "ws_cooldown_remaining_seconds": _num(fetch.get("ws_cooldown_remaining_seconds")),
            "subscribed_assets": _num(fetch.get("subscribed_assets")),
            "hot_assets": _num(fetch.get("hot_assets")),
            "messages": _dict(fetch.get("messages")),
            "errors": _dict(fetch.get("errors")),
            "message_rates": {"ws": state.rates.ws, "rest": state.rates.rest},
            "last_message_age_seconds": _num(fetch.get("last_message_age_seconds")),
        },
        "orders_ws": _dict(fetch.get("orders_ws")) or None,
        "orders_rest": _dict(fetch.get("orders_rest")) or None,
        "external_fills": {
            k: ext.get(k)
            for k in (
                "processed",
                "opened",
                "applied_same_side",
                "reduced_opposite",
                "closed",
                "last_seen",
            )
        },
        "external_fills_in_trades": trades.external,
        "ext_trends": {str(w): ext_trend(state, w, now) for w in TREND_WINDOWS},
        "io_errors": io_errors,
        "io_errors_total": sum(io_errors.values()),
        "orders_per_minute": [
            {"t": key + ":00Z", "count": per_minute.get(key, 0)}
            for key in (key_of_minute(m) for m in range(last - 59, last + 1))
        ],
        "recent_orders": recent,
    }


def _risk(state: ReportsState, status: dict[str, Any]) -> dict[str, Any]:
    agg = state.risk.agg
    if state.risk.records:
        approved, rejected = agg.approved, agg.rejected
        top = [{"reason": r, "count": n} for r, n in agg.reasons.top(TOP)]
        source = "risk_audit.jsonl"
    else:
        section = _dict(status.get("risk_audit"))
        approved = int(_num(section.get("approved")) or 0)
        rejected = int(_num(section.get("rejected")) or 0)
        reasons = {k: int(v) for k, v in _dict(section.get("reasons")).items() if _num(v)}
        ranked = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
        top = [{"reason": r, "count": n} for r, n in ranked]
        source = "pipeline_status" if section else "none"
    return {
        "source": source,
        "approved": approved,
        "rejected": rejected,
        "reject_rate": _ratio(rejected, approved + rejected),
        "top_rejections": top,
        "last_timestamp": agg.last_timestamp,
    }


def _frontier(state: ReportsState) -> dict[str, Any]:
    doc = state.snapshot("backtest_frontier")
    error = state.snapshots["backtest_frontier"].error
    if doc is None:
        return {
            "available": False,
            "message": f"backtest_frontier.json is unreadable ({error})" if error else NO_FRONTIER,
            "generated_at": None,
            "points": [],
            "chosen": None,
            "chosen_point": None,
        }
    points = []
    for raw in map(_dict, _list(doc.get("points"))[:MAX_FRONTIER_POINTS]):
        points.append(
            {
                "params": _dict(raw.get("params")),
                "return": _num(raw.get("return")),
                "risk": _num(raw.get("risk")),
                "sharpe": _num(raw.get("sharpe")),
                "trades": _num(raw.get("trades")),
                "frontier": raw.get("frontier") is not False,
            }
        )
    chosen = doc.get("chosen")
    index = (
        chosen
        if isinstance(chosen, int) and not isinstance(chosen, bool) and 0 <= chosen < len(points)
        else None
    )
    return {
        "available": True,
        "message": None,
        "generated_at": doc.get("generated_at"),
        "metric": _dict(doc.get("metric")) or None,
        "points": points,
        "chosen": index,
        "chosen_point": points[index] if index is not None else None,
    }


def _ledger(state: ReportsState, realized_pnl: float | None) -> dict[str, Any]:
    doc = state.snapshot("open_positions")
    fills, trades = state.fills.agg, state.trades.agg
    fees = fills.fees if fills.count else trades.fees
    if doc is None:
        return {
            "available": False,
            "updated_at": None,
            "cash": None,
            "exposure": None,
            "unrealized_pnl": None,
            "realized_pnl": realized_pnl,
            "total_pnl": realized_pnl,
            "fees": _dec(fees),
            "positions_count": 0,
            "positions": [],
        }
    positions = [
        {
            "market_id": p.get("market_id"),
            "action": p.get("action"),
            "token_id": p.get("token_id"),
            "shares": _num(p.get("shares")),
            "average_price": _num(p.get("average_price")),
            "mark": _num(p.get("mark")),
            "unrealized_pnl": _num(p.get("unrealized_pnl")),
            "cost": _num(p.get("cost")),
        }
        for p in map(_dict, _list(doc.get("positions")))
    ]
    unrealized = _num(doc.get("unrealized_pnl"))
    if unrealized is None and positions:
        unrealized = sum(p["unrealized_pnl"] or 0.0 for p in positions)
    total = None if unrealized is None else (realized_pnl or 0.0) + unrealized
    return {
        "available": True,
        "updated_at": doc.get("updated_at"),
        "cash": _num(doc.get("cash")),
        "exposure": _num(doc.get("exposure")),
        "unrealized_pnl": unrealized,
        "realized_pnl": realized_pnl,
        "total_pnl": total,
        "fees": _dec(fees),
        "positions_count": len(positions),
        "positions": positions[:MAX_POSITIONS],
    }


def build_data(
    state: ReportsState,
    *,
    ext_window: int,
    now: float,
    controls: ControlState,
    controls_enabled: bool,
    stale_after: float,
) -> dict[str, Any]:
    status_doc = state.snapshot("pipeline_status")
    status = status_doc or {}
    updated = parse_iso(status.get("updated_at"))
    status_age = None if updated is None else max(0.0, now - updated)
    realized = _realized(state)
    risk = _risk(state, status)
    applied = _dict(status.get("controls"))
    requested = controls.to_json()
    applied_revision = _num(applied.get("control_revision"))
    pending = controls.revision > 0 and (
        applied_revision is None or applied_revision < controls.revision
    )
    return {
        "generated_at": iso_ms(now),
        "now_epoch": now,
        "reports_dir": str(state.reports_dir),
        "catching_up": not state.caught_up,
        "version": state.version,
        "runtime_mode": status.get("runtime_mode"),
        "status_updated_at": status.get("updated_at"),
        "status_age_seconds": status_age,
        "banners": build_banners(
            status_doc,
            status_age=status_age,
            stale_after=stale_after,
            risk_approved=risk["approved"],
            risk_rejected=risk["rejected"],
            controls_applied=applied,
            controls_requested=requested,
            catching_up=not state.caught_up,
        ),
        "realized": realized,
        "rate_limits": _rate_limits(state, status),
        "lifecycle": _lifecycle(state, status, now),
        "ext_trend": ext_trend(state, ext_window, now),
        "risk": risk,
        "frontier": _frontier(state),
        "ledger": _ledger(state, realized["realized_pnl"]),
        "controls": {
            "enabled": controls_enabled,
            "requested": requested,
            "applied": applied or None,
            "pending": pending,
        },
        "pipeline_status": status_doc,
        "files": {
            "streams": {name: s.stats() for name, s in state.streams.items()},
            "snapshots": {
                name: {"exists": snap.value is not None, "error": snap.error, "mtime": snap.mtime}
                for name, snap in state.snapshots.items()
            },
        },
    }
