"""The balance: a bare number that a submit lowers by num_images x price, and a failure refunds."""

from __future__ import annotations

import pytest

from contract_tests.checks import ContractViolation, balance_amount, check_charge, result_urls
from contract_tests.client import ApiClient
from contract_tests.fleet import Fleet
from contract_tests.target import Target


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
def test_submit_charges_num_images_times_price(fleet: Fleet, target: Target) -> None:
    """Balance reads right around the fleet's 1-image submit and its 2-image submit."""
    fleet["default"].task()
    before, after = fleet.balance("before"), fleet.balance("after-default")
    check_charge(before, after, 1, target.price)
    if fleet["extras"].record is not None and "after-extras" in fleet.balances:
        check_charge(after, fleet.balance("after-extras"), 2, target.price)


@pytest.mark.billable
@pytest.mark.rule("balance.refund")
def test_failed_task_is_refunded(fleet: Fleet, target: Target) -> None:
    """After every fleet task ended: charged only for the tasks that succeeded."""
    fleet["default"].task()
    if fleet["violation"].final()["state"] != "failed":
        pytest.skip("the violation task did not fail (checked by its own test)")
    later = [m for m in fleet.members.values() if m.name != "default" and m.record is not None]
    finals = {m.name: m.final() for m in later}
    states = {name: data["state"] for name, data in finals.items()}
    images = {m.name: m.images for m in later}
    if "alias" in finals and states["alias"] == "success" and target.speaks_dialects:
        # A target that does not know nVariants made (and billed) as many as it says.
        images["alias"] = len(result_urls(finals["alias"]))
    kept = sum(images[name] for name in finals if states[name] == "success")
    refunded = sum(images[name] for name in finals if states[name] == "failed")
    start, end = fleet.balance("after-default"), fleet.balance("end")
    expected = start - kept * target.price
    if end == expected:
        return
    rule = "balance.refund" if end == expected - refunded * target.price else "balance.charge"
    raise ContractViolation(
        rule,
        f"after tasks {states} the balance is {end}; expected {expected}"
        f" ({start} - {kept} successful image(s) x {target.price}; failed ones refunded)",
    )
