"""The balance: a bare number that a submit lowers by its price, and a failure refunds.

gpt-image-1 costs num_images x --apixo-price; another model its pack's price
rule. Off a mock, a price the docs do not give is only the pack's guess: the
charge of such a model is not judged (its tasks run only with
--apixo-allow-unpriced).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from contract_tests.checks import ContractViolation, balance_amount, check_charge, result_urls
from contract_tests.client import ApiClient
from contract_tests.fleet import Fleet
from contract_tests.models import ModelCase
from contract_tests.target import Target


def charge_known(model: ModelCase, target: Target) -> None:
    """Skip where the model's price is the pack's guess and the target no mock."""
    if not target.is_mock and model.is_choice("price"):
        pytest.skip(f"the docs give no price for {model.id}: its charge cannot be judged")


def check_member_charge(before: Decimal, after: Decimal, cost: Decimal, what: str) -> None:
    """A submit took exactly `cost` from the balance."""
    if after != before - cost:
        raise ContractViolation(
            "balance.charge",
            f"balance went from {before} to {after} after the {what} submit;"
            f" expected {before - cost} (its price {cost} USD)",
        )


@pytest.mark.rule("balance.bare-number", "envelope.success-200")
def test_balance_is_a_bare_number(api: ApiClient) -> None:
    """`data` is a JSON number (not a string, not a boolean), at least 0."""
    balance_amount(api.balance())


@pytest.mark.rule("balance.bare-number")
def test_other_keys_balance_is_a_bare_number(other_api: ApiClient) -> None:
    """The same for the second key."""
    balance_amount(other_api.balance())


@pytest.mark.billable
@pytest.mark.rule("balance.charge")
def test_submit_charges_num_images_times_price(
    fleet: Fleet, target: Target, model: ModelCase, is_default: bool
) -> None:
    """Balance reads right around the fleet's default submit and its extras submit
    (gpt-image-1: 1 image, then 2)."""
    charge_known(model, target)
    fleet["default"].task()
    before, after = fleet.balance("before"), fleet.balance("after-default")
    extras = fleet["extras"].record is not None and "after-extras" in fleet.balances
    if is_default:
        check_charge(before, after, 1, target.price)
        if extras:
            check_charge(after, fleet.balance("after-extras"), 2, target.price)
        return
    check_member_charge(before, after, fleet["default"].charge(target.price), "default")
    if extras:
        cost = fleet["extras"].charge(target.price)
        check_member_charge(after, fleet.balance("after-extras"), cost, "extras")


@pytest.mark.billable
@pytest.mark.rule("balance.refund")
def test_failed_task_is_refunded(fleet: Fleet, target: Target, model: ModelCase) -> None:
    """After every fleet task ended: charged only for the tasks that succeeded."""
    charge_known(model, target)
    fleet["default"].task()
    if fleet["violation"].final()["state"] != "failed":
        pytest.skip("the violation task did not fail (checked by its own test)")
    later = [m for m in fleet.members.values() if m.name != "default" and m.record is not None]
    finals = {m.name: m.final() for m in later}
    states = {name: data["state"] for name, data in finals.items()}
    costs = {m.name: m.charge(target.price) for m in later}
    if "alias" in finals and states["alias"] == "success" and target.speaks_dialects:
        # A target that does not know nVariants made (and billed) as many as it says.
        costs["alias"] = len(result_urls(finals["alias"])) * target.price
    kept = sum(costs[name] for name in finals if states[name] == "success")
    refunded = sum(costs[name] for name in finals if states[name] == "failed")
    start, end = fleet.balance("after-default"), fleet.balance("end")
    expected = start - kept
    if end == expected:
        return
    rule = "balance.refund" if end == expected - refunded else "balance.charge"
    raise ContractViolation(
        rule,
        f"after tasks {states} the balance is {end}; expected {expected}"
        f" ({start} - {kept} USD for the successful tasks; failed ones refunded)",
    )
