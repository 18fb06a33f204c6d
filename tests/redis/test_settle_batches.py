"""Settling in batches: attempts several senders settle at once go in one script call.

`GroupCommit` alone (no Redis): one caller leads a batch of everything
waiting, each caller gets its own result or its batch's error. Then the Redis
store: attempts settled from many threads at once are each recorded once,
in fewer script calls than attempts.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
import redis

from mock_server.core.callbacks import CallbackEffect, SendResult
from mock_server.core.callbacks.records import DeliveryRecord
from mock_server.core.stores.redis.deliveries import GroupCommit, RedisDeliveries

WAIT_S = 30.0  # a deadline only: the machine is shared and loaded
START = 1_700_000_000_000


class Blocking:
    """A batch function whose first call waits until released; it records every batch."""

    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self._fail = fail

    def __call__(self, batch: list[list[str]]) -> list[Any]:
        self.batches.append([args[0] for args in batch])
        if len(self.batches) == 1:
            self.entered.set()
            assert self.release.wait(WAIT_S)
        elif self._fail and len(self.batches) == 2:
            raise ConnectionError("redis went away")
        return [f"done {args[0]}" for args in batch]


def wait_until(condition: Any) -> bool:
    """Polls `condition` on an event's timed wait, up to the deadline."""
    tick = threading.Event()
    for _ in range(int(WAIT_S * 100)):
        if condition():
            return True
        tick.wait(0.01)
    return False


def start(commit: GroupCommit, name: str, results: dict[str, Any]) -> threading.Thread:
    def call() -> None:
        try:
            results[name] = commit.run([name])
        except ConnectionError as exc:
            results[name] = exc

    thread = threading.Thread(target=call)
    thread.start()
    return thread


def test_calls_arriving_while_a_batch_runs_go_together_in_the_next_one() -> None:
    batch, results = Blocking(), dict[str, Any]()
    commit = GroupCommit(batch)
    threads = [start(commit, "first", results)]
    assert batch.entered.wait(WAIT_S)
    threads += [start(commit, f"c{i}", results) for i in range(5)]
    assert wait_until(lambda: commit.waiting == 5)
    batch.release.set()
    for thread in threads:
        thread.join(WAIT_S)
    assert batch.batches[0] == ["first"]
    assert sorted(batch.batches[1]) == [f"c{i}" for i in range(5)]
    assert len(batch.batches) == 2
    assert results == {name: f"done {name}" for name in ["first", *(f"c{i}" for i in range(5))]}


def test_every_caller_in_a_failed_batch_gets_its_error() -> None:
    batch, results = Blocking(fail=True), dict[str, Any]()
    commit = GroupCommit(batch)
    threads = [start(commit, "first", results)]
    assert batch.entered.wait(WAIT_S)
    threads += [start(commit, f"c{i}", results) for i in range(3)]
    assert wait_until(lambda: commit.waiting == 3)
    batch.release.set()
    for thread in threads:
        thread.join(WAIT_S)
    assert results["first"] == "done first"
    assert all(isinstance(results[f"c{i}"], ConnectionError) for i in range(3))
    assert commit.run(["after"]) == "done after"  # the next batch is led again


def test_attempts_settled_from_many_threads_are_each_recorded_once(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    store = RedisDeliveries(client, "test:")
    for i in range(200):
        store.schedule(
            DeliveryRecord(f"t{i}", "http://r.test/h", "http://r.test", CallbackEffect(), START)
        )
    works = store.claim(START, "me", 1000, 0)
    assert len(works) == 200
    client.config_resetstat()
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
    scripts = client.info("commandstats")["cmdstat_evalsha"]["calls"]
    assert sorted(a.task_id for a in returned) == sorted(f"t{i}" for i in range(200))
    assert all(a.outcome == "delivered" and a.attempt == 1 for a in returned)
    logged = Counter(a.task_id for i in range(200) for a in store.attempts(f"t{i}"))
    assert logged == Counter({f"t{i}": 1 for i in range(200)})
    assert store.pending_count() == 0
    assert 1 <= scripts <= 200
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
