"""A ready-to-serve simulated venue: synthetic markets on an `Exchange`, books already seeded.

`build_universe` generates `SIM-1..SIM-N` (`sim.markets.generate_markets`), lists each on the
exchange, funds the background accounts and lays the liquidity providers' ladders, then drains
the exchange's events so a client connecting right after start sees a two-sided book through
`GET /book` / the WS snapshot and no stale backlog. Pure: `start_ts` and every later `now` are
passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

from polymarket_bot.sim.exchange import Exchange, SimConfig
from polymarket_bot.sim.flow import FlowConfig, MarketFlow
from polymarket_bot.sim.markets import SimEvent, SimMarket, generate_markets

__all__ = ["SimUniverse", "build_universe"]


@dataclass
class SimUniverse:
    """The exchange plus the metadata the REST/Gamma endpoints serve. `flow` is None for a
    static venue (books seeded once, nothing moves unless clients trade)."""

    exchange: Exchange
    markets: list[SimMarket]
    events: list[SimEvent]
    flow: MarketFlow | None
    by_name: dict[str, SimMarket]
    by_token: dict[str, SimMarket]
    by_condition: dict[str, SimMarket]

    def step(self, now: float) -> None:
        """One simulator tick: exchange timers (trade statuses, GTD expiry, heartbeats), then
        the background flow. The server calls this every `FlowConfig.step_interval_s`."""
        self.exchange.advance(now)
        if self.flow is not None:
            self.flow.step(now)

    def market(self, key: str) -> SimMarket | None:
        """A market by name (`SIM-3`), condition id or token id."""
        return self.by_name.get(key) or self.by_condition.get(key) or self.by_token.get(key)

    def event_of(self, market: SimMarket) -> SimEvent | None:
        return next((e for e in self.events if e.event_id == market.event_id), None)


def build_universe(
    n_markets: int = 8,
    *,
    seed: int = 7,
    start_ts: float,
    sim_config: SimConfig | None = None,
    flow_config: FlowConfig | None = None,
    with_flow: bool = True,
) -> SimUniverse:
    """`n_markets` synthetic markets trading on a fresh `Exchange`, books seeded at `start_ts`.

    The exchange uses `sim_config` (default: `SimConfig(seed=seed)`); the flow's randomness
    comes from `flow_config.seed`, else `seed`. With `with_flow=False` the seeded ladders stay
    as they are and `flow` is None.
    """
    markets, events = generate_markets(n_markets, seed=seed, start_ts=start_ts)
    exchange = Exchange(sim_config or SimConfig(seed=seed))
    for m in markets:
        exchange.add_market(m.to_spec())
    cfg = flow_config or FlowConfig()
    flow = MarketFlow(exchange, markets, events, cfg, seed=seed if cfg.seed is None else cfg.seed)
    flow.step(start_ts)  # lays the initial ladders
    exchange.drain_events()
    return SimUniverse(
        exchange=exchange,
        markets=markets,
        events=events,
        flow=flow if with_flow else None,
        by_name={m.name: m for m in markets},
        by_token={t: m for m in markets for t in m.token_ids},
        by_condition={m.condition_id: m for m in markets},
    )
