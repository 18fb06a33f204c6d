"""A task's state as a pure function of its timeline, its outcome and the time."""

from __future__ import annotations

import pytest

from mock_server.core.lifecycle import FailCode, Failure, State, Timeline, state_at
from mock_server.core.schemas import schema

CREATED, PROCESSING, DONE = 1_000, 1_500, 4_000
TIMELINE = Timeline(CREATED, PROCESSING, DONE)
VIOLATION = Failure.of(FailCode.CONTENT_VIOLATION)
SCHEMA_CODES: tuple[str, ...] = tuple(schema("fail-code")["enum"])


# -- state_at ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (CREATED, State.PENDING),
        (PROCESSING - 1, State.PENDING),
        (PROCESSING, State.PROCESSING),
        (DONE - 1, State.PROCESSING),
        (DONE, State.SUCCESS),
        (DONE + 10**9, State.SUCCESS),
    ],
    ids=[
        "at-creation",
        "just-before-processing",
        "at-processing",
        "just-before-done",
        "at-done",
        "long-after",
    ],
)
def test_state_of_a_succeeding_task_at_each_boundary(now: int, expected: State) -> None:
    assert state_at(TIMELINE, None, now) is expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [(PROCESSING - 1, State.PENDING), (DONE - 1, State.PROCESSING), (DONE, State.FAILED)],
    ids=["pending", "processing", "at-done"],
)
def test_failing_task_reports_failed_from_its_end_on(now: int, expected: State) -> None:
    assert state_at(TIMELINE, VIOLATION, now) is expected


def test_task_without_an_end_processes_forever() -> None:
    never = Timeline(CREATED, PROCESSING, None)
    assert state_at(never, None, PROCESSING) is State.PROCESSING
    assert state_at(never, VIOLATION, 10**15) is State.PROCESSING
    assert not never.finished_by(10**15)


def test_task_without_pending_time_is_processing_at_creation() -> None:
    assert state_at(Timeline(CREATED, CREATED, DONE), None, CREATED) is State.PROCESSING


def test_task_ending_at_creation_is_done_at_once() -> None:
    assert state_at(Timeline(CREATED, CREATED, CREATED), None, CREATED) is State.SUCCESS


# -- Timeline invariants -----------------------------------------------------------


def test_timeline_rejects_processing_before_creation() -> None:
    with pytest.raises(ValueError, match="before it exists"):
        Timeline(CREATED, CREATED - 1, DONE)


def test_timeline_rejects_an_end_before_processing() -> None:
    with pytest.raises(ValueError, match="before it processes"):
        Timeline(CREATED, PROCESSING, PROCESSING - 1)


def test_finished_by_is_true_from_done_at_on() -> None:
    assert not TIMELINE.finished_by(DONE - 1)
    assert TIMELINE.finished_by(DONE)


# -- Failure and FailCode ----------------------------------------------------------


def test_content_violation_uses_the_docs_wording() -> None:
    failure = Failure.of(FailCode.CONTENT_VIOLATION)
    assert failure == Failure("CONTENT_VIOLATION", "Content does not meet safety guidelines")


def test_failure_of_accepts_the_code_as_text() -> None:
    assert Failure.of("NSFW_DETECTED") == Failure.of(FailCode.NSFW_DETECTED)


def test_failure_of_keeps_a_given_message() -> None:
    assert Failure.of("GENERATION_FAILED", "boom").message == "boom"


def test_failure_of_rejects_an_unknown_code() -> None:
    with pytest.raises(ValueError, match="OOPS"):
        Failure.of("OOPS")


@pytest.mark.parametrize("code", list(FailCode), ids=[code.value for code in FailCode])
def test_every_fail_code_has_a_message(code: FailCode) -> None:
    assert code.message.strip()
    assert Failure.of(code).message == code.message


@pytest.mark.parametrize("value", SCHEMA_CODES)
def test_every_schema_fail_code_is_a_fail_code(value: str) -> None:
    assert FailCode(value).value == value


def test_fail_codes_are_exactly_the_schema_enum_in_order() -> None:
    assert tuple(code.value for code in FailCode) == SCHEMA_CODES


# -- State -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "terminal"),
    [
        (State.PENDING, False),
        (State.PROCESSING, False),
        (State.SUCCESS, True),
        (State.FAILED, True),
    ],
    ids=lambda value: value.value if isinstance(value, State) else str(value),
)
def test_only_success_and_failed_are_terminal(state: State, terminal: bool) -> None:
    assert state.terminal is terminal


def test_state_values_are_the_wire_names() -> None:
    assert [state.value for state in State] == ["pending", "processing", "success", "failed"]
