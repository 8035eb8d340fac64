"""Reconciliation: the venue is the truth; differences are corrected by explicit events.

Start-up (`load_inventory` + `Reconciler.startup`): the account's cash (COLLATERAL balance), its
token balances (CONDITIONAL, per token) and its trade history are read. The ledger is *seeded*
from the balances (`Inventory.seed_ledger`): one `reconcile:seed:<token>` BUY per held token at
the average price of our buys in the history (0 when the history has none), with starting cash
= venue cash + seed cost so that the ledger's cash equals the venue's. Every trade already in
the history is marked as reflected (`OrderManager.preload_trades`): later status updates of it
(MINED, CONFIRMED) book nothing, so nothing is counted twice. Orders this account placed in an
earlier run are read from the write-ahead `submit` records of orders.jsonl: their fills are ours
(not external), and when such an order is still live at the venue the trader CANCELS it (policy
`cancel`, the default: its strategy context is gone, the new run starts flat on orders; with
policy `keep` it is left alone and reported). Each correction is one orders.jsonl `reconcile`
record (`source: reconcile`, `metadata.kind` says which) and a counter in the `reconcile` section.

Continuously (`on_snapshot`, fed by each REST poll): a local open order missing from a complete
venue listing is queried (`StatusQuery`: fills are booked, the remainder cancelled); an UNKNOWN
order the venue lists is resolved by the poll itself, one it does not list is queried (NOT_FOUND
after `unknown_grace_s`); a venue order we hold as REJECTED/CANCELED/EXPIRED but which is live
is cancelled (`cancel`) or reported (`keep`). Every `position_check_s` the ledger's shares are
compared with the token balances; a difference seen twice in a row (so fills in flight are not
"corrected") is booked as a `reconcile:pos:<token>:<n>` fill at the position's average cost
(realized 0) and recorded. The standalone `orders-ws` process never cancels (`may_cancel=False`):
it would be cancelling the trader's orders.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from polymarket_bot.core.clock import Clock
from polymarket_bot.core.intents import OUTCOME_VALUE, iso_ms
from polymarket_bot.core.ledger import Ledger, LedgerFill
from polymarket_bot.core.orders import Order, OrderState
from polymarket_bot.core.types import ZERO, Side, from_base_units
from polymarket_bot.engine.execution.manager import MarketLookup, OrderManager
from polymarket_bot.engine.execution.sink import ExecutionSink
from polymarket_bot.engine.execution.status_query import StatusQuery
from polymarket_bot.engine.execution.venue_reports import Identity, trade_legs
from polymarket_bot.engine.tracking.rest_poller import PollSnapshot
from polymarket_bot.protocol.mapping import trade_update
from polymarket_bot.transport.errors import TransportError
from polymarket_bot.transport.rest import ClobRestClient

__all__ = [
    "SOURCE_RECONCILE",
    "Inventory",
    "Reconciler",
    "SeedPosition",
    "SubmitJournal",
    "load_inventory",
    "prior_order_ids",
]

log = logging.getLogger(__name__)

SOURCE_RECONCILE: Final = "reconcile"
_S = OrderState
_LOCAL_OPEN = frozenset({_S.LIVE, _S.PARTIAL, _S.CANCEL_PENDING})
_LOCAL_DEAD = frozenset({_S.REJECTED, _S.CANCELED, _S.EXPIRED})
_EARLIER_RUN: Final = "live order of an earlier run"


@dataclass(frozen=True, slots=True)
class SeedPosition:
    token_id: str
    market: str
    outcome: str
    shares: Decimal
    avg_price: Decimal
    price_source: str
    """`trades` (average of our buys in the venue history) or `unknown` (price 0)."""


@dataclass(slots=True)
class Inventory:
    """The account at the venue when tracking starts."""

    cash: Decimal
    positions: list[SeedPosition]
    trade_ids: list[str]
    at: float
    markets: dict[str, tuple[str, str]] = field(default_factory=dict)
    """token -> (market, outcome) learnt from the history (for tokens without market info)."""

    @property
    def seed_cost(self) -> Decimal:
        return sum((p.shares * p.avg_price for p in self.positions), ZERO)

    def seed_ledger(self) -> Ledger:
        """A ledger holding the venue's positions, whose cash equals the venue's cash."""
        ledger = Ledger(self.cash + self.seed_cost)
        ts_ms = int(self.at * 1000)
        for p in self.positions:
            ledger.apply_fill(
                LedgerFill(
                    fill_id=f"reconcile:seed:{p.token_id}",
                    market=p.market,
                    outcome=p.outcome,
                    side=Side.BUY,
                    price=p.avg_price,
                    size=p.shares,
                    ts_ms=ts_ms,
                )
            )
        return ledger


async def load_inventory(
    rest: ClobRestClient,
    *,
    identity: Identity,
    markets: MarketLookup,
    tokens: Iterable[str] = (),
    clock: Clock,
    history_pages: int = 50,
) -> Inventory:
    """Cash, token balances and trade history of the account (see the module docstring)."""
    cash = from_base_units(int((await rest.get_balance_allowance("COLLATERAL")).balance))
    trades = await rest.get_all_trades(max_pages=history_pages)
    bought: dict[str, tuple[Decimal, Decimal]] = {}  # token -> (shares, cost)
    learnt: dict[str, tuple[str, str]] = {}
    trade_ids: list[str] = []
    for t in trades:
        try:
            update = trade_update(t)
        except ValueError:
            continue
        trade_ids.append(update.trade_id)
        for leg in trade_legs(update, {}, identity):
            learnt.setdefault(leg.asset_id, (update.market, leg.wire_outcome.lower()))
            if leg.side is Side.BUY:
                q, c = bought.get(leg.asset_id, (ZERO, ZERO))
                bought[leg.asset_id] = (q + leg.size, c + leg.size * leg.price)
    positions: list[SeedPosition] = []
    for token in dict.fromkeys([*tokens, *learnt]):
        balance = await rest.get_balance_allowance("CONDITIONAL", token_id=token)
        shares = from_base_units(int(balance.balance))
        if shares <= 0:
            continue
        market, outcome = _market_outcome(token, markets, learnt)
        q, c = bought.get(token, (ZERO, ZERO))
        price = (c / q).quantize(Decimal("1e-6")) if q > 0 else ZERO
        positions.append(
            SeedPosition(token, market, outcome, shares, price, "trades" if q > 0 else "unknown")
        )
    return Inventory(cash, positions, trade_ids, clock.time(), learnt)


def _market_outcome(
    token: str, markets: MarketLookup, learnt: Mapping[str, tuple[str, str]]
) -> tuple[str, str]:
    info = markets(token)
    outcome = info.outcome_of(token) if info is not None else None
    if info is not None and outcome is not None:
        return info.condition_id, OUTCOME_VALUE[outcome]
    return learnt.get(token, (token, token))


def prior_order_ids(orders_jsonl: Path) -> set[str]:
    """Venue order ids of the write-ahead `submit` records in orders.jsonl (earlier runs)."""
    journal = SubmitJournal(orders_jsonl)
    journal.refresh()
    return set(journal.ids)


class SubmitJournal:
    """The order ids of `submit` records in an orders.jsonl another process appends to, read
    incrementally (only the bytes added since the last read; a torn last line waits)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.ids: set[str] = set()
        self._offset = 0
        self._rest = b""

    def refresh(self) -> int:
        """Read what was appended; returns the number of new ids."""
        try:
            with self.path.open("rb") as fh:
                fh.seek(0, 2)
                size = fh.tell()
                if size < self._offset:  # replaced or truncated: start over
                    self._offset, self._rest = 0, b""
                fh.seek(self._offset)
                data = fh.read()
        except FileNotFoundError:
            return 0
        self._offset += len(data)
        lines = (self._rest + data).split(b"\n")
        self._rest = lines.pop()
        before = len(self.ids)
        for line in lines:
            if b'"submit"' not in line:
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict) and rec.get("event") == "submit" and rec.get("order_id"):
                self.ids.add(str(rec["order_id"]))
        return len(self.ids) - before

    def __contains__(self, order_id: object) -> bool:
        if order_id in self.ids:
            return True
        self.refresh()  # the other process may have just written it
        return order_id in self.ids


