"""Memory stays bounded: finished, settled tasks are forgotten; idle keys cost nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, Protocol

import pytest

from mock_server.core.callbacks import SendResult
from mock_server.core.clock import MockClock
from mock_server.core.errors import RateLimited, TaskNotFound
from mock_server.core.limits import RequestWindow, UnfinishedTasks
from mock_server.core.service import MockService
from mock_server.core.tasks import Task
from mock_server.settings import Settings

START = 1_700_000_000_000
KEY = "key-evict-0001"
DAY_MS = 24 * 3600 * 1000


class NullSender:
    def post(self, url: str, body: bytes, headers: Any, timeout_s: float) -> SendResult:
        return SendResult(200, None, 1.0)


class Make(Protocol):
    def __call__(self, **changes: Any) -> MockService: ...


@pytest.fixture
def make() -> Iterator[Make]:
    made: list[MockService] = []

    def build(**changes: Any) -> MockService:
        settings = Settings(
            **{"seed": 7, "frozen": True, "access_log": False, "profile": "instant", **changes}
        )
        service = MockService(
            settings.core_config(), sender=NullSender(), clock=MockClock(wall=lambda: START)
        )
        made.append(service)
        return service

    yield build
    for service in made:
        service.close()


def submit(service: MockService, prompt: str = "a red fox", key: str = KEY) -> Task:
    body = json.dumps({"input": {"mode": "gpt-image-1", "prompt": prompt}}).encode()
    return service.submit(key, body, "application/json", "http://127.0.0.1:1").task


def finish_all(service: MockService) -> None:
    service.clock.advance(60_000)


def test_the_defaults_keep_100000_finished_tasks_for_16_days() -> None:
    settings = Settings()
    assert (settings.max_tasks, settings.task_ttl_s) == (100_000, 16 * 24 * 3600)


def test_beyond_max_tasks_the_earliest_finished_are_forgotten(make: Make) -> None:
    service = make(max_tasks=2)
    finished: list[Task] = []
    for _ in range(3):
        finished.append(submit(service))
        finish_all(service)
    first, second, third = finished

    latest = submit(service)  # its admission settles the third and evicts the first

    with pytest.raises(TaskNotFound):
        service.status(KEY, first.task_id)
    for kept in (second, third, latest):
        assert service.status(KEY, kept.task_id)[0] is kept
    assert len(service.tasks) == 3


def test_unfinished_tasks_are_never_forgotten(make: Make) -> None:
    service = make(max_tasks=1)
    hanging = [submit(service, "mock:hang") for _ in range(3)]
    finish_all(service)
    submit(service)
    finish_all(service)
    submit(service)

    for task in hanging:
        assert service.status(KEY, task.task_id)[0] is task


def test_a_failed_task_is_refunded_before_it_is_forgotten(make: Make) -> None:
    service = make(max_tasks=1, balance=Decimal("1"), price_per_image=Decimal("0.25"))
    failed = submit(service, "mock:fail:GENERATION_FAILED")
    submit(service)
    finish_all(service)

    submit(service)

    with pytest.raises(TaskNotFound):
        service.status(KEY, failed.task_id)
    assert service.balance(KEY) == 0.5  # 1 - 3 x 0.25 + the failed task's 0.25


def test_finished_tasks_older_than_the_ttl_are_forgotten(make: Make) -> None:
    service = make(task_ttl_s=3600)
    old = submit(service)
    service.clock.advance(3_600_000 - 1)
    recent = submit(service)
    service.clock.advance(60_000)

    submit(service)

    with pytest.raises(TaskNotFound):
        service.status(KEY, old.task_id)
    assert service.status(KEY, recent.task_id)[0] is recent


def test_zero_keeps_every_task(make: Make) -> None:
    service = make(max_tasks=0, task_ttl_s=0)
    tasks = [submit(service) for _ in range(5)]
    service.clock.advance(365 * DAY_MS)
    submit(service)

    assert all(service.status(KEY, task.task_id)[0] is task for task in tasks)


def test_reset_forgets_the_retired_queue_too(make: Make) -> None:
    service = make(max_tasks=1)
    submit(service)
    finish_all(service)
    service.reset()
    kept = submit(service)
    finish_all(service)
    submit(service)

    assert service.status(KEY, kept.task_id)[0] is kept  # one finished task: within the cap


# -- idle keys ---------------------------------------------------------------------


def test_a_key_whose_window_emptied_is_freed() -> None:
    window = RequestWindow()
    for n in range(100):
        window.admit(f"token-{n}", START, rpm=10)
    assert len(window) == 100

    window.admit("another", START + 60_000, rpm=10)

    assert len(window) == 1


def test_freeing_idle_keys_keeps_the_count_of_busy_ones() -> None:
    window = RequestWindow()
    window.admit("busy", START, rpm=2)
    window.admit("idle", START, rpm=2)
    window.admit("busy", START + 59_999, rpm=2)

    window.admit("other", START + 60_000, rpm=2)

    assert len(window) == 2  # "idle" freed; "busy" still has a request in its minute
    window.admit("busy", START + 60_000, rpm=2)
    with pytest.raises(RateLimited, match="more than 2 requests"):
        window.admit("busy", START + 60_000, rpm=2)


def test_a_new_token_that_only_reads_keeps_no_state(make: Make) -> None:
    service = make()
    for n in range(50):
        key = f"token-{n:04d}"
        service.admit(key)
        assert service.balance(key) == 1_000_000
        with pytest.raises(TaskNotFound):
            service.status(key, "task_0000000000000000")
    service.clock.advance(60_000)
    service.admit("last-token")

    assert service.accounts() == {}
    assert len(service._window) == 1
    assert service._unfinished.count("token-0001") == 0


def test_a_key_with_no_unfinished_task_left_costs_nothing(make: Make) -> None:
    service = make()
    submit(service)
    finish_all(service)

    assert service.account(KEY)["unfinished"] == 0
    unfinished = service._unfinished
    assert isinstance(unfinished, UnfinishedTasks)
    assert KEY not in unfinished._open
