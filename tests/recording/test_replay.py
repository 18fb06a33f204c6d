"""The replay index: requests find their recorded answers; a task replays its states in time."""

from __future__ import annotations

from typing import Any

from mock_server.recording.replay import ReplayIndex

from .conftest import EXAMPLE, documents

STATUS = "/api/v1/statusTask/gpt-image-1"
SUBMIT = "/api/v1/generateTask/gpt-image-1"


def first_task() -> tuple[str, dict[str, Any]]:
    submit = documents(EXAMPLE)[0]
    return str(submit["taskId"]), submit["request"]["body"]


def test_a_submit_finds_its_recorded_answer_whatever_the_key_order() -> None:
    index = ReplayIndex.load(EXAMPLE)
    task, body = first_task()
    reordered = dict(reversed(list(body.items())))
    answer = index.lookup("post", SUBMIT, {}, reordered)
    assert answer is not None
    assert answer.status == 200
    assert answer.body["data"]["taskId"] == task
    assert index.lookup("POST", SUBMIT, {}, {"input": {"prompt": "never recorded"}}) is None


def test_a_task_replays_its_recorded_sequence_of_states() -> None:
    index = ReplayIndex.load(EXAMPLE)
    task, _ = first_task()
    sequence = index.sequence(task)
    states = [read.body["data"]["state"] for read in sequence]
    assert states[0] == "pending"
    assert states[-2:] == ["success", "success"]
    assert "processing" in states
    offsets = [read.offset_ms for read in sequence]
    assert offsets == sorted(offsets)
    assert offsets[0] == 0


def test_status_at_follows_the_mock_clock() -> None:
    index = ReplayIndex.load(EXAMPLE)
    task, _ = first_task()
    sequence = index.sequence(task)
    first_processing = next(r for r in sequence if r.body["data"]["state"] == "processing")
    last = sequence[-1]

    def state_at(ms: int) -> str:
        answer = index.status_at(task, ms)
        assert answer is not None
        return str(answer.body["data"]["state"])

    assert state_at(0) == "pending"
    assert state_at(first_processing.offset_ms - 1) == "pending"
    assert state_at(first_processing.offset_ms) == "processing"
    assert state_at(last.offset_ms) == "success"
    assert state_at(last.offset_ms + 3_600_000) == "success"
    assert index.status_at("task_unknown", 0) is None


def test_an_unknown_task_read_replays_its_recorded_404() -> None:
    answer = ReplayIndex.load(EXAMPLE).lookup(
        "GET", STATUS, {"taskId": "task_0000000000000000"}, None
    )
    assert answer is not None
    assert answer.status == 404
