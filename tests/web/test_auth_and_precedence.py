"""Authentication, unknown paths and models, methods, and which error wins."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mock_server.core.clock import MockClock
from mock_server.core.service import MockService
from mock_server.settings import Settings
from mock_server.web.app import create_app
from tests.conftest import AUTH, BALANCE, STATUS, SUBMIT, RecordingSender, submit_body


@pytest.fixture
def strict_client(clock: MockClock, sender: RecordingSender) -> FlaskClient:
    service = MockService(
        Settings(keys=("good-key", "other-key"), seed=1).core_config(), sender=sender, clock=clock
    )
    return create_app(service=service).test_client()


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer two words", "Token good-key"],
    ids=["missing", "empty", "basic", "bearer-only", "bearer-blank", "spaces", "token-scheme"],
)
@pytest.mark.parametrize("path", [SUBMIT, STATUS + "?taskId=task_x", BALANCE])
def test_missing_or_malformed_key_is_401(
    strict_client: FlaskClient, authorization: str | None, path: str
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    method = strict_client.post if path == SUBMIT else strict_client.get
    response = method(path, json=submit_body(), headers=headers)
    assert response.status_code == 401
    assert response.get_json()["code"] == 401
    assert response.get_json()["data"] is None


def test_unknown_key_is_401_when_keys_are_configured(strict_client: FlaskClient) -> None:
    response = strict_client.get(BALANCE, headers={"Authorization": "Bearer stranger"})
    assert response.status_code == 401


def test_configured_key_is_accepted(strict_client: FlaskClient) -> None:
    response = strict_client.get(BALANCE, headers={"Authorization": "Bearer good-key"})
    assert response.status_code == 200


def test_any_wellformed_key_is_its_own_tenant_by_default(client: FlaskClient) -> None:
    task_id = client.post(SUBMIT, json=submit_body(), headers=AUTH).get_json()["data"]["taskId"]
    other = client.get(f"{STATUS}?taskId={task_id}", headers={"Authorization": "Bearer someone"})
    assert other.status_code == 404
    assert other.get_json() == {"code": 404, "message": "Task not found", "data": None}


def test_unknown_path_is_404_before_auth(client: FlaskClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json() == {"code": 404, "message": "Not found", "data": None}
    assert response.content_type == "application/json"


def test_unknown_model_is_404_after_auth(client: FlaskClient) -> None:
    assert client.post("/api/v1/generateTask/dall-e-3", json=submit_body()).status_code == 401
    response = client.post("/api/v1/generateTask/dall-e-3", json=submit_body(), headers=AUTH)
    assert response.status_code == 404
    assert response.get_json()["code"] == 404


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", SUBMIT, "POST"),
        ("PUT", SUBMIT, "POST"),
        ("POST", STATUS, "GET, HEAD"),
        ("DELETE", BALANCE, "GET, HEAD"),
        ("OPTIONS", SUBMIT, "POST"),
    ],
)
def test_wrong_method_is_405_with_allow(
    client: FlaskClient, method: str, path: str, allowed: str
) -> None:
    response = client.open(path, method=method, headers=AUTH)
    assert response.status_code == 405
    assert response.headers["Allow"] == allowed
    assert response.get_json()["code"] == 405


def test_wrong_method_without_key_is_401(client: FlaskClient) -> None:
    assert client.get(SUBMIT).status_code == 401


def test_wrong_method_beats_invalid_body(client: FlaskClient) -> None:
    assert client.put(SUBMIT, data=b"{", headers=AUTH).status_code == 405


def test_unknown_model_beats_wrong_method(client: FlaskClient) -> None:
    assert client.get("/api/v1/generateTask/other", headers=AUTH).status_code == 404


def _limited_app(clock: MockClock, sender: RecordingSender, **settings: object) -> Flask:
    service = MockService(
        Settings(seed=1).replace(**settings).core_config(), sender=sender, clock=clock
    )
    return create_app(service=service)


def test_rpm_429_beats_unknown_model_and_bad_body(
    clock: MockClock, sender: RecordingSender
) -> None:
    client = _limited_app(clock, sender, rpm=2).test_client()
    client.get(BALANCE, headers=AUTH)
    client.get(BALANCE, headers=AUTH)
    for path in ("/api/v1/generateTask/other", SUBMIT):
        response = client.post(path, data=b"{", headers=AUTH)
        assert response.status_code == 429
        assert int(response.headers["Retry-After"]) >= 1


def test_rpm_counts_every_authenticated_request(clock: MockClock, sender: RecordingSender) -> None:
    client = _limited_app(clock, sender, rpm=3).test_client()
    statuses = [
        client.post(SUBMIT, json=submit_body(), headers=AUTH).status_code,
        client.get(f"{STATUS}?taskId=nope", headers=AUTH).status_code,
        client.get(BALANCE, headers=AUTH).status_code,
        client.get(BALANCE, headers=AUTH).status_code,
    ]
    assert statuses == [200, 404, 200, 429]
    assert client.get(BALANCE, headers={"Authorization": "Bearer another"}).status_code == 200
    clock.advance(60_000)
    assert client.get(BALANCE, headers=AUTH).status_code == 200


def test_bad_body_beats_unfinished_cap(clock: MockClock, sender: RecordingSender) -> None:
    client = _limited_app(clock, sender, max_unfinished=1).test_client()
    assert client.post(SUBMIT, json=submit_body(), headers=AUTH).status_code == 200
    assert client.post(SUBMIT, json=submit_body(num_images=3), headers=AUTH).status_code == 400
    capped = client.post(SUBMIT, json=submit_body(), headers=AUTH)
    assert capped.status_code == 429
    assert "Retry-After" in capped.headers


def test_unfinished_cap_beats_insufficient_credits(
    clock: MockClock, sender: RecordingSender
) -> None:
    client = _limited_app(clock, sender, max_unfinished=1, balance="0.35").test_client()
    assert client.post(SUBMIT, json=submit_body(), headers=AUTH).status_code == 200
    assert client.post(SUBMIT, json=submit_body(), headers=AUTH).status_code == 429
    clock.advance(3_600_000)
    refused = client.post(SUBMIT, json=submit_body(), headers=AUTH)
    assert refused.status_code == 400
    assert refused.get_json() == {"code": 400, "message": "Insufficient credits", "data": None}


def test_errors_are_never_html(client: FlaskClient) -> None:
    for response in (client.get("/"), client.get("/results/x/0.png"), client.post("/__admin/nope")):
        assert response.content_type == "application/json"
        assert response.get_json()["code"] == response.status_code
