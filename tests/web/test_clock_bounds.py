"""The clock's bounds over HTTP: past 2**53-1 ms is a 400 envelope, never a 500 or `1e+29`."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from mock_server.core.clock import MAX_MS
from tests.conftest import AUTH, STATUS, SUBMIT, submit_body


def clock_now(client: FlaskClient) -> Any:
    return client.get("/__admin/clock").get_json()["data"]["now"]


@pytest.mark.parametrize(
    ("path", "ms"),
    [
        ("/__admin/clock/advance", 10**29),
        ("/__admin/clock/advance", MAX_MS),
        ("/__admin/clock/set", MAX_MS + 1),
        ("/__admin/clock/set", 10**29),
    ],
    ids=["advance-1e29", "advance-past-max", "set-max-plus-1", "set-1e29"],
)
def test_a_clock_move_past_the_bound_is_400(client: FlaskClient, path: str, ms: int) -> None:
    before = clock_now(client)

    response = client.post(path, json={"ms": ms})

    body = response.get_json()
    assert (response.status_code, body["code"]) == (400, 400)
    assert str(MAX_MS) in body["data"]["error"]
    assert clock_now(client) == before


def test_a_whole_number_float_never_becomes_a_float_timestamp(client: FlaskClient) -> None:
    before = clock_now(client)

    response = client.post("/__admin/clock/advance", json={"ms": 1.0})

    assert (response.status_code, response.get_json()["code"]) == (400, 400)
    now = clock_now(client)
    assert type(now) is int
    assert now == before


def test_a_task_submitted_at_the_bound_ends_within_it(client: FlaskClient) -> None:
    assert client.post("/__admin/clock/set", json={"ms": MAX_MS - 10}).status_code == 200
    task_id = client.post(SUBMIT, json=submit_body(), headers=AUTH).get_json()["data"]["taskId"]

    timeline = client.get(f"/__admin/tasks/{task_id}").get_json()["data"]["timeline"]
    assert timeline["doneAt"] == MAX_MS
    assert client.post("/__admin/clock/set", json={"ms": MAX_MS}).status_code == 200
    status = client.get(STATUS, query_string={"taskId": task_id}, headers=AUTH)
    assert status.get_json()["data"]["state"] == "success"
    assert b"e+" not in status.data
