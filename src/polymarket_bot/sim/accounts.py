"""Balances, reservations and positions of simulated accounts (integer base units, 10**-6).

An account is keyed by its address (the order's `maker`, i.e. funder) compared case-insensitively,
and remembers the API key (`owner`) that first used it. It is funded with `initial_pusd` on first
sight. Open orders reserve what they may spend: a BUY reserves pUSD, a SELL its outcome tokens;
`available = balance - reserved` is what a new order may use.

Conservation bookkeeping (checked by `conservation_errors`):

* pUSD: sum of balances (fee account included) + pUSD locked in complete sets == `pusd_supply`,
  which only moves on funding, admin changes and resolution.
* per market: (supply of YES - admin-granted YES) == (supply of NO - admin-granted NO) ==
  complete sets locked, because minting and merging move one YES, one NO and 1 pUSD together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from polymarket_bot.core.errors import InvalidValueError
from polymarket_bot.core.types import Side
from polymarket_bot.sim.model import BalanceDelta, SimOrder

__all__ = ["FEE_ADDRESS", "Account", "Accounts", "buy_reservation"]

FEE_ADDRESS = "0x00000000000000000000000000000000000fee00"
"""Where taker fees (and nothing else) accumulate; never funded on first sight."""


def buy_reservation(order: SimOrder, remaining: int) -> int:
    """pUSD a BUY holds for `remaining` shares: ceil(remaining x reservation price). Each fill
    at the order's own price or better then releases at least what it costs."""
    return -((-remaining * order.res_num) // order.res_den)


class Account:
    __slots__ = ("address", "owner", "pusd", "pusd_reserved", "tokens", "tokens_reserved")

    def __init__(self, address: str, owner: str, pusd: int) -> None:
        self.address = address
        self.owner = owner
        self.pusd = pusd
        self.pusd_reserved = 0
        self.tokens: dict[str, int] = {}
        self.tokens_reserved: dict[str, int] = {}

    @property
    def available_pusd(self) -> int:
        return self.pusd - self.pusd_reserved

    def token_balance(self, token_id: str) -> int:
        return self.tokens.get(token_id, 0)

    def token_reserved(self, token_id: str) -> int:
        return self.tokens_reserved.get(token_id, 0)

    def available_token(self, token_id: str) -> int:
        return self.tokens.get(token_id, 0) - self.tokens_reserved.get(token_id, 0)


class Accounts:
    """All accounts plus the supply counters behind the conservation invariant."""

    def __init__(self, initial_pusd: int, fee_address: str = FEE_ADDRESS) -> None:
        if initial_pusd < 0:
            raise InvalidValueError("initial pUSD must be >= 0")
        self.initial_pusd = initial_pusd
        self._accounts: dict[str, Account] = {}
        self.pusd_supply = 0
        self.granted_tokens: dict[str, int] = {}  # token id -> admin-created supply
        self.locked: dict[str, int] = {}  # condition id -> complete sets (base units)
        self.fee_account = self._create(fee_address, owner="", pusd=0)

    def _create(self, address: str, owner: str, pusd: int) -> Account:
        acct = Account(address, owner, pusd)
        self._accounts[address.lower()] = acct
        self.pusd_supply += pusd
        return acct

    def get(self, address: str, owner: str = "") -> Account:
        """The account for `address`, funded with `initial_pusd` if never seen."""
        acct = self._accounts.get(address.lower())
        if acct is None:
            return self._create(address, owner, self.initial_pusd)
        if owner and not acct.owner:
            acct.owner = owner
        return acct

    def find(self, address: str) -> Account | None:
        return self._accounts.get(address.lower())

    def all(self) -> list[Account]:
        return list(self._accounts.values())

    # --- admin ----------------------------------------------------------------------------

    def set_balance(
        self, address: str, *, pusd: int | None = None, tokens: Mapping[str, int] | None = None
    ) -> Account:
        """Set absolute balances (created from nothing; recorded as supply changes)."""
        acct = self.get(address)
        if pusd is not None:
            self.pusd_supply += pusd - acct.pusd
            acct.pusd = pusd
        for token_id, amount in (tokens or {}).items():
            delta = amount - acct.tokens.get(token_id, 0)
            self.granted_tokens[token_id] = self.granted_tokens.get(token_id, 0) + delta
            acct.tokens[token_id] = amount
        return acct

    # --- movements (callers keep the books balanced) ---------------------------------------

    @staticmethod
    def add_tokens(acct: Account, token_id: str, delta: int) -> None:
        acct.tokens[token_id] = acct.tokens.get(token_id, 0) + delta

    @staticmethod
    def reserve_tokens(acct: Account, token_id: str, delta: int) -> None:
        acct.tokens_reserved[token_id] = acct.tokens_reserved.get(token_id, 0) + delta

    def add_locked(self, condition_id: str, delta: int) -> None:
        self.locked[condition_id] = self.locked.get(condition_id, 0) + delta

    def split(self, acct: Account, condition_id: str, yes: str, no: str, amount: int) -> None:
        """Turn `amount` pUSD into `amount` YES + `amount` NO (a complete set, like the CTF)."""
        if amount <= 0 or acct.available_pusd < amount:
            raise InvalidValueError(f"cannot split {amount}: available {acct.available_pusd}")
        acct.pusd -= amount
        self.add_tokens(acct, yes, amount)
        self.add_tokens(acct, no, amount)
        self.add_locked(condition_id, amount)

    # --- orders and fills -------------------------------------------------------------------

    def reserve_order(self, order: SimOrder) -> None:
        """Hold what a resting order may still spend."""
        acct = self.get(order.maker_address)
        if order.side is Side.BUY:
            order.reserved = buy_reservation(order, order.remaining)
            acct.pusd_reserved += order.reserved
        else:
            order.reserved = order.remaining
            self.reserve_tokens(acct, order.token_id, order.remaining)

    def release_order(self, order: SimOrder) -> None:
        acct = self.get(order.maker_address)
        if order.side is Side.BUY:
            acct.pusd_reserved -= order.reserved
        else:
            self.reserve_tokens(acct, order.token_id, -order.reserved)
        order.reserved = 0

    def fill_maker(self, maker: SimOrder, qty: int, pusd: int) -> BalanceDelta:
        """A resting order traded `qty` (its `remaining` already reduced) with pUSD delta
        `pusd`; moves tokens, shrinks its reservation, returns the delta for a reversal."""
        acct = self.get(maker.maker_address)
        acct.pusd += pusd
        if maker.side is Side.BUY:
            self.add_tokens(acct, maker.token_id, qty)
            held = buy_reservation(maker, maker.remaining)
            acct.pusd_reserved -= maker.reserved - held
            maker.reserved = held
            return (acct.address, pusd, maker.token_id, qty)
        self.add_tokens(acct, maker.token_id, -qty)
        self.reserve_tokens(acct, maker.token_id, -qty)
        maker.reserved -= qty
        return (acct.address, pusd, maker.token_id, -qty)

    def fill_taker(
        self, acct: Account, token_id: str, tokens: int, pusd: int, fee: int
    ) -> list[BalanceDelta]:
        """The taker's side of one trade: `tokens` and `pusd` (before fee) signed; the fee
        goes to the fee account."""
        acct.pusd += pusd - fee
        self.add_tokens(acct, token_id, tokens)
        deltas: list[BalanceDelta] = [(acct.address, pusd - fee, token_id, tokens)]
        if fee:
            self.fee_account.pusd += fee
            deltas.append((self.fee_account.address, fee, None, 0))
        return deltas

    def reverse(self, deltas: Iterable[BalanceDelta], condition_id: str, locked: int) -> None:
        """Undo a trade's balance effects exactly (a FAILED trade)."""
        for address, pusd, token_id, tokens in deltas:
            acct = self.get(address)
            acct.pusd -= pusd
            if token_id is not None:
                self.add_tokens(acct, token_id, -tokens)
        self.add_locked(condition_id, -locked)

    def redeem(self, condition_id: str, token_ids: Iterable[str], winner: str) -> int:
        """Resolution: pay 1 pUSD per `winner` share, burn every token of the market, release
        the complete sets; returns the pUSD paid. Open orders must be cancelled first."""
        tokens = tuple(token_ids)
        paid = 0
        for acct in self._accounts.values():
            won = acct.tokens.get(winner, 0)
            acct.pusd += won
            paid += won
            for token in tokens:
                acct.tokens.pop(token, None)
                acct.tokens_reserved.pop(token, None)
        self.pusd_supply += paid - self.locked.pop(condition_id, 0)
        for token in tokens:
            self.granted_tokens.pop(token, None)
        return paid

    # --- invariants -------------------------------------------------------------------------

    def total_pusd(self) -> int:
        return sum(a.pusd for a in self._accounts.values())

    def token_supply(self, token_id: str) -> int:
        return sum(a.tokens.get(token_id, 0) for a in self._accounts.values())

    def conservation_errors(self, markets: Iterable[tuple[str, str, str]]) -> list[str]:
        """Violated invariants, given (condition id, YES token, NO token) per market."""
        errors: list[str] = []
        locked_total = sum(self.locked.values())
        if self.total_pusd() + locked_total != self.pusd_supply:
            errors.append(
                f"pUSD {self.total_pusd()} + locked {locked_total} != supply {self.pusd_supply}"
            )
        for cid, yes, no in markets:
            sets = self.locked.get(cid, 0)
            net_yes = self.token_supply(yes) - self.granted_tokens.get(yes, 0)
            net_no = self.token_supply(no) - self.granted_tokens.get(no, 0)
            if not net_yes == net_no == sets:
                errors.append(f"market {cid}: YES {net_yes}, NO {net_no}, sets {sets}")
        for acct in self._accounts.values():
            if acct.pusd_reserved < 0 or any(v < 0 for v in acct.tokens_reserved.values()):
                errors.append(f"negative reservation on {acct.address}")
        return errors

    def reservation_errors(self, live_orders: Iterable[SimOrder]) -> list[str]:
        """Accounts whose reservations differ from the sum held by their live orders."""
        pusd: dict[str, int] = {}
        tokens: dict[tuple[str, str], int] = {}
        for o in live_orders:
            key = o.maker_address.lower()
            if o.side is Side.BUY:
                pusd[key] = pusd.get(key, 0) + o.reserved
            else:
                tokens[(key, o.token_id)] = tokens.get((key, o.token_id), 0) + o.reserved
        errors: list[str] = []
        for acct in self._accounts.values():
            key = acct.address.lower()
            if acct.pusd_reserved != pusd.get(key, 0):
                errors.append(f"{acct.address}: pUSD reserved {acct.pusd_reserved}")
            for token, amount in acct.tokens_reserved.items():
                if amount != tokens.get((key, token), 0):
                    errors.append(f"{acct.address}: {token} reserved {amount}")
        return errors
