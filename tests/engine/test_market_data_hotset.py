"""Hot-set churn through the service: hits, sticky periods and idle TTL decide the WebSocket
subscriptions (core/hotset.py semantics), applied without reconnecting. A TestClock drives the
hot-set time; the sockets are real."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from market_data_kit import running_sim, service_for, test_config, wait_for

from polymarket_bot.core.clock import TestClock
from polymarket_bot.core.hotset import HotSetConfig
from polymarket_bot.engine.market_data import FeedSource


async def test_hot_set_churn_obeys_sticky_and_ttl() -> None:
    clock = TestClock(start=time.time())
    hot = HotSetConfig(asset_limit=2, sticky_seconds=10.0, ttl_seconds=30.0, hit_boost=50.0)
    config = test_config(
        "",
        hot=hot,
        rerank_interval=1e6,  # re-ranks happen when this test says
        ws_silence_timeout=0.0,  # the watchdog would read the test clock
        ws_stale_after=1e6,
    )
    sim_cm = running_sim(with_flow=False)  # quiet books: no market activity
    async with sim_cm as sim, service_for(sim, config, clock=clock, ws_url=sim.ws_url) as svc:

        def venue_subscriptions() -> set[str]:
            return set(sim.state.hub.by_asset)

        await wait_for(lambda: svc.current_source is FeedSource.WS_LIVE, what="ws_live")
        svc.rerank()  # activity seen now (t=0): the snapshots
        first = set(svc.hot_assets)
        assert len(first) == 2 and venue_subscriptions() == first
        scores = {a: svc.hotset.score(a, clock.monotonic()) for a in svc.tracked}
        target = min(scores, key=lambda a: (scores[a], a))
        # ties (a market's two tokens share a score) go to the smaller id, as in core/hotset.py
        (strongest,) = sorted(first, key=lambda a: (-scores[a], a))[:1]

        # A hit lifts the target above both incumbents, but they are sticky for 10 s.
        svc.hit(target)
        clock.advance(1.0)
        assert not svc.rerank() and set(svc.hot_assets) == first

        # After the sticky period the target takes the weaker incumbent's slot.
        clock.advance(10.0)
        svc.hit(target)
        change = svc.rerank()
        assert change.added == (target,)
        assert change.removed == tuple(first - {strongest})
        assert set(svc.hot_assets) == {strongest, target}
        await wait_for(lambda: venue_subscriptions() == {strongest, target}, what="moved")
        await wait_for(lambda: svc.ws_serves(target), what="target on the WS")
        assert [s.conn.connects for s in svc.shards] == [1]  # dynamic, no reconnect

        # No hits and no market activity for longer than the TTL: everything is idle.
        clock.advance(31.0)
        change = svc.rerank()
        assert set(change.removed) == {strongest, target} and not svc.hot_assets
        await wait_for(lambda: not venue_subscriptions(), what="all unsubscribed")
        await wait_for(lambda: not svc.shards, what="empty shard closed")
        assert svc.status()["subscribed_assets"] == 0
        assert svc.book(target) is not None  # still tracked: REST serves it

        # A fresh hit makes an asset hot again at once.
        svc.hit(target)
        assert svc.rerank().added == (target,)
        await wait_for(lambda: venue_subscriptions() == {target}, what="re-subscribed")
        status = svc.status()
        assert status["hot_set"]["added"] == 4 and status["hot_set"]["removed"] == 3
