"""Shared helpers of the monitor tests: a realistic reports directory (the shapes of
docs/REPORTS.md, the numbers the test expects the dashboard to show) and an in-process uvicorn
server on an ephemeral loopback port."""

from __future__ import annotations

import json
import os
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

MARKETS = ["SIM-1", "SIM-2", "SIM-3", "ELECTION-24"]
STRATEGIES = ["market_maker", "momentum"]


def iso(epoch: float) -> str:
    millis = round(epoch * 1000)
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(millis // 1000)) + f".{millis % 1000:03d}Z"
    )


def write_json(path: Path, document: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(document, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def append_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, separators=(",", ":")) + "\n")


def append_bytes(path: Path, data: bytes) -> None:
    with open(path, "ab") as fh:
        fh.write(data)


@dataclass
class Expected:
    """What the dashboard must show for the reports `write_reports` produced."""

    order_events: Counter[str] = field(default_factory=Counter)
    reject_reasons: Counter[str] = field(default_factory=Counter)
    risk_approved: int = 0
    risk_rejected: int = 0
    risk_reasons: Counter[str] = field(default_factory=Counter)
    trades: int = 0
    trade_notional: float = 0.0
    external_minutes: dict[int, int] = field(default_factory=dict)
    """Minutes ago -> external fills in trades.jsonl."""
    fills_fees: float = 0.0
    realized: dict[str, Any] = field(default_factory=dict)
    positions: dict[str, Any] = field(default_factory=dict)
    status: dict[str, Any] = field(default_factory=dict)


def pipeline_status(now: float, *, source: str = "ws_live", **overrides: Any) -> dict[str, Any]:
    status: dict[str, Any] = {
        "updated_at": iso(now - 2),
        "runtime_mode": "offline",
        "fetch_info": {
            "current_source": source,
            "ws_cooldown_remaining_seconds": 0 if source == "ws_live" else 27,
            "subscribed_assets": 16,
            "hot_assets": 12,
            "messages": {"ws": 48211, "rest": 312},
            "errors": {"ws": 3, "rest": 1},
            "last_message_age_seconds": 0.4,
            "orders_ws": {
                "status": "degraded" if source == "rest_only" else "ok",
                "failures": 4 if source == "rest_only" else 0,
                "cooldown_remaining_seconds": 0,
                "last_success_epoch": now - 5,
                "last_error_epoch": now - 1800,
                "last_error": "ConnectionClosedError: no close frame received",
            },
            "orders_rest": {
                "running": True,
                "interval_seconds": 15,
                "limit": 50,
                "success": 214,
                "errors": 2,
                "last_success_epoch": now - 9,
                "last_error_epoch": now - 3600,
                "last_error": "HTTP 429 Too Many Requests",
            },
        },
        "external_fills": {
            "processed": 9,
            "opened": 3,
            "applied_same_side": 2,
            "reduced_opposite": 1,
            "closed": 1,
            "last_seen": iso(now - 125),
        },
        "risk_audit": {"approved": 0, "rejected": 0, "reasons": {}},
        "io_errors": {"orders": 0, "trades": 0, "status": 0, "positions": 0, "risk_audit": 0},
        "execution": {
            "pending": ["0xaaa1", "0xaaa2", "0xaaa3"],
            "partial": ["0xbbb1"],
            "filled": [],
            "counts": {"submitted": 40, "partial": 12, "filled": 25, "canceled": 6, "rejected": 9},
        },
        "rate_limits": {
            "scopes": {
                "global": {"interval_seconds": 60, "max_orders": 30, "current_window": 17},
                "strategy:market_maker": {
                    "interval_seconds": 60,
                    "max_orders": 10,
                    "current_window": 9,
                },
            },
            "hotspots": [
                {
                    "strategy": "market_maker",
                    "market_id": "SIM-1",
                    "action": "yes",
                    "side": "BUY",
                    "current_window": 3,
                    "max_orders": 3,
                },
                {
                    "strategy": "momentum",
                    "market_id": "ELECTION-24",
                    "action": "no",
                    "side": "SELL",
                    "current_window": 1,
                    "max_orders": 3,
                },
            ],
        },
        "controls": {"paused": False, "kill_switch": False, "risk_state": "NORMAL"},
    }
    status.update(overrides)
    return status


