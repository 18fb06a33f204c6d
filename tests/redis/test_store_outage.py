"""Redis going away while the mock runs: a 503 in the API's envelope, never a 500 or a hang."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mock_server.settings import Settings
from mock_server.testing.redis_server import RedisUnavailable, redis_server
from mock_server.web.app import create_app

AUTH = {"Authorization": "Bearer key-outage-0001"}
BODY = {"input": {"mode": "gpt-image-1", "prompt": "a fox"}}


@dataclass
class Outage:
    """A mock on its own Redis, a task submitted; `stop()` takes Redis away, not the mock."""

    app: Flask
    client: FlaskClient
    task_id: str
    threads_before: set[threading.Thread]  # the process's threads before the mock's
    stop: Callable[[], None]


@pytest.fixture
def outage(tmp_path: Path) -> Iterator[Outage]:
    try:
        server = redis_server(tmp_path)
        running = server.__enter__()
    except RedisUnavailable as error:
        pytest.skip(str(error))
    threads_before = set(threading.enumerate())
    app = create_app(Settings(store=running.url, access_log=False))
    client = app.test_client()
    submitted = client.post("/api/v1/generateTask/gpt-image-1", json=BODY, headers=AUTH)
    assert submitted.status_code == 200  # its journal entry may still be kept, unsent
    stopped: list[bool] = []

    def stop() -> None:
        if not stopped:
            stopped.append(True)
            server.__exit__(None, None, None)

    yield Outage(app, client, submitted.get_json()["data"]["taskId"], threads_before, stop)
    stop()
    app.extensions["apixo_mock"].close()  # its threads stop with the test


def test_a_lost_redis_is_a_503_in_the_envelope(outage: Outage) -> None:
    outage.stop()
    answer = outage.client.get(
        f"/api/v1/statusTask/gpt-image-1?taskId={outage.task_id}", headers=AUTH
    )
    assert answer.status_code == 503
    assert answer.get_json() == {
        "code": 503,
        "message": "The mock's shared store (Redis) is unreachable",
        "data": None,
    }


def test_a_mock_whose_redis_went_away_closes_all_the_same(
    outage: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    outage.stop()
    with caplog.at_level(logging.WARNING):
        outage.app.extensions["apixo_mock"].close()  # no exception: nothing it needs is in Redis
    assert not [t for t in set(threading.enumerate()) - outage.threads_before if t.is_alive()]
    retrying = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retrying) <= 1  # the journal said it once, not at every try
