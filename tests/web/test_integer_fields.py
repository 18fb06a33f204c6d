"""Integers are integers over HTTP: a whole-number float is a 400 naming the field, never a 500.

Every integer field of every admin body (found by walking the schemas, see
tests/schemas/test_strict_integers.py) is sent as a float; so are the submit's
counts; query arguments take ASCII digits only.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import AUTH, BALANCE, SUBMIT, submit_body
from tests.schemas.test_strict_integers import BODIES, Path, integers_in, with_float_at

ACCOUNT = "/__admin/accounts/test-key-1234"
ENDPOINTS = {
    "admin-clock-change": [("post", "/__admin/clock/advance"), ("post", "/__admin/clock/set")],
    "admin-rule-add": [("post", "/__admin/scenarios/active/rules")],
    "admin-scenario-load": [("put", "/__admin/scenarios/active")],
    "admin-account-update": [("patch", ACCOUNT)],
}
CASES = [
    pytest.param(method, url, name, path, id=f"{url}:{'.'.join(map(str, path))}")
    for name, endpoints in ENDPOINTS.items()
    for method, url in endpoints
    for path in integers_in(BODIES[name])
]


def dotted(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def error_of(response: Any) -> str:
    body = response.get_json()
    assert response.status_code == 400, body
    assert body["code"] == 400
    return str(body["data"]["error"])


def test_every_admin_body_with_integers_has_an_endpoint_here() -> None:
    with_integers = {name for name, body in BODIES.items() if any(integers_in(body))}
    assert with_integers - {"scenario", "scenario-rule", "submit-request"} == set(ENDPOINTS)


@pytest.mark.parametrize(("method", "url", "name", "path"), CASES)
def test_whole_number_float_in_an_admin_body_is_400_naming_the_field(
    client: FlaskClient, method: str, url: str, name: str, path: Path
) -> None:
    response = client.open(url, method=method, json=with_float_at(BODIES[name], path))
    assert error_of(response) == f"{dotted(path)}: must be of type integer, not number"


def test_float_clock_advance_leaves_every_time_an_integer(client: FlaskClient) -> None:
    before = client.get("/__admin/clock").get_json()["data"]
    error_of(client.post("/__admin/clock/advance", json={"ms": 1.0}))
    assert client.get("/__admin/clock").get_json()["data"] == before
    task_id = client.post(SUBMIT, json=submit_body(), headers=AUTH).get_json()["data"]["taskId"]
    task = client.get(f"/__admin/tasks/{task_id}").get_json()["data"]
    assert type(task["status"]["createTime"]) is int


@pytest.mark.parametrize("field", ["num_images", "nVariants"])
def test_whole_number_float_count_in_a_submit_is_400(client: FlaskClient, field: str) -> None:
    body = submit_body()
    body["input"][field] = 2.0
    response = client.post(SUBMIT, json=body, headers=AUTH)
    assert error_of(response) == f"input.{field}: must be of type integer, not number"
    assert client.get(BALANCE, headers=AUTH).get_json()["data"] == 1000000


@pytest.mark.parametrize("value", ["1.0", "-1", "²", "\u0661", "1e3", "9" * 5000])
@pytest.mark.parametrize("url", ["/__admin/journal", "/__admin/tasks"])
def test_limit_query_takes_ascii_digits_only(client: FlaskClient, url: str, value: str) -> None:
    response = client.get(url, query_string={"limit": value})
    assert error_of(response) == "limit: must be a non-negative integer"


def test_journal_status_query_takes_ascii_digits_only(client: FlaskClient) -> None:
    response = client.get("/__admin/journal", query_string={"status": "\u0662\u0660\u0660"})
    assert error_of(response) == "status: must be a non-negative integer"
