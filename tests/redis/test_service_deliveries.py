"""A MockService whose callback deliveries live in Redis: the same answers as in memory.

The delivery store is injected through the stores bundle, as the shared
store will be; nothing else changes. A delivery is data, so its body is the
task's status envelope rendered when it is sent.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import redis

from mock_server.core.callbacks import SendResult
from mock_server.core.clock import MockClock
from mock_server.core.config import CoreConfig
from mock_server.core.service import MockService
from mock_server.core.stores import Stores
from mock_server.core.stores.redis.deliveries import redis_deliveries

START = 1_700_000_000_000
KEY = "key-deliveries-0001"
HOOK = "http://127.0.0.1:9/hook"
WAIT_S = 30.0


class Sender:
    """Records every POST and answers 200."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes]] = []

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> SendResult:
        self.calls.append((url, body))
        return SendResult(200, None, 0.1)


@pytest.fixture(params=["memory", "redis"])
def service(request: pytest.FixtureRequest) -> Iterator[tuple[MockService, Sender]]:
    """A started service on a frozen clock, its deliveries in memory or in Redis."""
    config = CoreConfig(seed=1, profile="instant")
    stores = Stores.in_memory(config)
    client: redis.Redis | None = None
    if request.param == "redis":
        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
        stores = dataclasses.replace(stores, deliveries=redis_deliveries(client, "svc:", config))
    sender = Sender()
    clock = MockClock(lambda: START, frozen=True, state=stores.clock_state)
    with MockService(config, sender=sender, clock=clock, stores=stores) as built:
        yield built, sender
    if client is not None:
        client.close()


def submit(service: MockService, **extra: Any) -> str:
    request = {"input": {"mode": "gpt-image-1", "prompt": "a fox"}, **extra}
    body = json.dumps({"request_type": "callback", "callback_url": HOOK, **request}).encode()
    return service.submit(KEY, body, "application/json", "http://x").task.task_id


def test_the_callback_body_is_the_status_rendered_when_sent(
    service: tuple[MockService, Sender],
) -> None:
    mock, sender = service
    task_id = submit(mock)
    assert mock.callbacks.wait_idle(WAIT_S)
    assert sender.calls == []
    mock.advance_clock(60_000)
    assert mock.callbacks.wait_idle(WAIT_S)
    assert sender.calls == [(HOOK, mock.status(KEY, task_id)[1])]
    [view] = mock.deliveries(task_id=task_id)
    assert (view.state, view.attempts, view.last_status) == ("delivered", 1, 200)
    assert [a.outcome for a in mock.attempts(task_id)] == ["delivered"]


def test_redeliver_and_reset_through_the_service(service: tuple[MockService, Sender]) -> None:
    mock, sender = service
    task_id = submit(mock)
    mock.advance_clock(60_000)
    assert mock.callbacks.wait_idle(WAIT_S)
    view = mock.redeliver(task_id)
    assert view is not None
    assert view.task_id == task_id
    assert mock.callbacks.wait_idle(WAIT_S)
    assert len(sender.calls) == 2
    mock.reset()
    assert mock.deliveries() == []


def test_a_task_no_longer_kept_fails_its_callback_with_a_reason(
    service: tuple[MockService, Sender],
) -> None:
    mock, sender = service
    mock.callbacks.schedule("gone", HOOK, START)  # no task of that id: nothing to render
    assert mock.callbacks.wait_idle(WAIT_S)
    assert sender.calls == []
    [attempt] = mock.callbacks.attempts("gone")
    assert attempt["error"] == "LookupError: task gone is no longer kept"
