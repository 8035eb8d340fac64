"""MarketDataService against the simulator on loopback: books, shards, dynamic subscriptions,
tick-size epochs, REST-only mode, capture, the fetch_info dict."""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from market_data_kit import (
    admin,
    all_tokens,
    fast_sim,
    running_sim,
    service_for,
    test_config,
    venue_levels,
    wait_for,
    wire_levels,
)

from polymarket_bot.config import build_settings
from polymarket_bot.core.hotset import HotSetConfig
from polymarket_bot.core.types import TickSize
from polymarket_bot.engine.market_data import FeedSource, MarketDataConfig, UpdateKind
from polymarket_bot.sim.replay import CaptureStats, ReplaySource, iter_capture
from polymarket_bot.sim.server import SimServer
from polymarket_bot.sim.state import ServerConfig
from polymarket_bot.sim.ws_api import WsConfig
from polymarket_bot.storage.snapshots import merge_status, read_json

QUIET_BOOKS = ServerConfig(tick_interval_s=0.02, ws=WsConfig(book_on_trade=False))
"""No `book` after trades: only the initial snapshots, every later change is a delta."""


def books_equal_venue(svc: object, sim: SimServer, tokens: list[str]) -> bool:
    return all(
        (book := svc.book(t)) is not None and wire_levels(book) == venue_levels(sim, t)  # type: ignore[attr-defined]
        for t in tokens
    )


async def test_books_equal_the_venue_after_thousands_of_deltas() -> None:
    async with fast_sim(config=QUIET_BOOKS) as sim:
        tokens = all_tokens(sim)
        config = test_config(sim.ws_url, assets_per_connection=6)  # 16 hot assets, 3 shards
        async with service_for(sim, config) as svc:
            await wait_for(lambda: svc.current_source is FeedSource.WS_LIVE, what="ws_live")
            await wait_for(lambda: svc.ingest.deltas >= 3000, timeout=30, what="3000 deltas")
            await admin(sim, "POST", "/admin/pause", {"paused": True})
            await wait_for(lambda: books_equal_venue(svc, sim, tokens), timeout=5, what="books")
            stats = svc.ingest.stats()
            assert stats["snapshots_ws"] == 16  # the initial dumps only: the rest were deltas
            assert stats["desyncs"] == {} and stats["decode_errors"] == 0
            assert len(svc.shards) == 3 and [len(s.assets) for s in svc.shards] == [6, 6, 4]
            assert sim.state.hub.summary()["open_market"] == 3
            assert all(svc.ws_serves(t) for t in tokens)
            assert svc.is_healthy
            for t in tokens:
                age = svc.feed_age_seconds(t)
                assert age is not None and age < config.ws_stale_after


async def test_dynamic_subscriptions_follow_the_hot_set_without_reconnecting() -> None:
    async with running_sim() as sim:
        tokens = all_tokens(sim)
        hot = HotSetConfig(asset_limit=3, sticky_seconds=0.0, ttl_seconds=600.0, hit_boost=100.0)
        config = test_config(sim.ws_url, hot=hot, assets_per_connection=2, rerank_interval=3600)
        async with service_for(sim, config) as svc:
            first = set(svc.hot_assets)
            assert len(first) == 3

            def venue_has(assets: set[str]) -> bool:
                return set(sim.state.hub.by_asset) == assets

            await wait_for(lambda: venue_has(first), what="initial subscriptions")
            await wait_for(lambda: svc.current_source is FeedSource.WS_LIVE, what="ws_live")
            outsiders = [t for t in tokens if t not in first][:2]
            for t in outsiders:
                svc.hit(t)
            change = svc.rerank()
            assert set(change.added) == set(outsiders) and len(change.removed) == 2
            await wait_for(lambda: venue_has(set(svc.hot_assets)), what="moved subscriptions")
            await wait_for(lambda: all(svc.ws_serves(t) for t in outsiders), what="snapshots")
            assert all(not svc.ws_serves(t) for t in change.removed)  # REST serves them now
            assert all(s.conn.connects == 1 for s in svc.shards)  # no reconnect
            assert sum(s.conn.disconnects for s in svc.shards) == 0
            assert len(svc.shards) == 2
            status = svc.status()
            assert status["hot_assets"] == 3 and status["subscribed_assets"] == 3
            assert status["hot_set"]["added"] == 5 and status["hot_set"]["removed"] == 2


async def test_tick_size_change_starts_a_new_epoch_and_resyncs() -> None:
    async with running_sim(with_flow=False) as sim:
        market = sim.state.markets[0]
        yes = market.token_ids[0]
        updates: list[tuple[str, UpdateKind]] = []
        async with service_for(sim, test_config(sim.ws_url)) as svc:
            svc.on_update = lambda a, k: updates.append((a, k))
            await wait_for(lambda: svc.current_source is FeedSource.WS_LIVE, what="ws_live")
            book = svc.book(yes)
            assert book is not None and book.epoch == 0
            await admin(
                sim, "POST", "/admin/tick-size", {"market": market.name, "tick_size": "0.001"}
            )
            await wait_for(lambda: book.epoch == 1 and svc.feed_age_seconds(yes) is not None)
            assert book.tick_size is TickSize.T0_001
            assert (yes, UpdateKind.TICK_SIZE) in updates
            assert (yes, UpdateKind.BOOK) in updates[updates.index((yes, UpdateKind.TICK_SIZE)) :]
            entry = svc.catalogue.by_token(yes)
            assert entry is not None and entry.tick_size is TickSize.T0_001
            assert wire_levels(book) == venue_levels(sim, yes)


