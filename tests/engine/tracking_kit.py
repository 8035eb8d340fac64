"""Helpers for the order-tracking tests: a tracker on a kit `Trader`, and the ledger-vs-venue
comparison."""

from __future__ import annotations

import hashlib
import socket
from decimal import Decimal

from execution_kit import Trader

from polymarket_bot.core.clock import LiveClock
from polymarket_bot.core.types import from_base_units
from polymarket_bot.engine.tracking import OrderTracker, TrackerConfig
from polymarket_bot.sim.server import SimServer
from polymarket_bot.transport.retry import Backoff


def key_hex(name: str) -> str:
    """The hex private key of `execution_kit.throwaway_signer(name)` (for the official SDK)."""
    return "0x" + hashlib.sha256(f"execution-test:{name}".encode()).digest().hex()


def dead_ws_url() -> str:
    """A loopback URL nobody listens on (a port bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"ws://127.0.0.1:{port}/ws/user"


def make_tracker(t: Trader, **config: object) -> OrderTracker:
    values: dict[str, object] = {
        "poll_seconds": 0.3,
        "audit_seconds": 0.6,
        "poll_limit": 50,
        "position_check_seconds": 0.5,
    }
    values.update(config)
    assert t.creds is not None
    return OrderTracker(
        t.manager,
        t.rest,
        t.creds,
        clock=LiveClock(),
        config=TrackerConfig(**values),  # type: ignore[arg-type]
        sink=t.sink,
        ws_url=t.sim.ws_url + "/user",
        query=t.venue.query,
        may_cancel=True,
        ws_backoff=Backoff(base=0.05, cap=0.3, min_delay=0.02),
    )


def ledger_matches_venue(t: Trader, sim: SimServer) -> bool:
    acct = sim.state.exchange.account(t.signer.address)
    ledger = t.manager.ledger
    if ledger.cash != from_base_units(acct.pusd):
        return False
    held: dict[str, Decimal] = {}
    for (market, outcome), p in ledger.positions.items():
        info = next(i for i in t.infos.values() if i.condition_id == market)
        token = info.yes_token if outcome == "yes" else info.no_token
        held[token] = p.shares
    for m in sim.state.markets:
        for token in m.token_ids:
            if from_base_units(acct.token_balance(token)) != held.get(token, Decimal(0)):
                return False
    return True
