"""Tick-to-order latency: a market frame leaving the simulator -> the order arriving back at it.

The whole trader runs (market WS, books, the strategy runner, rate limits, risk, V2 signing,
L2-signed POST /order) against the simulator on loopback, in one process. A probe strategy answers
every new best bid of one market with a post-only bid far below it (it never trades, so the book
only moves when the bench moves it). The bench moves the top of the book by placing or cancelling
a maker bid directly on the simulator's exchange and publishing the change: t0 is taken right
before the simulator hands the `price_change` frame to its WebSocket writer; t1 when the
simulator's `POST /order` handler receives the trader's request (before the simulator's own
HMAC and EIP-712 checks, which are the venue's work, not the trader's). The floor is a bare
WebSocket echo round trip measured in the same run over loopback.

    python bench/tick_to_order.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import websockets
from websockets.asyncio.server import serve

sys.path.insert(0, str(Path(__file__).resolve().parent))

from polymarket_bot.config import build_settings
from polymarket_bot.core.events import BestBidAsk
from polymarket_bot.core.intents import OrderIntent
from polymarket_bot.core.types import OrderType, Outcome, Side
from polymarket_bot.engine.trader import Trader, TraderOptions
from polymarket_bot.protocol.amounts import limit_order_amounts
from polymarket_bot.sim import rest_trading
from polymarket_bot.sim.model import OrderRequest
from polymarket_bot.sim.server import SimServer

MAKER = "0x" + "7a" * 20
MAKER_OWNER = "00000000-0000-4000-8000-00000000007a"


class TopProbe:
    """Answers every new best bid of a market's YES token with one far-away post-only bid."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.markets: frozenset[str] | None = None
        self._last: Decimal | None = None

    @classmethod
    def from_config(
        cls, name: str, params: dict[str, Any], markets: Sequence[str] = ()
    ) -> TopProbe:
        return cls(name)

    def on_event(self, event: Any, view: Any) -> Sequence[OrderIntent]:
        if type(event) is not BestBidAsk or event.best_bid is None:
            return ()
        info = view.market_of_token(event.asset_id)
        if info is None or event.asset_id != info.yes_token or info.name != "SIM-1":
            return ()
        if event.best_bid == self._last:
            return ()
        self._last = event.best_bid
        price = max(event.best_bid - Decimal("0.2"), info.tick_size.decimal)
        return (
            OrderIntent(
                self.name,
                info.condition_id,
                Outcome.YES,
                info.yes_token,
                Side.BUY,
                Decimal(5),
                price,
                order_type=OrderType.GTC,
                post_only=True,
                reason="tick probe",
            ),
        )

    def on_timer(self, now: float, view: Any) -> Sequence[OrderIntent]:
        return ()

    def on_decision(self, decision: Any, now: float) -> None:
        return None


async def echo_round_trips(rounds: int) -> list[float]:
    async def echo(ws: Any) -> None:
        async for msg in ws:
            await ws.send(msg)

    out: list[float] = []
    async with (
        serve(echo, "127.0.0.1", 0, compression=None) as server,
        websockets.connect(
            f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}", compression=None
        ) as ws,
    ):
        frame = '{"event_type":"price_change","market":"0x00","price_changes":[]}'
        for _ in range(rounds):
            t0 = time.perf_counter()
            await ws.send(frame)
            await ws.recv()
            out.append(time.perf_counter() - t0)
    return out


ARRIVALS: list[float] = []
ARRIVED = asyncio.Event()


def _record_arrivals() -> None:
    """Time-stamp every POST /order(s) as the simulator's handler receives it (before its own
    HMAC and signature checks): the trader's work ends when the request is in."""
    for name in ("post_order", "post_orders"):
        original = getattr(rest_trading, name)

        def stamped(original: Any) -> Any:
            async def handler(state: Any, req: Any) -> Any:
                ARRIVALS.append(time.perf_counter())
                ARRIVED.set()
                return await original(state, req)

            return handler

        setattr(rest_trading, name, stamped(original))


