"""Bad input found by review: each gets a 4xx envelope, never a 500, and costs nothing."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from flask.testing import FlaskClient

from mock_server.core.clock import MockClock
from mock_server.core.errors import ConfigError
from mock_server.core.service import MockService
from mock_server.settings import Settings
from mock_server.web.app import create_app
from tests.conftest import AUTH, BALANCE, SUBMIT, RecordingSender, submit_body


def post_raw(client: FlaskClient, raw: str) -> tuple[int, dict[str, object]]:
    headers = {**AUTH, "Content-Type": "application/json"}
    response = client.post(SUBMIT, data=raw.encode(), headers=headers)
    return response.status_code, response.get_json()


@pytest.mark.parametrize(
    "raw",
    [
        '{"input": {"mode": "gpt-image-1", "prompt": "x", "image_urls": ["https://a.example/\\n"]}}',
        '{"request_type": "callback", "callback_url": "http://a.example/cb\\n",'
        ' "input": {"mode": "gpt-image-1", "prompt": "x"}}',
    ],
    ids=["image-url-trailing-newline", "callback-url-trailing-newline"],
)
def test_urls_with_a_trailing_newline_are_400(client: FlaskClient, raw: str) -> None:
    status, body = post_raw(client, raw)
    assert status == 400
    assert body["code"] == 400


@pytest.mark.parametrize(
    "raw",
    [
        '{"input": {"mode": "gpt-image-1", "prompt": "a \\ud800 b"}}',
        '{"input": {"mode": "gpt-image-1", "prompt": "x", "image_urls": ["https://a.example/\\udfff"]}}',
        '{"\\ud800": 1, "input": {"mode": "gpt-image-1", "prompt": "x"}}',
    ],
    ids=["in-prompt", "in-url", "in-a-key"],
)
def test_lone_surrogates_are_400(client: FlaskClient, raw: str) -> None:
    status, body = post_raw(client, raw)
    assert status == 400
    assert "surrogate" in str(body["data"])
    assert client.get("/__admin/tasks").status_code == 200


def test_a_maximum_alone_below_the_profile_minimum_still_serves(
    clock: MockClock, sender: RecordingSender
) -> None:
    service = MockService(
        Settings(seed=1, processing_max_ms=100).core_config(), sender=sender, clock=clock
    )
    client = create_app(service=service).test_client()
    task_id = client.post(SUBMIT, json=submit_body(), headers=AUTH).get_json()["data"]["taskId"]
    task = service.tasks.get(task_id)
    assert task is not None
    assert task.timeline.done_at is not None
    assert task.timeline.done_at - task.timeline.processing_at <= 100


def test_scenario_with_impossible_settings_is_400_and_changes_nothing(client: FlaskClient) -> None:
    scenario = {"name": "bad", "settings": {"processing_min_ms": 500, "processing_max_ms": 100}}
    response = client.put("/__admin/scenarios/active", json={"scenario": scenario})
    assert response.status_code == 400
    assert "processing_max_ms" in response.get_json()["data"]["error"]
    assert client.post(SUBMIT, json=submit_body(), headers=AUTH).status_code == 200
    assert client.get("/__admin/scenarios").get_json()["data"]["active"]["name"] == "none"


def test_clock_cannot_be_set_back(client: FlaskClient) -> None:
    now = client.get("/__admin/clock").get_json()["data"]["now"]
    refused = client.post("/__admin/clock/set", json={"ms": now - 1})
    assert refused.status_code == 400
    assert client.get("/__admin/clock").get_json()["data"]["now"] == now


def test_a_closed_service_refuses_submits_before_charging(
    client: FlaskClient, service: MockService
) -> None:
    service.close()
    response = client.post(SUBMIT, json=submit_body(num_images=4), headers=AUTH)
    assert response.status_code == 503
    assert client.get(BALANCE, headers=AUTH).get_json()["data"] == 1_000_000


@pytest.mark.parametrize("amount", ["1000000000", "1e12", "0.0000001"])
def test_amounts_json_cannot_keep_exact_are_refused(amount: str) -> None:
    with pytest.raises(ConfigError, match="balance"):
        Settings().replace(balance=amount)


def test_admin_balance_past_json_precision_is_400(client: FlaskClient) -> None:
    response = client.patch("/__admin/accounts/test-key-1234", json={"balance": "1234567890123.5"})
    assert response.status_code == 400


def test_largest_exact_balance_round_trips(clock: MockClock, sender: RecordingSender) -> None:
    settings = Settings(seed=1, balance=Decimal("999999999.999999"))
    client = create_app(
        service=MockService(settings.core_config(), sender=sender, clock=clock)
    ).test_client()
    raw = client.get(BALANCE, headers=AUTH).data
    assert json.loads(raw, parse_float=Decimal)["data"] == Decimal("999999999.999999")
