"""The order state machine: one transition table and the `Order` record it drives.

Rules (everything that affects order state lives in this file, as in h11's `_state.py`):

1. `TRANSITIONS[state][event] -> new state` is the whole lifecycle. A pair missing from the table
   is impossible: for a LOCAL command it is our bug and raises `IllegalTransitionError`; for a
   VENUE report it means our view and the venue's disagree and raises `VenueStateError`, which
   the caller answers by reconciling (status query). The order is left unchanged in both cases.
2. Local commands: SUBMIT (NEW -> SUBMITTED), REQUEST_CANCEL, REJECT_LOCALLY (risk or validation
   refused the order before it was sent). Cancelling a NEW order never sent is immediate
   (NEW -> CANCELED). Cancelling an UNKNOWN order is illegal: resolve it by a status query first.
   UNKNOWN is never re-submitted: SUBMIT is legal from NEW only.
3. Venue reports are applied wherever they are consistent, including out of order (the user WS,
   the POST response and REST polls race each other). A self-loop (state -> same state) means
   "consistent, nothing changes": e.g. a late ACCEPTED after fills, a second CANCELED, a cancel
   ack for a FILLED order (the cancel lost the race; the fills stand), EXPIRED after CANCELED.
4. STATUS_UNKNOWN: our submit (timeout, 5xx) had an ambiguous outcome. SUBMITTED -> UNKNOWN; the
   order keeps its locally computed hash (`venue_order_id`), so venue events attach to it.
   UNKNOWN resolves only by a venue report: ACCEPTED (-> LIVE), a fill (-> PARTIAL/FILLED),
   CANCELED, EXPIRED, REJECTED, or NOT_FOUND (the venue has no such order -> REJECTED).
   STATUS_UNKNOWN in a state the venue already confirmed changes nothing.
5. Fills. A fill report is one trade leg with a unique fill id. Sizes decide PARTIAL_FILL vs
   FILL, whatever label the caller used: FILL when the order's remaining size reaches zero.
   Fill accounting is idempotent by fill id (a duplicate is ignored, not recorded again). A fill
   larger than the remaining size is a VenueStateError, unless the excess is dust (< 0.01 share),
   which is snapped to the remaining size. Fills are legal before the ACK (SUBMITTED), for an
   UNKNOWN order, after a cancel request (CANCEL_PENDING stays CANCEL_PENDING on a partial fill:
   the cancel is still in flight; a complete fill -> FILLED), and after CANCELED/EXPIRED (the
   trade message can trail the cancel ack; the order stays CANCELED/EXPIRED unless the fill
   completes it, in which case the venue's cancel did nothing and the order is FILLED).
   REJECTED and NEW orders never fill.
6. State-triggered rules, applied after every table transition: a resting state (LIVE) with
   `filled_size > 0` is PARTIAL (so CANCEL_REJECTED returns to LIVE or PARTIAL); REJECTED with
   fills is impossible (VenueStateError).
7. CANCEL_REJECTED (the venue refused our cancel, e.g. "already matched"): CANCEL_PENDING returns
   to the resting state; in terminal states it is consistent and ignored.

Terminal states: FILLED, CANCELED, REJECTED, EXPIRED (CANCELED/EXPIRED still accept trailing
fills, rule 5).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NoReturn

from polymarket_bot.core.errors import IllegalTransitionError, InvalidValueError, VenueStateError
from polymarket_bot.core.types import ZERO, OrderType, Outcome, Side

__all__ = [
    "DUST",
    "LOCAL_COMMANDS",
    "TRANSITIONS",
    "Order",
    "OrderEvent",
    "OrderEventKind",
    "OrderFill",
    "OrderState",
    "Transition",
]


class OrderState(str, enum.Enum):
    NEW = "new"
    SUBMITTED = "submitted"
    LIVE = "live"
    PARTIAL = "partial"
    FILLED = "filled"
    CANCEL_PENDING = "cancel_pending"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    UNKNOWN = "unknown"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


class OrderEventKind(str, enum.Enum):
    # local commands
    SUBMIT = "submit"
    REQUEST_CANCEL = "request_cancel"
    REJECT_LOCALLY = "reject_locally"
    # venue reports
    ACCEPTED = "accepted"
    PARTIAL_FILL = "partial_fill"
    FILL = "fill"
    CANCELED = "canceled"
    CANCEL_REJECTED = "cancel_rejected"
    REJECTED = "rejected"
    EXPIRED = "expired"
    STATUS_UNKNOWN = "status_unknown"
    NOT_FOUND = "not_found"

    @property
    def is_local(self) -> bool:
        return self in LOCAL_COMMANDS


LOCAL_COMMANDS = frozenset(
    {OrderEventKind.SUBMIT, OrderEventKind.REQUEST_CANCEL, OrderEventKind.REJECT_LOCALLY}
)
_TERMINAL = frozenset(
    {OrderState.FILLED, OrderState.CANCELED, OrderState.REJECTED, OrderState.EXPIRED}
)

S = OrderState
E = OrderEventKind

TRANSITIONS: dict[OrderState, dict[OrderEventKind, OrderState]] = {
    S.NEW: {
        E.SUBMIT: S.SUBMITTED,
        E.REQUEST_CANCEL: S.CANCELED,  # never sent: nothing to cancel at the venue
        E.REJECT_LOCALLY: S.REJECTED,
    },
    S.SUBMITTED: {
        E.REQUEST_CANCEL: S.CANCEL_PENDING,  # cancel by hash before the ACK is legal
        E.ACCEPTED: S.LIVE,
        E.PARTIAL_FILL: S.PARTIAL,  # the trade can beat the POST response
        E.FILL: S.FILLED,
        E.CANCELED: S.CANCELED,  # e.g. FAK remainder killed
        E.REJECTED: S.REJECTED,
        E.EXPIRED: S.EXPIRED,
        E.STATUS_UNKNOWN: S.UNKNOWN,
    },
    S.UNKNOWN: {
        E.ACCEPTED: S.LIVE,
        E.PARTIAL_FILL: S.PARTIAL,
        E.FILL: S.FILLED,
        E.CANCELED: S.CANCELED,
        E.REJECTED: S.REJECTED,
        E.EXPIRED: S.EXPIRED,
        E.STATUS_UNKNOWN: S.UNKNOWN,  # another ambiguous query
        E.NOT_FOUND: S.REJECTED,  # never reached the book
    },
    S.LIVE: {
        E.REQUEST_CANCEL: S.CANCEL_PENDING,
        E.ACCEPTED: S.LIVE,
        E.PARTIAL_FILL: S.PARTIAL,
        E.FILL: S.FILLED,
        E.CANCELED: S.CANCELED,
        E.CANCEL_REJECTED: S.LIVE,
        E.EXPIRED: S.EXPIRED,
        E.STATUS_UNKNOWN: S.LIVE,
    },
    S.PARTIAL: {
        E.REQUEST_CANCEL: S.CANCEL_PENDING,
        E.ACCEPTED: S.PARTIAL,
        E.PARTIAL_FILL: S.PARTIAL,
        E.FILL: S.FILLED,
        E.CANCELED: S.CANCELED,
        E.CANCEL_REJECTED: S.PARTIAL,
        E.EXPIRED: S.EXPIRED,
        E.STATUS_UNKNOWN: S.PARTIAL,
    },
    S.CANCEL_PENDING: {
        E.REQUEST_CANCEL: S.CANCEL_PENDING,  # a retried cancel is idempotent at the venue
        E.ACCEPTED: S.CANCEL_PENDING,
        E.PARTIAL_FILL: S.CANCEL_PENDING,  # late fill; the cancel is still in flight
        E.FILL: S.FILLED,
        E.CANCELED: S.CANCELED,
        E.CANCEL_REJECTED: S.LIVE,  # back to resting (PARTIAL if filled, rule 6)
        E.REJECTED: S.REJECTED,  # cancel was sent before the ACK, then the submit failed
        E.EXPIRED: S.EXPIRED,
        E.STATUS_UNKNOWN: S.CANCEL_PENDING,
    },
    S.FILLED: {
        E.ACCEPTED: S.FILLED,
        E.CANCELED: S.FILLED,  # cancel ack lost the race with the fill: ignored
        E.CANCEL_REJECTED: S.FILLED,
        E.EXPIRED: S.FILLED,
        E.STATUS_UNKNOWN: S.FILLED,
    },
    S.CANCELED: {
        E.ACCEPTED: S.CANCELED,
        E.PARTIAL_FILL: S.CANCELED,  # trade message trailing the cancel ack
        E.FILL: S.FILLED,
        E.CANCELED: S.CANCELED,
        E.CANCEL_REJECTED: S.CANCELED,
        E.EXPIRED: S.CANCELED,
        E.STATUS_UNKNOWN: S.CANCELED,
    },
    S.EXPIRED: {
        E.ACCEPTED: S.EXPIRED,
        E.PARTIAL_FILL: S.EXPIRED,
        E.FILL: S.FILLED,
        E.CANCELED: S.EXPIRED,
        E.CANCEL_REJECTED: S.EXPIRED,
        E.EXPIRED: S.EXPIRED,
        E.STATUS_UNKNOWN: S.EXPIRED,
    },
    S.REJECTED: {
        E.REJECTED: S.REJECTED,
        E.NOT_FOUND: S.REJECTED,
        E.STATUS_UNKNOWN: S.REJECTED,
    },
}

DUST = Decimal("0.01")
"""A fill exceeding the remaining size by less than this many shares is snapped to it."""


@dataclass(frozen=True, slots=True)
class OrderFill:
    """One trade leg of one order."""

    fill_id: str
    price: Decimal
    size: Decimal
    fee: Decimal = ZERO
    ts_ms: int = 0


@dataclass(frozen=True, slots=True)
class OrderEvent:
    kind: OrderEventKind
    ts_ms: int
    fill: OrderFill | None = None
    """Required for PARTIAL_FILL/FILL."""
    venue_order_id: str | None = None
    """ACCEPTED/SUBMIT may carry the order hash; it must match the one already known."""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Transition:
    ts_ms: int
    event: OrderEventKind
    from_state: OrderState
    to_state: OrderState
    fill_id: str | None = None
    note: str = ""
    """The event's reason, or `dust snapped`, or `duplicate` (a repeated fill id: not recorded)."""


