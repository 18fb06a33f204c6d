"""Several dispatchers on one Redis, as several mock processes run them: each callback once.

Each dispatcher has its own Redis connection, store object, sender and clock,
as a process of its own would; the clocks share one state (frozen), so that
advancing one moves them all, and only the advanced one hears of it: the
others find the due work by polling the store, as other processes do.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import cast

import pytest
import redis

from mock_server.core.callbacks import CallbackDispatcher, CallbackPolicy, SendResult
from mock_server.core.clock import MockClock
from mock_server.core.stores.memory import MemoryClockState
from mock_server.core.stores.redis.deliveries import RedisDeliveries

START = 1_700_000_000_000
URL = "http://receiver.test/hook"
WAIT_S = 60.0  # a deadline only: the machine is shared and loaded
OK = SendResult(200, None, 0.1)
ROOT = Path(__file__).parents[2]


class Receiver:
    """Counts every callback body, whichever dispatcher sent it."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.counts: Counter[str] = Counter()
        self.by_sender: Counter[str] = Counter()

    def sender(self, name: str) -> CountingSender:
        return CountingSender(self, name)

    def count(self, name: str, body: bytes) -> None:
        with self._cond:
            self.counts[body.decode()] += 1
            self.by_sender[name] += 1
            self._cond.notify_all()

    def wait_for_total(self, total: int) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.counts.total() >= total, WAIT_S)


class CountingSender:
    """One dispatcher's sender: counts at the shared receiver, answers 200."""

    def __init__(self, receiver: Receiver, name: str) -> None:
        self._receiver = receiver
        self._name = name

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> SendResult:
        self._receiver.count(self._name, body)
        return OK


class StalledSender:
    """A sender that hangs in its first POST, sending nothing, until released: a dead process."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> SendResult:
        self.entered.set()
        self.release.wait(WAIT_S)
        return SendResult(None, "the process died", 0.0)


Make = Callable[..., CallbackDispatcher]


@pytest.fixture
def state() -> MemoryClockState:
    """The clock state every dispatcher's clock reads: one mock time, frozen at START."""
    return MemoryClockState((0, START))


@pytest.fixture
def make(redis_url: str, state: MemoryClockState) -> Iterator[Make]:
    """Dispatchers on one Redis, each with its own connection and clock over one shared state."""
    made: list[tuple[CallbackDispatcher, redis.Redis]] = []

    def build(
        sender: object,
        *,
        clock: MockClock | None = None,
        lease_ms: int = 60_000,
        start: bool = True,
    ) -> CallbackDispatcher:
        client = redis.Redis.from_url(redis_url)
        clock = clock or MockClock(lambda: START, state=state)
        dispatcher = CallbackDispatcher(
            clock,
            sender,  # type: ignore[arg-type]
            CallbackPolicy(jitter=0.0, senders=4),
            deliveries=RedisDeliveries(client, lease_ms=lease_ms),
            render=lambda task_id: task_id.encode(),
        )
        made.append((dispatcher, client))
        if start:
            dispatcher.start()
        return dispatcher

    yield build
    for dispatcher, client in made:
        dispatcher.close()
        client.close()


def test_two_dispatchers_deliver_a_thousand_due_callbacks_exactly_once(
    make: Make, state: MemoryClockState
) -> None:
    receiver, clock = Receiver(), MockClock(lambda: START, state=state)
    one, two = make(receiver.sender("one"), clock=clock), make(receiver.sender("two"))
    for i in range(1000):
        (one if i % 2 else two).schedule(f"t{i}", URL, START + 1000)
    clock.advance(1000)  # only `one` hears of it: `two` finds the work by polling
    assert receiver.wait_for_total(1000)
    assert one.wait_idle(WAIT_S)
    assert two.wait_idle(WAIT_S)
    assert receiver.counts == Counter({f"t{i}": 1 for i in range(1000)})
    assert len(two.deliveries(outcome="delivered")) == 1000
    assert one.pending_count() == 0


def test_work_claimed_by_a_dead_dispatcher_is_delivered_by_another_after_its_lease(
    make: Make,
) -> None:
    stalled, receiver = StalledSender(), Receiver()
    dead = make(stalled, lease_ms=300)
    dead.schedule("t1", URL, START)
    assert stalled.entered.wait(WAIT_S)  # claimed, and stuck before its POST went out
    alive = make(receiver.sender("alive"), lease_ms=300)
    assert receiver.wait_for_total(1)  # once the lease ran out
    stalled.release.set()
    assert dead.wait_idle(WAIT_S)
    assert alive.wait_idle(WAIT_S)
    assert receiver.counts == Counter({"t1": 1})
    [attempt] = alive.attempts("t1")  # the dead one's late result does not count
    assert attempt["outcome"] == "delivered"
    assert dead.deliveries(task_id="t1")[0]["state"] == "delivered"


