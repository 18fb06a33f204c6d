"""The dispatcher's bookkeeping: one delivery's counters, heap entries, and the send queue.

Internal to the callback dispatcher (dispatcher.py); nothing here is locked by
itself except `SendQueue`, which the sender threads share.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .policy import CallbackEffect, SendResult


@dataclass(slots=True, eq=False)
class Delivery:
    """One task's callback; counters change only under the dispatcher's lock."""

    task_id: str
    url: str
    origin: str
    body: Callable[[], bytes]
    effect: CallbackEffect
    due_ms: int
    generation: int = 0  # bumped by reschedule: older heap entries are stale
    started: bool = False  # the scheduled first attempt has fallen due
    dropped: bool = False
    active: int = 0  # attempt chains in flight or waiting for a retry
    wanted: int = 0  # successful deliveries asked for: copies, plus one per redelivery
    retry_epoch: int = 0  # bumped when a success cancels the pending retries
    pending_retries: int = 0  # retries waiting in the heap under the current epoch
    attempts: int = 0
    delivered: int = 0
    next_attempt_ms: int | None = None
    last_status: int | None = None
    last_error: str | None = None

    def record(self, result: SendResult, last_try: bool) -> str:
        """Count one attempt's result; its outcome: "delivered", "failed" or "retrying".

        Once the callback has been delivered as often as asked (its copies, plus
        one per redelivery), the retries waiting in the heap are cancelled (their
        entries go stale) and no chain retries any more.
        """
        self.attempts += 1
        self.last_status, self.last_error = result.status, result.error
        self.delivered += result.ok
        if self.delivered >= self.wanted:
            self.retry_epoch += 1
            self.active -= self.pending_retries
            self.pending_retries = 0
        if result.ok or last_try or self.delivered >= self.wanted:
            self.active -= 1
            if not self.active:
                self.next_attempt_ms = None
            return "delivered" if result.ok else "failed"
        self.pending_retries += 1
        return "retrying"

    @property
    def state(self) -> str:
        """The delivery state, derived from the counters."""
        if self.active:
            return "delivering"
        if not self.started:
            return "scheduled"
        if self.dropped and not self.attempts:
            return "dropped"
        return "delivered" if self.delivered else "failed"

    def to_json(self) -> dict[str, Any]:
        """The delivery as admin JSON."""
        return {
            "taskId": self.task_id,
            "url": self.url,
            "state": self.state,
            "attempts": self.attempts,
            "dueTime": self.due_ms,
            "nextAttemptTime": self.next_attempt_ms,
            "lastStatus": self.last_status,
            "lastError": self.last_error,
            "effect": self.effect.to_json(),
        }


@dataclass(slots=True)
class Due:
    """Heap entry: a delivery's scheduled first attempt (effects apply here)."""

    delivery: Delivery
    generation: int


@dataclass(slots=True)
class Send:
    """Heap or queue entry: attempt number `attempt` (1-based) of one chain, due at `due_ms`.

    A retry's due time counts from this one's, not from when the attempt ended,
    so that one big clock advance replays a whole chain in order.
    """

    delivery: Delivery
    attempt: int
    due_ms: int
    epoch: int = 0  # the delivery's retry_epoch when the retry was scheduled


@dataclass(slots=True)
class Batch:
    """Reordered deliveries held back together, sent one by one, newest due first."""

    due_ms: int  # when the window closes and the batch goes out
    held: list[tuple[int, int, Delivery]] = field(default_factory=list)

    def newest_first(self) -> list[Delivery]:
        """The held deliveries in reverse order of (due time, schedule order)."""
        return [d for _, _, d in sorted(self.held, key=lambda h: (h[0], h[1]), reverse=True)]


Work = Send | Batch


class SendQueue:
    """Work per origin, served round-robin, at most `per_origin` in flight per origin."""

    def __init__(self, per_origin: int) -> None:
        self._cond = threading.Condition()
        self._per_origin = per_origin
        self._waiting: dict[str, deque[Work]] = {}
        self._runnable: deque[str] = deque()  # origins with work and spare capacity
        self._in_flight: dict[str, int] = {}
        self._closed = False

    def put(self, items: list[tuple[str, Work]]) -> None:
        """Queue (origin, work) items; senders pick them up as their origins have capacity."""
        with self._cond:
            for origin, work in items:
                queue = self._waiting.setdefault(origin, deque())
                queue.append(work)
                if len(queue) == 1 and self._in_flight.get(origin, 0) < self._per_origin:
                    self._runnable.append(origin)
            if self._runnable:
                self._cond.notify()

    def take(self, limit: int) -> tuple[str, list[Work]] | None:
        """Up to `limit` items of one origin, waiting for some; None once closed.

        Taking several at once spares a Condition round trip per callback, which
        is most of the dispatcher's own cost at thousands of callbacks a second.
        A sender takes only its share of the origin's backlog, though, so that a
        short queue is still spread over every sender the origin may use.
        """
        with self._cond:
            while not self._runnable and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            origin = self._runnable.popleft()
            queue = self._waiting[origin]
            share = min(limit, max(1, len(queue) // self._per_origin))
            taken = [queue.popleft() for _ in range(share)]
            busy = self._in_flight[origin] = self._in_flight.get(origin, 0) + 1
            if queue and busy < self._per_origin:
                self._runnable.append(origin)
            elif not queue:
                del self._waiting[origin]
            if self._runnable:
                self._cond.notify()  # pass the baton: more work is ready for another sender
            return origin, taken

    def done(self, origin: str) -> None:
        """A sender finished work taken for `origin`."""
        with self._cond:
            busy = self._in_flight.pop(origin) - 1
            if busy:
                self._in_flight[origin] = busy
            if origin in self._waiting and busy == self._per_origin - 1:
                self._runnable.append(origin)
                self._cond.notify()

    def clear(self) -> int:
        """Forget the queued (not in-flight) work; returns how many items were dropped."""
        with self._cond:
            dropped = sum(len(queue) for queue in self._waiting.values())
            self._waiting.clear()
            self._runnable.clear()
            return dropped

    def close(self) -> int:
        """Wake every sender to exit; returns how many queued items were dropped."""
        dropped = self.clear()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        return dropped
