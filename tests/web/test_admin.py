"""The admin API: health, reset, clock, tasks, accounts, scenarios, journal, and its guard."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from mock_server.core.clock import MockClock
from mock_server.core.schemas import validator
from mock_server.core.service import MockService
from mock_server.settings import Settings
from mock_server.web.app import create_app
from tests.conftest import AUTH, BALANCE, STATUS, SUBMIT, RecordingSender, submit_body


def data(response: Any) -> Any:
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["code"] == 200
    return body["data"]


def new_task(client: FlaskClient, **fields: object) -> str:
    return str(
        client.post(SUBMIT, json=submit_body(**fields), headers=AUTH).get_json()["data"]["taskId"]
    )


def state(client: FlaskClient, task_id: str) -> str:
    return str(
        client.get(STATUS, query_string={"taskId": task_id}, headers=AUTH).get_json()["data"][
            "state"
        ]
    )


def test_health_reports_version_and_settings(client: FlaskClient) -> None:
    health = data(client.get("/__admin/health"))
    assert health["status"] == "ok"
    assert health["version"]
    assert health["settings"]["seed"] == 7


def test_clock_read_advance_set_freeze_unfreeze(client: FlaskClient, clock: MockClock) -> None:
    start = data(client.get("/__admin/clock"))
    assert validator("admin-clock").is_valid(start)
    assert start["frozen"] is True
    assert (
        data(client.post("/__admin/clock/advance", json={"ms": 1500}))["now"] == start["now"] + 1500
    )
    assert (
        data(client.post("/__admin/clock/set", json={"ms": 1_800_000_000_000}))["now"]
        == 1_800_000_000_000
    )
    assert data(client.post("/__admin/clock/unfreeze", json={}))["frozen"] is False
    assert data(client.post("/__admin/clock/freeze", json={}))["frozen"] is True


@pytest.mark.parametrize("body", [{}, {"ms": -1}, {"ms": "10"}, {"ms": 1.5}])
def test_clock_advance_rejects_bad_payloads(client: FlaskClient, body: dict[str, Any]) -> None:
    response = client.post("/__admin/clock/advance", json=body)
    assert response.status_code == 400
    assert response.get_json()["data"]["error"].startswith("ms")


def test_advancing_moves_every_task_at_once(client: FlaskClient) -> None:
    tasks = [new_task(client) for _ in range(3)]
    client.post("/__admin/clock/advance", json={"ms": 60_000})
    assert [state(client, t) for t in tasks] == ["success"] * 3


def test_reset_forgets_tasks_accounts_and_clock(client: FlaskClient, clock: MockClock) -> None:
    task_id = new_task(client)
    client.post("/__admin/clock/advance", json={"ms": 5000})
    data(client.post("/__admin/reset", json={}))
    assert client.get(STATUS, query_string={"taskId": task_id}, headers=AUTH).status_code == 404
    assert client.get(BALANCE, headers=AUTH).get_json()["data"] == 1_000_000
    assert data(client.get("/__admin/health"))["tasks"] == 0


def test_task_admin_shows_timeline_and_reason(client: FlaskClient) -> None:
    task_id = new_task(client, prompt="mock:fail:NSFW_DETECTED")
    task = data(client.get(f"/__admin/tasks/{task_id}"))
    assert validator("admin-task").is_valid(task)
    assert task["reason"] == "trigger mock:fail:NSFW_DETECTED"
    assert task["key"] == "...1234"
    assert [t["taskId"] for t in data(client.get("/__admin/tasks?state=pending"))] == [task_id]


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        ("complete", {}, "success"),
        ("fail", {"failCode": "PROCESSING_TIMEOUT"}, "failed"),
        ("state", {"state": "failed", "failCode": "MODEL_UNAVAILABLE"}, "failed"),
        ("state", {"state": "success"}, "success"),
        ("state", {"state": "processing"}, "processing"),
    ],
)
def test_force_moves_an_unfinished_task(
    client: FlaskClient, path: str, body: dict[str, Any] | None, expected: str
) -> None:
    task_id = new_task(client, prompt="mock:hang")
    data(client.post(f"/__admin/tasks/{task_id}/{path}", json=body))
    assert state(client, task_id) == expected


def test_force_refuses_a_finished_task(client: FlaskClient) -> None:
    task_id = new_task(client)
    client.post(f"/__admin/tasks/{task_id}/complete", json={})
    refused = client.post(f"/__admin/tasks/{task_id}/fail", json={})
    assert refused.status_code == 400
    assert state(client, task_id) == "success"


def test_forced_failure_refunds_and_frees_the_cap(client: FlaskClient) -> None:
    task_id = new_task(client, prompt="mock:hang", num_images=2)
    client.post(f"/__admin/tasks/{task_id}/fail", json={"failCode": "GENERATION_FAILED"})
    account = data(client.get("/__admin/accounts/test-key-1234"))
    assert validator("admin-account").is_valid(account)
    assert (account["balance"], account["unfinished"]) == (1_000_000, 0)


def test_accounts_set_balance_and_limits(client: FlaskClient) -> None:
    data(
        client.patch(
            "/__admin/accounts/test-key-1234", json={"balance": "0.70", "maxUnfinished": 1}
        )
    )
    assert client.get(BALANCE, headers=AUTH).get_json()["data"] == 0.7
    new_task(client)
    assert client.post(SUBMIT, json=submit_body(), headers=AUTH).status_code == 429
    bad = client.patch("/__admin/accounts/test-key-1234", json={"balance": "0.0000001"})
    assert bad.status_code == 400


def test_scenarios_load_add_remove_clear(client: FlaskClient) -> None:
    listing = data(client.get("/__admin/scenarios"))
    assert {"flaky", "outage", "content-moderation"} <= set(listing["available"])
    loaded = data(client.put("/__admin/scenarios/active", json={"name": "content-moderation"}))
    assert loaded["name"] == "content-moderation"
    assert state_after(client, "a naked statue") == "failed"
    rule = {"name": "all-timeout", "then": {"fail": {"code": "PROCESSING_TIMEOUT"}}}
    data(client.post("/__admin/scenarios/active/rules", json={"rule": rule, "index": 0}))
    assert fail_code_after(client, "a cat") == "PROCESSING_TIMEOUT"
    data(client.delete("/__admin/scenarios/active/rules/all-timeout", json={}))
    assert state_after(client, "a cat") == "success"
    data(client.delete("/__admin/scenarios/active", json={}))
    assert state_after(client, "a naked statue") == "success"


def state_after(client: FlaskClient, prompt: str) -> str:
    task_id = new_task(client, prompt=prompt)
    client.post("/__admin/clock/advance", json={"ms": 60_000})
    return state(client, task_id)


def fail_code_after(client: FlaskClient, prompt: str) -> str:
    task_id = new_task(client, prompt=prompt)
    client.post("/__admin/clock/advance", json={"ms": 60_000})
    body = client.get(STATUS, query_string={"taskId": task_id}, headers=AUTH).get_json()
    return str(body["data"]["failCode"])


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({"name": "no-such-scenario"}, "no-such-scenario"),
        (
            {
                "scenario": {
                    "name": "x",
                    "rules": [{"name": "r", "then": {"fail": {"code": "OOPS"}}}],
                }
            },
            "rules[0]",
        ),
        ({"name": "a", "scenario": {"name": "b"}}, ""),
    ],
)
def test_bad_scenario_loads_are_400(client: FlaskClient, body: dict[str, Any], names: str) -> None:
    response = client.put("/__admin/scenarios/active", json=body)
    assert response.status_code == 400
    assert names in response.get_json()["data"]["error"]


def test_journal_records_and_filters(client: FlaskClient) -> None:
    task_id = new_task(client)
    client.get(STATUS, query_string={"taskId": task_id}, headers=AUTH)
    client.get(STATUS, query_string={"taskId": "nope"}, headers=AUTH)
    entries = data(client.get("/__admin/journal"))
    assert all(validator("admin-journal-entry").is_valid(e) for e in entries)
    assert [e["status"] for e in entries] == [200, 200, 404]
    assert entries[0]["key"] == "...1234"
    assert len(data(client.get(f"/__admin/journal?taskId={task_id}"))) == 2
    assert len(data(client.get("/__admin/journal?status=404"))) == 1
    assert len(data(client.get("/__admin/journal?path=/api/v1/generateTask"))) == 1
    assert client.get("/__admin/journal?status=abc").status_code == 400


def admin_app(clock: MockClock, sender: RecordingSender, **settings: Any) -> FlaskClient:
    service = MockService(
        Settings(seed=1).replace(**settings).core_config(), sender=sender, clock=clock
    )
    return create_app(service=service).test_client()


def test_admin_token_is_required_when_set(clock: MockClock, sender: RecordingSender) -> None:
    client = admin_app(clock, sender, admin_token="s3cret")
    assert client.get("/__admin/health").status_code == 401
    assert (
        client.get("/__admin/health", headers={"X-Apixo-Mock-Admin-Token": "wrong"}).status_code
        == 401
    )
    assert (
        client.get("/__admin/health", headers={"X-Apixo-Mock-Admin-Token": "s3cret"}).status_code
        == 200
    )
    assert client.get("/__admin/callbacks").status_code == 401


def test_no_admin_removes_the_admin_api(clock: MockClock, sender: RecordingSender) -> None:
    client = admin_app(clock, sender, admin=False)
    response = client.get("/__admin/health")
    assert response.status_code == 404
    assert response.get_json()["code"] == 404


def test_admin_is_off_on_public_address_without_token(
    clock: MockClock, sender: RecordingSender
) -> None:
    assert admin_app(clock, sender, host="0.0.0.0").get("/__admin/health").status_code == 404
    guarded = admin_app(clock, sender, host="0.0.0.0", admin_token="t")
    assert (
        guarded.get("/__admin/health", headers={"X-Apixo-Mock-Admin-Token": "t"}).status_code == 200
    )


def test_a_balance_patched_after_a_failure_stays_as_set(client: FlaskClient) -> None:
    task_id = new_task(client, prompt="mock:fail:GENERATION_FAILED")
    ended = data(client.get(f"/__admin/tasks/{task_id}"))["timeline"]["doneAt"]
    now = data(client.get("/__admin/clock"))["now"]
    data(client.post("/__admin/clock/advance", json={"ms": ended - now}))

    patched = data(client.patch("/__admin/accounts/test-key-1234", json={"balance": "0.10"}))

    assert patched["balance"] == 0.1
    assert client.get(BALANCE, headers=AUTH).get_json()["data"] == 0.1


def test_a_rule_index_past_the_end_adds_the_rule_last(client: FlaskClient) -> None:
    for name, index in (("first", None), ("second", 10), ("third", 10**30)):
        rule = {"name": name, "then": {"fail": {"code": "PROCESSING_TIMEOUT"}}}
        body: dict[str, Any] = {"rule": rule} if index is None else {"rule": rule, "index": index}
        added = data(client.post("/__admin/scenarios/active/rules", json=body))
    assert [r["name"] for r in added["rules"]] == ["first", "second", "third"]
