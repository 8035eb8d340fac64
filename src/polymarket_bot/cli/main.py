"""`polymarket-launch`: the command-line entry point (typer)."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="polymarket-launch",
    help="Py-Polymarket: trade Polymarket's CLOB in OFFLINE, DRY-RUN or LIVE mode.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    """Attach the command modules (each owns its commands)."""
    from polymarket_bot.cli import (
        config_cmd,
        demo_cmd,
        monitor_cmd,
        orders_ws_cmd,
        probe_cmd,
        sim_cmd,
        stack_cmd,
        store_cmd,
        trade_cmd,
    )

    app.add_typer(config_cmd.app, name="config")
    app.command("monitor")(monitor_cmd.monitor)
    app.command("sim")(sim_cmd.sim)
    app.command("trade")(trade_cmd.trade)
    app.command("demo")(demo_cmd.demo)
    app.add_typer(probe_cmd.app, name="probe")
    app.add_typer(stack_cmd.app, name="stack")
    app.command("orders-ws")(orders_ws_cmd.orders_ws)
    app.command("replay")(store_cmd.replay)
    app.command("export")(store_cmd.export)


_register()


def main() -> None:
    app()
