"""`/metrics`: Prometheus exposition of the monitor's aggregates.

A custom collector on a private `CollectorRegistry` reads `ReportsState` at scrape time, so the
numbers are exactly what `/api/data` shows, nothing is double-counted, and several apps (tests)
never collide in the global registry. Counters that mirror the trader's own counters
(`pipeline_status.json`) reset when the trader restarts; Prometheus' `rate()` handles that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from polymarket_bot.web.aggregates import ReportsState, parse_iso

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
FEED_SOURCES = ("ws_live", "ws_stale", "ws_initialising", "rest_only")
ORDERS_WS_STATES = ("ok", "degraded", "disabled")
P = "polymarket_"


def _d(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _n(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


class ReportsCollector(Collector):
    def __init__(self, state: ReportsState, clock: Callable[[], float]) -> None:
        self.state = state
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        state = self.state
        with state.lock:
            yield from self._orders(state)
            yield from self._fills(state)
            yield from self._risk(state)
            status = state.snapshot("pipeline_status") or {}
            yield from self._feed(state, status)
            yield from self._pnl(state)
            yield from self._status(state, status)

    def _orders(self, state: ReportsState) -> Iterator[Metric]:
        agg = state.orders.agg
        events = CounterMetricFamily(
            P + "order_events", "Order events in orders.jsonl by event.", labels=["event"]
        )
        for event, n in sorted(agg.events.items()):
            events.add_metric([event], n)
        yield events
        rejects = CounterMetricFamily(
            P + "order_rejects", "Order rejects in orders.jsonl by reason.", labels=["reason"]
        )
        for reason, n in sorted(agg.reject_reasons.counts.items()):
            rejects.add_metric([reason], n)
        yield rejects

    def _fills(self, state: ReportsState) -> Iterator[Metric]:
        trades = state.trades.agg
        fills = CounterMetricFamily(
            P + "fills", "Fill increments in trades.jsonl by status.", labels=["status"]
        )
        for status, n in sorted(trades.by_status.items()):
            fills.add_metric([status], n)
        yield fills
        yield CounterMetricFamily(
            P + "fill_notional", "Notional of fills in trades.jsonl.", value=float(trades.notional)
        )
        yield CounterMetricFamily(
            P + "external_fills", "Fills marked external in trades.jsonl.", value=trades.external
        )

    def _risk(self, state: ReportsState) -> Iterator[Metric]:
        agg = state.risk.agg
        decisions = CounterMetricFamily(
            P + "risk_decisions", "Risk decisions in risk_audit.jsonl.", labels=["decision"]
        )
        decisions.add_metric(["approved"], agg.approved)
        decisions.add_metric(["rejected"], agg.rejected)
        yield decisions
        reasons = CounterMetricFamily(
            P + "risk_rejections", "Risk rejections by factor.", labels=["reason"]
        )
        for reason, n in sorted(agg.reasons.counts.items()):
            reasons.add_metric([reason], n)
        yield reasons

    def _feed(self, state: ReportsState, status: dict[str, Any]) -> Iterator[Metric]:
        fetch = _d(status.get("fetch_info"))
        source = fetch.get("current_source")
        ws_state = GaugeMetricFamily(
            P + "market_feed_source",
            "1 for the market data source in use (fetch_info.current_source).",
            labels=["source"],
        )
        for name in FEED_SOURCES:
            ws_state.add_metric([name], 1.0 if source == name else 0.0)
        yield ws_state
        orders_ws = _d(fetch.get("orders_ws"))
        ows = GaugeMetricFamily(
            P + "orders_ws_status", "1 for the order WS status.", labels=["status"]
        )
        for name in ORDERS_WS_STATES:
            ows.add_metric([name], 1.0 if orders_ws.get("status") == name else 0.0)
        yield ows
        messages = CounterMetricFamily(
            P + "feed_messages", "Market data messages (trader's count).", labels=["channel"]
        )
        errors = CounterMetricFamily(
            P + "feed_errors", "Market data errors (trader's count).", labels=["channel"]
        )
        for family, key in ((messages, "messages"), (errors, "errors")):
            for channel, value in sorted(_d(fetch.get(key)).items()):
                if (n := _n(value)) is not None:
                    family.add_metric([str(channel)], n)
            yield family
        rates = GaugeMetricFamily(
            P + "feed_message_rate",
            "Messages per second between the last two status snapshots.",
            labels=["channel"],
        )
        for channel, rate in (("ws", state.rates.ws), ("rest", state.rates.rest)):
            if rate is not None:
                rates.add_metric([channel], rate)
        yield rates
        orders_rest = _d(fetch.get("orders_rest"))
        rest = CounterMetricFamily(
            P + "orders_rest_polls", "Order REST polls by result.", labels=["result"]
        )
        for result, key in (("success", "success"), ("error", "errors")):
            if (n := _n(orders_rest.get(key))) is not None:
                rest.add_metric([result], n)
        yield rest
        io = CounterMetricFamily(
            P + "io_errors", "Failed report writes (pipeline_status io_errors).", labels=["file"]
        )
        for name, value in sorted(_d(status.get("io_errors")).items()):
            if (n := _n(value)) is not None:
                io.add_metric([str(name)], n)
        yield io

    def _pnl(self, state: ReportsState) -> Iterator[Metric]:
        summary = state.snapshot("realized_summary")
        realized = (
            _n(summary.get("realized_pnl")) if summary else float(state.realized.agg.pnl) or 0.0
        )
        positions = state.snapshot("open_positions") or {}
        gauges = {
            "realized_pnl": ("Realized PnL.", realized),
            "unrealized_pnl": (
                "Unrealized PnL of open positions.",
                positions.get("unrealized_pnl"),
            ),
            "cash": ("Cash (pUSD).", positions.get("cash")),
            "exposure": ("Exposure of open positions.", positions.get("exposure")),
            "open_positions": ("Open positions.", len(positions.get("positions") or [])),
            "fees_paid": ("Fees on fills (fills.jsonl).", float(state.fills.agg.fees)),
        }
        for name, (doc, value) in gauges.items():
            if (n := _n(value)) is not None:
                yield GaugeMetricFamily(P + name, doc, value=n)
        if summary and (n := _n(summary.get("win_rate"))) is not None:
            yield GaugeMetricFamily(P + "win_rate", "Realized win rate (0..1).", value=n)

    def _status(self, state: ReportsState, status: dict[str, Any]) -> Iterator[Metric]:
        updated = parse_iso(status.get("updated_at"))
        if updated is not None:
            yield GaugeMetricFamily(
                P + "status_age_seconds",
                "Seconds since pipeline_status.json was updated.",
                value=max(0.0, self.clock() - updated),
            )
        controls = _d(status.get("controls"))
        for key in ("paused", "kill_switch"):
            if isinstance(controls.get(key), bool):
                yield GaugeMetricFamily(
                    P + key, f"1 when the trader reports {key}.", value=float(controls[key])
                )
        lines = CounterMetricFamily(
            P + "monitor_records", "Report records read by the monitor.", labels=["file"]
        )
        malformed = CounterMetricFamily(
            P + "monitor_malformed_lines", "Report lines the monitor skipped.", labels=["file"]
        )
        for name, stream in state.streams.items():
            lines.add_metric([name], stream.records)
            malformed.add_metric([name], stream.decoder.malformed)
        yield lines
        yield malformed


def make_registry(state: ReportsState, clock: Callable[[], float]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ReportsCollector(state, clock))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    data: bytes = generate_latest(registry)
    return data
