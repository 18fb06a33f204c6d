"""The replay index: requests find their recorded answers; a task replays its states in time."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.test import Client

from mock_server.core.service import MockService
from mock_server.recording.replay import ReplayIndex, ReplayMiddleware
from mock_server.settings import Settings
from mock_server.web.app import build_service, create_app

from .conftest import EXAMPLE, documents

STATUS = "/api/v1/statusTask/gpt-image-1"
SUBMIT = "/api/v1/generateTask/gpt-image-1"
BALANCE = "/api/v1/apikeys/current-balance"
AUTH = {"Authorization": "Bearer replay-key"}


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


@pytest.fixture
def replaying() -> tuple[Client, MockService]:
    """The mock's app behind the replay middleware, on a frozen mock clock."""
    service = build_service(Settings(frozen=True, seed=3, access_log=False))
    app = create_app(service=service)
    index = ReplayIndex.load(EXAMPLE)
    return Client(ReplayMiddleware(app, index, service.clock.now_ms)), service


def read(client: Client, task: str) -> Any:
    return client.get(STATUS, query_string={"taskId": task}, headers=AUTH).get_json()


def test_a_replayed_task_moves_through_its_recorded_states(
    replaying: tuple[Client, MockService],
) -> None:
    client, service = replaying
    task, body = first_task()
    submitted = client.post(SUBMIT, json=body, headers=AUTH).get_json()
    assert submitted["data"]["taskId"] == task
    sequence = ReplayIndex.load(EXAMPLE).sequence(task)
    first_processing = next(r for r in sequence if r.body["data"]["state"] == "processing")
    assert read(client, task)["data"]["state"] == "pending"
    service.clock.advance(first_processing.offset_ms)
    assert read(client, task)["data"]["state"] == "processing"
    service.clock.advance(sequence[-1].offset_ms - first_processing.offset_ms)
    final = read(client, task)
    assert final == sequence[-1].body
    assert final["data"]["state"] == "success"


def test_everything_else_gets_normal_mock_behaviour(
    replaying: tuple[Client, MockService],
) -> None:
    client, service = replaying
    body = {"input": {"mode": "gpt-image-1", "prompt": "never recorded"}}
    answer = client.post(SUBMIT, json=body, headers=AUTH)
    assert answer.status_code == 200
    task = answer.get_json()["data"]["taskId"]
    # The mock itself took it: the body reached the app behind the middleware intact.
    assert [t.request.prompt for t in service.tasks.all()] == ["never recorded"]
    assert read(client, task)["data"]["state"] == "pending"
    assert client.get(BALANCE).status_code == 401  # recorded: the 401 read without a key
    unrecorded = client.get(STATUS, query_string={"taskId": "task_ffffffffffffffff"}, headers=AUTH)
    assert unrecorded.get_json()["message"] != ""
    assert unrecorded.status_code == 404