@dataclass(slots=True, eq=False)
class Order:
    """One order and everything known about it. Mutate only through `apply`."""

    client_id: str
    market: str
    asset_id: str
    outcome: Outcome
    side: Side
    price: Decimal
    size: Decimal
    order_type: OrderType = OrderType.GTC
    venue_order_id: str | None = None
    """The order hash (EIP-712 digest), known locally once signed."""
    strategy: str = ""
    created_ms: int = 0
    state: OrderState = OrderState.NEW
    filled_size: Decimal = ZERO
    filled_notional: Decimal = ZERO
    """Exact sum of fill price * fill size."""
    fees: Decimal = ZERO
    updated_ms: int = 0
    fills: dict[str, OrderFill] = field(default_factory=dict)
    history: list[Transition] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.size <= 0:
            raise InvalidValueError(f"order size must be > 0, got {self.size}")
        if not ZERO < self.price < 1:
            raise InvalidValueError(f"order price must be in (0, 1), got {self.price}")
        if not self.updated_ms:
            self.updated_ms = self.created_ms

    @property
    def remaining_size(self) -> Decimal:
        return self.size - self.filled_size

    @property
    def avg_fill_price(self) -> Decimal | None:
        """filled_notional / filled_size (exact when it terminates, else 28 significant digits)."""
        return self.filled_notional / self.filled_size if self.filled_size else None

    @property
    def is_terminal(self) -> bool:
        return self.state.is_terminal

    @property
    def is_open(self) -> bool:
        """May rest on (or be headed to) the book: anything not terminal and not NEW."""
        return not self.state.is_terminal and self.state is not OrderState.NEW

    def can_apply(self, kind: OrderEventKind) -> bool:
        return kind in TRANSITIONS[self.state]

    def apply(self, event: OrderEvent) -> Transition:
        """Apply a command or report; return what happened (see the module rules)."""
        kind = event.kind
        before = self.state
        new_id = event.venue_order_id
        if new_id is not None and self.venue_order_id not in (None, new_id):
            raise VenueStateError(
                f"order {self.client_id}: venue id {new_id} != {self.venue_order_id}"
            )
        if kind is E.PARTIAL_FILL or kind is E.FILL:
            transition = self._apply_fill(event)
        else:
            target = TRANSITIONS[before].get(kind)
            if target is None:
                self._refuse(kind)
            if target is S.REJECTED and self.filled_size > 0:
                raise VenueStateError(f"order {self.client_id}: rejected after fills")
            if target is S.LIVE and self.filled_size > 0:
                target = S.PARTIAL
            transition = self._record(event, kind, before, target, None, event.reason)
        if new_id is not None:
            self.venue_order_id = new_id
        return transition

    def _apply_fill(self, event: OrderEvent) -> Transition:
        fill = event.fill
        if fill is None:
            raise InvalidValueError(f"{event.kind.value} event without a fill")
        before = self.state
        if fill.fill_id in self.fills:
            return Transition(event.ts_ms, event.kind, before, before, fill.fill_id, "duplicate")
        if fill.size <= 0:
            raise VenueStateError(f"order {self.client_id}: fill {fill.fill_id} size {fill.size}")
        note = event.reason
        remaining = self.remaining_size
        if fill.size > remaining:
            if fill.size - remaining >= DUST:
                raise VenueStateError(
                    f"order {self.client_id}: fill {fill.fill_id} of {fill.size} exceeds "
                    f"remaining {remaining}"
                )
            fill = OrderFill(fill.fill_id, fill.price, remaining, fill.fee, fill.ts_ms)
            note = "dust snapped"
        kind = E.FILL if fill.size == remaining else E.PARTIAL_FILL
        target = TRANSITIONS[before].get(kind)
        if target is None:
            self._refuse(kind)
        self.filled_size += fill.size
        self.filled_notional += fill.price * fill.size
        self.fees += fill.fee
        self.fills[fill.fill_id] = fill
        return self._record(event, kind, before, target, fill.fill_id, note)

    def _refuse(self, kind: OrderEventKind) -> NoReturn:
        msg = f"order {self.client_id}: {kind.value} is impossible in state {self.state.value}"
        if kind.is_local:
            raise IllegalTransitionError(msg)
        raise VenueStateError(msg)

    def _record(
        self,
        event: OrderEvent,
        kind: OrderEventKind,
        before: OrderState,
        target: OrderState,
        fill_id: str | None,
        note: str,
    ) -> Transition:
        transition = Transition(event.ts_ms, kind, before, target, fill_id, note)
        self.state = target
        self.updated_ms = max(self.updated_ms, event.ts_ms)
        self.history.append(transition)
        return transition
