"""The decision chain: strategy intents -> order-rate limits -> risk -> approved intents + records.

For each intent, in the order the strategies produced them:

1. `CancelIntent`: always approved (cancels are never rate-limited or risk-checked).
2. `OrderIntent` above `max_intent_notional` (`trading.max_order_notional`) is scaled down to it.
3. The rate limiter: a blocked intent becomes an orders.jsonl `reject` record
   (`reason: strategy_rate_limit`) and goes no further.
4. The risk engine: every evaluated intent yields a risk_audit.jsonl record, approved or not.
5. Approved: the limiter records the submission and the portfolio reserves it, so the next
   intent of the same batch sees its exposure and cash.

Pure and deterministic: the same intents, context and `now` give the same output. The strategy
side (calling strategies, isolating their faults) is `strategies.runner.StrategyRunner`; the
composition root calls `runner.on_event` then `chain.decide` then `runner.notify`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, Decimal
from typing import Any

from polymarket_bot.core.intents import (
    SHARE_QUANTUM,
    BookReader,
    CancelIntent,
    Intent,
    MarketInfo,
    OrderIntent,
    SizeUnit,
)
from polymarket_bot.core.portfolio import Portfolio
from polymarket_bot.core.ratelimit import (
    RATE_LIMIT_REASON,
    OrderRateLimiter,
    RateDecision,
    rate_limit_reject_record,
)
from polymarket_bot.core.risk import RiskDecision, RiskEngine, risk_audit_record

__all__ = ["Decision", "DecisionBatch", "DecisionChain", "DecisionContext", "Stage"]

FeedAge = float | None | Callable[[str], float | None]


class Stage:
    """Where an intent's fate was decided (`Decision.stage`)."""

    CANCEL = "cancel"
    RATE_LIMIT = "rate_limit"
    RISK = "risk"


@dataclass(slots=True)
class DecisionContext:
    """What the chain reads about the world at decision time (the engine keeps it current).

    `feed_age_seconds`: the market feed's age in seconds, one number for every token, or a
    function of the token id; None means no feed (stale).
    """

    books: Mapping[str, BookReader]
    markets: Mapping[str, MarketInfo]
    portfolio: Portfolio
    feed_age_seconds: FeedAge = None

    def feed_age(self, token_id: str) -> float | None:
        age = self.feed_age_seconds
        return age(token_id) if callable(age) else age


@dataclass(frozen=True, slots=True)
class Decision:
    intent: Intent
    """The intent as judged (after scaling to `max_intent_notional`)."""
    approved: bool
    stage: str
    reason: str = ""
    """`strategy_rate_limit`, or the rejecting risk factors joined by commas; empty if approved."""
    rate: RateDecision | None = None
    risk: RiskDecision | None = None


@dataclass(slots=True)
class DecisionBatch:
    approved: list[Intent] = field(default_factory=list)
    """Cancels and approved orders, in input order: hand these to execution."""
    decisions: list[Decision] = field(default_factory=list)
    order_records: list[dict[str, Any]] = field(default_factory=list)
    """orders.jsonl `reject` lines (rate-limited intents)."""
    audits: list[tuple[OrderIntent, RiskDecision, float, str]] = field(default_factory=list)
    """(intent, verdict, time, market label) of every intent that reached risk."""

    @property
    def audit_records(self) -> list[dict[str, Any]]:
        """risk_audit.jsonl lines, built on demand: the trader sends the approved orders
        first and writes their audit trail after (the records are the same either way)."""
        return [risk_audit_record(i, v, now, market_id=label) for i, v, now, label in self.audits]


class DecisionChain:
    def __init__(
        self,
        limiter: OrderRateLimiter,
        risk: RiskEngine,
        *,
        runtime_mode: str,
        max_intent_notional: Decimal | None = None,
        reject_source: str = "rate_limiter",
    ) -> None:
        self.limiter = limiter
        self.risk = risk
        self.runtime_mode = runtime_mode
        self.max_intent_notional = max_intent_notional
        self.reject_source = reject_source

    def decide(self, intents: Sequence[Intent], ctx: DecisionContext, now: float) -> DecisionBatch:
        batch = DecisionBatch()
        if not intents:
            return batch
        for intent in intents:
            if isinstance(intent, CancelIntent):
                batch.approved.append(intent)
                batch.decisions.append(Decision(intent, True, Stage.CANCEL))
                continue
            batch.decisions.append(self._decide_order(self._scaled(intent), ctx, now, batch))
        return batch

    def _scaled(self, intent: OrderIntent) -> OrderIntent:
        cap = self.max_intent_notional
        if cap is None or intent.notional <= cap:
            return intent
        shares = (cap / intent.limit_price).quantize(SHARE_QUANTUM, rounding=ROUND_DOWN)
        if shares <= 0:
            return intent  # risk rejects it on size
        return replace(intent, size=shares, size_unit=SizeUnit.SHARES)

    def _decide_order(
        self, intent: OrderIntent, ctx: DecisionContext, now: float, batch: DecisionBatch
    ) -> Decision:
        market = ctx.markets.get(intent.market)
        label = market.label if market is not None else intent.market
        rate = self.limiter.check(intent, now)
        if not rate.allowed:
            batch.order_records.append(
                rate_limit_reject_record(
                    intent,
                    rate,
                    now,
                    runtime_mode=self.runtime_mode,
                    market_id=label,
                    source=self.reject_source,
                )
            )
            return Decision(intent, False, Stage.RATE_LIMIT, RATE_LIMIT_REASON, rate=rate)
        verdict = self.risk.evaluate(
            intent,
            portfolio=ctx.portfolio,
            market=market,
            book=ctx.books.get(intent.token_id),
            feed_age_seconds=ctx.feed_age(intent.token_id),
            now=now,
        )
        batch.audits.append((intent, verdict, now, label))
        if not verdict.approved:
            return Decision(
                intent, False, Stage.RISK, ",".join(verdict.rejections), rate=rate, risk=verdict
            )
        self.limiter.record(intent, now)
        ctx.portfolio.reserve(intent)
        batch.approved.append(intent)
        return Decision(intent, True, Stage.RISK, rate=rate, risk=verdict)
