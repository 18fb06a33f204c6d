"""How a task becomes API JSON: status data per state, resultJson, and the envelope bytes."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from mock_server.core import wire
from mock_server.core.lifecycle import FailCode, Failure, Timeline
from mock_server.core.schemas import validator
from mock_server.core.tasks import Task
from mock_server.core.validation import SubmitRequest
from mock_server.core.wire import dumps, envelope, result_path, status_data, status_envelope

ORIGIN = "http://127.0.0.1:8123"
CREATED, PROCESSING, DONE = 1_700_000_000_000, 1_700_000_000_500, 1_700_000_003_250
DAY_MS = 24 * 3600 * 1000
STATUS_RESPONSE = validator("status-response")


def make_task(num_images: int = 1, failure: Failure | None = None) -> Task:
    return Task(
        task_id="task_00000000deadbeef",
        key="key-1234",
        request=SubmitRequest(prompt="a lighthouse", num_images=num_images),
        timeline=Timeline(CREATED, PROCESSING, DONE),
        failure=failure,
        origin=ORIGIN,
        sequence=1,
        charge_micros=350_000 * num_images,
    )


@pytest.mark.parametrize(
    ("now", "state"), [(CREATED, "pending"), (PROCESSING, "processing")], ids=str
)
def test_unfinished_task_reports_only_id_state_and_create_time(now: int, state: str) -> None:
    assert status_data(make_task(), now) == {
        "taskId": "task_00000000deadbeef",
        "state": state,
        "createTime": CREATED,
    }


@pytest.mark.parametrize("num_images", [1, 2, 4])
def test_success_carries_one_result_url_per_image_on_the_tasks_origin(num_images: int) -> None:
    data = status_data(make_task(num_images), DONE)
    assert data["state"] == "success"
    assert isinstance(data["resultJson"], str)
    result = json.loads(data["resultJson"])
    assert list(result) == ["resultUrls"]
    urls = result["resultUrls"]
    assert len(urls) == num_images == len(set(urls))
    for url in urls:
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == ORIGIN
        assert parts.path.startswith("/results/task_00000000deadbeef/")


def test_success_result_urls_point_at_result_paths() -> None:
    urls = json.loads(status_data(make_task(2), DONE)["resultJson"])["resultUrls"]
    assert urls == [ORIGIN + result_path("task_00000000deadbeef", i) for i in range(2)]


def test_success_reports_its_times_with_cost_equal_to_their_difference() -> None:
    data = status_data(make_task(), DONE + 5_000)
    assert (data["createTime"], data["completeTime"]) == (CREATED, DONE)
    assert data["costTime"] == data["completeTime"] - data["createTime"] == DONE - CREATED
    assert "failCode" not in data
    assert "failMsg" not in data


def test_failed_reports_code_message_and_times_without_results() -> None:
    data = status_data(make_task(failure=Failure.of(FailCode.NSFW_DETECTED)), DONE)
    assert data == {
        "taskId": "task_00000000deadbeef",
        "state": "failed",
        "failCode": "NSFW_DETECTED",
        "failMsg": FailCode.NSFW_DETECTED.message,
        "createTime": CREATED,
        "completeTime": DONE,
        "costTime": DONE - CREATED,
    }


def test_failure_does_not_show_before_the_task_ends() -> None:
    data = status_data(make_task(failure=Failure.of(FailCode.CONTENT_VIOLATION)), DONE - 1)
    assert data["state"] == "processing"
    assert "failCode" not in data


def test_status_fields_come_in_the_docs_order() -> None:
    assert list(status_data(make_task(), DONE)) == [
        "taskId",
        "state",
        "resultJson",
        "createTime",
        "completeTime",
        "costTime",
    ]


@pytest.mark.parametrize(
    "failure", [None, Failure.of(FailCode.INVALID_IMAGE_URL)], ids=["success", "failed"]
)
def test_terminal_body_is_identical_at_every_later_read(failure: Failure | None) -> None:
    task = make_task(2, failure)
    first = status_envelope(task, DONE)
    assert status_envelope(task, DONE + 1) == first
    assert status_envelope(task, DONE + 30 * DAY_MS) == first


@pytest.mark.parametrize(
    ("now", "failure"),
    [
        (CREATED, None),
        (PROCESSING, None),
        (DONE, None),
        (DONE, Failure.of(FailCode.CONTENT_VIOLATION)),
        (DONE, Failure.of(FailCode.GENERATION_FAILED, "custom text")),
    ],
    ids=["pending", "processing", "success", "failed", "failed-custom-message"],
)
def test_status_envelope_validates_against_the_status_response_schema(
    now: int, failure: Failure | None
) -> None:
    body = json.loads(status_envelope(make_task(4, failure), now))
    errors = [error.message for error in STATUS_RESPONSE.iter_errors(body)]
    assert errors == []
    assert (body["code"], body["message"]) == (200, "success")


def test_envelope_code_is_the_status() -> None:
    assert envelope(None, 404, "Task not found") == {
        "code": 404,
        "message": "Task not found",
        "data": None,
    }


def test_dumps_is_compact_utf8() -> None:
    assert dumps({"a": [1, 2], "b": "é"}) == '{"a":[1,2],"b":"é"}'.encode()


def test_status_envelope_wraps_status_data() -> None:
    task = make_task()
    assert json.loads(status_envelope(task, DONE)) == envelope(status_data(task, DONE))


@pytest.mark.parametrize(
    "failure",
    [
        None,
        Failure.of(FailCode.CONTENT_VIOLATION),
        Failure("500", "Ünïcode — « failed » \u2028 \x01"),
    ],
    ids=["success", "documented failure", "own message"],
)
@pytest.mark.parametrize("now", [CREATED, PROCESSING, DONE, DONE + DAY_MS], ids=str)
def test_status_bodies_are_the_json_modules_bytes_written_without_a_type_walk(
    failure: Failure | None, now: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = make_task(num_images=2, failure=failure)
    expected = json.dumps(
        envelope(status_data(task, now)), separators=(",", ":"), ensure_ascii=False
    ).encode()

    def refuse(document: object) -> bool:
        raise AssertionError("a status body is built of plain types: nothing to check")

    monkeypatch.setattr(wire, "_plain", refuse)
    assert status_envelope(task, now) == expected
