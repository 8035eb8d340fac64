"""Hot-asset subscription manager: limit, static, min score, sticky, TTL and hit boosts."""

from __future__ import annotations

import pytest

from polymarket_bot.core.hotset import HotSetConfig, HotSetManager, base_score


def make(**kw: object) -> HotSetManager:
    return HotSetManager(HotSetConfig(**kw))  # type: ignore[arg-type]


def test_limit_keeps_the_highest_scores() -> None:
    m = make(asset_limit=2, sticky_seconds=0, ttl_seconds=0)
    for i, base in enumerate([1.0, 5.0, 3.0]):
        m.register(f"a{i}", 0.0, base=base)
    change = m.rerank(0.0)
    assert m.hot == {"a1", "a2"}
    assert change.added == ("a1", "a2") and change.removed == ()


def test_static_assets_are_always_hot_and_never_evicted() -> None:
    m = make(asset_limit=1, static_assets=frozenset({"s"}), sticky_seconds=0, ttl_seconds=10)
    m.register("s", 0.0, base=-100.0)
    m.register("x", 0.0, base=50.0)
    m.rerank(0.0)
    assert m.hot == {"s"}  # the static asset fills the only slot
    m.rerank(1000.0)  # idle far beyond the TTL
    assert m.hot == {"s"}


def test_min_score_gates_entry() -> None:
    m = make(asset_limit=10, min_score=4.0, sticky_seconds=0, ttl_seconds=0)
    m.register("low", 0.0, base=3.9)
    m.register("high", 0.0, base=4.0)
    m.rerank(0.0)
    assert m.hot == {"high"}


def test_sticky_protects_an_incumbent_until_it_expires() -> None:
    m = make(asset_limit=1, sticky_seconds=30, ttl_seconds=0)
    m.register("old", 0.0, base=1.0)
    m.rerank(0.0)
    m.register("new", 1.0, base=9.0)
    m.rerank(29.9)
    assert m.hot == {"old"}  # still sticky
    change = m.rerank(30.0)
    assert m.hot == {"new"}
    assert change.removed == ("old",) and change.added == ("new",)


def test_idle_assets_are_evicted_after_ttl_and_return_on_activity() -> None:
    m = make(asset_limit=5, sticky_seconds=10, ttl_seconds=60)
    m.register("a", 0.0, base=1.0)
    m.rerank(0.0)
    m.rerank(60.0)
    assert m.hot == {"a"}  # exactly at the TTL it is still eligible
    m.rerank(60.5)
    assert m.hot == frozenset()
    m.touch("a", 61.0)
    m.rerank(61.0)
    assert m.hot == {"a"}


def test_hit_boost_lifts_an_asset_over_the_bar_and_decays() -> None:
    m = make(asset_limit=1, min_score=0.0, sticky_seconds=0, ttl_seconds=100, hit_boost=5.0)
    m.register("quiet", 0.0, base=1.0)
    m.register("busy", 0.0, base=3.0)
    m.rerank(0.0)
    assert m.hot == {"busy"}
    m.hit("quiet", 1.0)
    assert m.score("quiet", 1.0) == pytest.approx(6.0)
    m.rerank(1.0)
    assert m.hot == {"quiet"}
    # After many time constants the boost is gone and the base scores decide again.
    m.touch("busy", 999.0)
    m.touch("quiet", 999.0)
    assert m.score("quiet", 999.0) == pytest.approx(1.0, abs=1e-3)
    m.rerank(999.0)
    assert m.hot == {"busy"}


def test_ties_keep_the_incumbent() -> None:
    m = make(asset_limit=1, sticky_seconds=0, ttl_seconds=0)
    m.register("b", 0.0, base=2.0)
    m.rerank(0.0)
    m.register("a", 1.0, base=2.0)  # same score, sorts first by id
    assert not m.rerank(1.0)
    assert m.hot == {"b"}


def test_forgotten_assets_leave_the_hot_set() -> None:
    m = make(asset_limit=3, sticky_seconds=100, ttl_seconds=0)
    m.register("a", 0.0, base=1.0)
    m.rerank(0.0)
    m.forget("a")
    assert m.rerank(1.0).removed == ("a",)


def test_base_score_rewards_volume_liquidity_and_tight_spreads() -> None:
    assert base_score(0, 0, None) == 0.0
    assert base_score(999, 0, None) == pytest.approx(3.0)
    assert base_score(0, 0, 0.0) == pytest.approx(2.0)
    assert base_score(0, 0, 0.2) == 0.0
    assert base_score(1e6, 1e4, 0.01) > base_score(1e3, 1e4, 0.01)
