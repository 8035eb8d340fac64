"""Source-state transitions under the simulator's faults: silent stall, WebSocket cut and back,
server disconnect, malformed frames, wrong book hashes, 429 and 5xx on the REST fallback."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from market_data_kit import (
    TcpGate,
    admin,
    all_tokens,
    fast_sim,
    inject,
    running_sim,
    service_for,
    test_config,
    venue_levels,
    wait_for,
    wire_levels,
)

from polymarket_bot.engine.market_data import FeedSource, MarketDataService
from polymarket_bot.sim.server import SimServer
from polymarket_bot.transport.retry import RetryPolicy


def books_equal_venue(svc: MarketDataService, sim: SimServer, tokens: list[str]) -> bool:
    return all(
        (book := svc.book(t)) is not None and wire_levels(book) == venue_levels(sim, t)
        for t in tokens
    )


async def test_a_silent_stall_is_detected_and_recovered_within_the_watchdog_period() -> None:
    async with fast_sim() as sim:
        tokens = all_tokens(sim)
        config = test_config(sim.ws_url)  # stale after 0.6 s, watchdog 1.2 s
        async with service_for(sim, config) as svc:
            await wait_for(lambda: svc.current_source is FeedSource.WS_LIVE, what="ws_live")
            (shard,) = svc.shards
            rest_before = svc.poller.books_received
            await inject(sim, "ws_stall", duration_s=2.5)  # open sockets, no frames, no PONG
            t0 = time.monotonic()
            await wait_for(
                lambda: svc.current_source is not FeedSource.WS_LIVE, timeout=2, what="not live"
            )
            noticed = time.monotonic() - t0
            assert noticed < config.ws_silence_timeout  # staleness shows before the watchdog
            await wait_for(lambda: shard.conn.disconnects >= 1, timeout=3, what="watchdog")
            assert "silent for" in (shard.conn.last_error or "")
            assert time.monotonic() - t0 < config.ws_silence_timeout + 1.0
            # Meanwhile REST serves the assets and their feed stays young.
            await wait_for(
                lambda: svc.poller.books_received >= rest_before + len(tokens), what="REST"
            )
            ages = [svc.feed_age_seconds(t) for t in tokens]
            assert all(a is not None and a < 2.0 for a in ages), ages
            await wait_for(
                lambda: svc.current_source is FeedSource.WS_LIVE, timeout=10, what="back"
            )
            visited = svc.source.visited()
            assert visited[0] == "ws_initialising" and visited[-1] == "ws_live"
            assert "ws_stale" in visited
            status = svc.status()
            assert status["errors"]["ws"] >= 1 and status["ws"]["failures"] >= 1
            await admin(sim, "POST", "/admin/pause", {"paused": True})
            await wait_for(lambda: books_equal_venue(svc, sim, tokens), what="books equal")


async def test_ws_cut_means_rest_only_every_asset_updates_and_ws_comes_back() -> None:
    async with fast_sim() as sim:
        tokens = all_tokens(sim)
        gate = TcpGate(sim.port)
        await gate.start()
        try:
            config = test_config(sim.ws_url, ws_backoff_base=0.5, ws_backoff_cap=0.8)
            async with service_for(sim, config, ws_url=gate.ws_url) as svc:
                await wait_for(lambda: svc.current_source is FeedSource.WS_LIVE, what="ws_live")
                gate.close()
                await wait_for(
                    lambda: svc.current_source is FeedSource.REST_ONLY, timeout=3, what="rest"
                )
                await wait_for(
                    lambda: svc.status()["ws_cooldown_remaining_seconds"] > 0,
                    what="a reported cool-down",
                )
                # Every tracked asset is refreshed by REST, within the configured cadence.
                mark = {t: svc._confirmed.get(t, 0.0) for t in tokens}
                await wait_for(
                    lambda: all(svc._confirmed.get(t, 0.0) > mark[t] for t in tokens),
                    timeout=3 * config.rest_poll_interval + 1,
                    what="REST refresh of every asset",
                )
                assert all((svc.feed_age_seconds(t) or 99) < 2.0 for t in tokens)
                assert svc.current_source is FeedSource.REST_ONLY
                assert svc.status()["subscribed_assets"] == 0
                assert svc.status()["rest_served_assets"] == len(tokens)
                # The books still move: compare with the venue at a quiet moment.
                await admin(sim, "POST", "/admin/pause", {"paused": True})
                await wait_for(lambda: books_equal_venue(svc, sim, tokens), what="REST books")
                await admin(sim, "POST", "/admin/pause", {"paused": False})
                gate.open()
                await wait_for(
                    lambda: svc.current_source is FeedSource.WS_LIVE, timeout=5, what="ws back"
                )
                assert all(svc.ws_serves(t) for t in tokens)
                visited = svc.source.visited()
                assert visited[-3:] == ["rest_only", "ws_stale", "ws_live"] or visited[-2:] == [
                    "rest_only",
                    "ws_live",
                ], visited
        finally:
            await gate.stop()


async def test_server_disconnect_reconnects_and_resubscribes_everything() -> None:
    async with fast_sim() as sim:
        tokens = all_tokens(sim)
        async with service_for(sim, test_config(sim.ws_url, assets_per_connection=8)) as svc:
            await wait_for(lambda: svc.current_source is FeedSource.WS_LIVE, what="ws_live")
            assert len(svc.shards) == 2
            await inject(sim, "ws_disconnect")
            await wait_for(lambda: all(s.conn.connects == 2 for s in svc.shards), what="reconnect")
            await wait_for(lambda: svc.current_source is FeedSource.WS_LIVE, what="ws_live again")
            assert set(sim.state.hub.by_asset) == set(tokens)  # everything re-subscribed
            assert all(s.session == 2 for s in svc.shards)
            await admin(sim, "POST", "/admin/pause", {"paused": True})
            await wait_for(lambda: books_equal_venue(svc, sim, tokens), what="books equal")


async def test_malformed_frames_are_counted_and_skipped_without_losing_the_connection() -> None:
    async with fast_sim() as sim:
        tokens = all_tokens(sim)
        # Generous liveness limits: this test is about bad frames, not silence, and a loaded
        # machine must not turn a slow PONG into a reconnect here.
        config = test_config(
            sim.ws_url, ws_audit_interval=1.0, ws_silence_timeout=10.0, ws_stale_after=5.0
        )
        async with service_for(sim, config) as svc:
            await wait_for(lambda: svc.current_source is FeedSource.WS_LIVE, what="ws_live")
            await inject(sim, "ws_malformed", duration_s=1.0, every=3)
            await wait_for(lambda: svc.ingest.decode_errors >= 10, what="malformed frames")
            await inject(sim, "ws_truncated", duration_s=0.5, every=5)
            await wait_for(lambda: not sim.state.faults.active(sim.state.clock.monotonic()))
            (shard,) = svc.shards
            assert shard.conn.connects == 1 and shard.conn.disconnects == 0
            assert svc.status()["errors"]["ws"] == svc.ingest.decode_errors >= 10
            # Lost deltas were noticed (top of book, or the periodic audit for deeper levels)
            # and repaired from REST snapshots.
            await admin(sim, "POST", "/admin/pause", {"paused": True})
            await wait_for(lambda: books_equal_venue(svc, sim, tokens), what="books repaired")
            assert svc.ingest.resyncs_done + svc.ingest.audit_mismatches >= 1
            assert svc.ingest.audits >= len(tokens)
            assert svc.current_source is FeedSource.WS_LIVE


async def test_wrong_book_hashes_never_reject_a_book() -> None:
    async with running_sim() as sim:
        tokens = all_tokens(sim)
        async with service_for(sim, test_config(sim.ws_url)) as svc:
            await wait_for(lambda: svc.current_source is FeedSource.WS_LIVE, what="ws_live")
            before = svc.ingest.snapshots_ws
            await inject(sim, "ws_bad_hash", duration_s=5.0, rest=True)
            await inject(sim, "ws_disconnect")  # fresh snapshots, all with wrong hashes
            await wait_for(lambda: svc.ingest.snapshots_ws >= before + len(tokens), what="dumps")
            await wait_for(lambda: svc.current_source is FeedSource.WS_LIVE, what="ws_live")
            assert svc.ingest.desyncs == {}
            await admin(sim, "POST", "/admin/pause", {"paused": True})
            await wait_for(lambda: books_equal_venue(svc, sim, tokens), what="books equal")


async def test_429_on_the_rest_fallback_honours_retry_after() -> None:
    async with running_sim() as sim:
        config = test_config(sim.ws_url, use_ws=False, rest_error_backoff_base=0.05)
        # The client itself must not cool down (its own 429 handling): the fallback's must.
        client_retry = RetryPolicy(max_attempts=1, max_retry_after=0.0)
        async with service_for(sim, config, retry=client_retry) as svc:
            await wait_for(lambda: svc.poller.successes >= 2, what="REST polling")
            await inject(sim, "rest_429", retry_after=1, paths=["/books"], count=2)
            await wait_for(lambda: svc.poller.rate_limited >= 1, what="a 429")
            failed_at = time.monotonic()
            ok_before = svc.poller.successes
            await wait_for(lambda: svc.poller.successes > ok_before, timeout=6, what="recovery")
            waited = time.monotonic() - failed_at
            assert waited >= 0.9  # Retry-After: 1 (every later request waits, not only one)
            assert svc.poller.rate_limited == 2
            assert svc.poller.limiter.cooldowns >= 1
            assert svc.poller.errors_by_kind == {"rate_limited": 2}
            status = svc.status()
            assert status["current_source"] == "rest_only"
            assert status["errors"]["rest"] == 2
            assert status["rest"]["consecutive_failures"] == 0
            await wait_for(lambda: svc.is_healthy, what="fresh books again")


async def test_5xx_on_the_rest_fallback_backs_off_and_recovers() -> None:
    async with running_sim() as sim:
        config = test_config(
            sim.ws_url,
            use_ws=False,
            rest_poll_interval=0.05,  # 20 polls/s, no rate limit: only the backoff slows it
            rest_rate_limit_per_sec=0.0,
            rest_error_backoff_base=0.4,
            rest_error_backoff_cap=0.8,
        )
        async with service_for(sim, config) as svc:
            await wait_for(lambda: svc.poller.successes >= 2, what="REST polling")
            requests_before = sim.state.counters.by_status.get(503, 0)
            await inject(sim, "rest_5xx", duration_s=1.5, status=503, paths=["/books"])
            await wait_for(lambda: svc.poller.errors >= 1, what="a 503")
            await wait_for(lambda: svc.poller.consecutive_failures == 0, timeout=6, what="back")
            served = sim.state.counters.by_status.get(503, 0) - requests_before
            # Backing off: far fewer requests than polling at full rate (20/s) for 1.5 s.
            assert 1 <= served <= 12, served
            assert svc.poller.errors_by_kind.get("server") == svc.poller.errors == served
            assert svc.poller.limiter.cooldowns >= 1
            await wait_for(lambda: svc.is_healthy, what="fresh books again")
