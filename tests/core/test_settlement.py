"""Money and caps settle in clock order: an admin change lands after everything already due."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from mock_server.core.callbacks import SendResult
from mock_server.core.clock import MockClock
from mock_server.core.errors import InsufficientCredits
from mock_server.core.service import MockService
from mock_server.core.tasks import Task
from mock_server.settings import Settings

START = 1_700_000_000_000
KEY = "key-settle-0001"


class NullSender:
    def post(self, url: str, body: bytes, headers: Any, timeout_s: float) -> SendResult:
        return SendResult(200, None, 1.0)


@pytest.fixture
def service() -> Iterator[MockService]:
    settings = Settings(
        seed=7, frozen=True, access_log=False, balance=Decimal("1"), price_per_image=Decimal("0.35")
    )
    svc = MockService(
        settings.core_config(), sender=NullSender(), clock=MockClock(wall=lambda: START)
    )
    yield svc
    svc.close()


def submit(service: MockService, prompt: str = "a red fox") -> Task:
    body = json.dumps({"input": {"mode": "gpt-image-1", "prompt": prompt}}).encode()
    return service.submit(KEY, body, "application/json", "http://127.0.0.1:1").task


def fail_and_wait(service: MockService) -> Task:
    task = submit(service, "mock:fail:GENERATION_FAILED")
    assert task.timeline.done_at is not None
    service.clock.advance(task.timeline.done_at - service.clock.now_ms())
    return task


def test_a_balance_set_after_a_failure_is_not_topped_up_by_its_refund(
    service: MockService,
) -> None:
    fail_and_wait(service)

    service.update_account(KEY, balance="0.10")

    assert service.balance(KEY) == 0.1
    with pytest.raises(InsufficientCredits):
        submit(service)  # 0.35 does not fit in 0.10


def test_the_account_read_after_a_balance_change_shows_exactly_that_balance(
    service: MockService,
) -> None:
    fail_and_wait(service)

    assert service.update_account(KEY, balance="0.10")["balance"] == 0.1
    assert service.account(KEY)["balance"] == 0.1


def test_a_cap_set_after_tasks_ended_counts_only_the_unfinished(service: MockService) -> None:
    fail_and_wait(service)

    assert service.update_account(KEY, max_unfinished=1)["unfinished"] == 0
