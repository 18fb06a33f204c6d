"""Callbacks: when a callback task ends, its status envelope is POSTed to callback_url."""

from __future__ import annotations

import json

import pytest

from contract_tests.callbacks import deliveries_to
from contract_tests.checks import ContractViolation, parsed
from contract_tests.fleet import CALLBACK_PATH, FAILED_CALLBACK_PATH, Fleet
from contract_tests.model_fleet import callback_paths
from contract_tests.target import Target
from mock_server.testing.receiver import CallbackReceiver

MOCK_DELIVERY_S = 15.0


@pytest.mark.billable
@pytest.mark.rule("callbacks.same-envelope")
def test_callback_carries_the_status_envelope(
    fleet: Fleet, target: Target, receiver: CallbackReceiver | None, apixo_model: str
) -> None:
    """Every delivery for the fleet's callback task equals a status read of the finished task."""
    if receiver is None:
        pytest.skip(
            "the target cannot reach a loopback receiver: give --apixo-callback-base-url"
            " (a public tunnel to --apixo-callback-port)"
        )
    timeout = MOCK_DELIVERY_S if target.is_mock else target.poll.timeout_s
    # Each model's tasks call back to their own paths: one receiver serves every model.
    paths = (
        (CALLBACK_PATH, FAILED_CALLBACK_PATH)
        if fleet.callback_member == "alias"
        else callback_paths(apixo_model)
    )
    check_member_callback(fleet, fleet.callback_member, paths[0], receiver, timeout)
    # The failed task has a callback too, when the target has a violation prompt.
    if fleet["violation"].record is not None:
        check_member_callback(fleet, "violation", paths[1], receiver, timeout)


def check_member_callback(
    fleet: Fleet, name: str, path: str, receiver: CallbackReceiver, timeout: float
) -> None:
    """The fleet member's callback arrived, and every delivery equals its final status read."""
    record = fleet[name].task()
    record.final()
    found = deliveries_to(receiver, path, timeout)
    if not found:
        raise ContractViolation(
            "callbacks.same-envelope", f"no callback for task {record.task_id} within {timeout:g} s"
        )
    for delivery in found:
        check_delivery(delivery.body, record.bodies[-1], record.task_id)


def check_delivery(raw: bytes, status_body: dict[str, object], task_id: str) -> None:
    """One delivery: the callback schema, and the same JSON as the status read."""
    what = f"task {task_id}: the callback body"
    body = parsed(raw, "callback-payload", "callbacks.same-envelope", what)
    if body != status_body:
        raise ContractViolation(
            "callbacks.same-envelope",
            f"task {task_id}: callback {json.dumps(body)[:300]} differs from the status read"
            f" {json.dumps(status_body)[:300]}",
        )
