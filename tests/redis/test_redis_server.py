"""The throwaway redis-server the shared-store tests run against is a real one."""

from __future__ import annotations

import redis


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
