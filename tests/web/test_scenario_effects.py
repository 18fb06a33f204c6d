"""Scenario effects through HTTP: reject, latency, malformed bodies, the per-request header."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from mock_server.core.clock import MockClock
from tests.conftest import AUTH, BALANCE, STATUS, SUBMIT, submit_body


def add_rule(client: FlaskClient, rule: dict[str, Any]) -> None:
    response = client.post("/__admin/scenarios/active/rules", json={"rule": rule})
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("status", [400, 401, 403, 404, 429, 500, 503])
def test_reject_effect_answers_that_status_in_the_envelope(
    client: FlaskClient, status: int
) -> None:
    add_rule(client, {"name": "r", "then": {"reject": {"status": status, "message": "rehearsal"}}})
    response = client.post(SUBMIT, json=submit_body(), headers=AUTH)
    assert response.status_code == status
    assert response.get_json() == {"code": status, "message": "rehearsal", "data": None}
    assert ("Retry-After" in response.headers) == (status == 429)


@pytest.mark.parametrize("status", [400, 403, 429, 500, 503])
def test_reject_trigger_in_prompt(client: FlaskClient, status: int) -> None:
    response = client.post(SUBMIT, json=submit_body(prompt=f"x mock:reject:{status}"), headers=AUTH)
    assert response.status_code == status
    assert response.get_json()["code"] == status


def test_rejected_submit_is_not_charged(client: FlaskClient) -> None:
    client.post(SUBMIT, json=submit_body(prompt="mock:reject:500", num_images=4), headers=AUTH)
    assert client.get(BALANCE, headers=AUTH).get_json()["data"] == 1_000_000


def test_times_expires_a_rule(client: FlaskClient) -> None:
    add_rule(client, {"name": "twice", "times": 2, "then": {"reject": {"status": 503}}})
    codes = [client.post(SUBMIT, json=submit_body(), headers=AUTH).status_code for _ in range(3)]
    assert codes == [503, 503, 200]


def test_every_nth_submit(client: FlaskClient) -> None:
    add_rule(
        client, {"name": "third", "when": {"every_nth": 3}, "then": {"reject": {"status": 500}}}
    )
    codes = [client.post(SUBMIT, json=submit_body(), headers=AUTH).status_code for _ in range(6)]
    assert codes == [200, 200, 500, 200, 200, 500]


def test_status_rule_rejects_reads(client: FlaskClient) -> None:
    task_id = client.post(SUBMIT, json=submit_body(), headers=AUTH).get_json()["data"]["taskId"]
    add_rule(
        client, {"name": "s", "when": {"endpoint": "status"}, "then": {"reject": {"status": 500}}}
    )
    assert client.get(STATUS, query_string={"taskId": task_id}, headers=AUTH).status_code == 500
    assert client.get(BALANCE, headers=AUTH).status_code == 200


def test_latency_effect_delays_the_answer(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr("mock_server.web.faults.time.sleep", slept.append)
    add_rule(
        client, {"name": "slow", "when": {"endpoint": "balance"}, "then": {"latency_ms": 1500}}
    )
    assert client.get(BALANCE, headers=AUTH).status_code == 200
    assert slept == [1.5]


def test_malformed_body_effect(client: FlaskClient) -> None:
    add_rule(client, {"name": "m", "when": {"endpoint": "balance"}, "then": {"fault": "malformed"}})
    response = client.get(BALANCE, headers=AUTH)
    assert response.status_code == 200
    with pytest.raises(ValueError, match=r"Expecting|Unterminated"):
        response.get_json(force=True, silent=False)


def test_fail_effect_after_ms_ends_early(client: FlaskClient, clock: MockClock) -> None:
    add_rule(
        client, {"name": "f", "then": {"fail": {"code": "PROCESSING_TIMEOUT", "after_ms": 100}}}
    )
    task_id = client.post(SUBMIT, json=submit_body(), headers=AUTH).get_json()["data"]["taskId"]
    clock.advance(100)
    data = client.get(STATUS, query_string={"taskId": task_id}, headers=AUTH).get_json()["data"]
    assert (data["state"], data["failCode"], data["costTime"]) == (
        "failed",
        "PROCESSING_TIMEOUT",
        100,
    )


def test_timeline_effect(client: FlaskClient, clock: MockClock) -> None:
    add_rule(
        client, {"name": "t", "then": {"timeline": {"pending_ms": 1000, "processing_ms": 5000}}}
    )
    task_id = client.post(SUBMIT, json=submit_body(), headers=AUTH).get_json()["data"]["taskId"]

    def state() -> str:
        body = client.get(STATUS, query_string={"taskId": task_id}, headers=AUTH).get_json()
        return str(body["data"]["state"])

    states = [state()]
    for step in (999, 1, 4999, 1):
        clock.advance(step)
        states.append(state())
    assert states == ["pending", "pending", "processing", "processing", "success"]


def test_scenario_header_picks_one_requests_fate(client: FlaskClient, clock: MockClock) -> None:
    headers = {**AUTH, "X-Apixo-Mock-Scenario": "content-moderation"}
    chosen = client.post(SUBMIT, json=submit_body(prompt="nsfw poster"), headers=headers)
    plain = client.post(SUBMIT, json=submit_body(prompt="nsfw poster"), headers=AUTH)
    clock.advance(60_000)
    states = [
        client.get(
            STATUS, query_string={"taskId": r.get_json()["data"]["taskId"]}, headers=AUTH
        ).get_json()["data"]
        for r in (chosen, plain)
    ]
    assert (states[0]["state"], states[0]["failCode"]) == ("failed", "NSFW_DETECTED")
    assert states[1]["state"] == "success"


def test_unknown_scenario_header_is_400(client: FlaskClient) -> None:
    headers = {**AUTH, "X-Apixo-Mock-Scenario": "nope"}
    response = client.post(SUBMIT, json=submit_body(), headers=headers)
    assert response.status_code == 400
    assert "nope" in response.get_json()["data"]["error"]


def test_rate_limited_scenario_overrides_limits(client: FlaskClient) -> None:
    client.put("/__admin/scenarios/active", json={"name": "rate-limited"})
    codes = [client.get(BALANCE, headers=AUTH).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]


def test_a_fail_trigger_in_a_reference_image_url_fails_the_task(
    client: FlaskClient, clock: MockClock
) -> None:
    url = "https://img.example/ref-mock:fail:UNSUPPORTED_FORMAT.png"
    submitted = client.post(SUBMIT, json=submit_body(image_urls=[url]), headers=AUTH)
    task_id = submitted.get_json()["data"]["taskId"]

    clock.advance(3_600_000)
    data = client.get(STATUS, query_string={"taskId": task_id}, headers=AUTH).get_json()["data"]

    assert (data["state"], data["failCode"]) == ("failed", "UNSUPPORTED_FORMAT")


def test_a_reject_trigger_in_a_reference_image_url_answers_that_status(
    client: FlaskClient,
) -> None:
    url = "https://img.example/ref.png?mock:reject:503"
    response = client.post(SUBMIT, json=submit_body(image_urls=[url]), headers=AUTH)

    assert (response.status_code, response.get_json()["code"]) == (503, 503)
