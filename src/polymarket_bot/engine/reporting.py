"""Report documents built from the ledger: `open_positions.json` and `realized_summary.json`
(shapes in docs/REPORTS.md). Pure functions of their inputs."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from polymarket_bot.core.ledger import Ledger, PositionKey
from polymarket_bot.core.types import ZERO

__all__ = ["EquityCurve", "positions_document", "rate_limit_section", "summary_document"]

_CURVE_POINTS = 500


def _num(value: Decimal | None, places: int = 6) -> float | None:
    return None if value is None else float(round(value, places))


def positions_document(
    ledger: Ledger,
    marks: Mapping[PositionKey, Decimal],
    *,
    label: Callable[[str], str],
    token_of: Callable[[str, str], str | None],
    updated_at: str,
) -> dict[str, Any]:
    positions = []
    exposure = ZERO
    for p in sorted(ledger.open_positions(), key=lambda p: (label(p.market), p.outcome)):
        mark = marks.get(p.key)
        value = p.market_value(mark)
        exposure += value
        positions.append(
            {
                "market_id": label(p.market),
                "condition_id": p.market,
                "action": p.outcome,
                "token_id": token_of(p.market, p.outcome),
                "shares": _num(p.shares),
                "average_price": _num(p.avg_cost),
                "mark": _num(mark),
                "unrealized_pnl": _num(p.unrealized_pnl(mark)),
                "cost": _num(p.cost_basis),
            }
        )
    return {
        "updated_at": updated_at,
        "cash": _num(ledger.cash),
        "exposure": _num(exposure),
        "unrealized_pnl": _num(ledger.unrealized_pnl(marks)),
        "realized_pnl": _num(ledger.realized_pnl),
        "fees": _num(ledger.fees_paid),
        "equity": _num(ledger.equity(marks)),
        "positions": positions,
    }


class EquityCurve:
    """The last points of cumulative realized PnL, one per change (bounded memory)."""

    def __init__(self, maxlen: int = _CURVE_POINTS) -> None:
        self._points: deque[dict[str, Any]] = deque(maxlen=maxlen)
        self._last: Decimal | None = None

    def observe(self, realized: Decimal, at: str) -> None:
        if realized != self._last:
            self._last = realized
            self._points.append({"t": at, "realized_pnl": _num(realized)})

    def points(self) -> list[dict[str, Any]]:
        return list(self._points)


def summary_document(ledger: Ledger, curve: EquityCurve, *, updated_at: str) -> dict[str, Any]:
    s = ledger.summary()
    return {
        "updated_at": updated_at,
        "realized_pnl": _num(s.realized_pnl),
        "net_pnl": _num(s.net_pnl),
        "fees": _num(s.fees),
        "count": s.count,
        "wins": s.wins,
        "losses": s.losses,
        "win_rate": _num(s.win_rate, 4),
        "average_win": _num(s.avg_win),
        "average_loss": _num(s.avg_loss),
        "average_pnl": _num(s.realized_pnl / s.count if s.count else ZERO),
        "equity_curve": curve.points(),
    }


def rate_limit_section(snapshot: Mapping[str, Any], label: Callable[[str], str]) -> dict[str, Any]:
    """The limiter's snapshot in the `rate_limits` shape of docs/REPORTS.md: usage per scope
    (`global` = every order, `strategies` = all strategies together, `strategy:<name>`) and the
    market x side hotspots with their market labels."""
    counts = snapshot.get("counts") or {}
    limits = snapshot.get("limits") or {}
    sof = limits.get("strategy_order_frequency") or {}
    per_strategy = sof.get("per_strategy") or {}
    scopes: dict[str, dict[str, Any]] = {}

    def scope(name: str, limit: Mapping[str, Any] | None, current: Any) -> None:
        if limit:
            scopes[name] = {
                "interval_seconds": limit.get("interval_seconds"),
                "max_orders": limit.get("max_orders"),
                "current_window": current or 0,
            }

    scope("global", limits.get("order_frequency"), counts.get("global"))
    scope("strategies", sof.get("global"), counts.get("strategies"))
    for name, current in (counts.get("strategy") or {}).items():
        scope(f"strategy:{name}", per_strategy.get(name) or per_strategy.get("default"), current)
    hotspots = [
        {
            **spot,
            "market_id": label(str(spot.get("market_id", ""))),
            "current_window": spot.get("count", spot.get("current_window")),
        }
        for spot in snapshot.get("hotspots") or ()
    ]
    return {
        "scopes": scopes,
        "hotspots": hotspots,
        "allowed": snapshot.get("allowed"),
        "blocked": snapshot.get("blocked"),
    }
