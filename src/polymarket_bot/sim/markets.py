"""Synthetic markets for the simulator: Gamma/CLOB-style metadata and a seeded fair-value process.

Markets are named `SIM-1` ... `SIM-N` (the name reports use), with realistic ids underneath:
condition ids are `0x` + 64 hex and token ids are random 256-bit decimals (~77 digits), so the
official SDKs route them to the V2 exchange (a small id would look like a V3 position id).
Every few markets form a neg-risk event (one winner among its outcomes).
Deterministic for a given seed; no clock reads (times are passed in).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from decimal import Decimal

from polymarket_bot.core.types import TickSize
from polymarket_bot.sim.fees import FeeSchedule
from polymarket_bot.sim.model import MarketSpec

__all__ = [
    "FairValueProcess",
    "FeeDetails",
    "SimEvent",
    "SimMarket",
    "generate_markets",
]

_QUESTIONS = (
    "Will the Fed cut rates at its next meeting?",
    "Will BTC close above $120k this month?",
    "Will the home team win tonight's final?",
    "Will the bill pass the Senate this week?",
    "Will ETH flip $6k before the end of the quarter?",
    "Will the film gross over $500M worldwide?",
    "Will the storm make landfall as a category 4?",
    "Will inflation print above 3% this month?",
)
_EVENT_OUTCOMES = (
    "Candidate A",
    "Candidate B",
    "Candidate C",
    "Candidate D",
    "Candidate E",
    "Candidate F",
)

FeeDetails = FeeSchedule
"""Kept as an alias: a market's fees are the exchange's own `FeeSchedule` (rate, exponent,
taker-only), which is what `/clob-markets` `fd` and Gamma `feeSchedule` report."""


@dataclass(slots=True)
class SimMarket:
    """One binary market: two outcome tokens (index 0 = Yes, 1 = No)."""

    name: str
    gamma_id: str
    question: str
    slug: str
    condition_id: str
    question_id: str
    token_ids: tuple[str, str]
    outcomes: tuple[str, str]
    tick_size: TickSize
    min_order_size: Decimal
    neg_risk: bool
    event_id: str
    end_date_iso: str
    fees: FeeSchedule
    volume: Decimal = Decimal(0)
    liquidity: Decimal = Decimal(0)
    fair_value: float = 0.5
    closed: bool = False
    winner_index: int | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def yes_token(self) -> str:
        return self.token_ids[0]

    @property
    def no_token(self) -> str:
        return self.token_ids[1]

    def outcome_of(self, token_id: str) -> str:
        return self.outcomes[self.token_ids.index(token_id)]

    def complement_of(self, token_id: str) -> str:
        return self.token_ids[1 - self.token_ids.index(token_id)]

    def to_spec(self) -> MarketSpec:
        """What `Exchange.add_market` needs to trade this market."""
        return MarketSpec(
            condition_id=self.condition_id,
            yes_token_id=self.token_ids[0],
            no_token_id=self.token_ids[1],
            tick_size=self.tick_size,
            min_order_size=self.min_order_size,
            yes_outcome=self.outcomes[0],
            no_outcome=self.outcomes[1],
            neg_risk=self.neg_risk,
            neg_risk_event_id=self.event_id if self.neg_risk else None,
            fees=self.fees,
            question=self.question,
        )


@dataclass(frozen=True, slots=True)
class SimEvent:
    """A neg-risk event grouping several markets of which exactly one resolves Yes."""

    event_id: str
    slug: str
    title: str
    market_names: tuple[str, ...]
    neg_risk: bool


def _hex(rng: random.Random, nbytes: int) -> str:
    return "0x" + rng.getrandbits(nbytes * 8).to_bytes(nbytes, "big").hex()


def _token_id(rng: random.Random) -> str:
    # A full-width uint256 (top bits set) so bits 40..103 are never all zero (V2, not V3, routing).
    return str(rng.getrandbits(256) | (1 << 255))


def generate_markets(
    n: int,
    *,
    seed: int,
    start_ts: float,
    neg_risk_group: int = 3,
    fee_rate: Decimal = Decimal("0.02"),
) -> tuple[list[SimMarket], list[SimEvent]]:
    """`n` markets; the last `n // 2` are grouped in neg-risk events of `neg_risk_group`
    outcomes (a leftover single market joins the previous event; with fewer than two
    grouped markets every market is standalone)."""
    if n < 1:
        raise ValueError("need at least one market")
    if neg_risk_group < 2:
        raise ValueError("a neg-risk event needs at least two outcomes")
    rng = random.Random(seed)
    markets: list[SimMarket] = []
    events: list[SimEvent] = []
    standalone = n - (n // 2) if n // 2 >= 2 else n
    end_iso = _iso_date(start_ts + 30 * 86400)
    for i in range(n):
        name = f"SIM-{i + 1}"
        neg_risk = i >= standalone
        question = _QUESTIONS[i % len(_QUESTIONS)] if not neg_risk else ""
        markets.append(
            SimMarket(
                name=name,
                gamma_id=str(500_000 + i),
                question=question,
                slug=f"sim-{i + 1}",
                condition_id=_hex(rng, 32),
                question_id=_hex(rng, 32),
                token_ids=(_token_id(rng), _token_id(rng)),
                outcomes=("Yes", "No"),
                tick_size=TickSize.T0_01,
                min_order_size=Decimal(5),
                neg_risk=neg_risk,
                event_id="",
                end_date_iso=end_iso,
                fees=FeeSchedule(rate=Decimal(0) if neg_risk else fee_rate),
                volume=Decimal(rng.randint(10_000, 2_000_000)),
                liquidity=Decimal(rng.randint(5_000, 200_000)),
                fair_value=rng.uniform(0.2, 0.8),
                tags=("Simulated",),
            )
        )
    # Standalone markets each form their own (non neg-risk) event, like the venue.
    for m in markets[:standalone]:
        m.event_id = str(900_000 + len(events))
        events.append(SimEvent(m.event_id, m.slug, m.question, (m.name,), neg_risk=False))
    grouped = markets[standalone:]
    groups = [grouped[g : g + neg_risk_group] for g in range(0, len(grouped), neg_risk_group)]
    if len(groups) > 1 and len(groups[-1]) == 1:
        leftover = groups.pop()
        groups[-1] = groups[-1] + leftover
    for members in groups:
        event_id = str(900_000 + len(events))
        title = f"Who will win simulated election #{len(events) + 1}?"
        # Fair values of one event's outcomes sum to ~1 (exactly one wins).
        weights = [rng.uniform(0.5, 1.5) for _ in members]
        total = sum(weights)
        for j, m in enumerate(members):
            m.event_id = event_id
            label = _EVENT_OUTCOMES[j % len(_EVENT_OUTCOMES)]
            m.question = f"Will {label} win simulated election #{len(events) + 1}?"
            m.fair_value = weights[j] / total
        events.append(
            SimEvent(event_id, f"sim-event-{event_id}", title, tuple(m.name for m in members), True)
        )
    return markets, events


def _iso_date(ts: float) -> str:
    days = int(ts // 86400)
    # Civil-from-days (Howard Hinnant), to avoid datetime clock helpers in a pure module.
    z = days + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return f"{y + (m <= 2):04d}-{m:02d}-{d:02d}T00:00:00Z"


class FairValueProcess:
    """A seeded random walk in log-odds space, so fair values stay inside (0, 1) and move more
    in the middle than near the extremes, like prediction-market prices."""

    def __init__(self, seed: int, volatility: float = 0.04) -> None:
        self._rng = random.Random(seed)
        self._vol = volatility

    def step(self, value: float, dt: float = 1.0) -> float:
        value = min(max(value, 1e-4), 1 - 1e-4)
        logit = math.log(value / (1 - value))
        logit += self._rng.gauss(0.0, self._vol * math.sqrt(dt))
        return 1 / (1 + math.exp(-logit))

    def step_event(self, values: list[float], dt: float = 1.0) -> list[float]:
        """Move a neg-risk event's outcome values and renormalise them to sum to 1."""
        moved = [self.step(v, dt) for v in values]
        total = sum(moved)
        return [v / total for v in moved]
