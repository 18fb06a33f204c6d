"""The callback admin endpoints, on a tiny Flask app built here around a real service.

The views reach the dispatcher only through the service's facade; the tests
schedule deliveries on it directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, Response, jsonify
from flask.testing import FlaskClient

from mock_server.core.callbacks import CallbackDispatcher, SendResult
from mock_server.core.clock import MockClock
from mock_server.core.errors import ApiError
from mock_server.core.service import MockService
from mock_server.settings import Settings
from mock_server.web.admin_callbacks import create_blueprint

START = 1_700_000_000_000
URL = "http://receiver.test/hook"


class AlwaysOk:
    def post(self, url: str, body: bytes, headers: Any, timeout_s: float) -> SendResult:
        return SendResult(200, None, 0.5)


@pytest.fixture
def service() -> Iterator[MockService]:
    clock = MockClock(lambda: START, frozen=True)
    with MockService(Settings(), sender=AlwaysOk(), clock=clock) as running:
        yield running


@pytest.fixture
def dispatcher(service: MockService) -> CallbackDispatcher:
    return service.callbacks


@pytest.fixture
def client(service: MockService) -> FlaskClient:
    app = Flask(__name__)
    app.register_blueprint(create_blueprint(), url_prefix="/__admin")
    app.extensions["apixo_mock"] = service

    @app.errorhandler(ApiError)
    def render(error: ApiError) -> tuple[Response, int]:
        return jsonify({"code": error.status, "message": error.message, "data": error.data}), (
            error.status
        )

    return app.test_client()


def test_lists_deliveries_with_filters(client: FlaskClient, dispatcher: CallbackDispatcher) -> None:
    dispatcher.schedule("sent", URL, START, lambda: b"{}")
    dispatcher.schedule("later", URL, START + 60_000, lambda: b"{}")
    assert dispatcher.wait_idle(5)
    everything = client.get("/__admin/callbacks").get_json()
    assert (everything["code"], everything["message"]) == (200, "success")
    assert [row["taskId"] for row in everything["data"]] == ["sent", "later"]
    by_outcome = client.get("/__admin/callbacks?outcome=scheduled").get_json()["data"]
    assert [row["taskId"] for row in by_outcome] == ["later"]
    by_task = client.get("/__admin/callbacks?taskId=sent").get_json()["data"]
    assert [(row["taskId"], row["state"]) for row in by_task] == [("sent", "delivered")]


def test_an_unknown_outcome_is_a_400(client: FlaskClient) -> None:
    response = client.get("/__admin/callbacks?outcome=lost")
    assert response.status_code == 400
    assert response.get_json()["data"]["error"].startswith("outcome: 'lost' is not one of")


def test_reads_a_tasks_attempts(client: FlaskClient, dispatcher: CallbackDispatcher) -> None:
    dispatcher.schedule("t1", URL, START, lambda: b"{}")
    assert dispatcher.wait_idle(5)
    body = client.get("/__admin/callbacks/t1").get_json()
    assert body["code"] == 200
    assert [(a["taskId"], a["attempt"], a["outcome"]) for a in body["data"]] == [
        ("t1", 1, "delivered")
    ]


def test_attempts_of_a_task_without_callback_are_a_404(client: FlaskClient) -> None:
    response = client.get("/__admin/callbacks/nope")
    assert response.status_code == 404
    assert response.get_json()["code"] == 404


def test_redeliver_sends_again_and_answers_the_summary(
    client: FlaskClient, dispatcher: CallbackDispatcher
) -> None:
    dispatcher.schedule("t1", URL, START, lambda: b"{}")
    assert dispatcher.wait_idle(5)
    response = client.post("/__admin/callbacks/t1/redeliver")
    assert response.status_code == 200
    assert response.get_json()["data"]["taskId"] == "t1"
    assert dispatcher.wait_idle(5)
    assert len(dispatcher.attempts("t1")) == 2


def test_redeliver_without_a_callback_is_a_404(client: FlaskClient) -> None:
    response = client.post("/__admin/callbacks/nope/redeliver")
    assert response.status_code == 404
    assert response.get_json()["message"] == "Task not found"


def test_redeliver_is_post_only(client: FlaskClient) -> None:
    assert client.get("/__admin/callbacks/t1/redeliver").status_code == 405


def test_two_apps_get_independent_blueprints() -> None:
    first, second = Flask("first"), Flask("second")
    first.register_blueprint(create_blueprint(), url_prefix="/__admin")
    second.register_blueprint(create_blueprint(), url_prefix="/__admin")
    assert "admin_callbacks.list_deliveries" in first.view_functions
    assert "admin_callbacks.list_deliveries" in second.view_functions
