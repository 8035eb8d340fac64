"""`polymarket-launch sim`: run the exchange simulator on loopback (OFFLINE mode's venue).

Registered by `cli.main` as `app.command("sim")(sim_cmd.sim)`. Prints the URLs and the
environment variables that point a client (or `polymarket-launch trade`) at it, then serves
until Ctrl-C.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from polymarket_bot.cli.common import LogLevelOption, normalise_log_level
from polymarket_bot.observability.logging import setup_logging

if TYPE_CHECKING:
    from polymarket_bot.sim.server import SimServer

__all__ = ["sim"]


def sim(
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="TCP port (0 = any).")
    ] = 8080,
    markets: Annotated[
        int, typer.Option("--markets", min=1, max=1000, help="Synthetic markets (SIM-1..N).")
    ] = 8,
    seed: Annotated[int, typer.Option("--seed", help="Seed of markets, flow and keys.")] = 7,
    scenario: Annotated[
        Path | None,
        typer.Option(
            "--scenario",
            exists=True,
            dir_okay=False,
            help="Fault scenario (YAML/JSON list of {at_s, fault, params, duration_s}).",
        ),
    ] = None,
    host: Annotated[
        str, typer.Option("--host", help="Loopback address to bind (127.0.0.1, ::1, localhost).")
    ] = "127.0.0.1",
    replay: Annotated[
        Path | None,
        typer.Option(
            "--replay",
            exists=True,
            help="Serve a recorded market capture (file or directory), not synthetic markets.",
        ),
    ] = None,
    replay_speed: Annotated[
        float, typer.Option("--replay-speed", min=0.0, help="Replay speed (1 = as recorded).")
    ] = 1.0,
    replay_loop: Annotated[
        bool, typer.Option("--replay-loop", help="Start the capture again when it ends.")
    ] = False,
    no_flow: Annotated[
        bool, typer.Option("--no-flow", help="Static books: no background makers and takers.")
    ] = False,
    log_level: LogLevelOption = "INFO",
) -> None:
    """Run the Polymarket CLOB V2 simulator (REST, WebSocket, Gamma, admin) on loopback."""
    from polymarket_bot.sim.faults import load_scenario
    from polymarket_bot.sim.replay import ReplaySource
    from polymarket_bot.sim.server import LOOPBACK_HOSTS, SimServer

    level = normalise_log_level(log_level)
    setup_logging(level, log_file=None)
    if host not in LOOPBACK_HOSTS:
        raise typer.BadParameter(
            f"the simulator binds loopback only ({', '.join(sorted(LOOPBACK_HOSTS))})",
            param_hint="--host",
        )
    try:
        items = load_scenario(scenario) if scenario is not None else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--scenario") from None
    source = (
        ReplaySource(replay, speed=replay_speed, loop=replay_loop) if replay is not None else None
    )
    server = SimServer(
        host=host,
        port=port,
        n_markets=markets,
        seed=seed,
        with_flow=not no_flow,
        replay=source,
        scenario=items,
        log_level="warning" if level in ("INFO", "WARNING") else level.lower(),
        handle_signals=True,
    )

    async def run() -> None:
        await server.start()
        _announce(server)
        await server.serve_forever()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    typer.echo("simulator stopped")


def _announce(server: SimServer) -> None:
    state = server.state
    typer.echo(f"Polymarket CLOB V2 simulator on {server.rest_url}")
    typer.echo(f"  REST   {server.rest_url}")
    typer.echo(f"  WS     {server.ws_url}/market  {server.ws_url}/user")
    typer.echo(f"  Gamma  {server.gamma_url}")
    typer.echo(f"  Admin  {server.rest_url}/admin/state  (loopback only)")
    names = ", ".join(m.name for m in state.markets[:12])
    more = f" (+{len(state.markets) - 12} more)" if len(state.markets) > 12 else ""
    typer.echo(f"  Markets: {names}{more}")
    typer.echo("Point a client at it:")
    for name, value in server.env().items():
        typer.echo(f"  export {name}={value}")
    typer.echo("Ctrl-C stops the simulator.")
