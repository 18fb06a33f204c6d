"""Submits, polls, foreign reads and clock moves in any interleaving keep every invariant."""

from __future__ import annotations

import pytest
from hypothesis.stateful import run_state_machine_as_test

from contract_tests.budget import Budget
from contract_tests.client import AdminApi, ApiClient
from contract_tests.machine import Bodies, World, machine_for
from contract_tests.models import ModelCase
from contract_tests.polling import Poller
from contract_tests.profiles import Profile
from contract_tests.strategies import CALLBACK_SINK
from contract_tests.target import Target


@pytest.mark.billable
@pytest.mark.rule(
    "submit.accepts-valid",
    "status.schema",
    "status.task-id-echo",
    "status.states-forward",
    "status.terminal-stable",
    "status.times",
    "status.cost-time",
    "status.result-count",
    "status.other-key-404",
)
def test_any_interleaving_keeps_the_invariants(
    target: Target,
    api: ApiClient,
    admin: AdminApi | None,
    poller: Poller,
    budget: Budget,
    profile: Profile,
    callback_base: str | None,
    model: ModelCase,
    is_default: bool,
) -> None:
    """A RuleBasedStateMachine over the public API (and the admin clock when there is one);
    another model's bodies are drawn from its pack."""
    if budget.remaining < 1:
        pytest.skip(budget.refusal(1))
    other = (
        api.with_key(target.other_api_key, target.other_base_url) if target.other_api_key else None
    )
    sink = CALLBACK_SINK if callback_base is None else callback_base + "/apixo-contract/machine"
    pack = None if is_default else Bodies(model, target.price)
    world = World(
        api,
        other,
        admin,
        poller,
        budget,
        sink,
        target.poll.interval_s,
        not target.speaks_dialects,
        pack,
    )
    settings = profile.settings(profile.machine_runs, billable=True)
    run_state_machine_as_test(machine_for(world), settings=settings)
