"""Market data: WebSocket first, REST fallback, hot-asset subscriptions, local books, capture.

See `service.MarketDataService` and docs/MARKET_DATA.md.
"""

from polymarket_bot.engine.market_data.books import BookIngest, OnUpdate, ResyncReason, UpdateKind
from polymarket_bot.engine.market_data.capture import CaptureRecorder
from polymarket_bot.engine.market_data.catalogue import Catalogue, CatalogueMarket
from polymarket_bot.engine.market_data.config import MarketDataConfig, market_channel_url
from polymarket_bot.engine.market_data.service import MarketDataService
from polymarket_bot.engine.market_data.status import FeedSource, SourceTracker

__all__ = [
    "BookIngest",
    "CaptureRecorder",
    "Catalogue",
    "CatalogueMarket",
    "FeedSource",
    "MarketDataConfig",
    "MarketDataService",
    "OnUpdate",
    "ResyncReason",
    "SourceTracker",
    "UpdateKind",
    "market_channel_url",
]