def test_a_redelivery_asked_of_one_dispatcher_is_sent_by_whichever_claims_it(
    make: Make,
) -> None:
    receiver = Receiver()
    one, two = make(receiver.sender("one")), make(receiver.sender("two"))
    one.schedule("t1", URL, START)
    assert receiver.wait_for_total(1)
    two.redeliver("t1")
    assert receiver.wait_for_total(2)
    assert one.wait_idle(WAIT_S)
    assert two.wait_idle(WAIT_S)
    assert receiver.counts == Counter({"t1": 2})
    assert [a["outcome"] for a in one.attempts("t1")] == ["delivered", "delivered"]
    with pytest.raises(KeyError):
        one.redeliver("never-had-one")


def test_a_dispatcher_started_later_finds_work_scheduled_before_it(make: Make) -> None:
    receiver = Receiver()
    scheduler = make(receiver.sender("unused"), start=False)  # schedules, never sends
    for i in range(20):
        scheduler.schedule(f"t{i}", URL, START)
    make(receiver.sender("late"))
    assert receiver.wait_for_total(20)
    assert receiver.by_sender == Counter({"late": 20})


# -- a real second process, killed with SIGKILL mid-way --------------------------------


class RedisReceiver:
    """The kill test's receiver: every POST in a Redis list, as the worker process records it."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> SendResult:
        self._client.rpush("test:sent", body)
        self._client.rpush("test:signal", 1)
        return OK


def wait_for_signals(client: redis.Redis, key: str, count: int) -> bool:
    """Whether `count` entries arrive in the list `key`, each within the deadline."""
    return all(client.blpop([key], timeout=WAIT_S) is not None for _ in range(count))


@pytest.fixture
def worker(redis_url: str) -> Iterator[Callable[[int], subprocess.Popen[bytes]]]:
    """Starts tests/redis/callback_worker.py processes; kills what is left at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start(posts: int) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "tests.redis.callback_worker", redis_url, str(START)]
        process = subprocess.Popen([*command, str(posts)], cwd=ROOT)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()
        process.wait(timeout=WAIT_S)


def test_callbacks_a_killed_process_claimed_are_delivered_once_by_another(
    make: Make, redis_url: str, worker: Callable[[int], subprocess.Popen[bytes]]
) -> None:
    # BLPOP waits up to WAIT_S: past redis-py's default socket timeout (5 s).
    client = redis.Redis.from_url(redis_url, socket_timeout=WAIT_S + 10)
    scheduler = make(Receiver().sender("unused"), start=False)  # schedules, never sends
    for i in range(200):
        scheduler.schedule(f"t{i}", URL, START)
    process = worker(50)  # claims everything due, sends 50, then hangs mid-delivery
    assert wait_for_signals(client, "test:signal", 50)
    assert wait_for_signals(client, "test:stalled", 1)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=WAIT_S)
    survivor = make(RedisReceiver(client), lease_ms=500)
    assert wait_for_signals(client, "test:signal", 150)  # the rest, once the leases ran out
    assert survivor.wait_idle(WAIT_S)
    sent = Counter(
        str(body, "utf-8") for body in cast("list[bytes]", client.lrange("test:sent", 0, -1))
    )
    assert sent == Counter({f"t{i}": 1 for i in range(200)})
    assert len(survivor.deliveries(outcome="delivered")) == 200
    client.close()


def test_work_whose_lease_runs_out_in_its_own_queue_is_still_sent_once(make: Make) -> None:
    receiver = Receiver()
    # A 1 ms lease runs out while the work waits for a sender: the dispatcher
    # claims it again itself, and must not queue it beside the first copy.
    one = make(receiver.sender("one"), lease_ms=1)
    for i in range(300):
        one.schedule(f"t{i}", f"http://receiver{i % 3}.test/hook", START)
    assert receiver.wait_for_total(300)
    assert one.wait_idle(WAIT_S)
    assert receiver.counts == Counter({f"t{i}": 1 for i in range(300)})
