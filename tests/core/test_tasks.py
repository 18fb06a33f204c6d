"""The task record and its store: ownership, re-timing, and ending a timeline now."""

from __future__ import annotations

import pytest

from mock_server.core.lifecycle import FailCode, Failure, State, Timeline
from mock_server.core.tasks import Task, TaskStore, ended_now
from mock_server.core.validation import SubmitRequest

CREATED, PROCESSING, DONE = 1_000, 1_500, 4_000
OWNER, STRANGER = "owner-key", "other-key"


def make_task(task_id: str = "task_1", key: str = OWNER) -> Task:
    return Task(
        task_id=task_id,
        key=key,
        request=SubmitRequest(prompt="p"),
        timeline=Timeline(CREATED, PROCESSING, DONE),
        failure=None,
        origin="http://mock.test",
        sequence=1,
        charge_micros=350_000,
    )


@pytest.fixture
def store() -> TaskStore:
    return TaskStore()


def test_added_task_can_be_read_back(store: TaskStore) -> None:
    task = make_task()
    store.add(task)
    assert store.get("task_1") is task
    assert len(store) == 1


def test_unknown_task_is_none(store: TaskStore) -> None:
    assert store.get("task_missing") is None
    assert store.owned("task_missing", OWNER) is None


def test_owner_gets_its_task(store: TaskStore) -> None:
    store.add(make_task())
    owned = store.owned("task_1", OWNER)
    assert owned is not None
    assert owned.task_id == "task_1"


def test_other_key_gets_none_for_foreign_task(store: TaskStore) -> None:
    store.add(make_task())
    assert store.owned("task_1", STRANGER) is None


def test_duplicate_task_id_is_refused(store: TaskStore) -> None:
    store.add(make_task())
    with pytest.raises(KeyError, match="task_1"):
        store.add(make_task(key=STRANGER))
    owned = store.owned("task_1", OWNER)
    assert owned is not None


def test_retime_changes_timeline_outcome_and_reason(store: TaskStore) -> None:
    store.add(make_task())
    failure = Failure.of(FailCode.GENERATION_FAILED)
    updated = store.retime("task_1", Timeline(CREATED, CREATED, 2_000), failure, "admin: failed")
    assert store.get("task_1") is updated
    assert (updated.timeline.done_at, updated.failure, updated.reason) == (
        2_000,
        failure,
        "admin: failed",
    )
    assert updated.state(2_000) is State.FAILED


def test_all_is_a_snapshot_oldest_first(store: TaskStore) -> None:
    for n in range(3):
        store.add(make_task(f"task_{n}"))
    snapshot = store.all()
    store.add(make_task("task_late"))
    assert [task.task_id for task in snapshot] == ["task_0", "task_1", "task_2"]


def test_clear_forgets_every_task(store: TaskStore) -> None:
    store.add(make_task())
    store.clear()
    assert len(store) == 0
    assert store.get("task_1") is None


def test_task_state_follows_its_timeline() -> None:
    task = make_task()
    states = [task.state(now) for now in (CREATED, PROCESSING, DONE)]
    assert states == [State.PENDING, State.PROCESSING, State.SUCCESS]


def test_ended_now_while_pending_starts_and_ends_processing_now() -> None:
    assert ended_now(Timeline(CREATED, PROCESSING, DONE), 1_200) == Timeline(CREATED, 1_200, 1_200)


def test_ended_now_while_processing_keeps_its_start() -> None:
    assert ended_now(Timeline(CREATED, PROCESSING, DONE), 2_000) == Timeline(
        CREATED, PROCESSING, 2_000
    )


def test_ended_now_ends_a_task_that_would_never_end() -> None:
    assert ended_now(Timeline(CREATED, PROCESSING, None), 9_000) == Timeline(
        CREATED, PROCESSING, 9_000
    )


def test_ended_now_at_creation_is_a_zero_length_task() -> None:
    assert ended_now(Timeline(CREATED, PROCESSING, DONE), CREATED) == Timeline(
        CREATED, CREATED, CREATED
    )
