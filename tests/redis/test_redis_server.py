"""The throwaway redis-server the shared-store tests run against is a real one."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from mock_server.testing import redis_server as redis_server_module
from mock_server.testing.redis_server import RedisServer, redis_server


def test_the_fixture_serves_a_real_redis(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.set("apixo-mock:probe", "1")
    assert client.incr("apixo-mock:probe") == 2
    assert client.info("server")["redis_version"]
    client.close()


def test_each_test_starts_with_an_empty_database(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    assert client.dbsize() == 0
    client.close()


def test_a_server_on_the_port_first_tried_is_not_taken_for_ours(
    redis_instance: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As when a parallel test worker got the same free port and bound it first.
    tried = iter([redis_instance.port])
    free = redis_server_module._free_port
    monkeypatch.setattr(redis_server_module, "_free_port", lambda: next(tried, None) or free())
    with redis_server(tmp_path) as ours:
        assert ours.port != redis_instance.port
        pids = []
        for server in (ours, redis_instance):
            client = redis.Redis.from_url(server.url)
            pids.append(client.info("server")["process_id"])
            client.close()
    assert pids[0] != pids[1]
