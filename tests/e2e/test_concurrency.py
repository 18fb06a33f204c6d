"""Limits hold under concurrent requests: 100 threads racing never get past a cap."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
import requests

from mock_server.settings import Settings
from mock_server.testing.server import MockServer

THREADS = 100
AUTH = {"Authorization": "Bearer race-key-0001"}
BODY = {"input": {"mode": "gpt-image-1", "prompt": "race"}}


@pytest.fixture
def mock() -> Iterator[MockServer]:
    settings = Settings(
        host="127.0.0.1",
        port=0,
        access_log=False,
        seed=8,
        frozen=True,
        threads=16,
        max_unfinished=10,
        rpm=150,
    )
    with MockServer(settings) as server:
        yield server


def race(call: Callable[[requests.Session], int]) -> Counter[int]:
    """Run `call` from 100 threads released at once; count the statuses."""
    barrier = threading.Barrier(THREADS)
    statuses: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        with requests.Session() as session:
            barrier.wait(timeout=30)
            status = call(session)
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(statuses) == THREADS
    return Counter(statuses)


def test_unfinished_cap_admits_exactly_the_cap(mock: MockServer) -> None:
    url = f"{mock.base_url}/api/v1/generateTask/gpt-image-1"
    counts = race(lambda s: s.post(url, json=BODY, headers=AUTH, timeout=30).status_code)
    assert counts == Counter({200: 10, 429: 90})
    assert len(mock.tasks()) == 10


def test_rpm_limit_admits_exactly_the_limit(mock: MockServer) -> None:
    url = f"{mock.base_url}/api/v1/apikeys/current-balance"
    first = race(lambda s: s.get(url, headers=AUTH, timeout=30).status_code)
    second = race(lambda s: s.get(url, headers=AUTH, timeout=30).status_code)
    assert first + second == Counter({200: 150, 429: 50})
