"""Configuration of the market-data service: the seed's `SERVICE_*` knobs plus the timings the
seed leaves open (watchdog, staleness, REST cadence), with defaults that suit the real venue.

`MarketDataConfig.from_settings(settings)` maps the validated settings tree; tests build the
dataclass directly with small periods.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polymarket_bot.core.hotset import HotSetConfig

if TYPE_CHECKING:
    from polymarket_bot.config.model import Settings

__all__ = ["MarketDataConfig", "market_channel_url"]


def market_channel_url(ws_base_url: str) -> str:
    """`wss://host/ws` -> `wss://host/ws/market` (a URL already ending in /market is kept)."""
    base = ws_base_url.rstrip("/")
    return base if base.endswith("/market") else base + "/market"


@dataclass(frozen=True, slots=True)
class MarketDataConfig:
    clob_ws_url: str = ""
    """Base WS URL (`CLOB_WS_URL`, e.g. `wss://ws-subscriptions-clob.polymarket.com/ws`)."""
    use_ws: bool = True
    """`SERVICE_USE_WS`: False serves every asset by REST polling."""
    hot: HotSetConfig = field(default_factory=HotSetConfig)
    """`SERVICE_WS_ASSET_LIMIT`, `_STATIC_ASSETS`, `_MIN_SCORE`, `_HOT_STICKY_SECONDS`,
    `_HOT_TTL_SECONDS`, `_HIT_BOOST` (semantics in `core/hotset.py`)."""
    assets_per_connection: int = 200
    """WS shard size: the venue caps subscriptions per connection (~500, snapshots go missing
    above it); NautilusTrader uses 200."""
    ws_ping_interval: float = 10.0
    """Text `PING` period (the venue expects 10 s)."""
    ws_silence_timeout: float = 30.0
    """No frame at all (not even a PONG) for this long: the connection is replaced."""
    ws_stale_after: float = 15.0
    """No frame for this long: the connection's assets count as stale and REST serves them."""
    ws_snapshot_grace: float = 3.0
    """After a (re)subscribe, REST leaves an asset alone this long while its WS snapshot is due."""
    ws_snapshot_timeout: float = 10.0
    """A subscribed asset without a snapshot after this long no longer holds `ws_live` back
    (the venue may not know it); REST keeps serving it and `ws.unsynced_assets` counts it."""
    ws_audit_interval: float = 30.0
    """Each WS-fed book is compared with a REST snapshot this often (0 = never): a missed
    delta below the top of book has no other symptom. Costs one `POST /books` per
    `rest_batch_size` hot assets per interval."""
    ws_backoff_base: float = 0.5
    ws_backoff_cap: float = 30.0
    rest_max_concurrency: int = 4
    """`SERVICE_REST_MAX_CONCURRENCY`: REST fallback requests in flight."""
    rest_rate_limit_per_sec: float = 5.0
    """`SERVICE_REST_RATE_LIMIT_PER_SEC`: REST fallback requests per second (0 = unlimited)."""
    rest_batch_size: int = 100
    """Tokens per `POST /books`."""
    rest_poll_interval: float = 2.0
    """How often each REST-served asset is refreshed (slower when the rate limit says so)."""
    rest_error_backoff_base: float = 0.5
    rest_error_backoff_cap: float = 30.0
    rerank_interval: float = 5.0
    """Hot-set re-rank period."""
    source_check_interval: float = 0.25
    """How often `current_source` is re-evaluated (transitions are recorded then)."""
    catalogue_refresh_interval: float = 300.0
    catalogue_clob_max_pages: int | None = None
    """CLOB `/markets` pages read per refresh (None = all; the real venue has many)."""
    catalogue_gamma_page_size: int = 100
    auto_track: bool = False
    """Track every active market of the catalogue (new ones as they appear)."""
    healthy_max_feed_age: float = 30.0
    """`is_healthy` needs every tracked book's feed younger than this."""
    resync_buffer_limit: int = 10_000
    """Deltas held per asset while its REST resync is in flight."""
    record_dir: Path | None = None
    """`--record DIR`: write every raw market frame there (docs/CAPTURE.md)."""
    record_max_bytes: int = 64 * 1024 * 1024
    record_flush_interval: float = 1.0
    proxy: str | None = None
    """PROXY_URL when PROXY_ENABLED (WebSocket; the REST clients get theirs when built)."""

    def __post_init__(self) -> None:
        if self.assets_per_connection < 1:
            raise ValueError("assets_per_connection must be >= 1")
        if self.rest_batch_size < 1 or self.rest_max_concurrency < 1:
            raise ValueError("rest_batch_size and rest_max_concurrency must be >= 1")
        for name in ("rest_poll_interval", "rerank_interval", "source_check_interval"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0")

    @property
    def market_ws_url(self) -> str:
        return market_channel_url(self.clob_ws_url)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> MarketDataConfig:
        """The service's config from the settings tree; keyword overrides win (`record_dir`)."""
        svc = settings.service
        base = cls(
            clob_ws_url=settings.venue.clob_ws_url,
            use_ws=svc.use_ws,
            hot=HotSetConfig(
                asset_limit=svc.ws_asset_limit,
                static_assets=frozenset(svc.ws_static_assets),
                min_score=svc.ws_min_score,
                sticky_seconds=svc.ws_hot_sticky_seconds,
                ttl_seconds=svc.ws_hot_ttl_seconds,
                hit_boost=svc.ws_hit_boost,
            ),
            ws_ping_interval=svc.ws_ping_interval_seconds,
            rest_max_concurrency=svc.rest_max_concurrency,
            rest_rate_limit_per_sec=svc.rest_rate_limit_per_sec,
            proxy=svc.proxy,
        )
        return replace(base, **overrides) if overrides else base