async def tick_to_order(rounds: int, tmp: Path) -> list[float]:
    unlimited = {"interval_seconds": 60, "max_orders": 1_000_000}
    _record_arrivals()  # before the server builds its routes
    arrivals, arrived = ARRIVALS, ARRIVED
    async with SimServer(n_markets=2, seed=1, with_flow=False) as sim:
        settings = build_settings(
            {
                "mode.offline_mode": True,
                "venue.clob_rest_url": sim.rest_url,
                "venue.clob_ws_url": sim.ws_url,
                "venue.gamma_api_url": sim.gamma_url,
                "paths.reports_dir": str(tmp / "reports"),
                "paths.run_dir": str(tmp / "run"),
                "paths.logs_dir": str(tmp / "logs"),
                "database.url": f"sqlite:///{tmp / 'bench.db'}",
                "strategies.market_maker.enabled": False,
                "strategies.probe": {"kind": "tick_to_order:TopProbe", "enabled": True},
                "trading.order_frequency": unlimited,
                "trading.strategy_order_frequency.global": unlimited,
                "trading.strategy_order_frequency.per_strategy": {"default": unlimited},
                "trading.strategy_order_frequency.per_market_side": {"default": unlimited},
                "risk.max_exposure_per_market": "100000",
                "risk.max_total_exposure": "100000",
            },
            base_dir=tmp,
        )
        trader = Trader(settings, options=TraderOptions(interval=60.0, status_interval=60.0))
        stop = asyncio.Event()
        run = asyncio.create_task(trader.run(stop))
        exchange = sim.state.exchange
        try:
            deadline = time.monotonic() + 30
            while trader.manager is None or not trader.markets:
                if time.monotonic() > deadline:
                    raise RuntimeError("the trader did not start")
                await asyncio.sleep(0.05)
            info = next(m for m in trader.markets.values() if m.name == "SIM-1")
            book = exchange.book(info.yes_token)
            best_bid = Decimal(book.to_wire(0)["bids"][-1]["price"])
            # Let the first answer (to the initial snapshot) arrive, then measure.
            await asyncio.wait_for(arrived.wait(), 10)
            latencies: list[float] = []
            for i in range(rounds):
                await asyncio.sleep(0.01)  # let the previous round's traffic settle
                arrived.clear()
                before = len(arrivals)
                order_id = "0x" + f"{i + 1:064x}"
                if i % 2 == 0:
                    amounts = limit_order_amounts(
                        Side.BUY,
                        price=best_bid + info.tick_size.decimal,
                        size=Decimal(10),
                        tick_size=info.tick_size,
                    )
                    exchange.place_order(
                        OrderRequest(
                            order_id,
                            MAKER_OWNER,
                            MAKER,
                            info.yes_token,
                            Side.BUY,
                            amounts.maker_amount,
                            amounts.taker_amount,
                        ),
                        time.time(),
                    )
                else:
                    exchange.cancel_order(MAKER_OWNER, "0x" + f"{i:064x}", time.time())
                t0 = time.perf_counter()
                sim.state.publish()
                await asyncio.wait_for(arrived.wait(), 10)
                latencies.append(arrivals[before] - t0)
            return latencies
        finally:
            stop.set()
            await run


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    echo = await echo_round_trips(max(args.rounds, 500))
    with tempfile.TemporaryDirectory() as tmp:
        t2o = await tick_to_order(args.rounds, Path(tmp))
    e50, e99 = statistics.median(echo) * 1e3, pct(echo, 0.99) * 1e3
    t50, t99 = statistics.median(t2o) * 1e3, pct(t2o, 0.99) * 1e3
    print(f"ws echo round trip : p50 {e50:.3f} ms | p99 {e99:.3f} ms ({len(echo)} rounds)")
    print(f"tick-to-order      : p50 {t50:.3f} ms | p99 {t99:.3f} ms ({len(t2o)} rounds)")
    print(f"ratio p50          : {t50 / e50:.2f}x the echo round trip (target <= 3x)")


if __name__ == "__main__":
    asyncio.run(main())
