"""Per-key accounts: exact balances, charges and refunds, and per-key caps."""

from __future__ import annotations

import pytest

from mock_server.core.accounts import Accounts
from mock_server.core.errors import InsufficientCredits
from mock_server.core.limits import Limits
from mock_server.core.money import to_micros, usd_number

PRICE = to_micros("0.35")
KEY, OTHER = "key-a", "key-b"


@pytest.fixture
def accounts() -> Accounts:
    return Accounts(to_micros("10"), Limits(rpm=100, max_unfinished=5))


def test_new_key_opens_with_the_default_balance(accounts: Accounts) -> None:
    assert accounts.get(KEY).balance_micros == to_micros("10")
    assert accounts.opened() == [KEY]


def test_charge_takes_from_that_key_only(accounts: Accounts) -> None:
    accounts.charge(KEY, 2 * PRICE)
    assert accounts.get(KEY).balance_micros == to_micros("9.3")
    assert accounts.get(OTHER).balance_micros == to_micros("10")


def test_refund_gives_the_charge_back(accounts: Accounts) -> None:
    accounts.charge(KEY, 4 * PRICE)
    accounts.refund(KEY, 4 * PRICE)
    assert accounts.get(KEY).balance_micros == to_micros("10")


def test_charge_of_the_whole_balance_is_allowed(accounts: Accounts) -> None:
    accounts.charge(KEY, to_micros("10"))
    assert accounts.get(KEY).balance_micros == 0


def test_charge_beyond_the_balance_is_refused_and_takes_nothing(accounts: Accounts) -> None:
    accounts.set_balance(KEY, to_micros("0.5"))
    with pytest.raises(InsufficientCredits) as caught:
        accounts.charge(KEY, 2 * PRICE)
    assert caught.value.status == 400
    assert caught.value.message == "Insufficient credits"
    assert accounts.get(KEY).balance_micros == to_micros("0.5")


def test_insufficient_credits_can_answer_402(accounts: Accounts) -> None:
    accounts.set_balance(KEY, 0)
    with pytest.raises(InsufficientCredits) as caught:
        accounts.charge(KEY, PRICE, status=402)
    assert caught.value.status == 402


def test_a_thousand_charges_leave_exactly_nothing() -> None:
    accounts = Accounts(to_micros("350"), Limits())
    for _ in range(1_000):
        accounts.charge(KEY, PRICE)
    assert accounts.get(KEY).balance_micros == 0
    assert usd_number(accounts.get(KEY).balance_micros) == 0
    with pytest.raises(InsufficientCredits):
        accounts.charge(KEY, 1)


def test_set_balance_rejects_a_negative_amount(accounts: Accounts) -> None:
    with pytest.raises(ValueError, match="negative"):
        accounts.set_balance(KEY, -1)


def test_limits_default_to_the_servers(accounts: Accounts) -> None:
    assert accounts.limits(KEY) == Limits(rpm=100, max_unfinished=5)


def test_set_limits_overrides_one_key(accounts: Accounts) -> None:
    accounts.set_limits(KEY, rpm=3)
    accounts.set_limits(KEY, max_unfinished=1)
    assert accounts.limits(KEY) == Limits(rpm=3, max_unfinished=1)
    assert accounts.limits(OTHER) == Limits(rpm=100, max_unfinished=5)


def test_set_limits_with_none_leaves_a_cap_as_it_is(accounts: Accounts) -> None:
    accounts.set_limits(KEY, rpm=3, max_unfinished=2)
    accounts.set_limits(KEY)
    assert accounts.limits(KEY) == Limits(rpm=3, max_unfinished=2)


def test_new_defaults_change_caps_for_existing_keys(accounts: Accounts) -> None:
    accounts.get(KEY)
    accounts.defaults(to_micros("1"), Limits(rpm=7, max_unfinished=8))
    assert accounts.limits(KEY) == Limits(rpm=7, max_unfinished=8)


def test_new_defaults_change_the_balance_only_for_new_keys(accounts: Accounts) -> None:
    accounts.charge(KEY, PRICE)
    accounts.defaults(to_micros("1"), Limits())
    assert accounts.get(KEY).balance_micros == to_micros("9.65")
    assert accounts.get(OTHER).balance_micros == to_micros("1")


def test_new_defaults_keep_a_keys_own_caps(accounts: Accounts) -> None:
    accounts.set_limits(KEY, rpm=3)
    accounts.defaults(to_micros("1"), Limits(rpm=7, max_unfinished=8))
    assert accounts.limits(KEY) == Limits(rpm=3, max_unfinished=8)


def test_snapshot_is_a_copy(accounts: Accounts) -> None:
    accounts.get(KEY)
    snapshot = accounts.snapshot()
    snapshot[KEY].balance_micros = 0
    assert accounts.get(KEY).balance_micros == to_micros("10")


def test_clear_forgets_every_account(accounts: Accounts) -> None:
    accounts.charge(KEY, PRICE)
    accounts.clear()
    assert accounts.opened() == []
    assert accounts.get(KEY).balance_micros == to_micros("10")
