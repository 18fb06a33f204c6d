"""Two services on one Redis, as two processes would be: one mock, whichever answers.

Each service has its own client, connection pool and admission lock, exactly
as in another process; they share only what Redis holds under the prefix.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import redis

from mock_server.core.callbacks import SendResult
from mock_server.core.config import CoreConfig
from mock_server.core.errors import ApiError, InsufficientCredits, RateLimited, TaskNotFound
from mock_server.core.lifecycle import Failure
from mock_server.core.scenarios import Effect, FailEffect, Match, Rule, Scenario
from mock_server.core.service import MockService
from mock_server.core.stores import Stores
from tests.redis.services import Make, NullSender

KEY = "key-shared-0001"
BODY = json.dumps({"input": {"mode": "gpt-image-1", "prompt": "a fox"}}).encode()


def submit(service: MockService, key: str = KEY) -> str:
    return service.submit(key, BODY, "application/json", "http://127.0.0.1").task.task_id


def state(service: MockService, task_id: str, key: str = KEY) -> str:
    body = json.loads(service.status(key, task_id)[1])
    return str(body["data"]["state"])


def test_a_task_submitted_through_one_is_read_through_the_other(make: Make) -> None:
    one, two = make(), make()
    task_id = submit(one)
    assert state(two, task_id) == "pending"
    with pytest.raises(TaskNotFound):
        two.status("another-key", task_id)
    assert [view.task_id for view in two.task_views()] == [task_id]


def test_the_clock_moved_in_one_moves_the_other(make: Make) -> None:
    one, two = make(), make()
    task_id = submit(one)
    before = two.clock_view().now
    one.advance_clock(60_000)
    assert two.clock_view().now == before + 60_000
    assert state(two, task_id) == "success"
    one.unfreeze_clock()
    assert not two.clock_view().frozen


def test_a_scenario_loaded_through_one_decides_in_the_other(make: Make) -> None:
    one, two = make(), make()
    fail = Effect(fail=FailEffect(Failure.of("GENERATION_FAILED"), after_ms=5))
    one.use_scenario(Scenario("s", (Rule("r", Match(), fail, times=1),), settings={"rpm": 3}))
    failed, fine = submit(two), submit(one)  # the rule fires once, whichever process asks
    one.advance_clock(60_000)
    assert (state(one, failed), state(two, fine)) == ("failed", "success")
    assert two.scenario_view().rules[0].remaining == 0
    assert two.health().settings["rpm"] == 3  # the scenario's settings follow it
    one.clear_scenario()
    assert two.health().settings["scenario"] == "none"


def test_unseeded_services_agree_on_a_seed_and_never_share_an_id(make: Make) -> None:
    one, two = make(), make()
    assert one.seed == two.seed
    ids = {submit(service) for service in (one, two) for _ in range(20)}
    assert len(ids) == 40


def test_seeded_services_number_their_tasks_as_one(make: Make) -> None:
    one, two = make(seed=3), make(seed=3)
    ids = [submit(service) for service in (one, two, one, two)]
    alone = MockService(CoreConfig(seed=3, frozen=True), sender=NullSender())
    assert ids == [submit(alone) for _ in range(4)]  # the ids one server seeded alike gives


def race(services: list[MockService], attempts: int, act: Callable[[MockService], object]) -> int:
    """`attempts` calls of `act` from as many threads, spread over `services`; how many passed."""
    passed: list[int] = []
    start = threading.Barrier(attempts)

    def one(index: int) -> None:
        start.wait(timeout=60)
        try:
            act(services[index % len(services)])
        except ApiError:
            return
        passed.append(index)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return len(passed)


def test_200_racing_submits_over_two_services_admit_exactly_the_cap(make: Make) -> None:
    services = [make(max_unfinished=10), make(max_unfinished=10)]
    assert race(services, 200, submit) == 10
    assert len(services[1].task_views()) == 10
    with pytest.raises(RateLimited):
        submit(services[0])


def test_the_per_minute_limit_is_exact_across_services(make: Make) -> None:
    services = [make(rpm=25), make(rpm=25)]
    assert race(services, 100, lambda s: s.admit(KEY)) == 25


def test_the_balance_is_exact_across_services_and_never_negative(make: Make) -> None:
    services = [make(balance=Decimal("3.5")), make(balance=Decimal("3.5"))]
    assert race(services, 60, submit) == 10  # 0.35 a task
    assert services[0].balance(KEY) == 0
    with pytest.raises(InsufficientCredits):
        submit(services[1])


def test_admissions_without_a_lock_leave_nothing_unsettled_that_shows(make: Make) -> None:
    # Lockless admissions settle nothing: a cap reached, a balance read or a
    # short balance settles first, so ended tasks free the cap and failed
    # ones are refunded whichever process looks.
    one, two = (make(max_unfinished=2, balance=Decimal("0.70")) for _ in range(2))
    failing = json.dumps({"input": {"mode": "gpt-image-1", "prompt": "mock:fail:NSFW_DETECTED"}})
    for service in (one, two):
        service.submit(KEY, failing.encode(), "application/json", "http://127.0.0.1")
    with pytest.raises(RateLimited):
        submit(one)  # at the cap, and the balance is spent
    one.advance_clock(600_000)  # both have failed by now
    assert two.balance(KEY) == 0.7  # refunded
    assert state(one, submit(one)) == "pending"  # the cap is free again
    assert one.balance(KEY) == 0.35


def test_reset_through_one_resets_only_the_prefix(make: Make, redis_url: str) -> None:
    neighbour = redis.Redis.from_url(redis_url)
    neighbour.set("another-mock:task:x", b"kept")
    one, two = make(), make()
    task_id = submit(one)
    two.reset()
    with pytest.raises(TaskNotFound):
        one.status(KEY, task_id)
    assert neighbour.get("another-mock:task:x") == b"kept"
    keys = [bytes(key) for key in neighbour.keys("*") if isinstance(key, bytes)]
    ours = [key for key in keys if not key.startswith(b"another-mock:")]
    assert all(key.startswith(b"apixo-mock:") for key in ours)
    neighbour.close()


def test_two_prefixes_are_two_mocks(make: Make) -> None:
    one, other = make(), make(store_prefix="other-mock:")
    task_id = submit(one)
    with pytest.raises(TaskNotFound):
        other.status(KEY, task_id)


def test_services_sharing_memory_stores_follow_each_others_scenario() -> None:
    stores = Stores.in_memory(CoreConfig())
    one = MockService(CoreConfig(frozen=True), sender=NullSender(), stores=stores)
    two = MockService(CoreConfig(frozen=True), sender=NullSender(), stores=stores)
    one.use_scenario(Scenario("tight", settings={"max_unfinished": 1}))
    submit(two)
    with pytest.raises(RateLimited):
        submit(two)
    assert two.settings.max_unfinished == 1


class CountingSender:
    """Counts the callback POSTs of every service that shares it."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.lock = threading.Lock()
        self.arrived = threading.Event()

    def post(self, url: str, body: bytes, headers: Any, timeout_s: float) -> SendResult:
        with self.lock:
            self.bodies.append(body)
        self.arrived.set()
        return SendResult(200, None, 0.5)


def test_a_store_url_shares_callback_deliveries_and_their_attempts(redis_url: str) -> None:
    sender = CountingSender()
    config = CoreConfig(store=redis_url, frozen=True, profile="quick")
    one = MockService(config, sender=sender)
    two = MockService(config, sender=sender)
    with one, two:  # each starts its scheduler and senders, as a process would
        body = {
            "request_type": "callback",
            "callback_url": "http://127.0.0.1:9/hook",
            "input": {"mode": "gpt-image-1", "prompt": "a fox"},
        }
        task_id = one.submit(KEY, json.dumps(body).encode(), "application/json", "").task.task_id
        two.advance_clock(120_000)
        assert sender.arrived.wait(20)
        assert one.wait_for_callbacks(20)
        assert two.wait_for_callbacks(20)
        assert [json.loads(b)["data"]["taskId"] for b in sender.bodies] == [task_id]
        assert [a.status for a in two.attempts(task_id)] == [200]
        assert [a.status for a in one.attempts(task_id)] == [200]
