"""Serve a recorded market stream (`sim.replay.ReplaySource`) instead of synthetic markets.

The recorded frames go out on `/ws/market` exactly as captured (text unchanged) to the
subscribers of the assets they mention; the books they describe are kept here so `GET /book`,
`/price`, `/midpoint` ... and the initial WS dump answer from the latest state. Markets are
rebuilt from the capture (condition id -> its assets, outcomes named Yes/No in first-seen
order); they are listed but not tradable (no exchange market behind them).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from polymarket_bot.core.types import TickSize
from polymarket_bot.protocol.codec import MarketDecoder
from polymarket_bot.protocol.errors import DecodeError
from polymarket_bot.protocol.wire import (
    BookEvent,
    LastTradePriceEvent,
    PriceChangeEvent,
    TickSizeChangeEvent,
)
from polymarket_bot.sim.fees import FeeSchedule
from polymarket_bot.sim.markets import SimMarket
from polymarket_bot.sim.model import BookSnapshot
from polymarket_bot.sim.replay import ReplaySource

__all__ = ["ReplayBook", "ReplayFeed"]


def _dec(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


@dataclass(slots=True)
class ReplayBook:
    market: str
    asset_id: str
    bids: dict[Decimal, tuple[str, str]] = field(default_factory=dict)
    asks: dict[Decimal, tuple[str, str]] = field(default_factory=dict)
    tick_size: str = "0.01"
    min_order_size: str = "5"
    neg_risk: bool = False
    last_trade: tuple[str, str] | None = None
    timestamp_ms: int = 0

    def replace(self, event: BookEvent) -> None:
        self.bids = {p: (lv.price, lv.size) for lv in event.bids if (p := _dec(lv.price))}
        self.asks = {p: (lv.price, lv.size) for lv in event.asks if (p := _dec(lv.price))}
        if event.tick_size:
            self.tick_size = event.tick_size
        if event.min_order_size:
            self.min_order_size = event.min_order_size
        if event.neg_risk is not None:
            self.neg_risk = event.neg_risk
        if event.last_trade_price:
            side = self.last_trade[1] if self.last_trade else ""
            self.last_trade = (event.last_trade_price, side)

    def set_level(self, is_bid: bool, price: str, size: str) -> None:
        key = _dec(price)
        amount = _dec(size)
        if key is None or amount is None:
            return
        side = self.bids if is_bid else self.asks
        if amount == 0:
            side.pop(key, None)
        else:
            side[key] = (price, size)

    def snapshot(self) -> BookSnapshot:
        bids = tuple(self.bids[p] for p in sorted(self.bids))
        asks = tuple(self.asks[p] for p in sorted(self.asks, reverse=True))
        last = self.last_trade
        return BookSnapshot(
            market=self.market,
            asset_id=self.asset_id,
            bids=bids,
            asks=asks,
            min_order_size=self.min_order_size,
            tick_size=self.tick_size,
            neg_risk=self.neg_risk,
            last_trade_price=last[0] if last else "",
            last_trade_side=last[1] if last else "",
            best_bid=bids[-1][0] if bids else None,
            best_ask=asks[-1][0] if asks else None,
        )


class ReplayFeed:
    """Books and market list of a recorded stream; `pump(now)` releases the frames due."""

    def __init__(self, source: ReplaySource, *, seed: int = 0) -> None:
        self.source = source
        self.decoder = MarketDecoder()
        self.undecodable = 0
        self.books: dict[str, ReplayBook] = {}
        for asset, event in source.books_at_start().items():
            book = ReplayBook(event.market, asset)
            book.replace(event)
            book.timestamp_ms = int(event.timestamp) if event.timestamp.isdigit() else 0
            self.books[asset] = book
        for asset in source.asset_ids():
            if asset not in self.books:
                self.books[asset] = ReplayBook(source.market_of(asset) or "", asset)
        self.markets = self._markets(seed)

    def _markets(self, seed: int) -> list[SimMarket]:
        grouped: dict[str, list[str]] = {}
        for asset, book in self.books.items():
            if book.market:
                grouped.setdefault(book.market, []).append(asset)
        out: list[SimMarket] = []
        for i, (cid, assets) in enumerate(grouped.items()):
            if len(assets) != 2:
                continue  # only binary markets are listed
            book = self.books[assets[0]]
            try:
                tick = TickSize.parse(book.tick_size)
            except ValueError:
                tick = TickSize.T0_01
            qid = "0x" + hashlib.sha256(f"replay:{seed}:{cid}".encode()).hexdigest()
            out.append(
                SimMarket(
                    name=f"REPLAY-{i + 1}",
                    gamma_id=str(700_000 + i),
                    question=f"Recorded market {cid[:10]}",
                    slug=f"replay-{i + 1}",
                    condition_id=cid,
                    question_id=qid,
                    token_ids=(assets[0], assets[1]),
                    outcomes=("Yes", "No"),
                    tick_size=tick,
                    min_order_size=_dec(book.min_order_size) or Decimal(5),
                    neg_risk=book.neg_risk,
                    event_id=str(800_000 + i),
                    end_date_iso="",
                    fees=FeeSchedule(),
                    tags=("Replay",),
                )
            )
        return out

    def snapshot(self, asset_id: str) -> BookSnapshot:
        return self.books[asset_id].snapshot()

    def timestamp(self, asset_id: str) -> int:
        return self.books[asset_id].timestamp_ms

    def pump(self, now_monotonic: float) -> list[tuple[tuple[str, ...], str]]:
        """Apply the frames due and return them as (asset ids, raw text) to publish."""
        out: list[tuple[tuple[str, ...], str]] = []
        for frame in self.source.frames_due(now_monotonic):
            if frame.channel != "market":
                continue
            try:
                events = self.decoder.decode(frame.data)
            except DecodeError:
                self.undecodable += 1
                continue
            assets: dict[str, None] = {}
            for event in events:
                for asset in self._apply(event):
                    assets[asset] = None
            if assets:
                out.append((tuple(assets), frame.data))
        return out

    def _book(self, asset: str, market: str) -> ReplayBook:
        book = self.books.get(asset)
        if book is None:
            book = self.books[asset] = ReplayBook(market, asset)
        return book

    def _apply(self, event: object) -> list[str]:
        if isinstance(event, BookEvent):
            book = self._book(event.asset_id, event.market)
            book.replace(event)
            book.timestamp_ms = _ms(event.timestamp, book.timestamp_ms)
            return [event.asset_id]
        if isinstance(event, PriceChangeEvent):
            touched: list[str] = []
            ts = _ms(event.timestamp, 0)
            for change in event.price_changes:
                book = self._book(change.asset_id, event.market)
                book.set_level(change.side.value == "BUY", change.price, change.size)
                book.timestamp_ms = ts or book.timestamp_ms
                touched.append(change.asset_id)
            return touched
        if isinstance(event, LastTradePriceEvent):
            book = self._book(event.asset_id, event.market)
            book.last_trade = (event.price, event.side.value)
            book.timestamp_ms = _ms(event.timestamp, book.timestamp_ms)
            return [event.asset_id]
        if isinstance(event, TickSizeChangeEvent):
            book = self._book(event.asset_id, event.market)
            book.tick_size = event.new_tick_size
            return [event.asset_id]
        asset = getattr(event, "asset_id", None)
        return [asset] if isinstance(asset, str) else []


def _ms(text: str, default: int) -> int:
    return int(text) if text.isdigit() else default
