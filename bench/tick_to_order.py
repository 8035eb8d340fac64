"""Tick-to-order latency: a market frame leaving the simulator -> the order arriving back at it.

Two processes, as in production (the venue is not inside the trader): this script starts itself
again with `--venue`, which runs the simulator and a bare WebSocket echo server; the parent runs
the whole trader (market WS, books, the strategy runner, rate limits, risk, V2 signing, L2-signed
POST /order) against it over loopback. A probe strategy answers every new best bid of one market
with a post-only bid far below it (it never trades, so the book only moves when the bench moves
it). Each round the venue moves the top of that book (placing or cancelling a maker bid directly
on its exchange) and publishes the change.

t0 is taken in the venue when its WebSocket writer hands that `price_change` frame to the socket
(the frame leaves the simulator); t1 when the venue's HTTP server receives the first bytes of the
trader's `POST /order(s)` (the order has arrived). What the venue does before sending (diffing
books, queueing) and after receiving (HTTP parsing, routing, HMAC and EIP-712 checks) is the
venue's work, not the trader's. Both stamps are `time.perf_counter()` (CLOCK_MONOTONIC, one
clock for every process on Linux), so the trader's own stage stamps line up with them.

The floor is a bare WebSocket echo round trip between the same two processes over loopback
(`websockets` on both ends), measured in the same run, interleaved with the ticks: every round
is an idle gap, an echo, a second echo at once, another idle gap, then the tick. A tick always
arrives after an idle gap, and so does the first echo: that one is the floor (both processes
wake up, as for the tick). The back-to-back echo (both already awake) is printed beside it.

    python bench/tick_to_order.py [--rounds 400]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import platform
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
from polymarket_bot.engine.execution.venue import VenueExecution
from polymarket_bot.engine.market_data.shards import WsShard
from polymarket_bot.engine.trader import Trader, TraderOptions
from polymarket_bot.protocol.amounts import limit_order_amounts
from polymarket_bot.sim import ws_conn
from polymarket_bot.sim.model import OrderRequest
from polymarket_bot.sim.server import SimServer

MAKER = "0x" + "7a" * 20
MAKER_OWNER = "00000000-0000-4000-8000-00000000007a"
SCRIPT = Path(__file__).resolve()
SETTLE = float(__import__("os").environ.get("T2O_SETTLE", "0.005"))
ECHO_FRAME = '{"event_type":"price_change","market":"0x00","price_changes":[]}'


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


# --- the venue process --------------------------------------------------------------------------


class VenueStamps:
    """t0/t1 time stamps, taken inside the simulator's WS writer and HTTP server."""

    def __init__(self) -> None:
        self.departures: list[float] = []
        self.arrivals: list[float] = []
        self.arrived = asyncio.Event()

    def install(self) -> None:
        from uvicorn.protocols.http.h11_impl import H11Protocol

        stamps = self
        on_data = H11Protocol.data_received

        def data_received(protocol: Any, data: bytes) -> None:
            if data.startswith(b"POST /order"):  # before any parsing: the order is in
                stamps.arrivals.append(time.perf_counter())
                stamps.arrived.set()
            on_data(protocol, data)

        H11Protocol.data_received = data_received  # type: ignore[method-assign]
        conn_init = ws_conn.WsConn.__init__

        def init(conn: Any, channel: str, send: Any) -> None:
            async def stamped_send(message: Any) -> None:
                text = message.get("text")
                if channel == "market" and text and '"price_change"' in text:
                    stamps.departures.append(time.perf_counter())  # handed to the socket
                await send(message)

            conn_init(conn, channel, stamped_send)

        ws_conn.WsConn.__init__ = init  # type: ignore[method-assign]


