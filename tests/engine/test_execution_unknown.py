"""Ambiguous submits: the venue executed the order but its answer was lost. The order goes
UNKNOWN under its locally computed hash and a status query resolves it; it is never re-sent."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from execution_kit import admin, infos_by_token, intent, trader, wait_for

from polymarket_bot.core.orders import OrderState
from polymarket_bot.core.types import OrderType, Side, to_base_units
from polymarket_bot.sim.server import SimServer


def _states(order: object) -> list[OrderState]:
    return [t.to_state for t in order.history]  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", ["reset", "500", "drop"])
async def test_a_lost_answer_to_a_resting_order_resolves_to_live(mode: str) -> None:
    async with SimServer(n_markets=4, seed=7, with_flow=False) as sim:
        info = infos_by_token(sim)[sim.state.by_name["SIM-1"].yes_token]
        async with trader(sim, f"u-{mode}", user_ws=False, rest_timeout=1.0) as u:
            await admin(
                sim,
                "POST",
                "/admin/faults",
                {"fault": "lose_response", "params": {"mode": mode, "hang_s": 3}},
            )
            order = await u.venue.submit(intent(info, Side.BUY, "0.70", "10"))
            assert order.state is OrderState.UNKNOWN
            assert order.venue_order_id is not None
            await wait_for(lambda: order.state is OrderState.LIVE, what="status query")
            assert _states(order) == [OrderState.SUBMITTED, OrderState.UNKNOWN, OrderState.LIVE]
            venue = sim.state.exchange.open_orders(u.api_key)
            assert [o.order_id for o in venue] == [order.venue_order_id]
            state = await admin(sim, "GET", "/admin/state")
            assert state["counters"]["orders_received"][u.api_key] == 1  # never re-sent
            assert state["counters"]["lost_responses"] == 1
            events = [(r["event"], r["status"]) for r in u.sink.orders]  # type: ignore[attr-defined]
            assert events == [
                ("submit", "submitted"),
                ("reconcile", "unknown"),
                ("reconcile", "live"),
            ]
            assert u.venue.status()["counts"]["unknown"] == 1


@pytest.mark.parametrize(
    ("size", "final", "filled"),
    [("50", OrderState.FILLED, "50"), ("60", OrderState.CANCELED, "57.73")],
)
async def test_a_lost_answer_to_a_fak_resolves_from_the_trades(
    size: str, final: OrderState, filled: str
) -> None:
    async with SimServer(n_markets=4, seed=7, with_flow=False) as sim:
        info = infos_by_token(sim)[sim.state.by_name["SIM-2"].yes_token]  # ask 0.33 x 57.73
        async with trader(sim, "v", user_ws=False) as v:
            await admin(
                sim, "POST", "/admin/faults", {"fault": "lose_response", "params": {"mode": "500"}}
            )
            fak = await v.venue.submit(
                intent(info, Side.BUY, "0.33", size, order_type=OrderType.FAK)
            )
            assert fak.state is OrderState.UNKNOWN
            await wait_for(lambda: fak.is_terminal, what="status query")
            # What filled is booked; a remainder that is not on the book was cancelled.
            assert fak.state is final
            assert fak.filled_size == Decimal(filled)
            acct = sim.state.exchange.account(v.signer.address)
            ledger = v.manager.ledger
            assert to_base_units(ledger.cash) == acct.pusd
            assert to_base_units(ledger.position(info.condition_id, "yes").shares) == (
                acct.token_balance(info.yes_token)
            )
            assert sim.state.exchange.open_orders(v.api_key) == []
            state = await admin(sim, "GET", "/admin/state")
            assert state["counters"]["orders_received"][v.api_key] == 1
            trades = v.sink.trades
            assert [(t["source"], t["filled_shares"]) for t in trades] == [
                ("order_rest", Decimal(filled))
            ]


async def test_a_request_that_lands_late_is_found_after_the_timeout() -> None:
    async with SimServer(n_markets=4, seed=7, with_flow=False) as sim:
        info = infos_by_token(sim)[sim.state.by_name["SIM-1"].yes_token]
        async with trader(sim, "late", user_ws=False, rest_timeout=0.3) as u:
            fault = {"delay_ms": 800, "paths": ["/order"], "methods": ["POST"]}
            await admin(sim, "POST", "/admin/faults", {"fault": "rest_delay", "params": fault})
            order = await u.venue.submit(intent(info, Side.BUY, "0.70", "10"))
            assert order.state is OrderState.UNKNOWN  # timed out while the venue sat on it
            assert sim.state.exchange.open_orders(u.api_key) == []
            await wait_for(lambda: order.state is OrderState.LIVE, what="the late order")
            assert [o.order_id for o in sim.state.exchange.open_orders(u.api_key)] == [
                order.venue_order_id
            ]


async def test_an_order_that_never_arrived_becomes_not_found_after_the_grace() -> None:
    async with SimServer(n_markets=4, seed=7, with_flow=False) as sim:
        info = infos_by_token(sim)[sim.state.by_name["SIM-1"].yes_token]
        async with trader(sim, "w", user_ws=False, unknown_grace_s=0.3) as w:
            fault = {"status": 502, "paths": ["/order"], "methods": ["POST"], "count": 1}
            await admin(sim, "POST", "/admin/faults", {"fault": "rest_5xx", "params": fault})
            order = await w.venue.submit(intent(info, Side.BUY, "0.70", "10"))
            assert order.state is OrderState.UNKNOWN  # a gateway 502: maybe, maybe not
            await wait_for(lambda: order.state is OrderState.REJECTED, what="grace period")
            assert order.history[-1].event.value == "not_found"
            assert w.venue.status()["venue"]["status_queries"] >= 2
            assert sim.state.exchange.open_orders(w.api_key) == []
            assert w.sink.orders[-1]["event"] == "reject"  # type: ignore[attr-defined]
