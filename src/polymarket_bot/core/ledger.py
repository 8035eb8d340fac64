"""Positions, cash and PnL, exact in Decimal.

Conventions (the tests pin each one):
* A position is keyed by (market, outcome) — outcome is the token's outcome label (`yes`/`no`) or
  any other string that names one token of the market. Binary tokens cannot be shorted: selling
  more than is held raises `InvalidValueError` and changes nothing.
* AVERAGE COST. `cost_basis` is the exact total price*size paid for the shares held; fees are
  not in it. Selling q of n shares releases cost_basis*q/n, rounded half-even to 1e-12 (a full
  close releases the whole remaining basis, so no residue is left). Realized PnL of the sale =
  price*q - released cost, i.e. (price - avg_cost) * q up to that rounding. Realized PnL is GROSS:
  fees are accounted separately.
* Cash: BUY pays price*size + fee; SELL receives price*size - fee; resolution pays shares*payout
  (1 for the winning token, 0 for the loser, or any payout given) with no fee.
* Entry fees follow the shares: they are released to exits pro rata like the cost, so each
  `RealizedExit.fees` = released entry fees + its exit fee, and `net_pnl = pnl - fees`.
* Identity, exact for any marks (the hypothesis tests check it):
      cash + sum(market value) == starting_cash + realized_pnl + unrealized_pnl - fees_paid
  where market value = shares*mark (cost_basis when no mark is given), unrealized = market value
  - cost_basis, and fees_paid counts every fee of every non-voided fill.
* Void (a trade that FAILED to settle): the position is recomputed from its journal (its fills and
  settlements in the order they were applied) without the voided fills, which restores the exact
  average cost; cash, realized and fees move by the difference, and one `RealizedExit` with
  reason `void` carries the realized/fee correction so the emitted exit stream still sums to the
  ledger's totals. A void that would leave a later sale uncovered is refused (void that sale too,
  in the same call).
* External fills (not placed by this process) go through the same path; `apply_fill` classifies
  every fill as opened / applied_same_side / reduced_opposite / closed (or duplicate).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

from polymarket_bot.core.errors import InvalidValueError
from polymarket_bot.core.types import ONE, ZERO, Outcome, Side

PositionKey = tuple[str, str]
"""(market, outcome)."""

ALLOC_QUANTUM = Decimal("1e-12")
_CTX = Context(prec=60, rounding=ROUND_HALF_EVEN)  # sums and products stay exact


def outcome_key(outcome: str | Outcome) -> str:
    """Position key of an outcome: lower case, so `Outcome.YES`, `"yes"` and the venue's `"Yes"`
    name the same position (a str-enum member does not hash like its value)."""
    return outcome.value if isinstance(outcome, Outcome) else outcome.lower()


class FillClass(str, enum.Enum):
    OPENED = "opened"
    APPLIED_SAME_SIDE = "applied_same_side"
    REDUCED_OPPOSITE = "reduced_opposite"
    CLOSED = "closed"
    DUPLICATE = "duplicate"


class ExitReason(str, enum.Enum):
    EXIT = "exit"
    RESOLUTION = "resolution"
    VOID = "void"


@dataclass(frozen=True, slots=True)
class LedgerFill:
    fill_id: str
    market: str
    outcome: str
    side: Side
    price: Decimal
    size: Decimal
    fee: Decimal = ZERO
    ts_ms: int = 0
    external: bool = False
    """A fill of an order this process did not place (manual trade on the same wallet)."""
    order_id: str | None = None


@dataclass(frozen=True, slots=True)
class _Settlement:
    payout: Decimal
    ts_ms: int


@dataclass(frozen=True, slots=True)
class RealizedExit:
    market: str
    outcome: str
    shares: Decimal
    entry_price: Decimal
    """Average cost of the shares exited: cost / shares to 1e-12 (0 for a void correction)."""
    exit_price: Decimal
    cost: Decimal
    """Exact cost basis released."""
    pnl: Decimal
    """Gross: exit_price*shares - cost."""
    fees: Decimal
    """Released entry fees + the exit fee."""
    ts_ms: int
    reason: ExitReason
    fill_id: str | None = None

    @property
    def net_pnl(self) -> Decimal:
        return self.pnl - self.fees


@dataclass(slots=True, eq=False)
class Position:
    market: str
    outcome: str
    shares: Decimal = ZERO
    cost_basis: Decimal = ZERO
    entry_fees: Decimal = ZERO
    """Fees paid on entries of the shares still held (released to exits pro rata)."""
    realized_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO
    cash_flow: Decimal = ZERO
    """Net cash this position moved (negative = spent)."""
    opened_ms: int = 0
    updated_ms: int = 0
    resolved: bool = False
    exits: list[RealizedExit] = field(default_factory=list)
    """Current (recomputed on void) exits of this position."""

    @property
    def key(self) -> PositionKey:
        return (self.market, self.outcome)

    @property
    def avg_cost(self) -> Decimal | None:
        return self.cost_basis / self.shares if self.shares else None

    def market_value(self, mark: Decimal | None) -> Decimal:
        """shares * mark; the cost basis when there is no mark (unrealized 0)."""
        return self.cost_basis if mark is None else self.shares * mark

    def unrealized_pnl(self, mark: Decimal | None) -> Decimal:
        return self.market_value(mark) - self.cost_basis


def _alloc(total: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    return (total * part / whole).quantize(ALLOC_QUANTUM)


def _exit(
    pos: Position,
    shares: Decimal,
    price: Decimal,
    fee: Decimal,
    ts_ms: int,
    reason: ExitReason,
    fill_id: str | None,
) -> None:
    if shares == pos.shares:
        cost, entry_fees = pos.cost_basis, pos.entry_fees
    else:
        cost = _alloc(pos.cost_basis, shares, pos.shares)
        entry_fees = _alloc(pos.entry_fees, shares, pos.shares)
    proceeds = price * shares
    pnl = proceeds - cost
    pos.shares -= shares
    pos.cost_basis -= cost
    pos.entry_fees -= entry_fees
    pos.realized_pnl += pnl
    pos.fees_paid += fee
    pos.cash_flow += proceeds - fee
    pos.updated_ms = ts_ms
    pos.exits.append(
        RealizedExit(
            market=pos.market,
            outcome=pos.outcome,
            shares=shares,
            entry_price=(cost / shares).quantize(ALLOC_QUANTUM).normalize(),
            exit_price=price,
            cost=cost,
            pnl=pnl,
            fees=entry_fees + fee,
            ts_ms=ts_ms,
            reason=reason,
            fill_id=fill_id,
        )
    )


def _step(pos: Position, entry: LedgerFill | _Settlement) -> FillClass | None:
    """Apply one journal entry to `pos` (the only place positions change)."""
    if isinstance(entry, _Settlement):
        if pos.shares:
            _exit(pos, pos.shares, entry.payout, ZERO, entry.ts_ms, ExitReason.RESOLUTION, None)
        pos.resolved = True
        return None
    if pos.resolved:
        raise InvalidValueError(f"fill {entry.fill_id}: market {pos.market} already resolved")
    q, p = entry.size, entry.price
    if entry.side is Side.BUY:
        cls = FillClass.APPLIED_SAME_SIDE if pos.shares else FillClass.OPENED
        if cls is FillClass.OPENED:
            pos.opened_ms = entry.ts_ms
        pos.shares += q
        pos.cost_basis += p * q
        pos.entry_fees += entry.fee
        pos.fees_paid += entry.fee
        pos.cash_flow -= p * q + entry.fee
        pos.updated_ms = entry.ts_ms
        return cls
    if q > pos.shares:
        raise InvalidValueError(
            f"fill {entry.fill_id}: sells {q} of {pos.market}/{pos.outcome} but holds {pos.shares}"
        )
    cls = FillClass.CLOSED if q == pos.shares else FillClass.REDUCED_OPPOSITE
    _exit(pos, q, p, entry.fee, entry.ts_ms, ExitReason.EXIT, entry.fill_id)
    return cls


def _validate(fill: LedgerFill) -> None:
    for name, value in (("price", fill.price), ("size", fill.size), ("fee", fill.fee)):
        if not isinstance(value, Decimal) or not value.is_finite():
            raise InvalidValueError(f"fill {fill.fill_id}: {name} must be a finite Decimal")
    if not ZERO <= fill.price <= ONE:
        raise InvalidValueError(f"fill {fill.fill_id}: price {fill.price} outside [0, 1]")
    if fill.size <= 0:
        raise InvalidValueError(f"fill {fill.fill_id}: size must be > 0")
    if fill.fee < 0:
        raise InvalidValueError(f"fill {fill.fill_id}: fee must be >= 0")


@dataclass(slots=True)
class ExternalFillStats:
    """Counts for `pipeline_status.json` `external_fills` (seed §12)."""

    processed: int = 0
    opened: int = 0
    applied_same_side: int = 0
    reduced_opposite: int = 0
    closed: int = 0
    last_seen_ms: int | None = None

    def count(self, cls: FillClass, ts_ms: int) -> None:
        self.processed += 1
        setattr(self, cls.value, getattr(self, cls.value) + 1)
        self.last_seen_ms = ts_ms if self.last_seen_ms is None else max(self.last_seen_ms, ts_ms)


@dataclass(frozen=True, slots=True)
class RealizedSummary:
    """Statistics over the current exits (voided fills excluded; a win is net_pnl > 0, a loss
    net_pnl < 0). `fees` are the fees allocated to exits (entry share + exit fee), so fees of
    still-open positions are not in it; `Ledger.fees_paid` has every fee."""

    count: int
    wins: int
    losses: int
    win_rate: Decimal
    realized_pnl: Decimal
    fees: Decimal
    net_pnl: Decimal
    avg_win: Decimal
    avg_loss: Decimal


@dataclass(slots=True)
class _SummaryAcc:
    count: int = 0
    wins: int = 0
    losses: int = 0
    sum_win: Decimal = ZERO
    sum_loss: Decimal = ZERO
    pnl: Decimal = ZERO
    fees: Decimal = ZERO

    def add(self, records: Iterable[RealizedExit], sign: int = 1) -> None:
        for r in records:
            net = r.net_pnl
            self.count += sign
            self.pnl += sign * r.pnl
            self.fees += sign * r.fees
            if net > 0:
                self.wins += sign
                self.sum_win += sign * net
            elif net < 0:
                self.losses += sign
                self.sum_loss += sign * net


class Ledger:
    """Cash and positions of one wallet."""

    def __init__(self, starting_cash: Decimal = ZERO) -> None:
        self.starting_cash = starting_cash
        self._cash = starting_cash
        self._realized = ZERO
        self._fees = ZERO
        self._positions: dict[PositionKey, Position] = {}
        self._journal: dict[PositionKey, list[LedgerFill | _Settlement]] = {}
        self._fill_keys: dict[str, PositionKey] = {}
        self._voided: set[str] = set()
        self._emitted: dict[PositionKey, tuple[Decimal, Decimal]] = {}  # exit stream pnl, fees
        self._resolved_markets: set[str] = set()
        self._acc = _SummaryAcc()
        self._exit_stream: list[RealizedExit] = []
        self.external = ExternalFillStats()
        self.version = 0
        """Bumped by every change of cash or positions (readers cache what they derive)."""

    # -- reads ---------------------------------------------------------------------------------

    @property
    def cash(self) -> Decimal:
        return self._cash

    @property
    def realized_pnl(self) -> Decimal:
        return self._realized

    @property
    def fees_paid(self) -> Decimal:
        return self._fees

    @property
    def positions(self) -> Mapping[PositionKey, Position]:
        return self._positions

    def position(self, market: str, outcome: str | Outcome) -> Position | None:
        return self._positions.get((market, outcome_key(outcome)))

    def open_positions(self) -> list[Position]:
        return [p for p in self._positions.values() if p.shares]

    def market_value(self, marks: Mapping[PositionKey, Decimal]) -> Decimal:
        with localcontext(_CTX):
            return sum((p.market_value(marks.get(p.key)) for p in self.open_positions()), ZERO)

    def unrealized_pnl(self, marks: Mapping[PositionKey, Decimal]) -> Decimal:
        """Open positions marked at `marks` (e.g. mids); unmarked ones count at cost (0)."""
        with localcontext(_CTX):
            return sum((p.unrealized_pnl(marks.get(p.key)) for p in self.open_positions()), ZERO)

    def equity(self, marks: Mapping[PositionKey, Decimal]) -> Decimal:
        with localcontext(_CTX):
            return self._cash + self.market_value(marks)

    def drain_exits(self) -> list[RealizedExit]:
        """Realized exits produced since the last drain, void corrections included, in order.

        The stream (for `realized_exits.jsonl`) sums to the ledger's realized PnL and exit fees.
        """
        out, self._exit_stream = self._exit_stream, []
        return out

    def summary(self) -> RealizedSummary:
        a = self._acc
        return RealizedSummary(
            count=a.count,
            wins=a.wins,
            losses=a.losses,
            win_rate=Decimal(a.wins) / a.count if a.count else ZERO,
            realized_pnl=a.pnl,
            fees=a.fees,
            net_pnl=a.pnl - a.fees,
            avg_win=a.sum_win / a.wins if a.wins else ZERO,
            avg_loss=a.sum_loss / a.losses if a.losses else ZERO,
        )

    # -- writes --------------------------------------------------------------------------------

    def apply_fill(self, fill: LedgerFill) -> FillClass:
        """Apply one fill; a fill id seen before (even voided) is a no-op returning DUPLICATE."""
        if fill.fill_id in self._fill_keys:
            return FillClass.DUPLICATE
        _validate(fill)
        if fill.market in self._resolved_markets:
            raise InvalidValueError(f"fill {fill.fill_id}: market {fill.market} already resolved")
        key = (fill.market, outcome_key(fill.outcome))
        pos = self._positions.get(key) or Position(key[0], key[1])
        before = (pos.cash_flow, pos.realized_pnl, pos.fees_paid, len(pos.exits))
        with localcontext(_CTX):
            cls = _step(pos, fill)  # raises before mutating anything
            assert cls is not None
            self._positions[key] = pos
            self._journal.setdefault(key, []).append(fill)
            self._fill_keys[fill.fill_id] = key
            self._absorb(pos, *before)
        self.version += 1
        if fill.external:
            self.external.count(cls, fill.ts_ms)
        return cls

    def resolve_market(
        self, market: str, winning_outcome: str | Outcome, ts_ms: int
    ) -> list[RealizedExit]:
        """Settle every position of `market`: the winner pays 1 per share, the others 0."""
        winner = outcome_key(winning_outcome)
        payouts = {key[1]: ONE if key[1] == winner else ZERO for key in self._positions}
        return self.settle_market(market, payouts, ts_ms)

    def settle_market(
        self, market: str, payouts: Mapping[str, Decimal], ts_ms: int
    ) -> list[RealizedExit]:
        """Settle positions of `market` at `payouts[outcome]` (e.g. 0.5 each for a 50-50)."""
        keys = [k for k in self._positions if k[0] == market]
        for key in keys:
            payout = payouts.get(key[1])
            if payout is None or not ZERO <= payout <= ONE:
                raise InvalidValueError(f"no valid payout for {key[1]!r} of market {market}")
        records: list[RealizedExit] = []
        with localcontext(_CTX):
            for key in keys:
                pos = self._positions[key]
                if pos.resolved:
                    continue
                before = (pos.cash_flow, pos.realized_pnl, pos.fees_paid, len(pos.exits))
                entry = _Settlement(payouts[key[1]], ts_ms)
                _step(pos, entry)
                self._journal[key].append(entry)
                records.extend(self._absorb(pos, *before))
        self._resolved_markets.add(market)
        self.version += 1
        return records

    def void_fill(self, fill_id: str, ts_ms: int) -> list[RealizedExit]:
        return self.void_fills([fill_id], ts_ms)

    def void_fills(self, fill_ids: Iterable[str], ts_ms: int) -> list[RealizedExit]:
        """Reverse fills that failed to settle, atomically; return the void corrections."""
        ids = [i for i in dict.fromkeys(fill_ids) if i not in self._voided]
        for fill_id in ids:
            if fill_id not in self._fill_keys:
                raise InvalidValueError(f"unknown fill id {fill_id!r}")
        voided = self._voided | set(ids)
        affected = dict.fromkeys(self._fill_keys[i] for i in ids)
        with localcontext(_CTX):
            rebuilt = {key: self._replay(key, voided) for key in affected}  # may raise: no change
            self._voided = voided
            self.version += 1
            records: list[RealizedExit] = []
            for key, new in rebuilt.items():
                old = self._positions[key]
                self._cash += new.cash_flow - old.cash_flow
                self._realized += new.realized_pnl - old.realized_pnl
                self._fees += new.fees_paid - old.fees_paid
                self._acc.add(old.exits, -1)
                self._acc.add(new.exits)
                self._positions[key] = new
                emitted_pnl, emitted_fees = self._emitted.get(key, (ZERO, ZERO))
                pnl = new.realized_pnl - emitted_pnl
                fees = sum((r.fees for r in new.exits), ZERO) - emitted_fees
                if pnl or fees:
                    ids_here = ",".join(i for i in ids if self._fill_keys[i] == key)
                    record = RealizedExit(
                        market=key[0],
                        outcome=key[1],
                        shares=ZERO,
                        entry_price=ZERO,
                        exit_price=ZERO,
                        cost=-pnl,
                        pnl=pnl,
                        fees=fees,
                        ts_ms=ts_ms,
                        reason=ExitReason.VOID,
                        fill_id=ids_here,
                    )
                    self._emit(key, record)
                    records.append(record)
        return records

    # -- internals -----------------------------------------------------------------------------

    def _replay(self, key: PositionKey, voided: set[str]) -> Position:
        pos = Position(key[0], key[1])
        for entry in self._journal[key]:
            if isinstance(entry, LedgerFill) and entry.fill_id in voided:
                continue
            _step(pos, entry)
        return pos

    def _absorb(
        self, pos: Position, cash_flow: Decimal, realized: Decimal, fees: Decimal, n_exits: int
    ) -> list[RealizedExit]:
        """Fold the change of `pos` since (cash_flow, realized, fees, n_exits) into the totals."""
        self._cash += pos.cash_flow - cash_flow
        self._realized += pos.realized_pnl - realized
        self._fees += pos.fees_paid - fees
        new = pos.exits[n_exits:]
        self._acc.add(new)
        for record in new:
            self._emit(pos.key, record)
        return new

    def _emit(self, key: PositionKey, record: RealizedExit) -> None:
        pnl, fees = self._emitted.get(key, (ZERO, ZERO))
        self._emitted[key] = (pnl + record.pnl, fees + record.fees)
        self._exit_stream.append(record)
