"""`VenueExecution`: approved intents become signed V2 orders at a CLOB venue (OFFLINE against the
simulator, LIVE against Polymarket); venue answers become order state, ledger entries, records.

Submitting (ref §6): the order is signed locally (`protocol.signing`, EIP-712 V2; its hash is the
venue's order id and is registered with the manager *before* the POST), then posted with L2
auth, alone (`POST /order`) or in batches of <= 15 (`POST /orders`, one `postOnly` flag per
batch). The order becomes SUBMITTED, with its `submit` record, the moment the request is on its
way (`_on_sent`: with the trading client's http1 engine right after the bytes reach the socket,
before anything else runs, so the record costs the order no latency and no answer can overtake
it; with httpx just before the send). A request that certainly never left is rejected locally
("not sent: ..."). The answer is classified by the §6.6 rule
(`OrderResponse.accepted`):

* accepted: ACCEPTED; `tradeIDs` are fetched by id (`GET /data/trades?id=`) and booked unless the
  user channel already did; an accepted FAK/FOK that `matched` has its remainder killed.
* refused (HTTP 4xx, a definitive 5xx, 429, a 200 with `success: false` or an `errorMsg`):
  REJECTED with the venue's text. A tick-size refusal re-reads `GET /tick-size` for the token;
  the next orders are signed on the venue's grid (the refused one is not re-sent: its price was
  the strategy's choice).
* ambiguous (`AmbiguousSubmitError`: timeout after sending, connection lost, gateway 5xx): the
  order goes UNKNOWN under its own hash and a resolver asks the venue (`StatusQuery`) until the
  order is found, or the grace period passes without a trace (NOT_FOUND -> REJECTED). Never
  re-sent.

Cancels are idempotent at the venue: `DELETE /order` by hash; `canceled` -> CANCELED,
`not_canceled` -> CANCEL_REJECTED plus a status query (it may have filled). The venue's
dead-man switch (`POST /v1/heartbeats`, ~5 s) runs from the first submit until `stop()`: if this
process hangs, the venue cancels its orders within ~15 s. With heartbeats on, orders left open by
`stop(cancel_open=False)` are therefore cancelled by the venue shortly after.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Final

from polymarket_bot.core.clock import Clock
from polymarket_bot.core.errors import InvalidValueError
from polymarket_bot.core.intents import OrderIntent
from polymarket_bot.core.orders import Order, OrderEventKind, OrderState
from polymarket_bot.core.types import OrderType, TickSize
from polymarket_bot.engine.execution.heartbeat import Heartbeat
from polymarket_bot.engine.execution.manager import OrderManager
from polymarket_bot.engine.execution.status_query import SOURCE_REST, StatusQuery
from polymarket_bot.engine.execution.user_stream import UserStream
from polymarket_bot.engine.execution.warm import ConnectionWarmer
from polymarket_bot.protocol.auth import ApiCreds
from polymarket_bot.protocol.eip712 import PrivateKeySigner
from polymarket_bot.protocol.signing import (
    SignatureType,
    SignedOrderV2,
    create_limit_order,
    generate_salt,
)
from polymarket_bot.protocol.wire_rest import CancelResponse, OrderResponse
from polymarket_bot.transport.errors import (
    AmbiguousSubmitError,
    HttpStatusError,
    NetworkError,
    TimeoutError_,
    TransportError,
)
from polymarket_bot.transport.rest import MAX_BATCH_ORDERS, ClobRestClient

__all__ = ["GTD_MIN_LIFETIME_S", "VenueExecution"]

log = logging.getLogger(__name__)

GTD_MIN_LIFETIME_S: Final = 180
"""The venue refuses a GTD order expiring sooner than this (ref §6.1)."""
_E = OrderEventKind
_S = OrderState
_TICK_REJECTION: Final = "minimum tick size"
_CANCELABLE = frozenset({_S.LIVE, _S.PARTIAL, _S.CANCEL_PENDING})
_SALTS = random.Random()
"""Order salts, as PCC2 draws them (`random()`): they make orders unique, not secret, so no
`os.urandom` call (a syscall) per order. Seeded from the OS at import and again in a forked
child, so two processes never draw the same sequence."""
os.register_at_fork(after_in_child=_SALTS.seed)


class VenueExecution:
    """The execution port at a venue; see the module docstring."""

    def __init__(
        self,
        manager: OrderManager,
        rest: ClobRestClient,
        signer: PrivateKeySigner,
        creds: ApiCreds,
        *,
        chain_id: int = 137,
        signature_type: SignatureType | int = SignatureType.EOA,
        funder: str | None = None,
        clock: Clock,
        user_ws_url: str | None = None,
        heartbeat: bool = True,
        heartbeat_interval_s: float = 5.0,
        keep_warm_s: float | None = 2.0,
        presign: int = 64,
        unknown_grace_s: float = 10.0,
        rng: random.Random | None = None,
        on_tick_size: Callable[[str, TickSize], None] | None = None,
    ) -> None:
        self.manager = manager
        self.rest = rest
        self.signer = signer
        self.creds = creds
        self.chain_id = chain_id
        self.signature_type = SignatureType(signature_type)
        self.funder = funder
        self.clock = clock
        self.heartbeat = (
            Heartbeat(rest, clock=clock, interval_s=heartbeat_interval_s) if heartbeat else None
        )
        """The dead-man switch, started by the first submit (None when disabled)."""
        self.warmer = ConnectionWarmer(rest, interval_s=keep_warm_s) if keep_warm_s else None
        """Keeps the trading connection open between orders (None when disabled)."""
        self.presign_target = presign
        """Signature nonces kept in stock (`PrivateKeySigner.presign`; 0: every signature is
        RFC 6979, ~20 us more per order): stocked at start, restocked one per loop turn after
        each send, so a burst of up to this many orders signs at the fast rate."""
        self._restocking = False
        self.unknown_grace_s = unknown_grace_s
        """How long an UNKNOWN order without any trace at the venue stays UNKNOWN."""
        self.on_tick_size = on_tick_size
        self._rng = rng or _SALTS
        rest.set_credentials(creds, signer.address)
        manager.set_identity(owner=creds.api_key, addresses=(signer.address, funder or ""))
        manager.on_discrepancy = self._on_discrepancy
        self.query = StatusQuery(manager, rest)
        self.user_stream: UserStream | None = None
        if user_ws_url is not None:
            self.user_stream = UserStream(
                manager, user_ws_url, creds, clock=clock, on_reconnect=self._on_reconnect
            )
        self._ticks: dict[str, tuple[TickSize | None, TickSize]] = {}
        """token -> (market-info tick it overrides, the venue's tick)."""
        self._neg_risk: dict[str, bool] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._querying: set[str] = set()
        self._cancel_wanted: set[str] = set()
        """Client ids cancelled while their POST was in flight or ambiguous: cancelled again
        as soon as the venue acknowledges them."""
        self._stopping = False
        self.tick_refreshes = 0

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        self._stopping = False
        if self.presign_target > 0:
            self.signer.presign(self.presign_target)
        if self.user_stream is not None:
            await self.user_stream.start()
        if self.warmer is not None and not any(t.get_name() == "keep-warm" for t in self._tasks):
            self._spawn(self.warmer.run(), name="keep-warm")

    async def stop(self, cancel_open: bool) -> None:
        if cancel_open and self.manager.open_orders():
            try:
                await self.cancel_all()
            except Exception:
                log.exception("execution: cancel-all at stop failed")
        self._stopping = True
        for order in self.manager.unknown_orders():  # e.g. a send interrupted by the stop
            with contextlib.suppress(Exception):
                await self.query.query(order, allow_not_found=True)
        tasks = list(self._tasks)
        if self.heartbeat is not None:
            await self.heartbeat.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.user_stream is not None:
            await self.user_stream.stop()

    def _spawn(self, coro: Coroutine[Any, Any, Any], *, name: str | None = None) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- submitting ------------------------------------------------------------------------------

    async def submit(self, intent: OrderIntent, *, client_id: str | None = None) -> Order:
        order = self.manager.create(intent, client_id=client_id)
        signed = await self._prepare(order)
        if signed is None:
            return order
        try:
            response = await self.rest.post_order(
                signed,
                order.order_type,
                post_only=self.manager.meta_post_only(order),
                on_sent=self._on_sent([order]),
            )
        except asyncio.CancelledError:
            self._interrupted([order])
            raise
        except Exception as exc:
            await self._submit_failed(order, exc)
            return order
        await self._on_response(order, response)
        return order

    def _on_sent(self, orders: Sequence[Order]) -> Callable[[], None]:
        """SUBMIT (with each order's `submit` record) the moment the request is on its way:
        with the trading client's http1 engine right after its bytes reach the socket, before
        anything else runs (the record costs the order nothing); with httpx just before."""

        def sent() -> None:
            for order in orders:
                if order.state is _S.NEW:
                    self.manager.mark_submitted(order, source=SOURCE_REST)
            self._restock_soon()

        return sent

    def _restock_soon(self) -> None:
        if not self._restocking and self.signer.presigned < self.presign_target:
            self._restocking = True
            asyncio.get_running_loop().call_soon(self._restock)

    def _restock(self) -> None:
        """One nonce per loop turn (~20 us): a market frame arriving meanwhile waits that long
        at most, not for the whole stock."""
        signer, target = self.signer, self.presign_target
        if self._stopping or not signer.presign(target, at_most=1) or signer.presigned >= target:
            self._restocking = False
            return
        asyncio.get_running_loop().call_soon(self._restock)

    def _interrupted(self, orders: Sequence[Order]) -> None:
        """A send cancelled by `stop()`: UNKNOWN, resolved by `stop()` itself (no resolver);
        an order whose request never left is rejected locally."""
        for order in orders:
            if order.state is _S.NEW:
                self.manager.reject_locally(order, "not sent: stopped")
            elif order.state is _S.SUBMITTED:
                self.manager.apply_event(
                    order, _E.STATUS_UNKNOWN, source=SOURCE_REST, reason="send interrupted by stop"
                )

    async def submit_many(self, intents: Sequence[OrderIntent]) -> list[Order]:
        orders = [self.manager.create(intent) for intent in intents]
        groups: dict[bool, list[tuple[Order, SignedOrderV2]]] = {}
        for order in orders:
            signed = await self._prepare(order)
            if signed is not None:
                groups.setdefault(self.manager.meta_post_only(order), []).append((order, signed))
        for post_only, group in groups.items():
            for start in range(0, len(group), MAX_BATCH_ORDERS):
                await self._post_batch(group[start : start + MAX_BATCH_ORDERS], post_only)
        return orders

    async def _post_batch(self, batch: list[tuple[Order, SignedOrderV2]], post_only: bool) -> None:
        try:
            responses = await self.rest.post_orders(
                [(signed, order.order_type) for order, signed in batch],
                post_only=post_only,
                on_sent=self._on_sent([order for order, _ in batch]),
            )
        except asyncio.CancelledError:  # stopped mid-send: the venue may or may not have them
            self._interrupted([order for order, _ in batch])
            raise
        except Exception as exc:
            for order, _ in batch:
                await self._submit_failed(order, exc)
            return
        for index, (order, _) in enumerate(batch):
            if index < len(responses):
                await self._on_response(order, responses[index])
            else:  # the venue answered fewer legs than we sent: ask about the rest
                self._unknown(order, "no response leg for this order")

    async def _prepare(self, order: Order) -> SignedOrderV2 | None:
        """Sign and register the hash (SUBMIT comes when the request leaves: `_on_sent`); None
        if refused locally."""
        if order.state is not _S.NEW:
            return None
        try:
            tick, neg_risk = await self._market_params(order.asset_id)
        except (TransportError, ValueError) as exc:
            self.manager.reject_locally(order, f"market parameters unavailable: {exc}")
            return None
        now_ms = self.clock.time_ms()
        expiration = self.manager.meta_expiration(order) or 0
        if order.order_type is OrderType.GTD and expiration < now_ms // 1000 + GTD_MIN_LIFETIME_S:
            self.manager.reject_locally(
                order, f"invalid expiration: GTD needs >= now + {GTD_MIN_LIFETIME_S} s"
            )
            return None
        try:
            signed = create_limit_order(
                self.signer,
                token_id=order.asset_id,
                side=order.side,
                price=order.price,
                size=order.size,
                tick_size=tick,
                neg_risk=neg_risk,
                salt=generate_salt(self._rng, now_ms),
                timestamp_ms=now_ms,
                chain_id=self.chain_id,
                signature_type=self.signature_type,
                funder=self.funder,
                expiration=expiration,
            )
        except InvalidValueError as exc:
            self.manager.reject_locally(order, str(exc))
            return None
        self.manager.register_venue_id(order, signed.order_hash)
        self._ensure_heartbeat()
        return signed

    async def _market_params(self, token_id: str) -> tuple[TickSize, bool]:
        info = self.manager.market_info(token_id)
        tick = self.tick_size(token_id)
        if tick is None:
            tick = TickSize.parse((await self.rest.get_tick_size(token_id)).minimum_tick_size)
            self._ticks[token_id] = (None, tick)
        neg_risk = self._neg_risk.get(token_id)
        if neg_risk is None:
            if info is not None:
                neg_risk = info.neg_risk
            else:
                neg_risk = (await self.rest.get_neg_risk(token_id)).neg_risk
                self._neg_risk[token_id] = neg_risk
        return tick, neg_risk

    def tick_size(self, token_id: str) -> TickSize | None:
        """The tick orders of `token_id` are signed with: the venue's answer after a tick-size
        refusal, until the market info's own tick changes (then the info is newer)."""
        info = self.manager.market_info(token_id)
        override = self._ticks.get(token_id)
        if override is not None:
            based_on, tick = override
            if info is None or info.tick_size is based_on:
                return tick
            del self._ticks[token_id]
        return info.tick_size if info is not None else None

    async def _submit_failed(self, order: Order, exc: Exception) -> None:
        if order.state is _S.NEW:  # the request never left (`_on_sent` was not called)
            self.manager.reject_locally(order, f"not sent: {exc}")
            return
        if isinstance(exc, AmbiguousSubmitError):
            self._unknown(order, str(exc))
        elif isinstance(exc, HttpStatusError):
            await self._rejected(order, exc.error or str(exc))
        elif isinstance(exc, TimeoutError_ | NetworkError):  # `sent` is False here
            await self._rejected(order, f"not sent: {exc}")
        else:  # a bug after the send: the order may be live, so ask instead of guessing
            log.error("execution: submit of %s failed: %r", order.client_id, exc, exc_info=exc)
            self._unknown(order, f"unexpected error: {exc!r}")

    async def _on_response(self, order: Order, response: OrderResponse) -> None:
        if not response.accepted:
            reason = response.errorMsg or f"order not accepted (status {response.status!r})"
            await self._rejected(order, reason)
            return
        self.manager.apply_event(
            order, _E.ACCEPTED, source=SOURCE_REST, venue_order_id=response.orderID or None
        )
        if response.tradeIDs:
            await self.query.fetch_trades(response.tradeIDs)
        if (
            order.order_type.is_marketable_only
            and response.status.lower() == "matched"
            and not order.is_terminal
        ):
            self.manager.apply_event(
                order, _E.CANCELED, source=SOURCE_REST, reason="unfilled remainder killed"
            )
        self._after_ack(order)

    def _after_ack(self, order: Order) -> None:
        """A cancel asked for before the venue knew the order is sent now that it rests."""
        if order.client_id in self._cancel_wanted and order.state in (_S.LIVE, _S.PARTIAL):
            self._cancel_wanted.discard(order.client_id)
            self._spawn(self.cancel(order.client_id))
        elif order.is_terminal:
            self._cancel_wanted.discard(order.client_id)

    async def _rejected(self, order: Order, reason: str) -> None:
        self.manager.apply_event(order, _E.REJECTED, source=SOURCE_REST, reason=reason)
        self._cancel_wanted.discard(order.client_id)
        if _TICK_REJECTION in reason:
            await self._refresh_tick(order.asset_id)

    async def _refresh_tick(self, token_id: str) -> None:
        try:
            tick = TickSize.parse((await self.rest.get_tick_size(token_id)).minimum_tick_size)
        except (TransportError, ValueError) as exc:
            log.warning("execution: tick size refresh of %s failed: %s", token_id, exc)
            return
        self.tick_refreshes += 1
        info = self.manager.market_info(token_id)
        self._ticks[token_id] = (info.tick_size if info is not None else None, tick)
        if self.on_tick_size is not None:
            self.on_tick_size(token_id, tick)

    def _unknown(self, order: Order, reason: str) -> None:
        self.manager.apply_event(order, _E.STATUS_UNKNOWN, source=SOURCE_REST, reason=reason)
        if order.state is _S.UNKNOWN:
            self._spawn(self._resolve(order))

    async def _resolve(self, order: Order) -> None:
        """Query until the venue tells what became of an UNKNOWN order (never re-send it)."""
        started = self.clock.monotonic()
        delay = 0.25
        while order.state is _S.UNKNOWN and not self._stopping:
            grace_over = self.clock.monotonic() - started >= self.unknown_grace_s
            await self.query.query(order, allow_not_found=grace_over)
            if order.state is not _S.UNKNOWN:
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        self._after_ack(order)

    # -- cancelling ------------------------------------------------------------------------------

    async def cancel(self, order_id_or_client_id: str) -> Order | None:
        order = self.manager.get(order_id_or_client_id)
        if order is None:
            return None
        if order.state is _S.NEW:
            self.manager.request_cancel(order)  # never sent: cancelled locally
            return order
        vid = order.venue_order_id
        if order.is_terminal or vid is None:
            return order
        pending = order.state in (_S.UNKNOWN, _S.SUBMITTED)  # no REQUEST_CANCEL: just ask
        if not pending:
            self.manager.request_cancel(order)
        try:
            response = await self.rest.cancel(vid)
        except TransportError as exc:
            if not pending:
                self.manager.apply_event(
                    order, _E.CANCEL_REJECTED, source=SOURCE_REST, reason=f"cancel failed: {exc}"
                )
            return order
        self._apply_cancels(response, [order], strict=not pending)
        if pending and not order.is_terminal:
            self._cancel_wanted.add(order.client_id)  # not on the book yet
            self._after_ack(order)
        return order

    async def cancel_all(self) -> list[Order]:
        opened = self.manager.open_orders()
        targets = [o for o in opened if o.state in _CANCELABLE]
        for order in targets:
            self.manager.request_cancel(order)
        try:
            response = await self.rest.cancel_all()
        except TransportError as exc:
            for order in targets:
                self.manager.apply_event(
                    order, _E.CANCEL_REJECTED, source=SOURCE_REST, reason=f"cancel failed: {exc}"
                )
            return targets
        self._apply_cancels(response, targets, strict=True)
        others = [o for o in opened if o.state in (_S.UNKNOWN, _S.SUBMITTED)]
        self._apply_cancels(response, others, strict=False)
        return opened

    def _apply_cancels(
        self, response: CancelResponse, orders: list[Order], *, strict: bool
    ) -> None:
        """`canceled` -> CANCELED. Otherwise (strict: we asked for it) CANCEL_REJECTED and a
        status query, since the order may have filled."""
        canceled = set(response.canceled or ())
        refused = response.not_canceled or {}
        for order in orders:
            vid = order.venue_order_id
            if vid in canceled:
                self.manager.apply_event(order, _E.CANCELED, source=SOURCE_REST, reason="canceled")
            elif strict and not order.is_terminal:
                reason = refused.get(vid or "", "not in the cancel response")
                self.manager.apply_event(
                    order, _E.CANCEL_REJECTED, source=SOURCE_REST, reason=reason
                )
                self._query_later(order)

    # -- queries ---------------------------------------------------------------------------------

    def open_orders(self) -> list[Order]:
        return self.manager.open_orders()

    async def refresh_order(self, order: Order) -> bool:
        """Ask the venue about one order now (see `StatusQuery.query`)."""
        return await self.query.query(order, allow_not_found=False)

    async def refresh_open_orders(self) -> None:
        for order in self.manager.open_orders():
            if order.state is not _S.SUBMITTED:
                await self.query.query(order, allow_not_found=False)

    def _query_later(self, order: Order) -> None:
        if order.client_id in self._querying or self._stopping:
            return
        self._querying.add(order.client_id)

        async def run() -> None:
            try:
                await self.query.query(order, allow_not_found=False)
            finally:
                self._querying.discard(order.client_id)

        self._spawn(run())

    def _on_discrepancy(self, order: Order, message: str) -> None:
        self._query_later(order)

    def _on_reconnect(self) -> None:
        if not self._stopping:
            self._spawn(self.refresh_open_orders())

    def _ensure_heartbeat(self) -> None:
        if self.heartbeat is not None and not self._stopping:
            self.heartbeat.start()

    # -- status ----------------------------------------------------------------------------------

    def orders_ws_status(self) -> dict[str, Any]:
        """`fetch_info.orders_ws` (seed §12)."""
        if self.user_stream is None:
            return {
                "status": "disabled",
                "failures": 0,
                "cooldown_remaining_seconds": 0,
                "last_success_epoch": None,
                "last_error_epoch": None,
                "last_error": None,
            }
        return self.user_stream.status()

    def status(self) -> dict[str, Any]:
        section = self.manager.status()
        section["venue"] = {
            "heartbeat": (
                {"enabled": True, **self.heartbeat.status()}
                if self.heartbeat is not None
                else {"enabled": False}
            ),
            "status_queries": self.query.queries,
            "status_query_errors": self.query.errors,
            "tick_refreshes": self.tick_refreshes,
            "presigned_nonces": {"target": self.presign_target, "stocked": self.signer.presigned},
            "keep_warm": (
                {"enabled": True, **self.warmer.status()}
                if self.warmer is not None
                else {"enabled": False}
            ),
            "orders_ws": self.orders_ws_status(),
        }
        return section
