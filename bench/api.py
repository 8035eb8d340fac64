"""Monitor API latency against history length: `/api/data` with 10,000 and with 1,000,000 order
events on disk, in the same run.

For each size the reports directory holds `orders.jsonl` with that many realistic events (spread
over the last day, so every per-minute bucket is populated) plus the other report files. The
initial catch-up read is timed on its own; then `/api/data` is requested through httpx's ASGI
transport (or a real loopback socket with --socket) in two regimes:

- idle: nothing changes on disk between requests;
- live: 10 new order events are appended before each request (not timed), so every answer folds
  new records in and rebuilds the document.

Pass criteria (exit status 1 otherwise): p50 at 1,000,000 under 20 ms, and at most 1.5x the p50 at
10,000, in both regimes.

    .venv/bin/python bench/api.py [--requests 300] [--socket] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from polymarket_bot.web.app import create_app

SIZES = (10_000, 1_000_000)
P50_LIMIT_MS = 20.0
RATIO_LIMIT = 1.5
DAY = 86_400.0
MARKETS = [f"SIM-{i}" for i in range(40)]
EVENTS = ["submit"] * 5 + ["partial"] * 2 + ["filled"] * 3 + ["cancel"] * 2 + ["reject"]
REASONS = ["strategy_rate_limit", "risk:liquidity", "risk:var", "venue:insufficient_balance"]


def iso(epoch: float) -> str:
    millis = round(epoch * 1000)
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(millis // 1000)) + f".{millis % 1000:03d}Z"
    )


def order_line(i: int, ts: str, rng: random.Random) -> str:
    event = EVENTS[i % len(EVENTS)]
    record: dict[str, Any] = {
        "timestamp": ts,
        "event": event,
        "market_id": MARKETS[i % len(MARKETS)],
        "action": "yes" if i % 2 else "no",
        "size": round(rng.uniform(5, 500), 2),
        "runtime_mode": "offline",
        "status": event,
        "source": "order_ws",
        "order_id": f"0x{i:064x}",
        "client_id": f"c-{i}",
        "strategy": "market_maker" if i % 3 else "momentum",
        "side": "BUY" if i % 4 else "SELL",
        "price": round(rng.uniform(0.05, 0.95), 2),
        "order_type": "GTC",
        "token_id": str(
            71321045679252212594626385532706912750332728571942532289631379312455583992563 + i % 40
        ),
        "condition_id": f"0x{i % 40:064x}",
        "event_id": f"ev-{i}",
    }
    if event == "reject":
        record["reason"] = REASONS[i % len(REASONS)]
        record["metadata"] = {"interval_seconds": 60, "max_orders": 3, "current_window": 3}
    return json.dumps(record, separators=(",", ":"))


def write_orders(path: Path, count: int, now: float, start: int = 0) -> None:
    rng = random.Random(count)
    step = DAY / max(count, 1)
    with open(path, "a", encoding="utf-8") as fh:
        chunk: list[str] = []
        for i in range(start, start + count):
            chunk.append(order_line(i, iso(now - DAY + (i - start) * step), rng))
            if len(chunk) == 10_000:
                fh.write("\n".join(chunk) + "\n")
                chunk.clear()
        if chunk:
            fh.write("\n".join(chunk) + "\n")


def write_other_reports(reports: Path, now: float) -> None:
    rng = random.Random(1)
    status = {
        "updated_at": iso(now),
        "runtime_mode": "offline",
        "fetch_info": {
            "current_source": "ws_live",
            "ws_cooldown_remaining_seconds": 0,
            "subscribed_assets": 40,
            "hot_assets": 16,
            "messages": {"ws": 1_250_000, "rest": 900},
            "errors": {"ws": 2, "rest": 0},
            "last_message_age_seconds": 0.1,
            "orders_ws": {
                "status": "ok",
                "failures": 0,
                "cooldown_remaining_seconds": 0,
                "last_success_epoch": now,
                "last_error_epoch": None,
                "last_error": None,
            },
            "orders_rest": {
                "running": True,
                "interval_seconds": 15,
                "limit": 50,
                "success": 5000,
                "errors": 1,
                "last_success_epoch": now,
                "last_error_epoch": None,
                "last_error": None,
            },
        },
        "external_fills": {
            "processed": 10,
            "opened": 4,
            "applied_same_side": 3,
            "reduced_opposite": 2,
            "closed": 1,
            "last_seen": iso(now - 60),
        },
        "external_fills_trend": [
            {"t": iso(now - m * 60)[:17] + "00Z", "count": m % 3} for m in range(60)
        ],
        "risk_audit": {"approved": 0, "rejected": 0, "reasons": {}},
        "io_errors": {"orders": 0, "trades": 0, "status": 0, "positions": 0, "risk_audit": 0},
        "execution": {
            "pending": [f"0x{i:04x}" for i in range(30)],
            "partial": [],
            "filled": [],
            "counts": {},
        },
        "rate_limits": {
            "scopes": {"global": {"interval_seconds": 60, "max_orders": 30, "current_window": 12}},
            "hotspots": [
                {
                    "strategy": "market_maker",
                    "market_id": m,
                    "action": "yes",
                    "side": "BUY",
                    "current_window": 2,
                    "max_orders": 3,
                }
                for m in MARKETS[:20]
            ],
        },
        "controls": {"paused": False, "kill_switch": False, "risk_state": "NORMAL"},
    }
    (reports / "pipeline_status.json").write_text(json.dumps(status))
    curve, total = [], 0.0
    for i in range(500):
        total += rng.uniform(-5, 6)
        curve.append({"t": iso(now - 500 * 60 + i * 60), "realized_pnl": round(total, 6)})
    summary = {
        "updated_at": iso(now),
        "realized_pnl": round(total, 6),
        "fees": 12.5,
        "count": 500,
        "wins": 270,
        "losses": 230,
        "win_rate": 0.54,
        "average_win": 4.1,
        "average_loss": -3.9,
        "average_pnl": total / 500,
        "equity_curve": curve,
    }
    (reports / "realized_summary.json").write_text(json.dumps(summary))
    positions = [
        {
            "market_id": m,
            "action": "yes",
            "token_id": str(i),
            "shares": 100.0,
            "average_price": 0.5,
            "mark": 0.52,
            "unrealized_pnl": 2.0,
            "cost": 50.0,
        }
        for i, m in enumerate(MARKETS)
    ]
    (reports / "open_positions.json").write_text(
        json.dumps(
            {
                "updated_at": iso(now),
                "cash": 9000.0,
                "exposure": 2000.0,
                "unrealized_pnl": 80.0,
                "positions": positions,
            }
        )
    )
    with open(reports / "trades.jsonl", "w") as fh:
        for i in range(5000):
            fh.write(
                json.dumps(
                    {
                        "timestamp": iso(now - DAY + i * 17),
                        "order_id": f"0x{i:x}",
                        "market_id": MARKETS[i % 40],
                        "action": "yes",
                        "filled_shares": 10.0,
                        "average_price": 0.5,
                        "notional": 5.0,
                        "status": "filled",
                        "execution_mode": "order_ws",
                        "fee": 0.01,
                        "external": i % 50 == 0,
                    }
                )
                + "\n"
            )
    with open(reports / "risk_audit.jsonl", "w") as fh:
        for i in range(5000):
            ok = i % 5 != 0
            fh.write(
                json.dumps(
                    {
                        "timestamp": iso(now - DAY + i * 17),
                        "market_id": "SIM-1",
                        "action": "no",
                        "size": 150.0,
                        "approved": ok,
                        "risk": {"approved": ok, "rejections": [] if ok else ["liquidity"]},
                    }
                )
                + "\n"
            )


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def time_requests(
    get: Callable[[], Awaitable[httpx.Response]],
    requests: int,
    before: Callable[[], None] | None = None,
) -> list[float]:
    for _ in range(20):  # warm-up
        if before:
            before()
        assert (await get()).status_code == 200
    samples = []
    for _ in range(requests):
        if before:
            before()
        t0 = time.perf_counter()
        response = await get()
        samples.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200
    return samples


def serve(app: Any) -> tuple[str, uvicorn.Server, threading.Thread]:
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted sockets only when the
    # listening socket says so, and without it Nagle + delayed ACK add 40 ms per request.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws="none", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    return f"http://127.0.0.1:{port}", server, thread


async def run_size(root: Path, size: int, requests: int, use_socket: bool) -> dict[str, Any]:
    reports = root / f"reports_{size}"
    reports.mkdir(parents=True)
    now = time.time()
    t0 = time.perf_counter()
    write_orders(reports / "orders.jsonl", size, now)
    write_other_reports(reports, now)
    written = time.perf_counter() - t0
    app = create_app(reports, control_token=None, run_dir=root / "run", poll_interval=3600)
    monitor = app.state.monitor
    t0 = time.perf_counter()
    rounds = monitor.state.catch_up()
    catch_up = time.perf_counter() - t0
    assert monitor.state.orders.records == size, monitor.state.orders.records
    bytes_on_disk = (reports / "orders.jsonl").stat().st_size

    next_id = [size]
    orders_path = reports / "orders.jsonl"
    rng = random.Random(7)

    def append_ten() -> None:
        with open(orders_path, "a", encoding="utf-8") as fh:
            ts = iso(time.time())
            fh.write("".join(order_line(next_id[0] + k, ts, rng) + "\n" for k in range(10)))
        next_id[0] += 10

    server = thread = None
    if use_socket:
        base, server, thread = serve(app)
        client = httpx.AsyncClient(base_url=base)
    else:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://m")
    try:
        body = (await client.get("/api/data")).content
        idle = await time_requests(lambda: client.get("/api/data"), requests)
        live = await time_requests(lambda: client.get("/api/data"), requests, before=append_ten)
    finally:
        await client.aclose()
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(10)
        monitor.state.close()
    assert monitor.state.orders.records == size + 10 * (requests + 20)
    shutil.rmtree(reports)
    return {
        "size": size,
        "file_mb": bytes_on_disk / 1e6,
        "write_s": written,
        "catch_up_s": catch_up,
        "catch_up_rounds": rounds,
        "catch_up_lines_per_s": size / catch_up,
        "response_kb": len(body) / 1000,
        "idle": idle,
        "live": live,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--socket", action="store_true", help="real loopback socket (uvicorn)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-api-"))
    results = []
    try:
        for size in SIZES:
            results.append(asyncio.run(run_size(root, size, args.requests, args.socket)))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    transport = "loopback socket (uvicorn)" if args.socket else "httpx ASGITransport"
    print(f"/api/data via {transport}, {args.requests} requests per regime, pid {os.getpid()}")
    header = (
        f"{'events':>10} {'file MB':>8} {'catch-up s':>10} {'lines/s':>10} {'resp kB':>8} "
        f"{'regime':>6} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'mean ms':>7}"
    )
    print(header)
    for r in results:
        for regime in ("idle", "live"):
            s = r[regime]
            print(
                f"{r['size']:>10,} {r['file_mb']:>8.1f} {r['catch_up_s']:>10.2f} "
                f"{r['catch_up_lines_per_s']:>10,.0f} {r['response_kb']:>8.1f} {regime:>6} "
                f"{percentile(s, 0.5):>7.2f} {percentile(s, 0.9):>7.2f} "
                f"{percentile(s, 0.99):>7.2f} {statistics.fmean(s):>7.2f}"
            )
    print(f"max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    small, big = results
    ok = True
    for regime in ("idle", "live"):
        p_small, p_big = percentile(small[regime], 0.5), percentile(big[regime], 0.5)
        ratio = p_big / p_small
        passed = p_big < P50_LIMIT_MS and ratio <= RATIO_LIMIT
        ok &= passed
        print(
            f"{regime}: p50 {p_big:.2f} ms at {big['size']:,} (limit {P50_LIMIT_MS:.0f} ms), "
            f"{ratio:.2f}x the p50 at {small['size']:,} (limit {RATIO_LIMIT}x): "
            f"{'PASS' if passed else 'FAIL'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
