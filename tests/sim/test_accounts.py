"""Accounts: first-sight funding, admin balances, reservations and the conservation ledger."""

from __future__ import annotations

import pytest
from exchange_kit import ALICE, BOB, CID, NO, UNIT, YES, make_kit

from polymarket_bot.core.errors import InvalidValueError
from polymarket_bot.sim.accounts import FEE_ADDRESS, Accounts

MARKETS = [(CID, YES, NO)]


def test_funded_on_first_sight_case_insensitive() -> None:
    accts = Accounts(initial_pusd=50 * UNIT)
    a = accts.get("0xAbC", owner="key-1")
    assert (a.pusd, a.owner) == (50 * UNIT, "key-1")
    assert accts.get("0xabc") is a and accts.find("0XABC".lower()) is a
    assert accts.get("0xabc", owner="key-2").owner == "key-1"  # first owner sticks
    assert accts.pusd_supply == 50 * UNIT
    assert accts.fee_account.pusd == 0 and accts.find(FEE_ADDRESS) is accts.fee_account
    assert accts.conservation_errors([]) == []


def test_set_balance_moves_supply_and_grants_tokens() -> None:
    accts = Accounts(initial_pusd=10 * UNIT)
    accts.set_balance("0x1", pusd=3 * UNIT, tokens={YES: 7 * UNIT})
    assert accts.pusd_supply == 3 * UNIT
    assert accts.granted_tokens == {YES: 7 * UNIT}
    assert accts.conservation_errors(MARKETS) == []
    accts.get("0x1").tokens[YES] += 1  # a bug that creates a token is caught
    assert accts.conservation_errors(MARKETS) == [f"market {CID}: YES 1, NO 0, sets 0"]


def test_split_locks_collateral() -> None:
    accts = Accounts(initial_pusd=10 * UNIT)
    a = accts.get("0x1")
    accts.split(a, CID, YES, NO, 4 * UNIT)
    assert (a.pusd, a.token_balance(YES), a.token_balance(NO)) == (6 * UNIT, 4 * UNIT, 4 * UNIT)
    assert accts.locked[CID] == 4 * UNIT
    assert accts.conservation_errors(MARKETS) == []
    with pytest.raises(InvalidValueError):
        accts.split(a, CID, YES, NO, 7 * UNIT)
    a.pusd -= 1  # pUSD vanishing is caught
    assert accts.conservation_errors(MARKETS)[0].startswith("pUSD")


def test_buy_reservation_shrinks_with_fills_and_returns_on_cancel() -> None:
    kit = make_kit()
    res = kit.buy(ALICE, "0.33", "10")  # reserves 3.3
    acct = kit.ex.account(ALICE.address)
    assert acct.pusd_reserved == 3_300_000 and acct.available_pusd == 996_700_000
    kit.ex.split(BOB.address, CID, 10 * UNIT)
    kit.sell(BOB, "0.3", "5")  # BOB is the taker and trades at ALICE's 0.33
    assert acct.pusd == 1_000 * UNIT - 1_650_000
    assert acct.pusd_reserved == 1_650_000
    kit.ex.cancel_order(ALICE.owner, res.order_id, kit.now)
    assert acct.pusd_reserved == 0 and acct.available_pusd == acct.pusd
    assert kit.ex.check_invariants() == []


def test_sell_reservation_blocks_double_selling() -> None:
    kit = make_kit()
    kit.ex.split(ALICE.address, CID, 10 * UNIT)
    kit.sell(ALICE, "0.7", "8")
    acct = kit.ex.account(ALICE.address)
    assert acct.token_reserved(YES) == 8 * UNIT and acct.available_token(YES) == 2 * UNIT
    assert kit.sell(ALICE, "0.7", "5", token=NO).status == "live"  # NO is separate
    kit.buy(BOB, "0.7", "8")
    assert acct.token_balance(YES) == 2 * UNIT and acct.token_reserved(YES) == 0
    assert kit.ex.check_invariants() == []
