"""What a submit costs Redis, counted (round trips, commands), never timed.

Admission on Redis settles the tasks that ended, looks, and commits; each
round trip is CPU of the mock and of Redis spent on every submit, so the
counts here are what the store's submit rate rests on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import redis

from mock_server.core.callbacks import SendResult
from mock_server.core.config import CoreConfig
from mock_server.core.service import MockService
from tests.redis.holding import Trips

KEY = "key-cost-0001"
BODY = json.dumps({"input": {"mode": "gpt-image-1", "prompt": "a fox"}}).encode()
FAILING = json.dumps({"input": {"mode": "gpt-image-1", "prompt": "mock:fail:NSFW_DETECTED"}})
Make = Callable[..., MockService]


class NullSender:
    """Callbacks are not under test here."""

    def post(self, url: str, body: bytes, headers: Any, timeout_s: float) -> SendResult:
        return SendResult(200, None, 0.0)


@pytest.fixture
def make(redis_url: str) -> Iterator[Make]:
    """Services on the test's Redis database; every one closed after the test."""
    made: list[MockService] = []

    def build(**config: Any) -> MockService:
        service = MockService(
            CoreConfig(store=redis_url, frozen=True, **config), sender=NullSender()
        )
        made.append(service)
        return service

    yield build
    for service in made:
        service.close()


def submit(service: MockService, body: bytes = BODY) -> str:
    return service.submit(KEY, body, "application/json", "http://127.0.0.1").task.task_id


def settle_cost(
    service: MockService, client: redis.Redis, trips: Trips, tasks: int
) -> tuple[int, dict[str, Any]]:
    """Round trips and commands of a balance read settling `tasks` ended tasks and a failed one."""
    for _ in range(tasks):
        submit(service)
    submit(service, FAILING.encode())
    service.advance_clock(600_000)  # every one has ended
    client.config_resetstat()
    sent = trips.count
    # Settled first: every task leaves the cap, the failed one's charge comes back.
    assert service.balance(KEY) == pytest.approx(100 - 0.35 * tasks)
    assert client.zcard("apixo-mock:tasks:retired") == tasks + 1  # evicted after their age
    return trips.count - sent, client.info("commandstats")


def test_a_settle_reads_and_retires_its_ended_tasks_at_once(
    make: Make, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = redis.Redis.from_url(redis_url)
    trips = Trips(monkeypatch)
    costs = []
    for tasks in (1, 10, 40):  # the first loads the scripts into Redis
        client.flushdb()
        service = make(balance=Decimal(100), max_tasks=0, seed=7)
        costs.append(settle_cost(service, client, trips, tasks))
    (_, _), (few, _), (many, stats) = costs
    # Was 3 round trips a task (its record read twice, then retired one by one):
    # now the same few whatever the number of tasks settled.
    assert many == few
    assert stats["cmdstat_mget"]["calls"] == 1  # every record read at once
    client.close()
