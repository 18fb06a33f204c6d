"""How the dispatcher claims from a store with a claim limit (as the shared Redis store has).

Each claim from a shared store is a script and a round trip: the dispatcher
claims in large batches, not a few works each time a sender finishes its share.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping

from mock_server.core.callbacks import CallbackDispatcher, CallbackPolicy, SendResult
from mock_server.core.callbacks.records import Work
from mock_server.core.clock import MockClock
from mock_server.core.stores.memory import AttemptLog
from mock_server.core.stores.memory_deliveries import MemoryDeliveries

START = 1_700_000_000_000
WAIT_S = 30.0  # a deadline only: the machine is shared and loaded
OK = SendResult(200, None, 1.0)


class PolledDeliveries(MemoryDeliveries):
    """The memory store with a claim limit and a poll, as a shared store has.

    It counts the scheduler's rounds (each claims, or reads `poll_s` to wait)
    and notes the room each claim asked for.
    """

    claim_limit: int | None = 128

    def __init__(self) -> None:
        super().__init__(AttemptLog())
        self.asked: list[int] = []
        self.rounds = 0
        self.changed = threading.Condition()

    @property
    def poll_s(self) -> float | None:
        self._round()
        return 0.001

    @poll_s.setter
    def poll_s(self, value: float | None) -> None:
        raise AttributeError("fixed in this store")

    def claim(self, now: int, owner: str, limit: int, reorder_window_ms: int) -> list[Work]:
        self._round()
        works = super().claim(now, owner, limit, reorder_window_ms)
        if works:
            self.asked.append(limit)
        return works

    def _round(self) -> None:
        with self.changed:
            self.rounds += 1
            self.changed.notify_all()


class PacedSender:
    """Answers 200, each POST only after the scheduler had two rounds to claim what it would."""

    def __init__(self, store: PolledDeliveries) -> None:
        self._store = store
        self.counts: Counter[bytes] = Counter()

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> SendResult:
        store = self._store
        with store.changed:
            seen = store.rounds
            assert store.changed.wait_for(lambda: store.rounds >= seen + 2, WAIT_S)
        self.counts[body] += 1  # one sender thread: no lock needed
        return OK


def test_a_limited_store_is_claimed_from_in_quarters_of_its_limit_and_all_is_sent_once() -> None:
    clock = MockClock(lambda: START, frozen=True)
    store = PolledDeliveries()
    sender = PacedSender(store)
    policy = CallbackPolicy(jitter=0.0, senders=1)  # one sender: 16 works a visit to the queue
    with CallbackDispatcher(
        clock, sender, policy, deliveries=store, render=lambda task: task.encode()
    ) as dispatcher:
        for i in range(400):
            dispatcher.schedule(f"t{i}", "http://r.test/hook", START + 10)
        clock.advance(10)
        assert dispatcher.wait_idle(WAIT_S)
    assert sender.counts == Counter({f"t{i}".encode(): 1 for i in range(400)})
    # Never less than a quarter of the limit: it was a claim per 16 works the sender finished.
    assert min(store.asked) >= 32
    assert len(store.asked) <= 400 // 32 + 1
