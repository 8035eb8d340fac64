"""Market catalogue: what is tradeable, merged from Gamma (discovery: question, slug, event,
volume, liquidity, fees) and the CLOB `/markets` pages (trading parameters: tokens, tick, minimum
size, neg-risk, accepting orders, rewards).

Gamma's double-encoded lists (`clobTokenIds`, `outcomes`) are decoded by the wire layer. The CLOB
wins for trading parameters when both speak; a later `tick_size_change` on the WS overrides
both until the next refresh says otherwise. Entries are never deleted: a market that closes is
updated (`closed=True`) when a source says so. `refresh()` returns the markets seen for the
first time and calls the `on_new` listeners with them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from polymarket_bot.core.clock import Clock, LiveClock
from polymarket_bot.core.errors import InvalidValueError
from polymarket_bot.core.intents import MarketInfo
from polymarket_bot.core.types import TickSize
from polymarket_bot.protocol.errors import DecodeError
from polymarket_bot.protocol.wire_gamma import GammaMarket
from polymarket_bot.protocol.wire_rest import Market
from polymarket_bot.transport.errors import TransportError
from polymarket_bot.transport.gamma import GammaClient, GammaFilter
from polymarket_bot.transport.rest import ClobRestClient

__all__ = ["Catalogue", "CatalogueMarket", "parse_end_date"]

_log = logging.getLogger(__name__)
_ZERO = Decimal(0)
_DEFAULT_MIN_SIZE = Decimal(5)


def parse_end_date(text: str | None) -> float | None:
    """ISO-8601 date or date-time (`2026-12-31T00:00:00Z`, `2026-12-31`) -> Unix seconds (UTC
    when no zone is given); None when absent or unreadable."""
    if not text:
        return None
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = dt.datetime.combine(dt.date.fromisoformat(value[:10]), dt.time())
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.timestamp()


def _tick(value: Decimal | None) -> TickSize | None:
    if value is None:
        return None
    try:
        return TickSize.parse(value)
    except InvalidValueError:
        return None


@dataclass(frozen=True, slots=True)
class CatalogueMarket:
    """One market as the catalogue knows it (binary markets have two tokens: Yes, No)."""

    condition_id: str
    token_ids: tuple[str, ...]
    outcomes: tuple[str, ...] = ()
    question: str = ""
    slug: str = ""
    gamma_id: str = ""
    event_id: str = ""
    tick_size: TickSize = TickSize.T0_01
    min_order_size: Decimal = _DEFAULT_MIN_SIZE
    neg_risk: bool = False
    neg_risk_market_id: str = ""
    end_date: str | None = None
    """As the venue wrote it (ISO-8601)."""
    end_date_s: float | None = None
    active: bool = True
    closed: bool = False
    accepting_orders: bool = True
    volume: Decimal = _ZERO
    volume_24h: Decimal = _ZERO
    liquidity: Decimal = _ZERO
    fee_rate: Decimal = _ZERO
    """Taker fee rate (Gamma `feeSchedule.rate`): fee = shares x rate x p x (1 - p)."""
    rewards_min_size: Decimal | None = None
    rewards_max_spread: Decimal | None = None
    sources: frozenset[str] = field(default_factory=frozenset)
    """Which of `gamma`, `clob` described it."""

    @property
    def tradeable(self) -> bool:
        return self.active and not self.closed and self.accepting_orders and bool(self.token_ids)

    def outcome_of(self, token_id: str) -> str | None:
        try:
            index = self.token_ids.index(token_id)
        except ValueError:
            return None
        return self.outcomes[index] if index < len(self.outcomes) else None

    def to_market_info(self, name: str = "") -> MarketInfo | None:
        """The strategies' `MarketInfo` (binary markets only: Yes = first token)."""
        if len(self.token_ids) != 2:
            return None
        return MarketInfo(
            condition_id=self.condition_id,
            yes_token=self.token_ids[0],
            no_token=self.token_ids[1],
            tick_size=self.tick_size,
            min_order_size=self.min_order_size,
            neg_risk=self.neg_risk,
            event_id=self.event_id,
            end_date_s=self.end_date_s,
            name=name,
            fee_rate=self.fee_rate,
        )


