"""Response models of the monitor's JSON API (they document `/docs`; tests validate real answers
against them). Field meanings: docs/MONITOR.md."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Num = float | None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Banner(_Model):
    id: str = Field(description="Stable id: ws_degraded, order_ws_disabled, io_degraded, ...")
    level: Literal["info", "warning", "error"]
    title: str
    message: str
    hints: list[str] = Field(description="Fix hints from the operations guide (seed §9, §13).")


class CurvePoint(_Model):
    t: str
    realized_pnl: Num


class RealizedPanel(_Model):
    source: Literal["realized_summary.json", "realized_exits.jsonl", "none"]
    updated_at: str | None
    realized_pnl: Num
    fees: Num
    count: int | None
    wins: int | None
    losses: int | None
    win_rate: Num = Field(description="wins / count (0..1)")
    average_win: Num
    average_loss: Num
    average_pnl: Num
    equity_curve: list[CurvePoint] = Field(description="Cumulative realized PnL, <= 500 points.")


class Scope(_Model):
    scope: str
    interval_seconds: Num
    max_orders: Num
    current_window: Num
    usage: Num = Field(description="current_window / max_orders")


class Hotspot(_Model):
    strategy: str | None
    market_id: str | None
    action: str | None
    side: str | None
    current_window: Num
    max_orders: Num
    usage: Num


class MarketRejects(_Model):
    market_id: str
    action: str
    count: int


class RateLimitsPanel(_Model):
    scopes: list[Scope]
    hotspots: list[Hotspot] = Field(description="Top market x side, busiest first.")
    rate_limit_rejects: int = Field(description="`strategy_rate_limit` rejects in orders.jsonl")
    rejects_by_market: list[MarketRejects]


class ReasonCount(_Model):
    reason: str
    count: int


class TradesStats(_Model):
    count: int
    shares: float
    notional: float
    fees: float
    by_status: dict[str, int]
    modes: dict[str, int]
    last_timestamp: str | None


class ExecutionQuality(_Model):
    fills: int
    entries: int
    exits: int
    notional: float
    fees: float
    average_slippage: Num = Field(description="Notional-weighted, in price units.")
    modes: dict[str, int]


class FeedRates(_Model):
    ws: Num
    rest: Num


class MarketFeed(_Model):
    current_source: str | None = Field(
        description="ws_live | ws_stale | ws_initialising | rest_only"
    )
    ws_cooldown_remaining_seconds: Num
    subscribed_assets: Num
    hot_assets: Num
    messages: dict[str, Any]
    errors: dict[str, Any]
    message_rates: FeedRates = Field(description="Messages/s between the last two status files.")
    last_message_age_seconds: Num


class ExternalFills(_Model):
    processed: Any = None
    opened: Any = None
    applied_same_side: Any = None
    reduced_opposite: Any = None
    closed: Any = None
    last_seen: Any = None


class TrendPoint(_Model):
    t: str = Field(description="Minute start, UTC (`2025-10-13T10:06:00Z`).")
    count: int


class ExtTrend(_Model):
    window_minutes: int
    source: Literal["pipeline_status", "trades.jsonl", "mixed"]
    total: int
    points: list[TrendPoint]


class RecentOrder(_Model):
    timestamp: str
    event: str
    market_id: str
    action: str
    side: str | None = None
    size: Num = None
    price: Num = None
    reason: str | None = None
    status: str | None = None
    strategy: str | None = None
    source: str | None = None


class LifecyclePanel(_Model):
    approvals: int = Field(description="Risk approvals (risk_audit.jsonl).")
    rejects: int = Field(description="`reject` events in orders.jsonl.")
    fills: int = Field(description="`filled` events in orders.jsonl.")
    partials: int = Field(description="`partial` events in orders.jsonl.")
    pending: int = Field(description="Open orders: pipeline_status execution.pending.")
    submitted: int
    canceled: int
    events: dict[str, int]
    reject_reasons: list[ReasonCount]
    execution_counts: dict[str, Any]
    trades: TradesStats
    execution_quality: ExecutionQuality
    market_feed: MarketFeed
    orders_ws: dict[str, Any] | None
    orders_rest: dict[str, Any] | None
    external_fills: ExternalFills
    external_fills_in_trades: int
    ext_trends: dict[str, ExtTrend] = Field(description="Keys '5', '15', '60' (minutes).")
    io_errors: dict[str, int]
    io_errors_total: int
    orders_per_minute: list[TrendPoint]
    recent_orders: list[RecentOrder]


class RiskPanel(_Model):
    source: Literal["risk_audit.jsonl", "pipeline_status", "none"]
    approved: int
    rejected: int
    reject_rate: Num
    top_rejections: list[ReasonCount]
    last_timestamp: str | None


class FrontierPoint(_Model):
    params: dict[str, Any]
    return_: Num = Field(alias="return")
    risk: Num
    sharpe: Num
    trades: Num
    frontier: bool


class FrontierPanel(_Model):
    available: bool
    message: str | None
    generated_at: str | None
    metric: dict[str, Any] | None = None
    points: list[FrontierPoint]
    chosen: int | None
    chosen_point: FrontierPoint | None


class Position(_Model):
    market_id: str | None
    action: str | None
    token_id: str | None
    shares: Num
    average_price: Num
    mark: Num
    unrealized_pnl: Num
    cost: Num


class LedgerPanel(_Model):
    available: bool
    updated_at: str | None
    cash: Num
    exposure: Num
    unrealized_pnl: Num
    realized_pnl: Num
    total_pnl: Num
    fees: Num = Field(description="Fees paid on fills (fills.jsonl, else trades.jsonl).")
    positions_count: int
    positions: list[Position]


class CancelAllRequest(_Model):
    seq: int
    requested_at: str | None


class ControlStateModel(_Model):
    version: int
    revision: int
    updated_at: str | None
    paused: bool
    kill_switch: bool
    cancel_all: CancelAllRequest
    last_action: dict[str, Any] | None


class ControlsPanel(_Model):
    enabled: bool = Field(description="False when no monitor.control_token is configured.")
    requested: ControlStateModel = Field(description="run/control.json as the monitor wrote it.")
    applied: dict[str, Any] | None = Field(description="pipeline_status.json -> controls.")
    pending: bool = Field(description="The trader has not acknowledged the latest revision.")


class StreamStats(_Model):
    exists: bool
    size: int
    offset: int
    records: int
    malformed: int
    recovered: int
    rotations: int
    truncations: int


class SnapshotStats(_Model):
    exists: bool
    error: str | None
    mtime: Num


class FilesInfo(_Model):
    streams: dict[str, StreamStats]
    snapshots: dict[str, SnapshotStats]


class DataResponse(_Model):
    generated_at: str
    now_epoch: float
    reports_dir: str
    catching_up: bool = Field(description="True while the history is still being read.")
    version: int = Field(description="Grows whenever a report file changed.")
    runtime_mode: str | None
    status_updated_at: str | None
    status_age_seconds: Num
    banners: list[Banner]
    realized: RealizedPanel
    rate_limits: RateLimitsPanel
    lifecycle: LifecyclePanel
    ext_trend: ExtTrend = Field(description="External fills for the `ext_window` minutes.")
    risk: RiskPanel
    frontier: FrontierPanel
    ledger: LedgerPanel
    controls: ControlsPanel
    pipeline_status: dict[str, Any] | None = Field(
        description="pipeline_status.json as written (raw sections)."
    )
    files: FilesInfo


class ControlResult(_Model):
    accepted: bool
    action: str
    file: str
    state: ControlStateModel


class ErrorDetail(_Model):
    detail: str


class Health(_Model):
    status: Literal["ok"]
    reports_dir: str
    reports_dir_exists: bool
    catching_up: bool
    status_age_seconds: Num