@dataclass(slots=True)
class _Counts:
    positions_seeded: int = 0
    trades_preloaded: int = 0
    orders_resolved: int = 0
    unknown_resolved: int = 0
    orphans_canceled: int = 0
    orphans_kept: int = 0
    positions_corrected: int = 0
    position_mismatches: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class Reconciler:
    """Start-up and continuous reconciliation of one `OrderManager` against the venue."""

    def __init__(
        self,
        manager: OrderManager,
        rest: ClobRestClient,
        *,
        clock: Clock,
        sink: ExecutionSink,
        query: StatusQuery | None = None,
        prior_ids: Iterable[str] = (),
        may_cancel: bool = True,
        orphan_policy: str = "cancel",
        tokens: Callable[[], Iterable[str]] = lambda: (),
        position_check_s: float = 30.0,
        correct_positions: bool = True,
        unknown_grace_s: float = 30.0,
    ) -> None:
        if orphan_policy not in ("cancel", "keep"):
            raise ValueError("orphan_policy must be 'cancel' or 'keep'")
        self.manager = manager
        self.rest = rest
        self.clock = clock
        self.sink = sink
        self.query = query or StatusQuery(manager, rest)
        self.prior_ids: set[str] = set(prior_ids)
        self.may_cancel = may_cancel
        self.orphan_policy = orphan_policy
        self.tokens = tokens
        self.position_check_s = position_check_s
        self.correct_positions = correct_positions
        self.unknown_grace_s = unknown_grace_s
        self.counts = _Counts()
        self.runs = 0
        self.errors = 0
        self.last_run_epoch: float | None = None
        self.last_error: str | None = None
        self.startup_summary: dict[str, Any] | None = None
        self.learnt: dict[str, tuple[str, str]] = {}
        self._handled_orphans: set[str] = set()
        self._last_position_check = 0.0
        self._suspects: dict[str, Decimal] = {}
        self._corrections = 0
        prev = manager.is_own_order
        manager.is_own_order = lambda oid: oid in self.prior_ids or (prev is not None and prev(oid))

    # -- start-up --------------------------------------------------------------------------------

    def startup(self, inventory: Inventory, *, seeded: bool = True) -> None:
        """Record what the start-up reconciliation found and took over (call once, after the
        ledger was made with `inventory.seed_ledger()` when `seeded`)."""
        self.learnt.update(inventory.markets)
        preloaded = self.manager.preload_trades(inventory.trade_ids)
        self.counts.trades_preloaded += preloaded
        if seeded:
            for p in inventory.positions:
                self.counts.positions_seeded += 1
                self._record(
                    "position_seeded",
                    market=p.market,
                    outcome=p.outcome,
                    token_id=p.token_id,
                    size=p.shares,
                    price=p.avg_price,
                    reason="position from the venue balance at start-up",
                    extra={"price_source": p.price_source},
                )
        self.startup_summary = {
            "at": iso_ms(inventory.at),
            "cash": inventory.cash,
            "positions_seeded": len(inventory.positions) if seeded else 0,
            "trades_preloaded": preloaded,
            "prior_orders": len(self.prior_ids),
        }

    async def startup_orders(self) -> int:
        """Handle orders of earlier runs still live at the venue; returns how many were found."""
        try:
            live = await self.rest.get_all_open_orders(max_pages=20)
        except (TransportError, ValueError) as exc:
            self._error(f"start-up open orders: {exc}")
            return 0
        found = 0
        for o in live:
            if o.id in self.prior_ids and self.manager.by_venue_id(o.id) is None:
                found += 1
                await self._orphan(o.id, o.asset_id, o.market, o.side, _EARLIER_RUN)
        if self.startup_summary is not None:
            self.startup_summary["orphans_found"] = found
        self.runs += 1
        self.last_run_epoch = self.clock.time()
        return found

    # -- continuous ------------------------------------------------------------------------------

    async def on_snapshot(self, snap: PollSnapshot) -> None:
        """Compare one REST poll with the local state (see the module docstring)."""
        self.runs += 1
        self.last_run_epoch = self.clock.time()
        venue_ids = {o.id for o in snap.open_orders}
        for o in snap.open_orders:
            local = self.manager.by_venue_id(o.id)
            if local is not None and local.state in _LOCAL_DEAD:
                why = f"live but {local.state.value} here"
                await self._orphan(o.id, o.asset_id, o.market, o.side, why)
            elif local is None and o.id in self.prior_ids:
                await self._orphan(o.id, o.asset_id, o.market, o.side, _EARLIER_RUN)
        if snap.complete:
            for order in self.manager.orders():
                if order.venue_order_id is None or order.venue_order_id in venue_ids:
                    continue
                if order.state in _LOCAL_OPEN:
                    await self._resolve(order, allow_not_found=False)
                elif order.state is _S.UNKNOWN:
                    age = self.clock.time() - order.updated_ms / 1000
                    await self._resolve(order, allow_not_found=age >= self.unknown_grace_s)
        if self.clock.time() - self._last_position_check >= self.position_check_s:
            await self.check_positions()

    async def _resolve(self, order: Order, *, allow_not_found: bool) -> None:
        before = order.state
        answered = await self.query.query(order, allow_not_found=allow_not_found)
        if not answered or order.state is before:
            return
        if before is _S.UNKNOWN:
            self.counts.unknown_resolved += 1
        else:
            self.counts.orders_resolved += 1
        self._record(
            "order_resolved",
            market=order.market,
            outcome=OUTCOME_VALUE[order.outcome],
            token_id=order.asset_id,
            size=order.size,
            price=order.price,
            order_id=order.venue_order_id,
            reason=f"{before.value} here, not open at the venue -> {order.state.value}",
        )

    async def _orphan(self, order_id: str, token_id: str, market: str, side: str, why: str) -> None:
        if order_id in self._handled_orphans:
            return
        self._handled_orphans.add(order_id)
        market_key, outcome = _market_outcome(token_id, self.manager.market_info, self.learnt)
        cancel = self.may_cancel and self.orphan_policy == "cancel"
        if cancel:
            try:
                response = await self.rest.cancel(order_id)
            except (TransportError, ValueError) as exc:
                self._handled_orphans.discard(order_id)  # try again next round
                self._error(f"cancel of orphan {order_id}: {exc}")
                return
            done = order_id in (response.canceled or ())
            self.counts.orphans_canceled += int(done)
            kind = "orphan_canceled"
            reason = f"{why}: cancelled" if done else f"{why}: cancel refused"
        else:
            self.counts.orphans_kept += 1
            kind, reason = "orphan_kept", f"{why}: left alone"
        self._record(
            kind,
            market=market_key or market,
            outcome=outcome,
            token_id=token_id,
            order_id=order_id,
            reason=reason,
            extra={"side": side},
        )

    async def check_positions(self) -> int:
        """Ledger shares vs token balances; returns the corrections booked."""
        self._last_position_check = self.clock.time()
        ledger = self.manager.ledger
        tokens: dict[str, tuple[str, str]] = {}
        for token in dict.fromkeys([*self.tokens(), *self.learnt]):
            tokens[token] = _market_outcome(token, self.manager.market_info, self.learnt)
        held = {key for key, p in ledger.positions.items() if p.shares}
        known = set(tokens.values())
        missing = held - known
        if missing:
            log.debug("reconcile: positions without a token id: %s", sorted(missing))
        booked = 0
        for token, (market, outcome) in tokens.items():
            try:
                balance = await self.rest.get_balance_allowance("CONDITIONAL", token_id=token)
            except (TransportError, ValueError) as exc:
                self._error(f"balance of {token}: {exc}")
                return booked
            venue = from_base_units(int(balance.balance))
            pos = ledger.position(market, outcome)
            local = pos.shares if pos is not None else ZERO
            diff = venue - local
            if diff == 0 or self.manager.pending_voids:
                self._suspects.pop(token, None)
                continue
            if self._suspects.get(token) != diff:
                self._suspects[token] = diff  # confirm on the next check (fills in flight)
                continue
            self._suspects.pop(token, None)
            self.counts.position_mismatches += 1
            if self.correct_positions and self._correct(token, market, outcome, diff, pos):
                booked += 1
        return booked

    def _correct(self, token: str, market: str, outcome: str, diff: Decimal, pos: Any) -> bool:
        price = pos.avg_cost.quantize(Decimal("1e-6")) if pos is not None and pos.avg_cost else ZERO
        self._corrections += 1
        fill = LedgerFill(
            fill_id=f"reconcile:pos:{token}:{self._corrections}",
            market=market,
            outcome=outcome,
            side=Side.BUY if diff > 0 else Side.SELL,
            price=min(max(price, ZERO), Decimal(1)),
            size=abs(diff),
            ts_ms=self.clock.time_ms(),
        )
        try:
            self.manager.ledger.apply_fill(fill)
        except ValueError as exc:
            self._error(f"position correction of {token}: {exc}")
            return False
        self.manager.flush_exits()
        self.counts.positions_corrected += 1
        self._record(
            "position_corrected",
            market=market,
            outcome=outcome,
            token_id=token,
            size=abs(diff),
            price=fill.price,
            reason=f"ledger {'below' if diff > 0 else 'above'} the venue balance by {abs(diff)}",
            extra={"side": fill.side.value, "fill_id": fill.fill_id},
        )
        return True

    # -- records and status ----------------------------------------------------------------------

    def _record(
        self,
        kind: str,
        *,
        market: str,
        outcome: str,
        token_id: str,
        reason: str,
        size: Decimal = ZERO,
        price: Decimal | None = None,
        order_id: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """One orders.jsonl `reconcile` record (docs/REPORTS.md)."""
        self.sink.record_order(
            {
                "timestamp": iso_ms(self.clock.time()),
                "event": "reconcile",
                "market_id": self.manager.label(market),
                "action": outcome,
                "size": size,
                "reason": reason,
                "metadata": {"kind": kind, **(extra or {})},
                "runtime_mode": self.manager.runtime_mode,
                "status": kind,
                "source": SOURCE_RECONCILE,
                "order_id": order_id,
                "price": price,
                "token_id": token_id,
                "condition_id": market,
            }
        )

    def _error(self, message: str) -> None:
        self.errors += 1
        self.last_error = message
        log.warning("reconcile: %s", message)

    def section(self) -> dict[str, Any]:
        """The `reconcile` section of pipeline_status.json *(ours)*."""
        return {
            "runs": self.runs,
            "last_run_epoch": self.last_run_epoch,
            "corrections": self.counts.as_dict(),
            "errors": self.errors,
            "last_error": self.last_error,
            "orphan_policy": self.orphan_policy if self.may_cancel else "keep",
            "startup": self.startup_summary,
        }