def _from_gamma(g: GammaMarket) -> CatalogueMarket | None:
    tokens = tuple(t for t in g.token_ids if t)
    if not tokens or g.enableOrderBook is False:
        return None
    schedule = g.feeSchedule
    return CatalogueMarket(
        condition_id=g.conditionId,
        token_ids=tokens,
        outcomes=tuple(g.outcomes or ()),
        question=g.question,
        slug=g.slug,
        gamma_id=g.id or "",
        event_id=(g.events[0].id if g.events else ""),
        tick_size=_tick(g.orderPriceMinTickSize) or TickSize.T0_01,
        min_order_size=g.orderMinSize if g.orderMinSize is not None else _DEFAULT_MIN_SIZE,
        neg_risk=bool(g.negRisk),
        neg_risk_market_id=g.negRiskMarketID or "",
        end_date=g.endDate or g.endDateIso,
        end_date_s=parse_end_date(g.endDate or g.endDateIso),
        active=g.active is not False,
        closed=bool(g.closed),
        accepting_orders=g.acceptingOrders is not False,
        volume=g.volumeNum if g.volumeNum is not None else (g.volume or _ZERO),
        volume_24h=g.volume24hr or _ZERO,
        liquidity=g.liquidityNum if g.liquidityNum is not None else (g.liquidity or _ZERO),
        fee_rate=(schedule.rate if schedule is not None and schedule.rate is not None else _ZERO),
        sources=frozenset({"gamma"}),
    )


def _merge_clob(old: CatalogueMarket | None, m: Market) -> CatalogueMarket | None:
    tokens = tuple(t.token_id for t in m.tokens if t.token_id)
    if not tokens:
        return old  # hydration window: a new market briefly lists empty token ids
    base = old or CatalogueMarket(condition_id=m.condition_id, token_ids=tokens)
    rewards = m.rewards
    return replace(
        base,
        token_ids=tokens,
        outcomes=tuple(t.outcome for t in m.tokens) or base.outcomes,
        question=base.question or m.question,
        slug=base.slug or m.market_slug,
        tick_size=_tick(m.minimum_tick_size) or base.tick_size,
        min_order_size=m.minimum_order_size,
        neg_risk=m.neg_risk,
        neg_risk_market_id=m.neg_risk_market_id or base.neg_risk_market_id,
        end_date=base.end_date or m.end_date_iso,
        end_date_s=base.end_date_s or parse_end_date(m.end_date_iso),
        active=m.active,
        closed=m.closed,
        accepting_orders=m.accepting_orders,
        rewards_min_size=rewards.min_size if rewards is not None else base.rewards_min_size,
        rewards_max_spread=rewards.max_spread if rewards is not None else base.rewards_max_spread,
        sources=base.sources | {"clob"},
    )


