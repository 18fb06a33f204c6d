"""A sender settles each attempt before its next POST, and reads the outcomes after them.

With a shared store, settling is a round trip: writing it before the next POST
keeps "settled before the next send" (a process killed mid-POST has every
earlier attempt recorded), and reading the answers only after the last POST
of the sender's share lets the round trips overlap the POSTs and the answers
be read together.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from mock_server.core.callbacks import Attempt, CallbackDispatcher, CallbackPolicy, SendResult
from mock_server.core.callbacks.records import Work
from mock_server.core.clock import MockClock
from mock_server.core.stores.memory import AttemptLog
from mock_server.core.stores.memory_deliveries import MemoryDeliveries

START = 1_700_000_000_000
WAIT_S = 30.0  # a deadline only: the machine is shared and loaded


class Events:
    """What happened, in order, across the sender and the store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seen: list[str] = []

    def add(self, event: str) -> None:
        with self._lock:
            self.seen.append(event)


class NotingDeliveries(MemoryDeliveries):
    """The memory store, noting when each attempt is settled and when its outcome is read."""

    def __init__(self, events: Events, unreadable: str = "") -> None:
        super().__init__(AttemptLog())
        self._events = events
        self._unreadable = unreadable  # the task whose outcome cannot be read

    def settle_later(
        self,
        work: Work,
        index: int,
        owner: str,
        result: SendResult,
        now: int,
        retry_due_ms: int | None,
    ) -> Callable[[], Attempt | None]:
        task = work.sends[index].task_id
        self._events.add(f"settle {task}")
        settled = super().settle_later(work, index, owner, result, now, retry_due_ms)

        def outcome() -> Attempt | None:
            self._events.add(f"read {task}")
            if task == self._unreadable:
                raise ConnectionError("the store went away while answering")
            return settled()

        return outcome


class NotingSender:
    """Answers 200, noting each POST."""

    def __init__(self, events: Events) -> None:
        self._events = events

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> SendResult:
        self._events.add(f"post {body.decode()}")
        return SendResult(200, None, 1.0)


def test_each_attempt_is_settled_before_the_next_post_and_read_after_the_last() -> None:
    events = Events()
    clock = MockClock(lambda: START, frozen=True)
    policy = CallbackPolicy(jitter=0.0, senders=1)  # one sender: one order of events
    with CallbackDispatcher(
        clock,
        NotingSender(events),
        policy,
        deliveries=NotingDeliveries(events),
        render=lambda task: task.encode(),
    ) as dispatcher:
        for task in ("a", "b", "c"):
            dispatcher.schedule(task, "http://r.test/hook", START + 10)
        clock.advance(10)
        assert dispatcher.wait_idle(WAIT_S)
        assert [a["outcome"] for t in "abc" for a in dispatcher.attempts(t)] == ["delivered"] * 3
    assert events.seen == [
        *("post a", "settle a", "post b", "settle b", "post c", "settle c"),
        *("read a", "read b", "read c"),
    ]


def test_an_outcome_that_cannot_be_read_stops_no_later_attempt() -> None:
    events = Events()
    clock = MockClock(lambda: START, frozen=True)
    store = NotingDeliveries(events, unreadable="a")
    policy = CallbackPolicy(jitter=0.0, senders=1)
    with CallbackDispatcher(
        clock, NotingSender(events), policy, deliveries=store, render=lambda t: t.encode()
    ) as dispatcher:
        for task in ("a", "b"):
            dispatcher.schedule(task, "http://r.test/hook", START + 10)
        clock.advance(10)
        assert dispatcher.wait_idle(WAIT_S)
        assert dispatcher.background_errors == 1
        assert [a["outcome"] for a in dispatcher.attempts("b")] == ["delivered"]
    assert events.seen == ["post a", "settle a", "post b", "settle b", "read a", "read b"]