def write_reports(reports: Path, now: float, *, seed: int = 7) -> Expected:
    """Fill `reports` with a realistic hour of trading; return what the panels must show."""
    rng = random.Random(seed)
    reports.mkdir(parents=True, exist_ok=True)
    exp = Expected()

    orders: list[dict[str, Any]] = []
    plan = ["submit"] * 40 + ["partial"] * 12 + ["filled"] * 25 + ["cancel"] * 6
    reasons = (
        ["strategy_rate_limit"] * 4 + ["risk:liquidity"] * 3 + ["venue:insufficient_balance"] * 2
    )
    plan += ["reject"] * len(reasons)
    rng.shuffle(plan)
    for i, event in enumerate(plan):
        market = rng.choice(MARKETS)
        record: dict[str, Any] = {
            "timestamp": iso(now - 3500 + i * 37),
            "event": event,
            "market_id": market,
            "action": rng.choice(["yes", "no"]),
            "size": round(rng.uniform(10, 300), 2),
            "runtime_mode": "offline",
            "status": event,
            "source": "order_ws",
            "order_id": f"0x{i:064x}",
            "strategy": rng.choice(STRATEGIES),
            "side": "BUY",
            "price": round(rng.uniform(0.2, 0.8), 2),
            "event_id": f"ev-{i}",
        }
        if event == "reject":
            reason = reasons.pop()
            record["reason"] = reason
            if reason == "strategy_rate_limit":
                record["metadata"] = {"interval_seconds": 60, "max_orders": 3, "current_window": 3}
            exp.reject_reasons[reason] += 1
        exp.order_events[event] += 1
        orders.append(record)
    append_jsonl(reports / "orders.jsonl", orders)
    # A writer crashed mid-line: the torn tail must be ignored.
    with open(reports / "orders.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"timestamp": "' + iso(now) + '", "event": "subm')

    trades = []
    for i in range(37):
        minutes_ago = 3 if i < 2 else 11 if i < 4 else 40 if i == 4 else 30 + i
        external = i < 5
        shares = round(rng.uniform(5, 150), 2)
        price = round(rng.uniform(0.2, 0.8), 2)
        trades.append(
            {
                "timestamp": iso(now - minutes_ago * 60 - 1),
                "order_id": f"0x{i:064x}",
                "market_id": rng.choice(MARKETS),
                "action": "yes",
                "filled_shares": shares,
                "average_price": price,
                "notional": round(shares * price, 6),
                "status": "filled" if i % 3 else "partial",
                "execution_mode": "order_ws",
                "fee": 0.01,
                "external": external,
            }
        )
        exp.trades += 1
        exp.trade_notional += round(shares * price, 6)
        if external:
            exp.external_minutes[minutes_ago] = exp.external_minutes.get(minutes_ago, 0) + 1
    append_jsonl(reports / "trades.jsonl", trades)

    fills = []
    for i in range(20):
        fee = round(rng.uniform(0.05, 0.5), 4)
        fills.append(
            {
                "timestamp": iso(now - 3000 + i * 100),
                "event": "entry" if i % 4 else "exit",
                "market_id": rng.choice(MARKETS),
                "side": "yes",
                "notional": 200.0,
                "fill_price": 0.56,
                "reference_price": 0.55,
                "slippage": 0.01,
                "fees": fee,
                "execution_mode": "simulation",
                "mid": 0.555,
                "spread": 0.02,
                "shares": 357.14,
            }
        )
        exp.fills_fees += fee
    append_jsonl(reports / "fills.jsonl", fills)

    risk = []
    for i in range(58):
        approved = i % 7 != 3
        rejections = [] if approved else (["liquidity"] if i % 2 else ["var", "liquidity"])
        risk.append(
            {
                "timestamp": iso(now - 3400 + i * 55),
                "market_id": rng.choice(MARKETS),
                "action": "no",
                "size": 150.0,
                "approved": approved,
                "risk": {
                    "timestamp": iso(now - 3400 + i * 55),
                    "portfolio_balance": 10000.0,
                    "order_size": 150.0,
                    "factors": {
                        "var": {"approved": "var" not in rejections, "var": -0.013},
                        "liquidity": {"approved": "liquidity" not in rejections},
                    },
                    "approved": approved,
                    "rejections": rejections,
                },
            }
        )
        if approved:
            exp.risk_approved += 1
        else:
            exp.risk_rejected += 1
            exp.risk_reasons.update(rejections)
    append_jsonl(reports / "risk_audit.jsonl", risk)

    pnls = [12.5, -4.25, 8.0, -10.5, 22.75, 3.1, -1.2, 15.0]
    exits, curve, total = [], [], 0.0
    for i, pnl in enumerate(pnls):
        total += pnl
        t = iso(now - 3000 + i * 350)
        exits.append(
            {
                "timestamp": t,
                "market_id": MARKETS[i % 4],
                "action": "yes",
                "shares": 100.0,
                "entry_price": 0.5,
                "exit_price": 0.5 + pnl / 100,
                "pnl": pnl,
                "fees": 0.1,
                "reason": "exit",
                "fill_id": f"f{i}",
            }
        )
        curve.append({"t": t, "realized_pnl": round(total, 6)})
    append_jsonl(reports / "realized_exits.jsonl", exits)
    wins = [p for p in pnls if p > 0]
    losses = [p for p in pnls if p < 0]
    exp.realized = {
        "updated_at": iso(now - 30),
        "realized_pnl": round(total, 6),
        "fees": 0.8,
        "count": len(pnls),
        "wins": len(wins),
        "losses": len(losses),
        "win_rate": len(wins) / len(pnls),
        "average_win": sum(wins) / len(wins),
        "average_loss": sum(losses) / len(losses),
        "average_pnl": total / len(pnls),
        "equity_curve": curve,
    }
    write_json(reports / "realized_summary.json", exp.realized)

    exp.positions = {
        "updated_at": iso(now - 4),
        "cash": 9421.37,
        "exposure": 612.4,
        "unrealized_pnl": -3.62,
        "positions": [
            {
                "market_id": "SIM-1",
                "action": "yes",
                "token_id": "7123",
                "shares": 400.0,
                "average_price": 0.55,
                "mark": 0.56,
                "unrealized_pnl": 4.0,
                "cost": 220.0,
            },
            {
                "market_id": "ELECTION-24",
                "action": "no",
                "token_id": "9981",
                "shares": 700.0,
                "average_price": 0.56,
                "mark": 0.5497,
                "unrealized_pnl": -7.62,
                "cost": 392.4,
            },
        ],
    }
    write_json(reports / "open_positions.json", exp.positions)

    exp.status = pipeline_status(now)
    write_json(reports / "pipeline_status.json", exp.status)
    return exp


def frontier_document(now: float) -> dict[str, Any]:
    points = []
    for i, (ret, risk, sharpe) in enumerate(
        [
            (0.021, 0.010, 1.1),
            (0.034, 0.018, 1.4),
            (0.052, 0.031, 1.6),
            (0.061, 0.055, 1.2),
            (0.015, 0.022, 0.5),
            (0.030, 0.040, 0.7),
        ]
    ):
        points.append(
            {
                "params": {"spread_bps": 20 + 10 * i, "max_inventory": 500 + 100 * i},
                "return": ret,
                "risk": risk,
                "sharpe": sharpe,
                "trades": 100 + i,
                "frontier": i < 4,
            }
        )
    return {
        "generated_at": iso(now - 600),
        "metric": {"return": "mean daily return", "risk": "max drawdown"},
        "points": points,
        "chosen": 2,
    }


def money(value: float) -> str:
    """The dashboard's money format (Intl en-US currency), rounded as Chromium does: the float's
    shortest decimal form, half away from zero (see live_kit.usd, pinned against the browser)."""
    cents = Decimal(repr(abs(value))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"-${cents:,}" if value < 0 else f"${cents:,}"


def pnl(value: float) -> str:
    return ("+" if value > 0 else "") + money(value)


def pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run `app` on an ephemeral 127.0.0.1 port in a thread; yield its base URL."""
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted sockets only when the
    # listening socket says so, and without it Nagle + delayed ACK add 40 ms per request.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", ws="none", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the monitor did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
