"""GET /api/v1/statusTask/gpt-image-1: states, times, resultJson, isolation."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient

from mock_server.core.clock import MockClock
from mock_server.core.schemas import validator
from mock_server.core.service import MockService
from mock_server.settings import Settings
from mock_server.web.app import create_app
from tests.conftest import AUTH, STATUS, SUBMIT, RecordingSender, submit_body


def submit(client: FlaskClient, **fields: object) -> str:
    response = client.post(SUBMIT, json=submit_body(**fields), headers=AUTH)
    assert response.status_code == 200, response.get_json()
    return str(response.get_json()["data"]["taskId"])


def status(client: FlaskClient, task_id: str) -> dict[str, object]:
    response = client.get(STATUS, query_string={"taskId": task_id}, headers=AUTH)
    assert response.status_code == 200
    body = response.get_json()
    assert list(validator("status-response").iter_errors(body)) == []
    return dict(body["data"])


def test_task_moves_pending_processing_success(client: FlaskClient, clock: MockClock) -> None:
    task_id = submit(client, num_images=2, aspect_ratio="3:2")
    seen = [status(client, task_id)["state"]]
    for _ in range(40):
        clock.advance(250)
        seen.append(status(client, task_id)["state"])
    order = list(dict.fromkeys(seen))
    assert order == ["pending", "processing", "success"]


def test_success_carries_result_json_string_and_consistent_times(
    client: FlaskClient, clock: MockClock
) -> None:
    created = clock.now_ms()
    task_id = submit(client, num_images=4)
    clock.advance(60_000)
    data = status(client, task_id)
    assert isinstance(data["resultJson"], str)
    urls = json.loads(data["resultJson"])["resultUrls"]
    assert len(urls) == 4
    assert all(url.startswith("http://localhost/results/") for url in urls)
    assert data["createTime"] == created
    assert data["costTime"] == data["completeTime"] - data["createTime"] > 0  # type: ignore[operator]
    assert "failCode" not in data


def test_terminal_body_is_identical_on_every_read(client: FlaskClient, clock: MockClock) -> None:
    task_id = submit(client)
    clock.advance(60_000)
    first = client.get(STATUS, query_string={"taskId": task_id}, headers=AUTH).data
    clock.advance(86_400_000)
    assert client.get(STATUS, query_string={"taskId": task_id}, headers=AUTH).data == first


def test_failed_task_has_fail_code_message_and_times(client: FlaskClient, clock: MockClock) -> None:
    task_id = submit(client, prompt="please mock:fail:CONTENT_VIOLATION")
    clock.advance(60_000)
    data = status(client, task_id)
    assert data["state"] == "failed"
    assert data["failCode"] == "CONTENT_VIOLATION"
    assert data["failMsg"] == "Content does not meet safety guidelines"
    assert data["costTime"] == data["completeTime"] - data["createTime"]  # type: ignore[operator]
    assert "resultJson" not in data


def test_pending_has_only_id_state_and_create_time(client: FlaskClient) -> None:
    task_id = submit(client)
    assert set(status(client, task_id)) == {"taskId", "state", "createTime"}


@pytest.mark.parametrize(
    ("query", "code"),
    [({}, 400), ({"taskId": ""}, 400), ({"taskId": "task_does_not_exist"}, 404)],
    ids=["missing", "empty", "unknown"],
)
def test_bad_task_id(client: FlaskClient, query: dict[str, str], code: int) -> None:
    response = client.get(STATUS, query_string=query, headers=AUTH)
    assert response.status_code == code
    assert response.get_json()["code"] == code


def test_without_pending_state_tasks_start_processing(
    clock: MockClock, sender: RecordingSender
) -> None:
    service = MockService(
        Settings(seed=2, pending_state=False).core_config(), sender=sender, clock=clock
    )
    client = create_app(service=service).test_client()
    assert status(client, submit(client))["state"] == "processing"


def test_hang_trigger_never_finishes(client: FlaskClient, clock: MockClock) -> None:
    task_id = submit(client, prompt="mock:hang")
    clock.advance(30 * 86_400_000)
    assert status(client, task_id)["state"] == "processing"


def test_two_apps_share_nothing(clock: MockClock, sender: RecordingSender) -> None:
    first = create_app(Settings(seed=5)).test_client()
    second = create_app(Settings(seed=5)).test_client()
    task_id = submit(first)
    assert second.get(STATUS, query_string={"taskId": task_id}, headers=AUTH).status_code == 404


def test_a_forgotten_task_reads_as_task_not_found(clock: MockClock) -> None:
    service = MockService(
        Settings(seed=7, access_log=False, profile="instant", max_tasks=1).core_config(),
        sender=RecordingSender(),
        clock=clock,
    )
    client = create_app(service=service).test_client()
    ids = []
    for _ in range(3):  # each submit settles the one before; max_tasks=1 keeps the latest
        ids.append(
            client.post(SUBMIT, json=submit_body(), headers=AUTH).get_json()["data"]["taskId"]
        )
        clock.advance(60_000)

    forgotten = client.get(STATUS, query_string={"taskId": ids[0]}, headers=AUTH)
    kept = client.get(STATUS, query_string={"taskId": ids[1]}, headers=AUTH)

    assert (forgotten.status_code, forgotten.get_json()["message"]) == (404, "Task not found")
    assert kept.get_json()["data"]["state"] == "success"
    service.close()
