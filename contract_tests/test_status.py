"""Status reads: the shape per state, forward-only states, stable terminal bodies, 404s."""

from __future__ import annotations

import json

import pytest

from contract_tests.checks import ContractViolation, check_error, check_history, status_data
from contract_tests.client import ApiClient
from contract_tests.fleet import Fleet
from contract_tests.models import ModelCase
from contract_tests.polling import TaskRecord

UNKNOWN_TASKS = ("task_0000000000000000", "apixo-contract-no-such-task")


def submitted(fleet: Fleet) -> list[TaskRecord]:
    """The fleet's tasks that were submitted (skips if the budget allowed none)."""
    records = [m.record for m in fleet.members.values() if m.record is not None]
    if not records:
        pytest.skip("the budget allowed no fleet task")
    return records


@pytest.mark.billable
@pytest.mark.rule(
    "status.schema",
    "status.task-id-echo",
    "status.times",
    "status.cost-time",
    "status.result-json-string",
    "status.failed-fields",
)
def test_every_read_has_the_shape_of_its_state(fleet: Fleet) -> None:
    """Every read of every fleet task was checked as it arrived; none broke a rule."""
    for record in submitted(fleet):
        record.final()


@pytest.mark.billable
@pytest.mark.rule("status.states-forward", "status.terminal-stable")
def test_states_move_forward_and_terminal_bodies_stay(api: ApiClient, fleet: Fleet) -> None:
    """The whole history of each task, plus one more read now, long after it finished."""
    for record in submitted(fleet):
        record.final()
        answer = api.status(record.task_id)
        status_data(answer, record.task_id)
        check_history([*record.bodies, answer.json()])


@pytest.mark.rule("status.unknown-task-404", "errors.envelope")
@pytest.mark.parametrize("task_id", UNKNOWN_TASKS)
def test_unknown_task_gets_404(api: ApiClient, task_id: str) -> None:
    """A taskId that was never given out."""
    check_error(api.status(task_id), 404, "status.unknown-task-404")


@pytest.mark.billable
@pytest.mark.rule("status.other-model-404", "errors.envelope")
def test_another_models_path_gets_404_for_the_task(
    api: ApiClient, fleet: Fleet, model: ModelCase
) -> None:
    """A task is read under its own model's status path only: under another model's, the
    very 404 of an unknown task (the taskId aside, if the target echoes it)."""
    record = fleet["default"].task()
    other = api.with_model(model.other_model())
    _same_404(other, record.task_id, "status.other-model-404")


def _same_404(api: ApiClient, task_id: str, rule: str) -> None:
    """`task_id` reads as the very 404 of a task that never existed."""
    foreign = check_error(api.status(task_id), 404, rule)
    unknown = check_error(api.status(UNKNOWN_TASKS[0]), 404, "status.unknown-task-404")
    seen = json.dumps(foreign).replace(task_id, "<taskId>")
    expected = json.dumps(unknown).replace(UNKNOWN_TASKS[0], "<taskId>")
    if seen != expected:
        raise ContractViolation(
            rule, f"task {task_id} answers {seen}, an unknown task {expected}: they must match"
        )


@pytest.mark.billable
@pytest.mark.rule("status.other-key-404", "errors.envelope")
def test_other_key_gets_404_for_a_foreign_task(other_api: ApiClient, fleet: Fleet) -> None:
    """A task is visible only to the key that created it: the very 404 of an unknown task."""
    record = fleet["default"].task()
    foreign = check_error(other_api.status(record.task_id), 404, "status.other-key-404")
    unknown = check_error(other_api.status(UNKNOWN_TASKS[0]), 404, "status.unknown-task-404")
    # The same answer, but for the taskId itself if the target echoes it.
    seen = json.dumps(foreign).replace(record.task_id, "<taskId>")
    expected = json.dumps(unknown).replace(UNKNOWN_TASKS[0], "<taskId>")
    if seen != expected:
        raise ContractViolation(
            "status.other-key-404",
            f"another key's task answers {seen}, an unknown task {expected}: they must match",
        )
