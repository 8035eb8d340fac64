"""Test helpers for the simulated exchange: realistic ids and orders built from price/size."""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from polymarket_bot.core.types import OrderType, Side, TickSize, to_base_units
from polymarket_bot.sim.exchange import Exchange, SimConfig
from polymarket_bot.sim.fees import FeeSchedule
from polymarket_bot.sim.model import MarketSpec, OrderRequest, PlaceResult

T0 = 1_700_000_000.0
UNIT = 10**6
CID = "0xdd22472e552920b8438158ea7238bfadfa4f736aa4cee91a6b86c39ead110917"
YES = "21742633143463906290569050155826241533067272736897614950488156847949938836455"
NO = "48331043336612883890938759509493159234755048973500640148014422747788308965732"


def token_id(n: int) -> str:
    """A 77-digit token id (small ids look like V3 position ids to the SDKs)."""
    return str(10**76 + n * 7919 + 12345)


def condition_id(n: int) -> str:
    return "0x" + hashlib.sha256(f"cid{n}".encode()).hexdigest()


@dataclass(frozen=True)
class Trader:
    owner: str
    address: str


ALICE = Trader("00000000-0000-4000-8000-00000000a11c", "0xA11CE00000000000000000000000000000000001")
BOB = Trader("00000000-0000-4000-8000-000000000b0b", "0xB0B0000000000000000000000000000000000002")
CAROL = Trader("00000000-0000-4000-8000-0000000ca201", "0xCA20100000000000000000000000000000000003")


def amounts(side: Side, price: str, size: str) -> tuple[int, int]:
    """(makerAmount, takerAmount) of a limit order, exact as the SDKs build them (§6.4)."""
    shares = to_base_units(Decimal(size))
    usd = to_base_units(Decimal(size) * Decimal(price))
    return (usd, shares) if side is Side.BUY else (shares, usd)


@dataclass
class Kit:
    ex: Exchange
    now: float = T0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_id(self) -> str:
        return "0x" + hashlib.sha256(f"order{next(self._ids)}".encode()).hexdigest()

    def order(
        self,
        trader: Trader,
        side: Side,
        price: str,
        size: str,
        *,
        token: str = YES,
        otype: OrderType = OrderType.GTC,
        expiration: int = 0,
        post_only: bool = False,
        order_id: str | None = None,
    ) -> OrderRequest:
        maker, taker = amounts(side, price, size)
        return OrderRequest(
            order_id=order_id or self.next_id(),
            owner=trader.owner,
            maker_address=trader.address,
            token_id=token,
            side=side,
            maker_amount=maker,
            taker_amount=taker,
            order_type=otype,
            expiration=expiration,
            post_only=post_only,
        )

    def buy(self, trader: Trader, price: str, size: str, **kw: Any) -> PlaceResult:
        return self.ex.place_order(self.order(trader, Side.BUY, price, size, **kw), self.now)

    def sell(self, trader: Trader, price: str, size: str, **kw: Any) -> PlaceResult:
        return self.ex.place_order(self.order(trader, Side.SELL, price, size, **kw), self.now)

    def pusd(self, trader: Trader) -> int:
        return self.ex.account(trader.address).pusd

    def tokens(self, trader: Trader, token: str = YES) -> int:
        return self.ex.account(trader.address).token_balance(token)

    def levels(self, token: str = YES) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        snap = self.ex.book(token)
        return list(snap.bids), list(snap.asks)


def make_kit(
    *,
    fees: FeeSchedule | None = None,
    tick: TickSize = TickSize.T0_01,
    config: SimConfig | None = None,
    neg_risk_event: str | None = None,
) -> Kit:
    ex = Exchange(config or SimConfig(initial_pusd=1_000 * UNIT))
    ex.add_market(
        MarketSpec(
            condition_id=CID,
            yes_token_id=YES,
            no_token_id=NO,
            tick_size=tick,
            fees=fees or FeeSchedule(),
            neg_risk=neg_risk_event is not None,
            neg_risk_event_id=neg_risk_event,
        )
    )
    return Kit(ex)
