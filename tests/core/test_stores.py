"""The stores behind the service: the in-memory defaults, and a second implementation injected."""

from __future__ import annotations

import dataclasses
import json
import threading
from decimal import Decimal
from typing import Any

import pytest

from mock_server.core.callbacks import Attempt, SendResult
from mock_server.core.clock import MockClock
from mock_server.core.config import CoreConfig
from mock_server.core.errors import InsufficientCredits
from mock_server.core.scenarios import Context, Match, Rule, RuleBook, Scenario
from mock_server.core.service import MockService
from mock_server.core.stores import (
    AccountStore,
    ClockStateStore,
    JournalStore,
    RuleCounterStore,
    Stores,
    TaskStore,
    UnfinishedStore,
    WindowStore,
)
from mock_server.core.stores.memory import AttemptLog, MemoryClockState, MemoryRuleCounters
from mock_server.core.tasks import Task
from mock_server.core.tasks import TaskStore as MemoryTaskStore

START = 1_700_000_000_000
KEY = "key-stores-0001"
BODY = json.dumps({"input": {"mode": "gpt-image-1", "prompt": "a fox"}}).encode()


class NullSender:
    """Callbacks are not under test here."""

    def post(self, url: str, body: bytes, headers: Any, timeout_s: float) -> SendResult:
        return SendResult(200, None, 0.0)


class CountingTasks(MemoryTaskStore):
    """A second TaskStore: the memory one, counting what the service asks of it."""

    def __init__(self) -> None:
        super().__init__()
        self.added: list[str] = []
        self.owned_asked = 0

    def add(self, task: Task) -> None:
        self.added.append(task.task_id)
        super().add(task)

    def owned(self, task_id: str, key: str) -> Task | None:
        self.owned_asked += 1
        return super().owned(task_id, key)


class CountingLock:
    """An admission transaction that counts how often the service enters it."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.entered = 0

    def __enter__(self) -> None:
        self._lock.acquire()
        self.entered += 1

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def make(stores: Stores | None = None, **config: Any) -> MockService:
    settings = CoreConfig(seed=1, **config)
    clock = None if stores is None else MockClock(lambda: START, state=stores.clock_state)
    return MockService(settings, sender=NullSender(), clock=clock, stores=stores)


def test_the_default_stores_are_in_memory() -> None:
    bundle = Stores.in_memory(CoreConfig())
    # Annotated assignments: mypy --strict checks each memory store against its interface.
    tasks: TaskStore = bundle.tasks
    accounts: AccountStore = bundle.accounts
    windows: WindowStore = bundle.windows
    unfinished: UnfinishedStore = bundle.unfinished
    journal: JournalStore = bundle.journal
    counters: RuleCounterStore = bundle.rule_counters
    clock_state: ClockStateStore = bundle.clock_state
    assert isinstance(tasks, MemoryTaskStore)
    assert (len(tasks), len(windows), accounts.opened(), unfinished.count(KEY)) == (0, 0, [], 0)
    assert (journal.entries(), counters.fired(("s", "r")), clock_state.reading) == (
        [],
        0,
        (0, None),
    )


def test_a_second_task_store_is_used_without_touching_the_web_layer() -> None:
    tasks = CountingTasks()
    stores = dataclasses.replace(Stores.in_memory(CoreConfig()), tasks=tasks)
    service = make(stores)
    task = service.submit(KEY, BODY, "application/json", "http://127.0.0.1").task
    service.status(KEY, task.task_id)
    assert tasks.added == [task.task_id]
    assert tasks.owned_asked == 1
    assert service.tasks is tasks


def test_admission_runs_in_the_bundles_transaction() -> None:
    lock = CountingLock()
    stores = dataclasses.replace(Stores.in_memory(CoreConfig()), admission=lock)
    service = make(stores, balance=Decimal(0))
    with pytest.raises(InsufficientCredits):
        service.submit(KEY, BODY, "application/json", "http://127.0.0.1")
    assert lock.entered == 1
    assert len(stores.tasks) == 0  # refused inside the transaction: nothing inserted


def test_the_clock_keeps_its_state_in_the_store() -> None:
    state = MemoryClockState()
    clock = MockClock(lambda: START, state=state)
    clock.advance(5_000)
    running = state.reading
    clock.freeze()
    assert (running, state.reading) == ((5_000, None), (5_000, START + 5_000))
    other = MockClock(lambda: START, state=state)  # a second process sharing the state
    assert other.now_ms() == START + 5_000
    assert other.frozen


def test_a_new_clock_on_shared_state_keeps_its_frozen_reading() -> None:
    state = MemoryClockState((0, START + 42))
    assert MockClock(lambda: START, frozen=True, state=state).now_ms() == START + 42


def test_rule_counters_live_in_their_store() -> None:
    counters = MemoryRuleCounters()
    book = RuleBook(counters=counters)
    book.activate(Scenario("s", (Rule("r", Match(), times=2),)))
    decisions = [book.decide(Context("submit", KEY, None)).reason for _ in range(3)]
    assert decisions == ["rule s/r", "rule s/r", "default"]
    assert (counters.see(("s", "r")), counters.fired(("s", "r"))) == (4, 2)
    book.activate(Scenario("s", (Rule("r", Match(), times=2),)))  # fresh counters
    assert counters.fired(("s", "r")) == 0


def test_services_sharing_stores_number_their_tasks_as_one() -> None:
    stores = Stores.in_memory(CoreConfig())
    one, two = make(stores), make(stores)
    submitted = [
        service.submit(KEY, BODY, "application/json", "http://127.0.0.1").task
        for service in (one, two, one)
    ]
    assert [task.sequence for task in submitted] == [1, 2, 3]
    assert len({task.task_id for task in submitted}) == 3  # seeded alike, yet no clash
    one.reset()
    assert stores.tasks.last_sequence() == 0


class ListedAttempts(AttemptLog):
    """A second attempt log: the memory one, keeping a plain list beside it."""

    def __init__(self) -> None:
        super().__init__()
        self.appended: list[str] = []

    def append(self, attempt: Attempt) -> None:
        self.appended.append(attempt.task_id)
        super().append(attempt)


def test_callback_attempts_are_logged_in_the_bundles_attempt_log() -> None:
    attempts = ListedAttempts()
    stores = dataclasses.replace(Stores.in_memory(CoreConfig()), attempts=attempts)
    service = make(stores, profile="instant")
    callback = {"request_type": "callback", "callback_url": "http://127.0.0.1:9/hook"}
    request = {"input": {"mode": "gpt-image-1", "prompt": "a fox"}, **callback}
    with service:
        task = service.submit(
            KEY, json.dumps(request).encode(), "application/json", "http://x"
        ).task
        service.clock.advance(1_000)
        assert service.callbacks.wait_idle(10.0)
    assert attempts.appended == [task.task_id]
    assert [a["outcome"] for a in service.callbacks.attempts(task.task_id)] == ["delivered"]
