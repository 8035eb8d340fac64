"""Order-rate limits: scopes, binding scope, exact window edges, the seed's reject record."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polymarket_bot.core.intents import OrderIntent, SizeUnit, iso_ms
from polymarket_bot.core.ratelimit import (
    FrequencyLimit,
    OrderRateLimiter,
    RateLimitConfig,
    RateScope,
    rate_limit_reject_record,
)
from polymarket_bot.core.types import Outcome, Side

D = Decimal
T0 = 1_760_349_912.345  # 2025-10-13T10:05:12.345Z


def intent(
    strategy: str = "mm",
    market: str = "SIM-1",
    outcome: Outcome = Outcome.YES,
    side: Side = Side.BUY,
    size: str = "250",
) -> OrderIntent:
    return OrderIntent(strategy, market, outcome, "101", side, D(size), D("0.5"))


def trading(
    order: tuple[float, int] | None = None,
    strategies: tuple[float, int] | None = None,
    per_strategy: dict[str, tuple[float, int]] | None = None,
    per_market_side: dict[str, tuple[float, int]] | None = None,
) -> dict[str, Any]:
    def lim(x: tuple[float, int]) -> dict[str, Any]:
        return {"interval_seconds": x[0], "max_orders": x[1]}

    sof: dict[str, Any] = {
        "per_strategy": {k: lim(v) for k, v in (per_strategy or {}).items()},
        "per_market_side": {k: lim(v) for k, v in (per_market_side or {}).items()},
    }
    if strategies:
        sof["global"] = lim(strategies)
    out: dict[str, Any] = {"strategy_order_frequency": sof}
    if order:
        out["order_frequency"] = lim(order)
    return out


def limiter(**kw: Any) -> OrderRateLimiter:
    return OrderRateLimiter(RateLimitConfig.from_trading(trading(**kw)))


def test_settings_defaults_parse() -> None:
    from polymarket_bot.config.settings import DEFAULT_RUNTIME

    cfg = RateLimitConfig.from_trading(DEFAULT_RUNTIME["trading"])
    assert cfg.order_frequency == FrequencyLimit(60.0, 120)
    assert cfg.strategies_global == FrequencyLimit(60.0, 60)
    assert cfg.strategy_limit("anything") == FrequencyLimit(60.0, 20)
    assert cfg.market_side_limit("anything") == FrequencyLimit(60.0, 3)


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"order_frequency": {"interval_seconds": 60}}, r"order_frequency\.max_orders is required"),
        ({"order_frequency": {"interval_seconds": 0, "max_orders": 1}}, "interval_seconds"),
        ({"order_frequency": {"interval_seconds": 1, "max_orders": 1.5}}, "integer"),
        ({"order_frequency": {"interval_seconds": 1, "max_orders": 1, "x": 1}}, "unknown"),
        ({"strategy_order_frequency": {"per_market": {}}}, "unknown key"),
        (
            {"strategy_order_frequency": {"per_strategy": {"mm": {"max_orders": 2}}}},
            r"per_strategy\.mm\.interval_seconds is required",
        ),
    ],
)
def test_bad_config_names_the_key(raw: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RateLimitConfig.from_trading(raw)


def test_seed_example_market_side_block_and_reject_record() -> None:
    rl = limiter(per_market_side={"default": (60, 3)})
    i = intent()
    for k in range(3):
        assert rl.check(i, T0 - 50 + k).allowed
        rl.record(i, T0 - 50 + k)
    decision = rl.check(i, T0)
    assert not decision.allowed and decision.scope is RateScope.MARKET_SIDE
    record = rate_limit_reject_record(i, decision, T0, runtime_mode="dry-run", source="rest_poll")
    assert record == {
        "timestamp": "2025-10-13T10:05:12.345Z",
        "event": "reject",
        "market_id": "SIM-1",
        "action": "yes",
        "size": 250.0,
        "reason": "strategy_rate_limit",
        "metadata": {"interval_seconds": 60, "max_orders": 3, "current_window": 3},
        "runtime_mode": "dry-run",
        "status": "reject",
        "source": "rest_poll",
    }
    assert list(record) == [
        "timestamp", "event", "market_id", "action", "size", "reason", "metadata",
        "runtime_mode", "status", "source",
    ]  # fmt: skip
    # other sides, outcomes, markets and strategies have their own windows
    for other in (
        intent(side=Side.SELL),
        intent(outcome=Outcome.NO),
        intent(market="SIM-2"),
        intent(strategy="arb"),
    ):
        assert rl.check(other, T0).allowed


def test_usd_intent_size_in_shares_in_the_record() -> None:
    i = OrderIntent("mm", "m", Outcome.NO, "1", Side.BUY, D(10), D("0.3"), SizeUnit.USD)
    rl = limiter(per_market_side={"default": (1, 1)})
    rl.record(i, 0)
    rec = rate_limit_reject_record(i, rl.check(i, 0.5), 0.5, runtime_mode="live")
    assert rec["size"] == 33.33 and rec["action"] == "no"
    assert rec["metadata"] == {"interval_seconds": 1, "max_orders": 1, "current_window": 1}


def test_binding_scope_is_the_most_specific_blocking_one() -> None:
    rl = limiter(
        order=(10, 5),
        strategies=(10, 4),
        per_strategy={"default": (10, 3), "arb": (10, 100)},
        per_market_side={"default": (10, 2), "arb": (10, 100)},
    )
    a = intent()
    rl.record(a, 0)
    rl.record(a, 1)
    assert rl.check(a, 2).scope is RateScope.MARKET_SIDE
    rl.record(intent(market="SIM-2"), 2)
    assert rl.check(intent(market="SIM-3"), 3).scope is RateScope.STRATEGY
    rl.record(intent(strategy="arb"), 3)
    d = rl.check(intent(strategy="arb"), 4)
    assert (d.scope, d.current_window, d.metadata["max_orders"]) == (RateScope.STRATEGIES, 4, 4)
    cfg = RateLimitConfig.from_trading(
        trading(order=(10, 5), per_strategy={"default": (10, 100)},
                per_market_side={"default": (10, 100)})
    )  # fmt: skip
    rl.update_config(cfg)
    rl.record(intent(strategy="x"), 4)
    assert rl.check(intent(strategy="y"), 5).scope is RateScope.GLOBAL
    assert rl.blocked[RateScope.GLOBAL] == 1


def test_window_edge_is_exact() -> None:
    rl = limiter(per_market_side={"default": (0.1, 1)})
    i = intent()
    rl.record(i, 0.2)
    assert not rl.check(i, 0.29999).allowed
    assert rl.check(i, 0.3).allowed  # 0.2 + 0.1 == 0.3 exactly at microsecond resolution


def test_counts_hotspots_and_eviction() -> None:
    rl = limiter(order=(60, 10_000), per_strategy={"default": (60, 10_000)},
                 per_market_side={"default": (60, 10)})  # fmt: skip
    for k in range(3):
        rl.record(intent(market="A"), k)
    rl.record(intent(market="B", side=Side.SELL), 3)
    rl.record(intent(market="B", side=Side.SELL), 4)
    rl.record(intent(strategy="arb", market="C"), 5)
    assert [(h.strategy, h.market, h.side, h.count) for h in rl.hotspots(10)] == [
        ("mm", "A", "BUY", 3), ("mm", "B", "SELL", 2), ("arb", "C", "BUY", 1),
    ]  # fmt: skip
    assert rl.hotspots(10, top=1)[0].as_dict() == {
        "strategy": "mm", "market_id": "A", "action": "yes", "side": "BUY", "count": 3,
        "max_orders": 10, "interval_seconds": 60,
    }  # fmt: skip
    assert rl.counts(10) == {
        "global": 6, "strategies": 0, "strategy": {"arb": 1, "mm": 5}, "market_side": 6,
    }  # fmt: skip
    assert rl.counts(62) == {
        "global": 3, "strategies": 0, "strategy": {"arb": 1, "mm": 2}, "market_side": 3,
    }  # fmt: skip
    assert rl.sweep(70) == 5 and rl.window_count == 0  # every window expired and evicted
    snap = rl.snapshot(70)
    assert snap["hotspots"] == [] and snap["allowed"] == 0


def test_memory_stays_bounded_with_many_markets() -> None:
    rl = limiter(per_market_side={"default": (1, 5)})
    for k in range(20_000):
        rl.record(intent(market=f"M{k}"), k * 0.01)  # each window expires after 1 s
    assert rl.window_count < 2_200  # 100 live windows + at most one sweep interval of growth


# -- properties at the edges -------------------------------------------------------------------

ops = st.lists(
    st.tuples(st.integers(0, 3_000_000), st.booleans()),  # (microseconds to advance, submit?)
    min_size=1,
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(ops=ops, interval_us=st.integers(1, 2_000_000), max_orders=st.integers(1, 5))
def test_matches_a_brute_force_model(
    ops: list[tuple[int, bool]], interval_us: int, max_orders: int
) -> None:
    """check() agrees with counting recorded times in (now - interval, now]; recording only
    allowed intents never puts more than max_orders in any window."""
    interval = interval_us / 1e6
    rl = limiter(per_market_side={"default": (interval, max_orders)})
    i = intent()
    now_us = 0
    recorded: list[int] = []
    for dt, submit in ops:
        now_us += dt
        now = now_us / 1e6
        in_window = [t for t in recorded if now_us - interval_us < t <= now_us]
        d = rl.check(i, now)
        assert d.allowed == (len(in_window) < max_orders)
        if not d.allowed:
            assert d.current_window == len(in_window) == max_orders
        if submit and d.allowed:
            rl.record(i, now)
            recorded.append(now_us)
    for t in recorded:  # safety: every window ending at a record holds <= max_orders
        assert sum(1 for u in recorded if t - interval_us < u <= t) <= max_orders


@settings(max_examples=200, deadline=None)
@given(t=st.floats(0, 1e9, allow_nan=False), interval=st.floats(1e-3, 1e5, allow_nan=False))
def test_an_order_expires_exactly_one_interval_later(t: float, interval: float) -> None:
    rl = OrderRateLimiter(RateLimitConfig(per_market_side={"default": FrequencyLimit(interval, 1)}))
    i = intent()
    rl.record(i, t)
    t_us = round(t * 1e6)
    i_us = FrequencyLimit(interval, 1).interval_us
    assert not rl.check(i, (t_us + i_us - 1) / 1e6).allowed
    assert rl.check(i, (t_us + i_us) / 1e6).allowed


def test_iso_ms_format() -> None:
    assert iso_ms(T0) == "2025-10-13T10:05:12.345Z"
    assert iso_ms(0.0) == "1970-01-01T00:00:00.000Z"
    assert iso_ms(1.9996) == "1970-01-01T00:00:02.000Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", iso_ms(1_700_000_000.1))


def test_process_wide_windows_expire_exactly() -> None:
    """The global and all-strategies windows prune what left the interval, to the microsecond."""
    for kwargs, scope in (
        ({"order": (0.1, 2)}, RateScope.GLOBAL),
        ({"strategies": (0.1, 2)}, RateScope.STRATEGIES),
    ):
        rl = limiter(**kwargs)
        rl.record(intent(), 0.2)
        rl.record(intent(strategy="arb"), 0.25)
        blocked = rl.check(intent(market="SIM-9"), 0.29999)
        assert (blocked.allowed, blocked.scope, blocked.current_window) == (False, scope, 2)
        assert rl.check(intent(), 0.3).allowed  # the 0.2 order left the window at 0.3
        rl.record(intent(), 0.3)
        assert not rl.check(intent(), 0.34).allowed
        assert rl.check(intent(), 0.35).allowed
