"""Admin scenario endpoints: the same strict checks as scenario files, every problem named."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from mock_server.core.scenario_files import shipped_scenarios

ACTIVE = "/__admin/scenarios/active"
RULES = "/__admin/scenarios/active/rules"


def refused(response: Any) -> dict[str, Any]:
    body = response.get_json()
    assert response.status_code == 400, body
    assert (body["code"], body["message"]) == (400, "Invalid request")
    data: dict[str, Any] = body["data"]
    return data


def send(client: FlaskClient, method: str, url: str, body: dict[str, Any]) -> Any:
    """The body in the key order written here (the test client's `json=` sorts keys)."""
    return client.open(url, method=method, data=json.dumps(body), content_type="application/json")


def test_unknown_scenario_name_lists_the_known_names(client: FlaskClient) -> None:
    error = refused(client.put(ACTIVE, json={"name": "no-such"}))["error"]
    known = ", ".join(sorted(shipped_scenarios()))
    assert error == f"name: no such scenario 'no-such' (known: {known})"


def test_a_scenario_loaded_over_the_api_is_listed_as_known(client: FlaskClient) -> None:
    client.put(ACTIVE, json={"scenario": {"name": "mine"}})
    client.delete(ACTIVE)
    assert "mine" in refused(client.put(ACTIVE, json={"name": "nope"}))["error"]


def test_bad_rule_is_400_naming_every_field_in_body_order(client: FlaskClient) -> None:
    rule = {
        "name": "r",
        "when": {"prompt_regex": "(", "num_images": 2.0},
        "then": {"fail": {"code": "OOPS"}, "callback": {"copies": 2.0}},
        "index": 1,
    }
    data = refused(send(client, "POST", RULES, {"rule": rule}))
    fields = [error.split(":")[0] for error in data["errors"]]
    assert fields == [
        "rule.when.prompt_regex",
        "rule.when.num_images",
        "rule.then.fail.code",
        "rule.then.callback.copies",
        "rule.index",
    ]
    assert data["error"] == data["errors"][0]
    assert data["error"].startswith("rule.when.prompt_regex: is not a valid regex (missing ),")


@pytest.mark.parametrize("pattern", ["a{4294967296}", "(" * 3000 + ")" * 3000])
def test_rule_with_a_regex_python_cannot_compile_is_400(client: FlaskClient, pattern: str) -> None:
    rule = {"name": "r", "when": {"image_url": pattern}, "then": {"fault": "drop"}}
    assert refused(client.post(RULES, json={"rule": rule}))["error"].startswith(
        "rule.when.image_url: is not a valid regex ("
    )
    assert client.get("/__admin/scenarios").get_json()["data"]["active"]["rules"] == []


def test_scenario_document_problems_are_named_in_body_order(client: FlaskClient) -> None:
    scenario = {
        "name": "s",
        "rules": [
            {"name": "a", "then": {"latency_ms": 1.0}},
            {"name": "b", "then": {"reject": {"status": 418}}},
        ],
        "settings": {"rpm": 60.0},
    }
    data = refused(send(client, "PUT", ACTIVE, {"scenario": scenario}))
    assert [error.split(":")[0] for error in data["errors"]] == [
        "scenario.rules[0].then.latency_ms",
        "scenario.rules[1].then.reject.status",
        "scenario.settings.rpm",
    ]
    assert data["errors"][2] == "scenario.settings.rpm: must be of type integer, not number"


def test_twin_rule_names_in_a_scenario_document_name_the_rule(client: FlaskClient) -> None:
    rules = [{"name": "a", "then": {"fault": "drop"}}, {"name": "a", "then": {"fault": "drop"}}]
    data = refused(client.put(ACTIVE, json={"scenario": {"name": "s", "rules": rules}}))
    assert data["errors"] == ["scenario.rules[1] (a).name: rules[0] has this name too"]


@pytest.mark.parametrize(
    "body", [{}, {"name": "flaky", "scenario": {"name": "x"}}], ids=["neither", "both"]
)
def test_scenario_load_takes_exactly_one_of_name_and_scenario(
    client: FlaskClient, body: dict[str, Any]
) -> None:
    assert refused(client.put(ACTIVE, json=body))["error"] == (
        "body: give exactly one of name (a known scenario) and scenario (a whole document)"
    )
