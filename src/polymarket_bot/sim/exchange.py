"""The simulated exchange: markets, books, accounts, trade lifecycle and events, no I/O.

Every mutating call takes `now` (Unix seconds, float) and appends events to a queue the server
drains with `drain_events()`. Nothing here reads a clock or touches a socket.

Money rules (all integer base units, 10**-6):

* Price of an order = makerAmount/takerAmount (BUY) or takerAmount/makerAmount (SELL), snapped to
  the nearest tick; an off-grid price is accepted only when the SDK's amount truncation explains
  it (market BUYs: $25 @ 0.55 -> 45.4545 shares), i.e. |pUSD x 10**6 - shares x grid| is below
  one amount quantum of the tick (§6.4) times 10**6; otherwise the tick-size rejection.
* Executions happen at the resting order's price. Per fill of q shares at maker price P, the
  pUSD leg is floor(q x P / 10**6): the buyer pays it and the seller gets it (same token); in a
  mint (BUY vs BUY across YES/NO) the maker pays floor(q x P) and the taker q - that; in a merge
  (SELL vs SELL) the maker gets floor(q x P) and the taker q - that.
* Reservations: a resting BUY holds ceil(remaining x r) pUSD where r = max(limit, grid price); a
  resting SELL holds its remaining shares. The taker part is paid at once, so a new order needs
  available >= max(makerAmount, cost of its immediate fills + reservation of its rest) + taker
  fees (BUY) or available shares >= its size (SELL).
* Taker fees follow `FeeSchedule` per trade (one trade per execution price): a BUY taker pays
  them on top of the price from its pUSD balance; a SELL taker pays them out of the proceeds
  (capped at the proceeds). They go to the fee account. Makers pay nothing.
* A FAILED trade reverses exactly the balance deltas it applied (pUSD, tokens, fee, complete
  sets), but not the orders: filled sizes stay filled and no order is restored. Balances may then
  go negative if the proceeds were already spent; such an account cannot place new orders until
  topped up.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

from polymarket_bot.core.errors import InvalidValueError
from polymarket_bot.core.types import OrderType, Side, TickSize
from polymarket_bot.sim.accounts import FEE_ADDRESS, Account, Accounts
from polymarket_bot.sim.matching import (
    AMOUNT_DECIMALS,
    TICK_UNITS,
    Bucket,
    Leg,
    MarketState,
    grid_price,
    plan_legs,
    price_buckets,
)
from polymarket_bot.sim.model import (
    CANCELED,
    CANCELED_MARKET_RESOLVED,
    LIVE,
    MATCHED,
    BalanceDelta,
    BookSnapshot,
    CancelResult,
    HeartbeatMismatchError,
    LastTradePriceEvent,
    MakerLeg,
    MarketResolvedEvent,
    MarketSpec,
    OrderEvent,
    OrderRejectedError,
    OrderRequest,
    PlaceResult,
    PriceChangeEvent,
    SimEvent,
    SimOrder,
    TickSizeChangeEvent,
    Trade,
    TradeEvent,
    TradeStatus,
    fmt_units,
)

__all__ = ["MSG", "Exchange", "MarketState", "SimConfig", "deterministic_ids"]

UNIT: Final = 10**6


class MSG:
    """Venue rejection texts (§6.7) and cancel reasons (§5.7)."""

    FOK: Final = "order couldn't be fully filled. FOK orders are fully filled or killed."
    FAK: Final = (
        "no orders found to match with FAK order. "
        "FAK orders are partially filled or killed if no match is found."
    )
    POST_ONLY_TYPE: Final = "invalid post-only order: only GTC and GTD order types are allowed"
    POST_ONLY_CROSS: Final = "invalid post-only order: order crosses book"
    EXPIRATION: Final = "invalid expiration"
    NOT_READY: Final = "the market is not yet ready to process new orders"
    BAD_TOKEN: Final = "Invalid token id"
    BAD_PAYLOAD: Final = "Invalid order payload"
    NOT_FOUND: Final = "Order not found"
    ALREADY_DONE: Final = "already canceled or matched"


@dataclass(frozen=True, slots=True)
class SimConfig:
    initial_pusd: int = 10_000 * UNIT
    """pUSD (base units) credited to an address the first time it is seen."""
    mined_delay_s: float = 2.0
    """MATCHED -> MINED (or -> RETRYING for a failing trade)."""
    confirm_delay_s: float = 4.0
    """MINED -> CONFIRMED."""
    retry_delay_s: float = 6.0
    """RETRYING -> FAILED."""
    failure_rate: float = 0.0
    """Share of trades that go RETRYING -> FAILED (drawn from the exchange's seeded RNG)."""
    heartbeat_timeout_s: float = 10.0
    heartbeat_buffer_s: float = 5.0
    gtd_min_lifetime_s: int = 180
    gtd_security_buffer_s: int = 60
    seed: int = 0
    fee_address: str = FEE_ADDRESS


def deterministic_ids(seed: int) -> Callable[[], str]:
    """UUID-shaped ids from a seeded counter (same seed -> same ids)."""
    counter = 0

    def next_id() -> str:
        nonlocal counter
        counter += 1
        h = bytearray(hashlib.sha256(f"sim:{seed}:{counter}".encode()).digest()[:16])
        h[6] = (h[6] & 0x0F) | 0x40
        h[8] = (h[8] & 0x3F) | 0x80
        x = h.hex()
        return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"

    return next_id


def _ms(now: float) -> int:
    return round(now * 1000)


class Exchange:
    """Facade the REST/WS server calls. See the module docstring for the money rules."""

    def __init__(
        self,
        config: SimConfig | None = None,
        *,
        rng: random.Random | None = None,
        id_factory: Callable[[], str] | None = None,
    ) -> None:
        self.config = config or SimConfig()
        self.accounts = Accounts(self.config.initial_pusd, self.config.fee_address)
        self._rng = rng or random.Random(self.config.seed)
        self._new_id = id_factory or deterministic_ids(self.config.seed)
        self._markets: dict[str, MarketState] = {}
        self._by_token: dict[str, MarketState] = {}
        self._orders: dict[str, SimOrder] = {}
        self._live_by_owner: dict[str, dict[str, SimOrder]] = {}
        self._trades: dict[str, Trade] = {}
        self._trades_by_owner: dict[str, list[Trade]] = {}
        self._pending: dict[str, Trade] = {}
        self._trade_timers: list[tuple[float, int, str]] = []
        self._gtd_timers: list[tuple[float, int, str]] = []
        self._heartbeats: dict[str, tuple[str, float]] = {}
        self._events: list[SimEvent] = []
        self._seq = 0

    # --- events ---------------------------------------------------------------------------

    def drain_events(self) -> list[SimEvent]:
        """All events since the last call, in emission order."""
        events, self._events = self._events, []
        return events

    # --- markets --------------------------------------------------------------------------

    def add_market(self, spec: MarketSpec) -> MarketState:
        if spec.condition_id in self._markets:
            raise InvalidValueError(f"market {spec.condition_id} exists")
        if (
            spec.yes_token_id == spec.no_token_id
            or {
                spec.yes_token_id,
                spec.no_token_id,
            }
            & self._by_token.keys()
        ):
            raise InvalidValueError("token ids must be distinct and new")
        market = MarketState(spec)
        self._markets[spec.condition_id] = market
        self._by_token[spec.yes_token_id] = market
        self._by_token[spec.no_token_id] = market
        return market

    def market(self, condition_id: str) -> MarketState | None:
        return self._markets.get(condition_id)

    def market_for_token(self, token_id: str) -> MarketState | None:
        return self._by_token.get(token_id)

    def markets(self) -> list[MarketState]:
        return list(self._markets.values())

    def _market(self, condition_id: str) -> MarketState:
        market = self._markets.get(condition_id)
        if market is None:
            raise InvalidValueError(f"unknown market {condition_id}")
        return market

    def set_accepting_orders(self, condition_id: str, accepting: bool) -> None:
        self._market(condition_id).accepting_orders = accepting

    def set_tick_size(self, condition_id: str, tick_size: TickSize, now: float) -> None:
        """New orders must use the new grid; resting orders keep their prices (as the venue)."""
        market = self._market(condition_id)
        old, market.tick_size = market.tick_size, tick_size
        if old is tick_size:
            return
        for token in market.token_ids:
            self._events.append(
                TickSizeChangeEvent(
                    market.condition_id, token, old.value, tick_size.value, _ms(now)
                )
            )

    # --- accounts -------------------------------------------------------------------------

    def account(self, address: str, owner: str = "") -> Account:
        """The account of `address` (funded with `initial_pusd` on first sight)."""
        return self.accounts.get(address, owner)

    def set_balance(
        self, address: str, *, pusd: int | None = None, tokens: dict[str, int] | None = None
    ) -> Account:
        """Admin: set absolute pUSD / token balances (base units)."""
        return self.accounts.set_balance(address, pusd=pusd, tokens=tokens)

    def split(self, address: str, condition_id: str, amount: int) -> None:
        """Admin/CTF: turn `amount` pUSD of `address` into `amount` YES + `amount` NO."""
        market = self._market(condition_id)
        yes, no = market.token_ids
        self.accounts.split(self.accounts.get(address), condition_id, yes, no, amount)

    # --- placing orders -------------------------------------------------------------------

    def place_order(self, req: OrderRequest, now: float) -> PlaceResult:
        """Validate, match and rest an order; raises `OrderRejectedError` with the venue text
        (nothing changes on a rejection, and the id stays free)."""
        market, price, size = self._check_order(req, now)
        oid = req.order_id
        otype = req.order_type
        is_buy = req.side is Side.BUY
        rests = not otype.is_marketable_only
        is_yes = req.token_id == market.spec.yes_token_id
        is_bid = is_yes == is_buy
        yes_limit = price if is_yes else UNIT - price
        book = market.book
        crosses = book.crosses(is_bid, yes_limit)
        if is_buy and (crosses or not rests) and req.maker_amount < UNIT:
            raise OrderRejectedError(
                f"invalid amount for a marketable BUY order (${fmt_units(req.maker_amount)}), "
                "min size: $1",
                "INVALID_ORDER_MIN_SIZE",
            )
        if req.post_only and crosses:
            raise OrderRejectedError(MSG.POST_ONLY_CROSS, "INVALID_POST_ONLY_ORDER")

        fills, filled = book.plan(is_bid, yes_limit, size) if crosses else ([], 0)
        legs = plan_legs(req.token_id, is_buy, fills)
        buckets = price_buckets(legs, is_buy, market.spec.fees)
        fees = sum(b.fee for b in buckets)
        res_num, res_den = (
            (req.maker_amount, req.taker_amount)
            if req.maker_amount * UNIT >= price * req.taker_amount
            else (price, UNIT)
        )
        rest = size - filled if rests else 0
        acct = self.accounts.get(req.maker_address, req.owner)
        if is_buy:
            cost = -sum(leg.taker_pusd for leg in legs)
            rest_res = -((-rest * res_num) // res_den)
            need = max(req.maker_amount, cost + rest_res) + fees
            if acct.available_pusd < need:
                raise self._balance_error(acct.pusd, acct.pusd_reserved, need)
        elif acct.available_token(req.token_id) < size:
            token_id = req.token_id
            raise self._balance_error(
                acct.token_balance(token_id), acct.token_reserved(token_id), size
            )
        if otype is OrderType.FOK and filled < size:
            raise OrderRejectedError(MSG.FOK, "FOK_ORDER_NOT_FILLED_ERROR")
        if otype is OrderType.FAK and filled == 0:
            raise OrderRejectedError(MSG.FAK, "FAK_ORDER_NOT_FILLED_ERROR")

        # Accepted: from here on nothing raises.
        self._seq += 1
        order = SimOrder(
            order_id=oid,
            owner=req.owner,
            maker_address=req.maker_address,
            market=market.condition_id,
            token_id=req.token_id,
            outcome=market.outcome_of(req.token_id),
            side=req.side,
            is_yes=is_yes,
            price_u=price,
            yes_price_u=yes_limit,
            is_bid=is_bid,
            original_size=size,
            maker_amount=req.maker_amount,
            taker_amount=req.taker_amount,
            order_type=otype,
            expiration=req.expiration,
            post_only=req.post_only,
            created_at=int(now),
            remaining=size,
            res_num=res_num,
            res_den=res_den,
        )
        self._orders[oid] = order
        ts = _ms(now)
        trades = self._settle(market, order, acct, legs, buckets, now) if legs else []
        if rest:
            self._rest(market, order)
        elif not order.remaining:
            order.status = MATCHED
        self._emit_placement(market, order, legs, trades, ts)
        if not filled:
            return PlaceResult(oid, "live", None, None, (), ())
        pusd = abs(sum(leg.taker_pusd for leg in legs))
        making, taking = (pusd, filled) if is_buy else (filled, pusd)
        return PlaceResult(
            oid,
            "matched",
            making,
            taking,
            tuple(t.trade_id for t in trades),
            tuple(t.transaction_hash for t in trades),
        )

    def _emit_placement(
        self, market: MarketState, order: SimOrder, legs: list[Leg], trades: list[Trade], ts: int
    ) -> None:
        """PLACEMENT, trades MATCHED, maker UPDATEs, a FAK's CANCELLATION, then market data."""
        self._emit_order(order, "PLACEMENT", ts)
        for trade in trades:
            self._emit_trade(trade, TradeStatus.MATCHED, trade.match_time, ts)
        for leg in legs:
            self._emit_order(leg.maker, "UPDATE", ts)
        if order.status == LIVE and not order.resting:  # a FAK remainder is killed
            order.status = CANCELED
            self._emit_order(order, "CANCELLATION", ts)
        self._flush_book(market, ts, order.order_id)
        for trade in trades:
            self._events.append(
                LastTradePriceEvent(
                    market.condition_id,
                    trade.asset_id,
                    fmt_units(trade.price_u),
                    trade.side.value,
                    fmt_units(trade.size),
                    str(trade.fee_rate_bps),
                    ts,
                    trade.transaction_hash,
                )
            )

    def _check_order(self, req: OrderRequest, now: float) -> tuple[MarketState, int, int]:
        """Checks that need no book: (market, grid price, size in shares)."""
        market = self._by_token.get(req.token_id)
        if market is None:
            raise OrderRejectedError(MSG.BAD_TOKEN, "INVALID_TOKEN_ID")
        if market.closed or not market.accepting_orders:
            raise OrderRejectedError(MSG.NOT_READY, "MARKET_NOT_READY")
        oid = req.order_id
        if oid in self._orders:
            raise OrderRejectedError(
                f"order {oid} is invalid. Duplicated.", "INVALID_ORDER_DUPLICATED"
            )
        if req.maker_amount <= 0 or req.taker_amount <= 0:
            raise OrderRejectedError(MSG.BAD_PAYLOAD, "INVALID_ORDER_PAYLOAD")
        otype = req.order_type
        if req.post_only and otype.is_marketable_only:
            raise OrderRejectedError(MSG.POST_ONLY_TYPE, "INVALID_POST_ONLY_ORDER_TYPE")
        if otype is OrderType.GTD and req.expiration < now + self.config.gtd_min_lifetime_s:
            raise OrderRejectedError(MSG.EXPIRATION, "INVALID_ORDER_EXPIRATION")
        is_buy = req.side is Side.BUY
        size = req.taker_amount if is_buy else req.maker_amount
        price = self._grid_price(market, req, is_buy, size)
        if not otype.is_marketable_only and size < market.min_size:
            raise OrderRejectedError(
                f"order {oid} is invalid. Size ({fmt_units(size)}) lower than the minimum: "
                f"{fmt_units(market.min_size)}",
                "INVALID_ORDER_MIN_SIZE",
            )
        return market, price, size

    @staticmethod
    def _balance_error(balance: int, reserved: int, amount: int) -> OrderRejectedError:
        return OrderRejectedError(
            "not enough balance / allowance: the balance is not enough -> "
            f"balance: {balance}, sum of matched orders: {reserved}, "
            f"order amount (inc. fees): {amount}",
            "INVALID_ORDER_NOT_ENOUGH_BALANCE",
        )

    @staticmethod
    def _grid_price(market: MarketState, req: OrderRequest, is_buy: bool, size: int) -> int:
        """The order's price on the market's grid, or the tick-size rejection."""
        pusd = req.maker_amount if is_buy else req.taker_amount
        tick = market.tick_size
        grid = grid_price(pusd, size, TICK_UNITS[tick], AMOUNT_DECIMALS[tick])
        if grid is None:
            shown = fmt_units((2 * pusd * UNIT + size) // (2 * size))
            raise OrderRejectedError(
                f"order {req.order_id} is invalid. Price ({shown}) breaks minimum tick size "
                f"rule: {tick.value}",
                "INVALID_ORDER_MIN_TICK_SIZE",
            )
        return grid

    def _settle(
        self,
        market: MarketState,
        taker: SimOrder,
        acct: Account,
        legs: list[Leg],
        buckets: list[Bucket],
        now: float,
    ) -> list[Trade]:
        """Apply the planned legs: one `Trade` per bucket (execution price)."""
        accounts = self.accounts
        book = market.book
        is_buy = taker.side is Side.BUY
        match_time = int(now)
        trades: list[Trade] = []
        for index, bucket in enumerate(buckets):
            trade_id = self._new_id()
            deltas: list[BalanceDelta] = []
            maker_legs: list[MakerLeg] = []
            owners = [taker.owner]
            qty = taker_pusd = locked = 0
            for leg in legs[bucket.start : bucket.end]:
                maker, q = leg.maker, leg.qty
                maker.remaining -= q
                maker.matched += q
                maker.associate_trades.append(trade_id)
                deltas.append(accounts.fill_maker(maker, q, leg.maker_pusd))
                book.fill(maker, q)
                if not maker.remaining:
                    maker.status = MATCHED
                    self._unlist(maker)
                maker_legs.append(
                    MakerLeg(
                        maker.order_id,
                        maker.owner,
                        maker.maker_address,
                        q,
                        maker.price_u,
                        maker.token_id,
                        maker.outcome,
                        maker.side,
                    )
                )
                if maker.owner not in owners:
                    owners.append(maker.owner)
                qty += q
                taker_pusd += leg.taker_pusd
                locked += leg.locked
            deltas += accounts.fill_taker(
                acct, taker.token_id, qty if is_buy else -qty, taker_pusd, bucket.fee
            )
            accounts.add_locked(market.condition_id, locked)
            taker.remaining -= qty
            taker.matched += qty
            taker.associate_trades.append(trade_id)
            trade = Trade(
                trade_id=trade_id,
                taker_order_id=taker.order_id,
                market=market.condition_id,
                asset_id=taker.token_id,
                side=taker.side,
                size=qty,
                price_u=bucket.price,
                outcome=taker.outcome,
                bucket_index=index,
                taker_owner=taker.owner,
                taker_address=taker.maker_address,
                fee_rate_bps=market.spec.fees.fee_rate_bps,
                fee=bucket.fee,
                match_time=match_time,
                transaction_hash="0x" + hashlib.sha256(f"tx:{trade_id}".encode()).hexdigest(),
                maker_legs=tuple(maker_legs),
                owners=tuple(owners),
                deltas=deltas,
                locked_delta=locked,
                will_fail=self._draw_failure(),
                last_update=match_time,
            )
            self._record_trade(trade, now)
            market.last_trade[taker.token_id] = (bucket.price, taker.side.value)
            other = market.other_token(taker.token_id)
            market.last_trade[other] = (UNIT - bucket.price, taker.side.opposite.value)
            trades.append(trade)
        return trades

    def _draw_failure(self) -> bool:
        rate = self.config.failure_rate
        return rate > 0 and self._rng.random() < rate

    def _record_trade(self, trade: Trade, now: float) -> None:
        self._trades[trade.trade_id] = trade
        for owner in trade.owners:
            self._trades_by_owner.setdefault(owner, []).append(trade)
        self._pending[trade.trade_id] = trade
        self._seq += 1
        heapq.heappush(
            self._trade_timers, (now + self.config.mined_delay_s, self._seq, trade.trade_id)
        )

    def _rest(self, market: MarketState, order: SimOrder) -> None:
        self.accounts.reserve_order(order)
        market.book.add(order)
        self._live_by_owner.setdefault(order.owner, {})[order.order_id] = order
        if order.order_type is OrderType.GTD:
            due = order.expiration - self.config.gtd_security_buffer_s
            heapq.heappush(self._gtd_timers, (float(due), self._seq, order.order_id))

    def _unlist(self, order: SimOrder) -> None:
        live = self._live_by_owner.get(order.owner)
        if live is not None:
            live.pop(order.order_id, None)

    # --- cancelling -----------------------------------------------------------------------

    def cancel_orders(self, owner: str, order_ids: Iterable[str], now: float) -> CancelResult:
        """`DELETE /order(s)`: ids of other owners count as not found; duplicates ignored."""
        canceled: list[str] = []
        not_canceled: dict[str, str] = {}
        touched: dict[str, MarketState] = {}
        for oid in dict.fromkeys(order_ids):
            order = self._orders.get(oid)
            if order is None or order.owner != owner:
                not_canceled[oid] = MSG.NOT_FOUND
            elif order.status != LIVE:
                not_canceled[oid] = MSG.ALREADY_DONE
            else:
                touched[order.market] = self._cancel(order, CANCELED, now)
                canceled.append(oid)
        self._flush_all(touched.values(), now)
        return CancelResult(tuple(canceled), not_canceled)

    def cancel_order(self, owner: str, order_id: str, now: float) -> CancelResult:
        return self.cancel_orders(owner, (order_id,), now)

    def cancel_all(self, owner: str, now: float) -> CancelResult:
        return self.cancel_orders(owner, list(self._live_by_owner.get(owner, {})), now)

    def cancel_market_orders(
        self, owner: str, now: float, *, market: str = "", asset_id: str = ""
    ) -> CancelResult:
        """`DELETE /cancel-market-orders`: either filter or both ("" = unused)."""
        ids = [
            o.order_id
            for o in self._live_by_owner.get(owner, {}).values()
            if (not market or o.market == market) and (not asset_id or o.token_id == asset_id)
        ]
        return self.cancel_orders(owner, ids, now)

    def _cancel(self, order: SimOrder, status: str, now: float) -> MarketState:
        market = self._markets[order.market]
        market.book.remove(order)
        self.accounts.release_order(order)
        order.status = status
        self._unlist(order)
        self._emit_order(order, "CANCELLATION", _ms(now))
        return market

    # --- time-driven ----------------------------------------------------------------------

    def heartbeat(self, owner: str, heartbeat_id: str, now: float) -> str:
        """`POST /v1/heartbeats`: "" starts a session; afterwards the last id returned must be
        sent, else `HeartbeatMismatchError` carrying the expected id."""
        current = self._heartbeats.get(owner)
        expected = "" if current is None else current[0]
        if heartbeat_id != expected:
            raise HeartbeatMismatchError(expected)
        new_id = self._new_id()
        self._heartbeats[owner] = (new_id, now)
        return new_id

    def expire(self, now: float) -> list[str]:
        """Cancel GTD orders whose `expiration - 60 s` has passed; returns their ids."""
        expired: list[str] = []
        touched: dict[str, MarketState] = {}
        timers = self._gtd_timers
        while timers and timers[0][0] <= now:
            _, _, oid = heapq.heappop(timers)
            order = self._orders[oid]
            if order.status == LIVE:
                touched[order.market] = self._cancel(order, CANCELED, now)
                expired.append(oid)
        self._flush_all(touched.values(), now)
        return expired

    def advance(self, now: float) -> None:
        """Run everything due by `now`: heartbeat expiry, GTD expiry, trade status changes."""
        limit = self.config.heartbeat_timeout_s + self.config.heartbeat_buffer_s
        for owner, (_, last) in list(self._heartbeats.items()):
            if now > last + limit:
                del self._heartbeats[owner]
                self.cancel_all(owner, now)
        self.expire(now)
        timers = self._trade_timers
        while timers and timers[0][0] <= now:
            due, _, trade_id = heapq.heappop(timers)
            trade = self._pending.get(trade_id)
            if trade is not None:
                self._step_trade(trade, due)

    def _step_trade(self, trade: Trade, due: float) -> None:
        cfg = self.config
        if trade.status == TradeStatus.MATCHED:
            nxt = TradeStatus.RETRYING if trade.will_fail else TradeStatus.MINED
            delay = cfg.retry_delay_s if trade.will_fail else cfg.confirm_delay_s
            self._seq += 1
            heapq.heappush(self._trade_timers, (due + delay, self._seq, trade.trade_id))
        elif trade.status == TradeStatus.MINED:
            nxt = TradeStatus.CONFIRMED
        else:
            nxt = TradeStatus.FAILED
            self.accounts.reverse(trade.deltas, trade.market, trade.locked_delta)
        self._set_trade_status(trade, nxt, due)

    def _set_trade_status(self, trade: Trade, status: str, now: float) -> None:
        trade.status = status
        trade.last_update = int(now)
        if status in TradeStatus.FINAL:
            self._pending.pop(trade.trade_id, None)
        self._emit_trade(trade, status, trade.last_update, _ms(now))

    # --- resolution -----------------------------------------------------------------------

    def resolve_market(self, condition_id: str, winning_token_id: str, now: float) -> None:
        """Cancel open orders (CANCELED_MARKET_RESOLVED), settle pending trades as CONFIRMED,
        pay 1 pUSD per winning share (tokens of both outcomes are burnt), close the market."""
        market = self._market(condition_id)
        if market.closed:
            raise InvalidValueError(f"market {condition_id} is already resolved")
        if winning_token_id not in market.token_ids:
            raise InvalidValueError(f"{winning_token_id} is not a token of {condition_id}")
        for order in market.book.orders():
            self._cancel(order, CANCELED_MARKET_RESOLVED, now)
        for trade in [t for t in self._pending.values() if t.market == condition_id]:
            self._set_trade_status(trade, TradeStatus.CONFIRMED, now)
        self.accounts.redeem(condition_id, market.token_ids, winning_token_id)
        market.closed = True
        market.accepting_orders = False
        market.winner_token_id = winning_token_id
        ts = _ms(now)
        self._flush_book(market, ts, condition_id)
        self._events.append(
            MarketResolvedEvent(
                condition_id,
                market.token_ids,
                winning_token_id,
                market.outcome_of(winning_token_id),
                ts,
            )
        )

    def resolve_event(self, event_id: str, winning_condition_id: str, now: float) -> None:
        """Neg-risk event: the winning market's YES wins, every other market's NO wins."""
        members = [
            m
            for m in self._markets.values()
            if m.spec.neg_risk_event_id == event_id and m.spec.neg_risk
        ]
        if winning_condition_id not in {m.condition_id for m in members}:
            raise InvalidValueError(f"{winning_condition_id} is not in neg-risk event {event_id}")
        for m in members:
            yes, no = m.token_ids
            self.resolve_market(
                m.condition_id, yes if m.condition_id == winning_condition_id else no, now
            )

    # --- emission helpers -----------------------------------------------------------------

    def _emit_order(self, order: SimOrder, kind: str, ts: int) -> None:
        self._events.append(OrderEvent((order.owner,), kind, order.to_wire(), ts))

    def _emit_trade(self, trade: Trade, status: str, last_update: int, ts: int) -> None:
        self._events.append(TradeEvent(trade.owners, trade, status, last_update, ts))

    def _flush_all(self, markets: Iterable[MarketState], now: float) -> None:
        ts = _ms(now)
        for market in markets:
            self._flush_book(market, ts, "cancel")

    def _flush_book(self, market: MarketState, ts: int, cause: str) -> None:
        dirty = market.book.take_dirty()
        if not dirty:
            return
        changes = market.level_changes(dirty, ts, cause)
        self._events.append(PriceChangeEvent(market.condition_id, changes, ts))

    # --- queries --------------------------------------------------------------------------

    def book(self, token_id: str) -> BookSnapshot:
        """Aggregated book of one token (NO is the mirror of the YES-space book)."""
        market = self._by_token.get(token_id)
        if market is None:
            raise InvalidValueError(f"unknown token {token_id}")
        return market.snapshot(token_id)

    def order(self, order_id: str) -> SimOrder | None:
        """Any order ever accepted (live or not)."""
        return self._orders.get(order_id)

    def open_orders(
        self, owner: str, *, market: str = "", asset_id: str = "", order_id: str = ""
    ) -> list[SimOrder]:
        """Live orders of `owner` (GET /data/orders filters); `.to_wire()` each for REST."""
        return [
            o
            for o in self._live_by_owner.get(owner, {}).values()
            if (not market or o.market == market)
            and (not asset_id or o.token_id == asset_id)
            and (not order_id or o.order_id == order_id)
        ]

    def trades(
        self,
        owner: str,
        *,
        trade_id: str = "",
        market: str = "",
        asset_id: str = "",
        maker_address: str = "",
        before: int | None = None,
        after: int | None = None,
    ) -> list[Trade]:
        """Trades `owner` took part in, oldest first; render with `trade.to_wire(owner)`.
        `asset_id`/`maker_address` match the taker or any maker leg; before/after inclusive."""
        out: list[Trade] = []
        addr = maker_address.lower()
        for t in self._trades_by_owner.get(owner, ()):
            if trade_id and t.trade_id != trade_id:
                continue
            if market and t.market != market:
                continue
            if (
                asset_id
                and asset_id != t.asset_id
                and all(leg.asset_id != asset_id for leg in t.maker_legs)
            ):
                continue
            if (
                addr
                and addr != t.taker_address.lower()
                and all(leg.maker_address.lower() != addr for leg in t.maker_legs)
            ):
                continue
            if (before is not None and t.match_time > before) or (
                after is not None and t.match_time < after
            ):
                continue
            out.append(t)
        return out

    def trade(self, trade_id: str) -> Trade | None:
        return self._trades.get(trade_id)

    def check_invariants(self) -> list[str]:
        """Conservation, reservations and uncrossed books; [] when all hold (for tests)."""
        errors = self.accounts.conservation_errors(
            (m.condition_id, *m.token_ids) for m in self._markets.values() if not m.closed
        )
        live = [o for orders in self._live_by_owner.values() for o in orders.values()]
        errors += self.accounts.reservation_errors(live)
        for m in self._markets.values():
            errors += m.book.errors(m.condition_id)
        return errors