class Catalogue:
    """Markets by condition id and by token id. `await refresh()` reads both sources."""

    def __init__(
        self,
        *,
        gamma: GammaClient | None,
        rest: ClobRestClient | None,
        clock: Clock | None = None,
        gamma_filter: GammaFilter | None = None,
        gamma_page_size: int = 100,
        clob_max_pages: int | None = None,
    ) -> None:
        self.gamma = gamma
        self.rest = rest
        self._clock = clock or LiveClock()
        self.gamma_filter = gamma_filter or GammaFilter(active=True, closed=False)
        self.gamma_page_size = gamma_page_size
        self.clob_max_pages = clob_max_pages
        self._markets: dict[str, CatalogueMarket] = {}
        self._by_token: dict[str, str] = {}
        self._tick_overrides: dict[str, TickSize] = {}
        self.on_new: list[Callable[[list[CatalogueMarket]], None]] = []
        self.version = 0
        self.refreshes = 0
        self.errors = 0
        self.last_error: str | None = None
        self.last_refresh_epoch: float | None = None
        self.last_counts: dict[str, int] = {}

    # --- reads ----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._markets)

    def __iter__(self) -> Iterator[CatalogueMarket]:
        return iter(list(self._markets.values()))

    def market(self, condition_id: str) -> CatalogueMarket | None:
        return self._markets.get(condition_id)

    def by_token(self, token_id: str) -> CatalogueMarket | None:
        cid = self._by_token.get(token_id)
        return None if cid is None else self._markets.get(cid)

    def tradeable(self) -> list[CatalogueMarket]:
        return [m for m in self._markets.values() if m.tradeable]

    # --- writes ---------------------------------------------------------------------------

    def set_tick(self, token_id: str, tick: TickSize) -> None:
        """A WS `tick_size_change` for one of the market's tokens."""
        market = self.by_token(token_id)
        if market is None or market.tick_size is tick:
            return
        self._tick_overrides[market.condition_id] = tick
        self._put(replace(market, tick_size=tick))

    def upsert(self, market: CatalogueMarket) -> bool:
        """Add or replace one market; True if it is new."""
        new = market.condition_id not in self._markets
        self._put(market)
        return new

    def _put(self, market: CatalogueMarket) -> None:
        self._markets[market.condition_id] = market
        for token in market.token_ids:
            self._by_token[token] = market.condition_id
        self.version += 1

    # --- refresh --------------------------------------------------------------------------

    async def refresh(self) -> list[CatalogueMarket]:
        """Read Gamma then the CLOB pages; returns the new markets. A failing source is
        counted and skipped (the other still refreshes); raises only if both fail."""
        gathered: dict[str, CatalogueMarket] = {}
        failures: list[str] = []
        counts = {"gamma": 0, "clob": 0}
        if self.gamma is not None:
            try:
                async for page in self.gamma.iter_markets_keyset(
                    self.gamma_filter, page_size=self.gamma_page_size
                ):
                    for g in page.markets:
                        entry = _from_gamma(g)
                        if entry is not None:
                            gathered[entry.condition_id] = entry
                            counts["gamma"] += 1
            except (TransportError, DecodeError) as exc:
                failures.append(f"gamma: {exc}")
        if self.rest is not None:
            try:
                async for cpage in self.rest.iter_market_pages(max_pages=self.clob_max_pages):
                    for m in cpage.data:
                        known = gathered.get(m.condition_id) or self._markets.get(m.condition_id)
                        if (m.closed or not m.active) and known is None:
                            continue  # history: the CLOB lists every market ever made
                        merged = _merge_clob(known, m)
                        if merged is not None:
                            gathered[m.condition_id] = merged
                            counts["clob"] += 1
            except (TransportError, DecodeError) as exc:
                failures.append(f"clob: {exc}")
        sources = (self.gamma is not None) + (self.rest is not None)
        if failures:
            self.errors += len(failures)
            self.last_error = "; ".join(failures)[:500]
            _log.warning("catalogue refresh: %s", self.last_error)
            if len(failures) >= sources:
                raise RuntimeError(f"catalogue refresh failed: {self.last_error}")
        new: list[CatalogueMarket] = []
        for cid, entry in gathered.items():
            old = self._markets.get(cid)
            if "clob" in entry.sources:
                self._tick_overrides.pop(cid, None)  # the CLOB's word is newer than the WS's
            elif old is not None and "clob" in old.sources:
                entry = _keep_clob_fields(entry, old)
            tick = self._tick_overrides.get(cid)
            if tick is not None:
                entry = replace(entry, tick_size=tick)
            if self.upsert(entry):
                new.append(entry)
        self.refreshes += 1
        self.last_counts = counts
        self.last_refresh_epoch = self._clock.time()
        if new:
            for listener in list(self.on_new):
                try:
                    listener(new)
                except Exception:
                    _log.exception("catalogue on_new listener failed")
        return new

    def status(self) -> dict[str, Any]:
        return {
            "markets": len(self._markets),
            "tradeable": sum(1 for m in self._markets.values() if m.tradeable),
            "tokens": len(self._by_token),
            "refreshes": self.refreshes,
            "errors": self.errors,
            "last_error": self.last_error,
            "last_refresh_epoch": self.last_refresh_epoch,
            "last_counts": dict(self.last_counts),
        }


def _keep_clob_fields(entry: CatalogueMarket, old: CatalogueMarket) -> CatalogueMarket:
    """A Gamma-only refresh (CLOB unreachable) keeps the trading parameters the CLOB gave."""
    return replace(
        entry,
        tick_size=old.tick_size,
        min_order_size=old.min_order_size,
        neg_risk=old.neg_risk,
        accepting_orders=old.accepting_orders,
        rewards_min_size=old.rewards_min_size,
        rewards_max_spread=old.rewards_max_spread,
        sources=entry.sources | {"clob"},
    )
