"""A web page cannot drive or read the admin API: Host check, JSON writes, no CORS, masked keys."""

from __future__ import annotations

import logging

import pytest
from flask.testing import FlaskClient

from mock_server.core.clock import MockClock
from mock_server.core.service import MockService
from mock_server.settings import Settings
from mock_server.web.app import create_app
from tests.conftest import AUTH, SUBMIT, RecordingSender, submit_body

FULL_KEY = "test-key-1234"
TOKEN_HEADER = "X-Apixo-Mock-Admin-Token"


def admin_client(clock: MockClock, sender: RecordingSender, **settings: object) -> FlaskClient:
    service = MockService(
        Settings(seed=1, access_log=False).replace(**settings), sender=sender, clock=clock
    )
    return create_app(service=service).test_client()


@pytest.mark.parametrize(
    "host", ["localhost", "localhost:8000", "127.0.0.1:9", "127.8.0.1", "[::1]:8000", "LOCALHOST"]
)
def test_loopback_host_names_reach_the_admin_api(
    clock: MockClock, sender: RecordingSender, host: str
) -> None:
    response = admin_client(clock, sender).get("/__admin/health", headers={"Host": host})
    assert response.status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example"])
def test_a_rebound_host_name_is_refused(
    clock: MockClock, sender: RecordingSender, host: str
) -> None:
    client = admin_client(clock, sender)
    for method, path in (("GET", "/__admin/accounts"), ("POST", "/__admin/reset")):
        response = client.open(path, method=method, json={}, headers={"Host": host})
        assert response.status_code == 403
        assert response.get_json()["code"] == 403
        assert "--admin-hosts" in response.get_json()["message"]


def test_configured_public_names_are_allowed(clock: MockClock, sender: RecordingSender) -> None:
    client = admin_client(
        clock, sender, admin_hosts=("Mock.Internal",), public_url="http://mock.example:9000"
    )
    for host in ("mock.internal:8000", "mock.example", "mock.example:9000"):
        assert client.get("/__admin/health", headers={"Host": host}).status_code == 200
    assert client.get("/__admin/health", headers={"Host": "other.example"}).status_code == 403


def test_with_a_token_any_host_name_works(clock: MockClock, sender: RecordingSender) -> None:
    client = admin_client(clock, sender, host="0.0.0.0", admin_token="t")
    headers = {"Host": "mock:8000", TOKEN_HEADER: "t"}
    assert client.get("/__admin/health", headers=headers).status_code == 200
    assert client.post("/__admin/reset", headers=headers).status_code == 200


def test_the_public_api_ignores_the_host_name(client: FlaskClient) -> None:
    response = client.post(SUBMIT, json=submit_body(), headers={**AUTH, "Host": "api.example"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain", None],
    ids=["form", "multipart", "text", "none"],
)
def test_a_cross_site_form_cannot_write(
    clock: MockClock, sender: RecordingSender, content_type: str | None
) -> None:
    client = admin_client(clock, sender)
    client.post(SUBMIT, json=submit_body(), headers=AUTH)
    headers = {"Content-Type": content_type} if content_type else {}
    for method, path in (("POST", "/__admin/reset"), ("DELETE", "/__admin/scenarios/active")):
        refused = client.open(path, method=method, data=b"a=1", headers=headers)
        assert refused.status_code == 415
        assert refused.get_json()["code"] == 415
    assert len(client.get("/__admin/tasks").get_json()["data"]) == 1  # not reset


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/json"},
        {"Content-Type": "application/merge-patch+json"},
        {TOKEN_HEADER: "1"},
    ],
    ids=["json", "json-suffix", "custom-header"],
)
def test_writes_with_json_or_the_custom_header_pass(
    clock: MockClock, sender: RecordingSender, headers: dict[str, str]
) -> None:
    client = admin_client(clock, sender)
    client.post(SUBMIT, json=submit_body(), headers=AUTH)
    assert client.post("/__admin/reset", headers=headers).status_code == 200
    assert client.get("/__admin/tasks").get_json()["data"] == []


def test_cors_never_applies_to_admin_routes(clock: MockClock, sender: RecordingSender) -> None:
    client = admin_client(clock, sender, cors="*")
    origin = {"Origin": "https://evil.example"}
    preflight = client.options(
        "/__admin/reset", headers={**origin, "Access-Control-Request-Method": "POST"}
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers
    assert preflight.mimetype == "application/json"
    for path in ("/__admin/accounts", "/__admin", "/__admin/nowhere"):
        assert "Access-Control-Allow-Origin" not in client.get(path, headers=origin).headers
    public = client.get("/openapi.json", headers=origin)
    assert public.headers["Access-Control-Allow-Origin"] == "*"


def admin_answers(client: FlaskClient, task_id: str) -> list[str]:
    paths = [
        "/__admin/accounts",
        f"/__admin/accounts/{FULL_KEY}",
        "/__admin/tasks",
        f"/__admin/tasks/{task_id}",
        "/__admin/journal",
        "/__admin/callbacks",
    ]
    return [client.get(path).get_data(as_text=True) for path in paths]


def test_keys_are_masked_in_every_admin_answer(client: FlaskClient) -> None:
    task_id = client.post(SUBMIT, json=submit_body(), headers=AUTH).get_json()["data"]["taskId"]
    for answer in admin_answers(client, task_id):
        assert FULL_KEY not in answer
    accounts = client.get("/__admin/accounts").get_json()["data"]
    assert [account["key"] for account in accounts] == ["...1234"]
    assert client.get(f"/__admin/tasks?key={FULL_KEY}").get_json()["data"][0]["key"] == "...1234"


def test_an_account_is_still_addressed_by_its_full_key(client: FlaskClient) -> None:
    client.post(SUBMIT, json=submit_body(), headers=AUTH)
    updated = client.patch(f"/__admin/accounts/{FULL_KEY}", json={"balance": "5.00"})
    assert updated.get_json()["data"] == {
        "key": "...1234",
        "balance": 5,
        "rpm": 10_000,
        "maxUnfinished": 1_000,
        "unfinished": 1,
    }
    balance = client.get("/api/v1/apikeys/current-balance", headers=AUTH).get_json()["data"]
    assert balance == 5


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_keys_in_admin_urls_are_masked_in_the_access_log(
    clock: MockClock, sender: RecordingSender, caplog: pytest.LogCaptureFixture, log_format: str
) -> None:
    client = admin_client(clock, sender, access_log=True, log_format=log_format)
    with caplog.at_level(logging.INFO, logger="apixo_mock.access"):
        client.get(f"/__admin/accounts/{FULL_KEY}")
        client.get(f"/__admin/tasks?state=pending&key={FULL_KEY}")
    lines = [r.getMessage() for r in caplog.records if r.name == "apixo_mock.access"]
    assert len(lines) == 2
    assert not [line for line in lines if FULL_KEY in line]
    assert "/__admin/accounts/...1234" in lines[0]
    assert "state=pending&key=...1234" in lines[1]