async def venue() -> None:
    """The simulator + an echo server; commands on stdin, answers on stdout (one line each)."""
    stamps = VenueStamps()
    stamps.install()

    async def echo(ws: Any) -> None:
        async for msg in ws:
            await ws.send(msg)

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with (
        SimServer(n_markets=2, seed=1, with_flow=False) as sim,
        serve(echo, "127.0.0.1", 0, compression=None) as echo_server,
    ):
        exchange = sim.state.exchange
        market = next(m for m in sim.state.markets if m.name == "SIM-1")
        best_bid = Decimal(exchange.book(market.yes_token).to_wire(0)["bids"][-1]["price"])
        urls = {
            "rest": sim.rest_url,
            "ws": sim.ws_url,
            "gamma": sim.gamma_url,
            "echo": f"ws://127.0.0.1:{echo_server.sockets[0].getsockname()[1]}",
        }
        print(json.dumps(urls), flush=True)
        while line := (await reader.readline()).decode().strip():
            command, _, arg = line.partition(" ")
            if command == "first":  # the answer to the initial snapshot
                await asyncio.wait_for(stamps.arrived.wait(), 30)
                print("ok", flush=True)
            elif command == "move":
                i = int(arg)
                stamps.arrived.clear()
                gone, came = len(stamps.departures), len(stamps.arrivals)
                if i % 2 == 0:
                    amounts = limit_order_amounts(
                        Side.BUY,
                        price=best_bid + market.tick_size.decimal,
                        size=Decimal(10),
                        tick_size=market.tick_size,
                    )
                    request = OrderRequest(
                        "0x" + f"{i + 1:064x}",
                        MAKER_OWNER,
                        MAKER,
                        market.yes_token,
                        Side.BUY,
                        amounts.maker_amount,
                        amounts.taker_amount,
                    )
                    exchange.place_order(request, time.time())
                else:
                    exchange.cancel_order(MAKER_OWNER, "0x" + f"{i:064x}", time.time())
                sim.state.publish()
                while len(stamps.arrivals) <= came:
                    await asyncio.wait_for(stamps.arrived.wait(), 10)
                    stamps.arrived.clear()
                print(f"{stamps.departures[gone]!r} {stamps.arrivals[came]!r}", flush=True)
            else:
                break


# --- the trader process -------------------------------------------------------------------------

STAGES: dict[str, list[float]] = {}
"""Engine time stamps by stage (bench-only wrappers around the engine's methods)."""


def _record_stages() -> None:
    def stamp(cls: Any, name: str, label: str) -> None:
        original = getattr(cls, name)
        marks = STAGES.setdefault(label, [])
        if asyncio.iscoroutinefunction(original):

            async def wrapped_async(*args: Any, **kwargs: Any) -> Any:
                marks.append(time.perf_counter())
                return await original(*args, **kwargs)

            setattr(cls, name, wrapped_async)
        else:

            def wrapped(*args: Any, **kwargs: Any) -> Any:
                marks.append(time.perf_counter())
                return original(*args, **kwargs)

            setattr(cls, name, wrapped)

    stamp(WsShard, "_on_message", "frame received")
    stamp(Trader, "_process_dirty", "decision pass")
    stamp(Trader, "_decide_and_execute", "risk + limits")
    stamp(VenueExecution, "submit_many", "sign")
    stamp(VenueExecution, "_post_batch", "encode + POST")


def stage_table(rounds: list[tuple[float, float]]) -> list[tuple[str, float]]:
    """p50 of each step between consecutive stamps: per round, the last stamp of each stage
    between the round's t0 and t1 (a stage that did not run in a round is left out)."""
    names = ["frame sent", *STAGES, "order arrived"]
    steps: dict[str, list[float]] = {}
    for t0, t1 in rounds:
        stamps = [t0]
        for label in STAGES:
            marks = STAGES[label]
            i = bisect.bisect_right(marks, t1) - 1
            stamps.append(marks[i] if i >= 0 and marks[i] >= t0 else float("nan"))
        stamps.append(t1)
        for a, b, na, nb in zip(stamps, stamps[1:], names, names[1:], strict=False):
            steps.setdefault(f"{na} -> {nb}", []).append(b - a)
    return [
        (name, statistics.median(v for v in values if v == v))
        for name, values in steps.items()
        if any(v == v for v in values)
    ]


async def echo_round_trip(ws: Any) -> float:
    t0 = time.perf_counter()
    await ws.send(ECHO_FRAME)
    await ws.recv()
    return time.perf_counter() - t0


