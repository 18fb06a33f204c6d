"""Shared-store test fixtures: a real redis-server per session, an empty database per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from mock_server.core.config import CoreConfig
from mock_server.core.service import MockService
from mock_server.testing.redis_server import RedisServer, RedisUnavailable, redis_server
from tests.redis.services import Make, NullSender


@pytest.fixture(scope="session")
def redis_instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """Debian's redis-server on a free port for the whole session."""
    try:
        with redis_server(tmp_path_factory.mktemp("redis")) as server:
            yield server
    except RedisUnavailable as error:
        pytest.skip(f"{error}; `make test` installs it")


@pytest.fixture
def redis_url(redis_instance: RedisServer) -> Iterator[str]:
    """The server's URL, its database emptied before and after the test."""
    client = redis.Redis.from_url(redis_instance.url)
    client.flushdb()
    yield redis_instance.url
    client.flushdb()
    client.close()


@pytest.fixture
def make(redis_url: str) -> Iterator[Make]:
    """Services on the test's Redis database (frozen clocks); every one closed after the test."""
    made: list[MockService] = []

    def build(**config: Any) -> MockService:
        settings = CoreConfig(store=redis_url, frozen=True, **config)
        service = MockService(settings, sender=NullSender())
        made.append(service)
        return service

    yield build
    for service in made:
        service.close()
