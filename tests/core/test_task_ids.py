"""TaskIds: reproducible with a seed, unguessable without one."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from mock_server.core.callbacks import SendResult
from mock_server.core.clock import MockClock
from mock_server.core.service import MockService
from mock_server.settings import Settings

START = 1_700_000_000_000
BODY = json.dumps({"input": {"mode": "gpt-image-1", "prompt": "a red fox"}}).encode()


class NullSender:
    def post(self, url: str, body: bytes, headers: Any, timeout_s: float) -> SendResult:
        return SendResult(200, None, 1.0)


@pytest.fixture
def services() -> Iterator[list[MockService]]:
    made: list[MockService] = []
    yield made
    for service in made:
        service.close()


def ids_of(services: list[MockService], seed: int | None, count: int = 5) -> list[str]:
    service = MockService(
        Settings(seed=seed, frozen=True, access_log=False).core_config(),
        sender=NullSender(),
        clock=MockClock(wall=lambda: START),
    )
    services.append(service)
    if seed is None:
        service.seed = 1234  # two unseeded mocks that happen to draw the same seed
    return [
        service.submit("k", BODY, "application/json", "http://o").task.task_id for _ in "x" * count
    ]


def test_a_seed_reproduces_the_task_ids(services: list[MockService]) -> None:
    assert ids_of(services, 42) == ids_of(services, 42)


def test_without_a_seed_ids_do_not_follow_from_the_seed(services: list[MockService]) -> None:
    first, second = ids_of(services, None), ids_of(services, None)

    assert set(first).isdisjoint(second)


def test_unseeded_ids_keep_the_docs_format(services: list[MockService]) -> None:
    assert all(re.fullmatch(r"task_[0-9a-f]{16}", task_id) for task_id in ids_of(services, None))


def test_reset_keeps_seeded_ids_reproducible(services: list[MockService]) -> None:
    service_ids = ids_of(services, 42)
    services[-1].reset()
    again = [
        services[-1].submit("k", BODY, "application/json", "http://o").task.task_id
        for _ in service_ids
    ]
    assert again == service_ids
