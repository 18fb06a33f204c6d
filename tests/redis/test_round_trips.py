"""Round trips to Redis per hot request: counted, not timed, so load cannot skew them.

Each request to Redis is a round trip a worker waits on; the budget here is
what the store's throughput rests on (bench/store_commands.py prints the detail).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from redis.connection import Connection

from mock_server.core.stores.redis import journal
from mock_server.settings import Settings
from mock_server.web.app import create_app

KEY = "key-trips-0001"
AUTH = {"Authorization": f"Bearer {KEY}"}
BODY = {"input": {"mode": "gpt-image-1", "prompt": "a fox"}}
SUBMIT = "/api/v1/generateTask/gpt-image-1"


class Trips:
    """Counts what every redis-py connection sends: one call is one round trip."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original: Any = Connection.send_packed_command

        def counted(connection: Connection, command: Any, check_health: bool = True) -> None:
            self.count += 1
            original(connection, command, check_health)

        monkeypatch.setattr(Connection, "send_packed_command", counted)

    def of(self, send: Any) -> int:
        before = self.count
        answer = send()
        assert answer.status_code == 200, answer.data
        return self.count - before


@pytest.fixture
def web(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    # Entries wait for the next request to carry them: the flusher never runs here.
    monkeypatch.setattr(journal, "LINGER_S", 60.0)
    app = create_app(Settings(store=redis_url, access_log=False, frozen=True))
    yield app.test_client()
    app.extensions["apixo_mock"].close()


def status_path(web: FlaskClient) -> str:
    task_id = web.post(SUBMIT, json=BODY, headers=AUTH).get_json()["data"]["taskId"]
    return f"/api/v1/statusTask/gpt-image-1?taskId={task_id}"


def test_a_status_read_makes_one_round_trip(
    web: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = status_path(web)
    trips = Trips(monkeypatch)
    # Was 8, then 6: now the gate (clock, scenario version, cap, window, task,
    # and the journal's entries of the requests before) in one script.
    assert trips.of(lambda: web.get(path, headers=AUTH)) == 1
    assert trips.of(lambda: web.get(path, headers=AUTH)) == 1  # the same on every read


def test_a_submit_makes_three_round_trips(
    web: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    status_path(web)  # the account and the defaults exist, as on a running mock
    trips = Trips(monkeypatch)
    # Was 16: now the gate, one look and one commit (charge, task, unfinished
    # count); no lock: the commit checks nothing came between.
    assert trips.of(lambda: web.post(SUBMIT, json=BODY, headers=AUTH)) == 3


def test_a_balance_read_makes_two_round_trips(
    web: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    status_path(web)
    trips = Trips(monkeypatch)
    # The gate and one look (nothing to settle: no lock).
    assert trips.of(lambda: web.get("/api/v1/apikeys/current-balance", headers=AUTH)) == 2


@pytest.fixture
def two_apps(redis_url: str) -> Iterator[tuple[FlaskClient, FlaskClient]]:
    """Clients of two apps on one Redis, as two processes would be."""
    apps = [create_app(Settings(store=redis_url, access_log=False, frozen=True)) for _ in "12"]
    yield apps[0].test_client(), apps[1].test_client()
    for app in apps:
        app.extensions["apixo_mock"].close()


def test_a_clock_moved_through_one_app_is_seen_by_the_next_request_of_another(
    two_apps: tuple[FlaskClient, FlaskClient],
) -> None:
    first, second = two_apps
    path = status_path(first)
    assert second.get(path, headers=AUTH).get_json()["data"]["state"] == "pending"
    moved = first.post("/__admin/clock/advance", json={"ms": 600_000})
    assert moved.status_code == 200
    assert second.get(path, headers=AUTH).get_json()["data"]["state"] == "success"
    now = moved.get_json()["data"]["now"]
    assert second.get("/__admin/clock").get_json()["data"]["now"] == now


def test_a_scenario_made_active_through_one_app_rules_the_next_status_read_of_another(
    two_apps: tuple[FlaskClient, FlaskClient],
) -> None:
    first, second = two_apps
    path = status_path(first)
    assert second.get(path, headers=AUTH).status_code == 200  # the version is now seen
    rule = {"name": "down", "when": {"endpoint": "status"}, "then": {"reject": {"status": 503}}}
    busy = {"scenario": {"name": "busy", "rules": [rule]}}
    assert first.put("/__admin/scenarios/active", json=busy).status_code == 200
    assert second.get(path, headers=AUTH).status_code == 503
    assert first.delete("/__admin/scenarios/active", json={}).status_code == 200
    assert second.get(path, headers=AUTH).status_code == 200