async def test_rest_only_mode_updates_every_asset_within_the_rate() -> None:
    async with fast_sim() as sim:
        tokens = all_tokens(sim)
        config = test_config(
            sim.ws_url, use_ws=False, rest_batch_size=5, rest_rate_limit_per_sec=8.0
        )
        async with service_for(sim, config) as svc:
            assert svc.current_source is FeedSource.REST_ONLY
            await wait_for(lambda: svc.is_healthy, what="every book fresh")
            assert not svc.shards and not sim.state.hub.by_asset  # no WebSocket at all
            before = {t: svc.feed_age_seconds(t) for t in tokens}
            requests0, t0 = svc.poller.requests, time.monotonic()
            confirmed0 = dict(svc._confirmed)
            await wait_for(
                lambda: all(svc._confirmed[t] > confirmed0[t] for t in tokens),
                timeout=5,
                what="every asset refreshed by REST",
            )
            elapsed = time.monotonic() - t0
            rate = (svc.poller.requests - requests0) / max(elapsed, 0.5)
            assert rate <= 8.0 * 1.5 + 2  # the limiter's burst on top of the rate
            assert all(v is not None for v in before.values())
            assert svc.status()["current_source"] == "rest_only"
            assert svc.poller.batch_size == 5 and svc.poller.errors == 0


async def test_capture_round_trip_through_the_simulators_reader(tmp_path: Path) -> None:
    async with fast_sim() as sim:
        config = test_config(sim.ws_url, record_dir=tmp_path, record_flush_interval=0.1)
        async with service_for(sim, config) as svc:
            await wait_for(lambda: svc.ingest.frames >= 200, what="200 frames")
        messages = svc.status()["messages"]["ws"]
    stats = CaptureStats()
    frames = list(iter_capture(tmp_path, stats=stats))
    assert stats.skipped == 0 and stats.truncated_files == 0 and stats.files == 1
    assert len(frames) == messages == svc.ingest.frames
    assert frames[0].data.startswith('[{"event_type":"book"')
    assert all(f.channel == "market" for f in frames)
    assert all(b.recv_ms >= a.recv_ms - 1000 for a, b in itertools.pairwise(frames))
    source = ReplaySource(tmp_path, speed=0)
    assert set(source.books_at_start()) == set(all_tokens(sim))


async def test_status_is_the_fetch_info_section(tmp_path: Path) -> None:
    async with running_sim() as sim, service_for(sim, test_config(sim.ws_url)) as svc:
        await wait_for(lambda: svc.current_source is FeedSource.WS_LIVE, what="ws_live")
        await wait_for(lambda: svc.status()["messages"]["ws"] > 0, what="ws messages")
        status = svc.status()
    for key in (
        "current_source",
        "ws_cooldown_remaining_seconds",
        "subscribed_assets",
        "hot_assets",
        "messages",
        "errors",
        "last_message_age_seconds",
    ):
        assert key in status
    assert status["current_source"] == "ws_live"
    assert status["subscribed_assets"] == status["hot_assets"] == 16
    assert set(status["messages"]) == {"ws", "rest"} and set(status["errors"]) == {"ws", "rest"}
    assert status["errors"] == {"ws": 0, "rest": 0}
    assert status["source_transitions"][-1]["to"] == "ws_live"
    # The trader merges it key by key: another process's `orders_ws` survives.
    path = tmp_path / "pipeline_status.json"
    merge_status(path, {"fetch_info.orders_ws": {"status": "ok"}})
    merge_status(path, {f"fetch_info.{k}": v for k, v in status.items()})
    doc = read_json(path)
    assert doc is not None
    assert doc["fetch_info"]["orders_ws"] == {"status": "ok"}
    assert doc["fetch_info"]["current_source"] == "ws_live"


def test_config_from_settings_maps_the_seed_knobs(tmp_path: Path) -> None:
    settings = build_settings(
        {
            "venue.clob_ws_url": "wss://example.invalid/ws",
            "service.use_ws": False,
            "service.ws_asset_limit": 7,
            "service.ws_static_assets": "1,2",
            "service.ws_min_score": 1.5,
            "service.ws_hot_sticky_seconds": 11,
            "service.ws_hot_ttl_seconds": 22,
            "service.ws_hit_boost": 3,
            "service.ws_ping_interval_seconds": 9,
            "service.rest_max_concurrency": 2,
            "service.rest_rate_limit_per_sec": 1.5,
            "service.proxy_enabled": True,
            "service.proxy_url": "http://127.0.0.1:3128",
        }
    )
    config = MarketDataConfig.from_settings(settings, record_dir=tmp_path)
    assert config.market_ws_url == "wss://example.invalid/ws/market" and not config.use_ws
    assert config.hot == HotSetConfig(
        asset_limit=7,
        static_assets=frozenset({"1", "2"}),
        min_score=1.5,
        sticky_seconds=11,
        ttl_seconds=22,
        hit_boost=3,
    )
    assert config.ws_ping_interval == 9 and config.rest_max_concurrency == 2
    assert config.rest_rate_limit_per_sec == 1.5 and config.proxy == "http://127.0.0.1:3128"
    assert config.record_dir == tmp_path
