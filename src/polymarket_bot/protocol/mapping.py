"""Wire structs -> immutable core events (`core.events`). Strings become `Decimal` here, once.

Kept apart from decoding so the ingest hot path can work on wire structs and map only what it
needs. Every function raises `protocol.errors.DecodeError` (and nothing else) when a wire value is
not usable: a non-numeric or negative price/size, a non-integer timestamp.

Units: WS `timestamp` is milliseconds, but some user `trade` events carry seconds, so `epoch_ms`
decides by magnitude; `created_at`, `match_time`, `last_update`, `expiration` are seconds
(`epoch_s` also accepts a millisecond value and scales it down).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from typing import Any

from polymarket_bot.core.events import (
    AccountEvent,
    BestBidAsk,
    BookSnapshot,
    LastTrade,
    MakerFill,
    MarketDataEvent,
    MarketResolved,
    NewMarket,
    OrderUpdate,
    PriceChange,
    PriceLevel,
    PriceLevelChange,
    TickSizeChange,
    TradeUpdate,
)
from polymarket_bot.protocol.errors import DecodeError
from polymarket_bot.protocol.wire import (
    BestBidAskEvent,
    BookEvent,
    LastTradePriceEvent,
    MakerOrder,
    MarketEvent,
    MarketResolvedEvent,
    NewMarketEvent,
    OrderEvent,
    PriceChangeEvent,
    PriceLevelWire,
    TickSizeChangeEvent,
    Trade,
    TradeEvent,
    UserEvent,
)
from polymarket_bot.protocol.wire_rest import OpenOrder, OrderBookSummary

__all__ = [
    "best_bid_ask",
    "book_snapshot",
    "dec",
    "epoch_ms",
    "epoch_s",
    "last_trade",
    "maker_fill",
    "market_event_to_core",
    "market_resolved",
    "new_market",
    "order_update",
    "price_change",
    "tick_size_change",
    "trade_update",
    "user_event_to_core",
]

_ZERO = Decimal(0)
_INF = Decimal("Infinity")
_SECONDS_LIMIT = 10**11
"""Epoch values below this are seconds (10**11 s is year 5138; 10**11 ms is 1973)."""
_MAX_EPOCH_DIGITS = 20
_price_key = itemgetter(0)


# --- scalar conversions -----------------------------------------------------------------------


def dec(value: str, field: str = "number") -> Decimal:
    """Exact, finite `Decimal` from a wire numeric string."""
    try:
        d = Decimal(value)
    except (InvalidOperation, ValueError, TypeError):
        raise DecodeError(f"{field} is not a number: {value!r}") from None
    if not d.is_finite():
        raise DecodeError(f"{field} is not finite: {value!r}")
    return d


def _non_negative(value: str, field: str) -> Decimal:
    d = dec(value, field)
    if d < 0:
        raise DecodeError(f"{field} is negative: {value!r}")
    return d


def _opt_dec(value: str | None, field: str) -> Decimal | None:
    """`None` and `""` mean absent."""
    return dec(value, field) if value else None


def _epoch_int(value: str | int, field: str) -> int | None:
    if isinstance(value, int):
        number = value
    else:
        text = value.strip()
        if not text:
            return None
        if not (text.isascii() and text.isdigit() and len(text) <= _MAX_EPOCH_DIGITS):
            raise DecodeError(f"{field} is not an integer epoch: {value!r}")
        number = int(text)
    if number < 0:
        raise DecodeError(f"{field} is negative: {value!r}")
    return number


def epoch_ms(value: str | int, field: str = "timestamp") -> int | None:
    """Milliseconds; a seconds value (< 10**11) is scaled up. `""` -> None."""
    number = _epoch_int(value, field)
    if number is None:
        return None
    return number * 1000 if number < _SECONDS_LIMIT else number


def epoch_s(value: str | int, field: str = "timestamp") -> int | None:
    """Seconds; `""` and `"0"` (= none, e.g. `expiration`) -> None; ms values are scaled down."""
    number = _epoch_int(value, field)
    if not number:
        return None
    return number if number < _SECONDS_LIMIT else number // 1000


def _required_ms(value: str, field: str = "timestamp") -> int:
    ms = epoch_ms(value, field)
    if ms is None:
        raise DecodeError(f"{field} is missing")
    return ms


# --- market channel ---------------------------------------------------------------------------


def _levels(levels: Sequence[PriceLevelWire], *, descending: bool) -> tuple[PriceLevel, ...]:
    # Hot: a snapshot has up to a few hundred levels, so parse inline and validate in one pass.
    try:
        parsed = [(Decimal(lv.price), Decimal(lv.size)) for lv in levels]
        # NaN compares as an InvalidOperation signal; infinities and negatives fail the range.
        valid = all(_ZERO <= p < _INF and _ZERO <= q < _INF for p, q in parsed)
    except (InvalidOperation, ValueError):
        valid = False
    if not valid:
        for lv in levels:  # slow path only to name the offending value
            _non_negative(lv.price, "price")
            _non_negative(lv.size, "size")
        raise DecodeError("invalid book level")  # pragma: no cover - the loop raises first
    # Sort rather than reverse: the venue sends best-last, the 2026 OpenAPI text says best-first.
    # timsort makes either input order O(n).
    parsed.sort(key=_price_key, reverse=descending)
    return tuple(level for level in parsed if level[1])


def book_snapshot(ev: BookEvent | OrderBookSummary) -> BookSnapshot:
    """WS `book` or REST `/book` -> best-first snapshot; zero-size levels are dropped."""
    return BookSnapshot(
        asset_id=ev.asset_id,
        market=ev.market,
        bids=_levels(ev.bids, descending=True),
        asks=_levels(ev.asks, descending=False),
        timestamp_ms=epoch_ms(ev.timestamp),
        hash=ev.hash,
        tick_size=_opt_dec(ev.tick_size, "tick_size"),
        min_order_size=_opt_dec(ev.min_order_size, "min_order_size"),
        neg_risk=ev.neg_risk,
        last_trade_price=_opt_dec(ev.last_trade_price, "last_trade_price"),
    )


def price_change(ev: PriceChangeEvent) -> PriceChange:
    ts = _required_ms(ev.timestamp)
    changes = tuple(
        PriceLevelChange(
            asset_id=c.asset_id,
            market=ev.market,
            side=c.side,
            price=_non_negative(c.price, "price"),
            size=_non_negative(c.size, "size"),
            best_bid=_opt_dec(c.best_bid, "best_bid"),
            best_ask=_opt_dec(c.best_ask, "best_ask"),
            hash=c.hash,
            timestamp_ms=ts,
        )
        for c in ev.price_changes
    )
    return PriceChange(market=ev.market, changes=changes, timestamp_ms=ts)


def last_trade(ev: LastTradePriceEvent) -> LastTrade:
    return LastTrade(
        asset_id=ev.asset_id,
        market=ev.market,
        price=_non_negative(ev.price, "price"),
        size=_opt_dec(ev.size, "size"),
        side=ev.side,
        fee_rate_bps=_opt_dec(ev.fee_rate_bps, "fee_rate_bps"),
        timestamp_ms=_required_ms(ev.timestamp),
        transaction_hash=ev.transaction_hash or None,
    )


def tick_size_change(ev: TickSizeChangeEvent) -> TickSizeChange:
    return TickSizeChange(
        asset_id=ev.asset_id,
        market=ev.market,
        old_tick_size=_opt_dec(ev.old_tick_size, "old_tick_size"),
        new_tick_size=dec(ev.new_tick_size, "new_tick_size"),
        timestamp_ms=_required_ms(ev.timestamp),
    )


def best_bid_ask(ev: BestBidAskEvent) -> BestBidAsk:
    return BestBidAsk(
        asset_id=ev.asset_id,
        market=ev.market,
        best_bid=_opt_dec(ev.best_bid, "best_bid"),
        best_ask=_opt_dec(ev.best_ask, "best_ask"),
        spread=_opt_dec(ev.spread, "spread"),
        timestamp_ms=_required_ms(ev.timestamp),
    )


def new_market(ev: NewMarketEvent) -> NewMarket:
    return NewMarket(
        market=ev.market,
        id=ev.id,
        question=ev.question,
        slug=ev.slug,
        asset_ids=ev.assets_ids or ev.clob_token_ids or (),
        outcomes=ev.outcomes,
        tick_size=_opt_dec(ev.order_price_min_tick_size, "order_price_min_tick_size"),
        active=ev.active,
        tags=ev.tags or (),
        timestamp_ms=_required_ms(ev.timestamp),
    )


def market_resolved(ev: MarketResolvedEvent) -> MarketResolved:
    return MarketResolved(
        market=ev.market,
        id=ev.id,
        asset_ids=ev.assets_ids,
        winning_asset_id=ev.winning_asset_id,
        winning_outcome=ev.winning_outcome,
        timestamp_ms=_required_ms(ev.timestamp),
    )


_MARKET_MAPPERS: dict[type[Any], Callable[[Any], MarketDataEvent]] = {
    BookEvent: book_snapshot,
    PriceChangeEvent: price_change,
    LastTradePriceEvent: last_trade,
    TickSizeChangeEvent: tick_size_change,
    BestBidAskEvent: best_bid_ask,
    NewMarketEvent: new_market,
    MarketResolvedEvent: market_resolved,
}


def market_event_to_core(ev: MarketEvent) -> MarketDataEvent:
    return _MARKET_MAPPERS[type(ev)](ev)


# --- orders and trades ------------------------------------------------------------------------


def order_update(ev: OrderEvent | OpenOrder) -> OrderUpdate:
    """User `order` event or REST open order (which has no event type or ms timestamp)."""
    return OrderUpdate(
        order_id=ev.id,
        status=ev.status,
        event_type=ev.type if isinstance(ev, OrderEvent) else None,
        market=ev.market,
        asset_id=ev.asset_id,
        side=ev.side,
        price=_non_negative(ev.price, "price"),
        original_size=_non_negative(ev.original_size or "0", "original_size"),
        # A FOK kill can arrive with an empty size_matched.
        size_matched=_non_negative(ev.size_matched or "0", "size_matched"),
        outcome=ev.outcome,
        owner=ev.owner,
        maker_address=ev.maker_address,
        order_type=ev.order_type,
        expiration_s=epoch_s(ev.expiration, "expiration"),
        created_at_s=epoch_s(ev.created_at, "created_at"),
        timestamp_ms=epoch_ms(ev.timestamp) if isinstance(ev, OrderEvent) else None,
        associate_trades=ev.associate_trades or (),
        status_reason=ev.status_reason,
    )


def maker_fill(leg: MakerOrder) -> MakerFill:
    return MakerFill(
        order_id=leg.order_id,
        owner=leg.owner,
        maker_address=leg.maker_address,
        matched_amount=_non_negative(leg.matched_amount, "matched_amount"),
        price=_non_negative(leg.price, "price"),
        fee_rate_bps=_opt_dec(leg.fee_rate_bps, "fee_rate_bps"),
        asset_id=leg.asset_id,
        outcome=leg.outcome,
        side=leg.side,
    )


def trade_update(ev: TradeEvent | Trade) -> TradeUpdate:
    """User `trade` event or REST trade; the same trade id recurs once per status."""
    return TradeUpdate(
        trade_id=ev.id,
        status=ev.status,
        taker_order_id=ev.taker_order_id,
        market=ev.market,
        asset_id=ev.asset_id,
        side=ev.side,
        price=_non_negative(ev.price, "price"),
        size=_non_negative(ev.size, "size"),
        fee_rate_bps=_opt_dec(ev.fee_rate_bps, "fee_rate_bps"),
        outcome=ev.outcome,
        owner=ev.owner,
        maker_address=ev.maker_address,
        trader_side=ev.trader_side,
        bucket_index=ev.bucket_index,
        match_time_s=epoch_s(ev.match_time, "match_time"),
        last_update_s=epoch_s(ev.last_update, "last_update"),
        timestamp_ms=epoch_ms(ev.timestamp) if isinstance(ev, TradeEvent) else None,
        transaction_hash=ev.transaction_hash or None,
        maker_fills=tuple(maker_fill(leg) for leg in ev.maker_orders),
        status_reason=ev.status_reason,
    )


def user_event_to_core(ev: UserEvent) -> AccountEvent:
    if isinstance(ev, OrderEvent):
        return order_update(ev)
    return trade_update(ev)
