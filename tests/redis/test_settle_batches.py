"""Settling attempts in the Redis store: from many sender threads at once, and cheaply.

Attempts settled from many threads at once are each recorded once, only by
the lease holder; a first success clears no field the delivery does not have.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
import redis

from mock_server.core.callbacks import CallbackEffect, SendResult
from mock_server.core.callbacks.records import DeliveryRecord
from mock_server.core.stores.redis.deliveries import RedisDeliveries

WAIT_S = 30.0  # a deadline only: the machine is shared and loaded
START = 1_700_000_000_000


def test_attempts_settled_from_many_threads_are_each_recorded_once(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    store = RedisDeliveries(client, "test:")
    for i in range(200):
        store.schedule(
            DeliveryRecord(f"t{i}", "http://r.test/h", "http://r.test", CallbackEffect(), START)
        )
    works = store.claim(START, "me", 1000, 0)
    assert len(works) == 200
    ok = SendResult(200, None, 1.0)
    returned: list[Any] = []

    def settle(part: int) -> None:
        for work in works[part::8]:
            returned.append(store.settle(work, 0, "me", ok, START, None))

    threads = [threading.Thread(target=settle, args=(part,)) for part in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)
    assert sorted(a.task_id for a in returned) == sorted(f"t{i}" for i in range(200))
    assert all(a.outcome == "delivered" and a.attempt == 1 for a in returned)
    logged = Counter(a.task_id for i in range(200) for a in store.attempts(f"t{i}"))
    assert logged == Counter({f"t{i}": 1 for i in range(200)})
    assert store.pending_count() == 0
    assert store.settle(works[0], 0, "me", ok, START, None) is None  # settled: no lease left
    client.close()


@pytest.mark.parametrize("owner", ["me", "someone else"])
def test_only_the_lease_holder_settles_in_a_batch(redis_url: str, owner: str) -> None:
    client = redis.Redis.from_url(redis_url)
    store = RedisDeliveries(client, "test:")
    store.schedule(DeliveryRecord("t", "http://r.test/h", "http://r.test", CallbackEffect(), START))
    [work] = store.claim(START, "me", 10, 0)
    attempt = store.settle(work, 0, owner, SendResult(200, None, 1.0), START, None)
    assert (attempt is not None) == (owner == "me")
    client.close()


def test_a_first_success_deletes_no_field_the_delivery_does_not_have(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    store = RedisDeliveries(client, "test:")
    store.schedule(DeliveryRecord("t", "http://r.test/h", "http://r.test", CallbackEffect(), START))
    [work] = store.claim(START, "me", 10, 0)
    client.config_resetstat()
    assert store.settle(work, 0, "me", SendResult(200, None, 1.0), START, None) is not None
    # One HDEL only: the work's entry as its lease ends; no last error, no next try to clear.
    assert client.info("commandstats")["cmdstat_hdel"]["calls"] == 1
    [delivery] = store.deliveries("t")
    assert (delivery.last_status, delivery.last_error, delivery.next_attempt_ms) == (
        200,
        None,
        None,
    )
    client.close()
