"""Simulator server throughput: market WS frames/s and signed-order round trips/s over loopback.

The server runs in its own process (as it does for `polymarket-launch sim`), the client here:

* frames - one `websockets` subscriber on `/ws/market`; the server pushes N distinct
  `price_change` frames through its real publish path (`POST /admin/bench/blast`: encode,
  per-connection queue, writer task, uvicorn websockets-sansio) and the client counts them.
  Rate = frames / (first frame .. last frame received). Target >= 50,000 frames/s.
* orders - N V2 limit orders are signed beforehand (our protocol layer, like a bot would);
  then `--concurrency` keep-alive connections POST /order with fresh L2 headers. Each round
  trip includes the server's L2 HMAC check, EIP-712 digest rebuild + signature recovery,
  matching and event publishing. Target >= 500 orders/s. The server-side cost of signature
  verification alone (body parse + digest + ecrecover) is measured in-process for reference.

Run: .venv/bin/python bench/sim.py [--frames N] [--orders N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from typing import Any

import httpx
import websockets

from polymarket_bot.core.types import OrderType, Side, TickSize
from polymarket_bot.protocol.auth import ApiCreds, build_l1_headers, build_l2_headers
from polymarket_bot.protocol.eip712 import PrivateKeySigner, recover_address
from polymarket_bot.protocol.signing import (
    create_limit_order,
    encode_post_order_body,
    exchange_domain,
    order_digest,
    order_from_json,
)


def skip_sniffio_probe() -> None:
    """httpcore runs `import sniffio` on every async request; sniffio is not installed here
    (anyio no longer needs it) and a failed import is retried each time: ~4 x 150 us of path
    scanning per request, all client-side. Marking it absent makes that import fail at once.
    (Installing sniffio fixes it for real.)"""
    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]


def serve() -> None:
    """Child process: run a server, print its port, stop when stdin closes."""
    from polymarket_bot.sim.server import SimServer

    async def run() -> None:
        server = SimServer(port=0, with_flow=False)
        await server.start()
        print(f"PORT {server.port}", flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)  # EOF = parent is done
        await server.stop()

    asyncio.run(run())


async def bench_frames(rest: str, ws_url: str, n: int) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=rest, timeout=120) as http:
        markets = (await http.get("/markets")).json()["data"]
        token = markets[0]["tokens"][0]["token_id"]
        async with websockets.connect(ws_url + "/market", max_queue=None) as ws:
            await ws.send(json.dumps({"type": "market", "assets_ids": [token]}))
            await ws.recv()  # the initial book dump
            blast = asyncio.create_task(
                http.post("/admin/bench/blast", json={"n": n, "asset_id": token})
            )
            first = await ws.recv(decode=False)
            t0 = time.perf_counter()
            received, size = 1, len(first)
            while received < n:
                frame = await ws.recv(decode=False)
                received += 1
                size += len(frame)
            elapsed = time.perf_counter() - t0
            server = (await blast).json()
    return {
        "frames": received,
        "seconds": elapsed,
        "rate": (received - 1) / elapsed,
        "avg_bytes": size / received,
        "server_publish_s": server["elapsed_s"],
    }


def sign_orders(
    signer: PrivateKeySigner, creds: ApiCreds, tokens: list[tuple[str, bool]], n: int
) -> list[str]:
    """N resting BUY orders (low prices, never crossing) as POST /order bodies."""
    rng = random.Random(5)
    now_ms = int(time.time() * 1000)
    bodies = []
    for i in range(n):
        token, neg_risk = tokens[i % len(tokens)]
        signed = create_limit_order(
            signer,
            token_id=token,
            side=Side.BUY,
            price=Decimal(rng.randint(1, 5)) / 100,
            size=Decimal(rng.randint(500, 2000)) / 100,
            tick_size=TickSize.T0_01,
            neg_risk=neg_risk,
            salt=rng.randrange(1, 2**41),
            timestamp_ms=now_ms + i,
        )
        bodies.append(encode_post_order_body(signed, creds.api_key, OrderType.GTC))
    return bodies


async def bench_orders(rest: str, n: int, concurrency: int) -> dict[str, float]:
    signer = PrivateKeySigner("0x" + "42" * 32)
    async with httpx.AsyncClient(base_url=rest, timeout=60) as http:
        l1 = build_l1_headers(signer, timestamp=int(time.time()))
        key = (await http.post("/auth/api-key", headers=l1)).json()
        creds = ApiCreds(key["apiKey"], key["secret"], key["passphrase"])
        markets = (await http.get("/markets")).json()["data"]
        tokens = [(m["tokens"][0]["token_id"], m["neg_risk"]) for m in markets]
    bodies = sign_orders(signer, creds, tokens, n)
    latencies: list[float] = []
    queue = iter(bodies)
    errors = 0

    async def worker() -> None:
        nonlocal errors
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=rest, timeout=60, limits=limits) as client:
            for body in queue:
                headers = build_l2_headers(
                    creds, signer.address, "POST", "/order", body, int(time.time())
                )
                headers["Content-Type"] = "application/json"
                t0 = time.perf_counter()
                r = await client.post("/order", content=body, headers=headers)
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 200 or r.json().get("status") != "live":
                    errors += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - t0
    latencies.sort()
    return {
        "orders": n,
        "errors": errors,
        "seconds": elapsed,
        "rate": n / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def verify_cost(n: int = 500) -> float:
    """Microseconds per order for what the server does to a signature: parse the body,
    rebuild the EIP-712 digest and ecrecover (measured in this process)."""
    signer = PrivateKeySigner("0x" + "17" * 32)
    token = str((1 << 255) | 12345)
    domain = exchange_domain(137, neg_risk=False)
    bodies = []
    for i in range(n):
        signed = create_limit_order(
            signer,
            token_id=token,
            side=Side.BUY,
            price=Decimal("0.5"),
            size=Decimal(10),
            tick_size=TickSize.T0_01,
            neg_risk=False,
            salt=i + 1,
            timestamp_ms=1_700_000_000_000 + i,
        )
        bodies.append(encode_post_order_body(signed, "owner", OrderType.GTC))
    t0 = time.perf_counter()
    for body in bodies:  # what rest_trading does: one digest, used for recovery and the id
        env: dict[str, Any] = json.loads(body)
        order, sig = order_from_json(env["order"])
        digest = order_digest(order, domain)
        recover_address(digest, sig)
    return (time.perf_counter() - t0) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--orders", type=int, default=3_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    skip_sniffio_probe()

    env = dict(os.environ, PYTHONUNBUFFERED="1")
    child = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline().strip()
        if not line.startswith("PORT "):
            raise SystemExit(f"server did not start: {line!r}")
        port = int(line.split()[1])
        rest, ws_url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws"
        frames = asyncio.run(bench_frames(rest, ws_url, args.frames))
        orders = asyncio.run(bench_orders(rest, args.orders, args.concurrency))
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=30)
    verify_us = verify_cost()

    print(
        f"market WS frames : {frames['rate']:>10,.0f} frames/s  "
        f"({frames['frames']:,} frames of ~{frames['avg_bytes']:.0f} B in {frames['seconds']:.2f} s"
        f"; target >= 50,000)"
    )
    print(
        f"signed orders    : {orders['rate']:>10,.0f} round trips/s  "
        f"({orders['orders']:,} POST /order, {args.concurrency} connections, "
        f"p50 {orders['p50_ms']:.2f} ms, p99 {orders['p99_ms']:.2f} ms, "
        f"{orders['errors']} errors; target >= 500)"
    )
    print(f"server signature check (parse + digest + ecrecover): {verify_us:.0f} us/order")


if __name__ == "__main__":
    main()