class Venue:
    """The venue subprocess, driven line by line."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def ask(self, command: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command.encode() + b"\n")
        await self.proc.stdin.drain()
        line = await asyncio.wait_for(self.proc.stdout.readline(), 30)
        if not line:
            raise RuntimeError("the venue process ended")
        return line.decode().strip()


async def tick_to_order(
    venue: Venue,
    urls: dict[str, str],
    rounds: int,
    tmp: Path,
    echo: list[float],
    warm: list[float],
) -> list[float]:
    """Rounds of: an idle gap, an echo round trip (`echo`) and at once a second one (`warm`),
    an idle gap, one tick-to-order measurement."""
    unlimited = {"interval_seconds": 60, "max_orders": 1_000_000}
    _record_stages()
    settings = build_settings(
        {
            "mode.offline_mode": True,
            "venue.clob_rest_url": urls["rest"],
            "venue.clob_ws_url": urls["ws"],
            "venue.gamma_api_url": urls["gamma"],
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
    # as `polymarket-launch trade` runs it (freeze_gc: start-up objects out of the GC's sight)
    options = TraderOptions(interval=60.0, status_interval=60.0, freeze_gc=True)
    trader = Trader(settings, options=options)
    stop = asyncio.Event()
    run = asyncio.create_task(trader.run(stop))
    try:
        await venue.ask("first")
        latencies: list[float] = []
        stamped: list[tuple[float, float]] = []
        async with websockets.connect(urls["echo"], compression=None) as ws:
            for _ in range(50):  # warm-up
                await echo_round_trip(ws)
            for i in range(rounds):
                await asyncio.sleep(SETTLE)  # let the previous round's traffic settle
                echo.append(await echo_round_trip(ws))  # after the idle gap, like a tick
                warm.append(await echo_round_trip(ws))  # right after another one
                await asyncio.sleep(SETTLE)
                t0, t1 = (float(x) for x in (await venue.ask(f"move {i}")).split())
                stamped.append((t0, t1))
                latencies.append(t1 - t0)
        STEPS[:] = stage_table(stamped)
        return latencies
    finally:
        stop.set()
        await run


STEPS: list[tuple[str, float]] = []


def interpreter_build() -> str:
    """Whether this interpreter calls into a shared libpython (e.g. pyenv's default build: every
    C-API call through the PLT) or has it linked in (Debian's, also built with PGO + LTO)."""
    try:
        with open("/proc/self/maps") as maps:
            shared = any("libpython" in line for line in maps)
    except OSError:
        return "build unknown"
    return "shared libpython" if shared else "libpython linked in"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--venue", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.venue:
        await venue()
        return
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        "--venue",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        urls = json.loads(await asyncio.wait_for(proc.stdout.readline(), 60))
        echo: list[float] = []
        warm: list[float] = []
        with tempfile.TemporaryDirectory() as tmp:
            t2o = await tick_to_order(Venue(proc), urls, args.rounds, Path(tmp), echo, warm)
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()
    e50, e99 = statistics.median(echo) * 1e3, pct(echo, 0.99) * 1e3
    w50, w99 = statistics.median(warm) * 1e3, pct(warm, 0.99) * 1e3
    t50, t99 = statistics.median(t2o) * 1e3, pct(t2o, 0.99) * 1e3
    print(f"python {platform.python_version()} ({interpreter_build()}), {sys.executable}")
    print(f"trader and simulator in separate processes, loopback, {SETTLE * 1e3:g} ms idle gaps")
    print(f"ws echo round trip : p50 {e50:.3f} ms | p99 {e99:.3f} ms (after an idle gap)")
    print(f"  back to back     : p50 {w50:.3f} ms | p99 {w99:.3f} ms (right after another)")
    print(f"tick-to-order      : p50 {t50:.3f} ms | p99 {t99:.3f} ms ({len(t2o)} rounds)")
    print(
        f"ratio p50          : {t50 / e50:.2f}x the echo round trip after the same idle gap "
        f"(target <= 3x); {t50 / w50:.2f}x the back-to-back one"
    )
    print("stages (p50 of each step):")
    for name, seconds in STEPS:
        print(f"  {name:<36} {seconds * 1e6:8.1f} us")


if __name__ == "__main__":
    asyncio.run(main())
