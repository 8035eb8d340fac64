"""msgspec structs for the Gamma API (market discovery) and the Data API (ref §8, §9).

Gamma quirks handled here:
- `outcomes`, `outcomePrices`, `clobTokenIds`, `umaResolutionStatuses` are JSON arrays *encoded as
  strings*; some payloads send real arrays. Both decode to `tuple[str, ...]` (`JsonStrList`,
  converted by `gamma_dec_hook`, which the REST decoder passes to msgspec).
- Numbers are mixed (`volume` a string, `volumeNum` a number): every numeric field is `Decimal`,
  which msgspec fills exactly from either spelling.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from polymarket_bot.core.types import Side
from polymarket_bot.protocol.wire import WireStruct

_LENIENT_JSON = msgspec.json.Decoder(float_hook=str)
"""Inner JSON of a double-encoded list; floats keep their exact text."""


class JsonStrList(tuple[str, ...]):
    """A list of strings that Gamma may send JSON-encoded inside a string (`"[\\"Yes\\", ...]"`).
    Numeric elements (`[0.5, 0.5]`) are kept as their JSON text."""

    __slots__ = ()


def _str_items(items: object) -> JsonStrList:
    if not isinstance(items, list):
        raise ValueError("expected a JSON array")
    out: list[str] = []
    for item in items:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, (int, float, Decimal)) and not isinstance(item, bool):
            out.append(str(item))
        else:
            raise ValueError(f"unexpected list element {item!r}")
    return JsonStrList(out)


def gamma_dec_hook(tp: type[Any], obj: Any) -> Any:
    """msgspec `dec_hook`: decode `JsonStrList` from a JSON-encoded string or a real array."""
    if tp is JsonStrList:
        if isinstance(obj, str):
            if not obj.strip():
                return JsonStrList()
            try:
                obj = _LENIENT_JSON.decode(obj)
            except (msgspec.DecodeError, RecursionError) as exc:
                raise ValueError(f"invalid JSON-encoded list: {exc}") from None
        return _str_items(obj)
    raise NotImplementedError(f"no decoder for {tp!r}")


class GammaFeeSchedule(WireStruct, frozen=True, kw_only=True):
    exponent: Decimal | None = None
    rate: Decimal | None = None
    takerOnly: bool | None = None
    rebateRate: Decimal | None = None


class GammaMarket(WireStruct, frozen=True, kw_only=True):
    """Gamma market (camelCase). Only `conditionId` is required: listings embed sparse markets."""

    id: str | None = None
    conditionId: str
    questionID: str | None = None
    questionId: str | None = None
    question: str = ""
    slug: str = ""
    description: str = ""
    resolutionSource: str = ""
    outcomes: JsonStrList | None = None
    outcomePrices: JsonStrList | None = None
    clobTokenIds: JsonStrList | None = None
    umaResolutionStatuses: JsonStrList | None = None
    volume: Decimal | None = None
    volumeNum: Decimal | None = None
    volume24hr: Decimal | None = None
    liquidity: Decimal | None = None
    liquidityNum: Decimal | None = None
    active: bool | None = None
    closed: bool | None = None
    archived: bool | None = None
    acceptingOrders: bool | None = None
    enableOrderBook: bool | None = None
    startDate: str | None = None
    endDate: str | None = None
    endDateIso: str | None = None
    orderPriceMinTickSize: Decimal | None = None
    orderMinSize: Decimal | None = None
    negRisk: bool | None = None
    negRiskMarketID: str | None = None
    negRiskOther: bool | None = None
    makerBaseFee: Decimal | None = None
    takerBaseFee: Decimal | None = None
    feesEnabled: bool | None = None
    feeType: str | None = None
    feeSchedule: GammaFeeSchedule | None = None
    bestBid: Decimal | None = None
    bestAsk: Decimal | None = None
    spread: Decimal | None = None
    lastTradePrice: Decimal | None = None
    groupItemTitle: str | None = None
    events: tuple[GammaEvent, ...] | None = None

    @property
    def token_ids(self) -> tuple[str, ...]:
        return tuple(self.clobTokenIds or ())

    @property
    def question_id(self) -> str | None:
        return self.questionID if self.questionID is not None else self.questionId


class GammaEvent(WireStruct, frozen=True, kw_only=True):
    """Gamma event; embeds its markets."""

    id: str
    ticker: str = ""
    slug: str = ""
    title: str = ""
    description: str = ""
    startDate: str | None = None
    endDate: str | None = None
    active: bool | None = None
    closed: bool | None = None
    archived: bool | None = None
    liquidity: Decimal | None = None
    volume: Decimal | None = None
    openInterest: Decimal | None = None
    negRisk: bool | None = None
    negRiskMarketID: str | None = None
    enableNegRisk: bool | None = None
    negRiskAugmented: bool | None = None
    markets: tuple[GammaMarket, ...] = ()


class GammaMarketsPage(WireStruct, frozen=True, kw_only=True):
    """`GET /markets/keyset`; `next_cursor` absent/null on the last page."""

    markets: tuple[GammaMarket, ...]
    next_cursor: str | None = None


class GammaEventsPage(WireStruct, frozen=True, kw_only=True):
    events: tuple[GammaEvent, ...]
    next_cursor: str | None = None


# --- Data API ---------------------------------------------------------------------------------


class DataTrade(WireStruct, frozen=True, kw_only=True):
    """Data API `GET /trades` row (JSON numbers; `timestamp` Unix seconds)."""

    proxyWallet: str = ""
    side: Side
    asset: str
    conditionId: str
    size: Decimal
    price: Decimal
    timestamp: int
    title: str = ""
    slug: str = ""
    icon: str = ""
    eventSlug: str = ""
    outcome: str = ""
    outcomeIndex: int | None = None
    name: str = ""
    pseudonym: str = ""
    bio: str = ""
    profileImage: str = ""
    profileImageOptimized: str = ""
    transactionHash: str = ""


class DataPosition(WireStruct, frozen=True, kw_only=True):
    """Data API `GET /positions` row."""

    proxyWallet: str = ""
    asset: str
    conditionId: str
    size: Decimal
    avgPrice: Decimal | None = None
    initialValue: Decimal | None = None
    currentValue: Decimal | None = None
    cashPnl: Decimal | None = None
    percentPnl: Decimal | None = None
    totalBought: Decimal | None = None
    realizedPnl: Decimal | None = None
    percentRealizedPnl: Decimal | None = None
    curPrice: Decimal | None = None
    redeemable: bool = False
    mergeable: bool = False
    title: str = ""
    slug: str = ""
    eventSlug: str = ""
    outcome: str = ""
    outcomeIndex: int | None = None
    oppositeOutcome: str = ""
    oppositeAsset: str = ""
    endDate: str | None = None
    negativeRisk: bool = False
