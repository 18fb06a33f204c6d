"""Callback delivery: POST a finished task's status envelope to its callback_url.

One scheduler thread keeps a heap of deliveries ordered by due time on the mock
clock and hands the due ones to a bounded pool of sender threads. The scheduler
never touches the network, so a slow receiver cannot hold up the heap, and no
origin may occupy more than half of the pool, so one hanging receiver cannot
starve the others. A clock listener wakes the scheduler, which is why a test
that advances the clock sees its callbacks at once without sleeping.

A delivery's state is derived from counters, never stored: `scheduled` until
its first attempt falls due, `delivering` while any attempt chain is in flight
or waiting for a retry, then `delivered` (some attempt got a 2xx), `failed`
(every chain gave up) or `dropped` (a scenario said never to send it).
"""

from __future__ import annotations

import heapq
import logging
import operator
import threading
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import urlsplit

from ..background import BackgroundThreads
from ..clock import MockClock
from ..stores import AttemptLogStore, memory
from .attempts import AttemptRunner
from .policy import (
    DELIVERY_STATES,
    Abortable,
    Attempt,
    CallbackEffect,
    CallbackPolicy,
    CallbackSender,
    SendResult,
    spread,
)
from .queue import Batch, Delivery, Due, Send, SendQueue, Work

__all__ = ("CallbackDispatcher",)

_REORDER_LANE: Final = ""  # pseudo-origin of reordered batches in the send queue
_TAKE_AT_ONCE: Final = 16  # callbacks a sender takes per visit to the queue
_MAX_WAIT_S: Final = 3600.0  # the scheduler re-checks the heap at least this often
_ERROR_PAUSE_S: Final = 0.05  # after an unexpected error, so a persistent one cannot spin


class CallbackDispatcher:
    """Delivers callbacks when they fall due on the mock clock, with retries and a log.

    The constructor spawns nothing; `start()` starts one scheduler thread and
    `policy.senders` sender threads (daemons), `close()` stops and joins them.
    """

    def __init__(
        self,
        clock: MockClock,
        sender: CallbackSender,
        policy: CallbackPolicy,
        *,
        seed: int = 0,
        log: logging.Logger | None = None,
        attempts: AttemptLogStore | None = None,
    ) -> None:
        self._clock = clock
        self._sender = sender
        self._policy = policy
        self._seed = seed
        # The package's name, as before the split: log configurations name it.
        self._log = log or logging.getLogger("mock_server.core.callbacks")
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)  # the scheduler waits here
        self._idle = threading.Condition(self._lock)  # wait_idle waits here
        self._heap: list[tuple[int, int, Due | Send | Batch]] = []
        self._seq = 0
        self._deliveries: dict[str, Delivery] = {}
        self._attempts = attempts if attempts is not None else memory.AttemptLog()
        self._batch: Batch | None = None  # the reorder batch being collected
        self._busy = 0  # work items queued or in flight
        self._queue = SendQueue(per_origin=max(1, policy.senders // 2))
        self._threads = BackgroundThreads(self._log)
        self._attempts_runner = AttemptRunner(clock, sender, policy, self._threads, self._log)
        self._started = False
        self._closed = False

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        """Start the scheduler and the sender pool; call once."""
        with self._lock:
            if self._started or self._closed:
                raise RuntimeError("the callback dispatcher was already started")
            self._started = True
        self._clock.subscribe(self._on_clock)
        senders = [(f"callbacks-sender-{i}", self._send_loop) for i in range(self._policy.senders)]
        self._threads.start([("callbacks-scheduler", self._schedule_loop), *senders])

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop every thread (waiting up to `timeout_s`) and log what was still pending."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._wake.notify_all()
        self._threads.closing()
        self._clock.unsubscribe(self._on_clock)
        self._queue.close()
        if isinstance(self._sender, Abortable):
            self._sender.abort()  # break off hanging requests instead of waiting them out
        stopped = self._threads.wait_stopped(timeout_s)
        self._log.info("callbacks closed with %d deliveries still pending", self.pending_count())
        if not stopped:
            self._log.warning("callbacks: %d threads outlived close", self._threads.live)

    def __enter__(self) -> CallbackDispatcher:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def policy(self) -> CallbackPolicy:
        """The policy deliveries follow (the service checks callback URLs against it)."""
        return self._policy

    @property
    def background_errors(self) -> int:
        """Unexpected exceptions the scheduler and senders caught, logged and survived."""
        return self._threads.errors

    # -- what the service calls ------------------------------------------------

    def schedule(
        self,
        task_id: str,
        url: str,
        due_ms: int,
        body: Callable[[], bytes],
        effect: CallbackEffect = CallbackEffect(),
    ) -> None:
        """Deliver `body()` to `url` at `due_ms` (+ the effect's delay); replaces an earlier one.

        `body` is called at send time, so it returns the task's envelope as it is then.
        """
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        delivery = Delivery(task_id, url, origin, body, effect, due_ms + effect.delay_ms)
        with self._lock:
            self._deliveries[task_id] = delivery
            self._push(delivery.due_ms, Due(delivery, 0))

    def reschedule(self, task_id: str, due_ms: int) -> bool:
        """Move a not-yet-due delivery to `due_ms` (+ its delay); False if there is none."""
        with self._lock:
            delivery = self._deliveries.get(task_id)
            if delivery is None or delivery.started:
                return False
            delivery.generation += 1
            delivery.due_ms = due_ms + delivery.effect.delay_ms
            self._push(delivery.due_ms, Due(delivery, delivery.generation))
            return True

    def redeliver(self, task_id: str) -> None:
        """Start a fresh attempt chain now, ignoring effects; KeyError if there was no callback.

        Chains already running go on; a delivery still scheduled is also sent when due.
        """
        with self._lock:
            delivery = self._deliveries.get(task_id)
            if delivery is None:
                raise KeyError(task_id)
            delivery.active += 1
            delivery.wanted = max(delivery.wanted, delivery.delivered + 1)
            self._busy += 1
            send = Send(delivery, 1, self._clock.now_ms())
        self._queue.put([(delivery.origin, send)])

    def reset(self) -> None:
        """Forget every delivery and attempt, and restart any thread that died."""
        with self._lock:
            self._deliveries.clear()
            self._heap.clear()
            self._attempts.clear()
            self._batch = None
            self._busy -= self._queue.clear()
            self._idle.notify_all()
        self._threads.revive()

    # -- what the admin API and tests read -------------------------------------

    def deliveries(
        self, *, task_id: str | None = None, outcome: str | None = None
    ) -> list[dict[str, Any]]:
        """Summaries (JSON-ready) in due order, filtered by task and by state."""
        if outcome is not None and outcome not in DELIVERY_STATES:
            raise ValueError(f"outcome: {outcome!r} is not one of {list(DELIVERY_STATES)}")
        with self._lock:
            if task_id is None:
                chosen = list(self._deliveries.values())
            else:
                chosen = [d for d in [self._deliveries.get(task_id)] if d is not None]
            rows = [d.to_json() for d in chosen if outcome is None or d.state == outcome]
        rows.sort(key=lambda row: int(row["dueTime"]))
        return rows

    def attempts(self, task_id: str) -> list[dict[str, Any]]:
        """Every logged attempt (JSON-ready) for `task_id`, oldest first."""
        with self._lock:
            return [a.to_json() for a in self._attempts.for_task(task_id)]

    def pending_count(self) -> int:
        """Deliveries not yet finished: scheduled or delivering."""
        with self._lock:
            return sum(d.state in ("scheduled", "delivering") for d in self._deliveries.values())

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until nothing is due now or in flight; False if `timeout_s` passed first."""
        with self._lock:
            return self._idle.wait_for(self._is_idle, timeout_s)

    # -- the scheduler ---------------------------------------------------------

    def _push(self, due_ms: int, item: Due | Send | Batch) -> None:
        """Add a heap entry (lock held); wake the scheduler if it is now the earliest."""
        self._seq += 1
        heapq.heappush(self._heap, (due_ms, self._seq, item))
        if self._heap[0][2] is item:
            self._wake.notify()

    def _on_clock(self) -> None:
        with self._lock:
            self._wake.notify()

    def _is_idle(self) -> bool:
        return self._busy == 0 and not (self._heap and self._heap[0][0] <= self._clock.now_ms())

    def _pause_after_error(self) -> None:
        with self._lock:
            if not self._closed:
                self._wake.wait(_ERROR_PAUSE_S)

    def _schedule_loop(self) -> None:
        while True:
            try:
                if (ready := self._next_ready()) is None:
                    return
                self._queue.put(ready)
            except Exception:
                self._threads.caught("callback scheduler failed; it goes on")
                self._pause_after_error()

    def _next_ready(self) -> list[tuple[str, Work]] | None:
        """Wait until something falls due and return it; None when closing."""
        with self._lock:
            while not self._closed:
                ready = self._take_due(self._clock.now_ms())
                if ready:
                    return ready
                self._wake.wait(self._wait_s())
            return None

    def _wait_s(self) -> float | None:
        """Seconds until the earliest entry; None (until woken) on a frozen clock."""
        if not self._heap or self._clock.frozen:
            return None
        # Capped: a due time centuries ahead would overflow the lock's timeout.
        return min(_MAX_WAIT_S, max(0.0, (self._heap[0][0] - self._clock.now_ms()) / 1000))

    def _take_due(self, now: int) -> list[tuple[str, Work]]:
        """Pop every entry due at `now` into send work (lock held); stale entries vanish.

        An entry that raises fails its own delivery and no other: the error is
        logged and counted, and the loop goes on with the next entry.
        """
        ready: list[tuple[str, Work]] = []
        while self._heap and self._heap[0][0] <= now:
            due, seq, item = heapq.heappop(self._heap)
            try:
                self._take(due, seq, item, ready)
            except Exception as exc:
                what = "a reorder batch" if isinstance(item, Batch) else item.delivery.task_id
                self._threads.caught("callback scheduler failed on %s; it goes on", what)
                if isinstance(item, Due):
                    item.delivery.started = True
                    item.delivery.last_error = f"internal error: {type(exc).__name__}: {exc}"
        self._busy += len(ready)
        if not self._busy:
            self._idle.notify_all()
        return ready

    def _take(
        self, due: int, seq: int, item: Due | Send | Batch, ready: list[tuple[str, Work]]
    ) -> None:
        if isinstance(item, Batch):
            if self._batch is item:
                self._batch = None
            ready.append((_REORDER_LANE, item))
        elif self._deliveries.get(item.delivery.task_id) is not item.delivery:
            return  # reset or replaced since
        elif isinstance(item, Send):
            if item.epoch == item.delivery.retry_epoch:  # else cancelled by a success
                item.delivery.pending_retries -= 1
                ready.append((item.delivery.origin, item))
        elif item.generation == item.delivery.generation:
            self._start(item.delivery, due, seq, ready)

    def _start(self, delivery: Delivery, due: int, seq: int, ready: list[tuple[str, Work]]) -> None:
        """The scheduled first attempt fell due: apply the effects (lock held)."""
        effect = delivery.effect
        copies = operator.index(effect.copies)  # raises before any counter changes
        delivery.started = True
        if effect.drop:
            delivery.dropped = True
            self._log.info("callback for %s dropped by scenario", delivery.task_id)
            return
        delivery.active += copies
        delivery.wanted += copies
        if not effect.reorder:
            ready.extend((delivery.origin, Send(delivery, 1, due)) for _ in range(copies))
            return
        # Reorder rule: the first reordered delivery to fall due opens a window of
        # reorder_window_ms on the mock clock; every reordered delivery falling due
        # before it closes joins, and at the close they go out newest due first.
        if self._batch is None:
            self._batch = Batch(due + self._policy.reorder_window_ms)
            self._push(self._batch.due_ms, self._batch)
        self._batch.held.append((due, seq, delivery))

    # -- the senders -----------------------------------------------------------

    def _send_loop(self) -> None:
        while True:
            try:
                taken = self._queue.take(_TAKE_AT_ONCE)
                if taken is None:
                    return
                origin, works = taken
                try:
                    for work in works:
                        self._attempts_runner.perform(work, self._settle)
                finally:
                    self._queue.done(origin)
                    self._work_done(len(works))
            except Exception:
                self._threads.caught("callback sender loop failed; it goes on")
                self._pause_after_error()

    def _settle(self, send: Send, result: SendResult) -> Attempt | None:
        """Record the attempt and schedule a retry or end the chain; None if forgotten since."""
        delivery, attempt = send.delivery, send.attempt
        with self._lock:
            if self._deliveries.get(delivery.task_id) is not delivery:
                return None
            now = self._clock.now_ms()
            outcome = delivery.record(result, last_try=attempt > self._policy.retries)
            if outcome == "retrying":
                jitter = spread(self._seed, delivery.task_id, attempt)
                due = send.due_ms + self._policy.backoff_ms(attempt, jitter)
                delivery.next_attempt_ms = due
                self._push(due, Send(delivery, attempt + 1, due, delivery.retry_epoch))
            record = Attempt(
                task_id=delivery.task_id,
                url=delivery.url,
                attempt=delivery.attempts,
                due_ms=send.due_ms,
                time_ms=now,
                status=result.status,
                error=result.error,
                latency_ms=result.latency_ms,
                outcome=outcome,
            )
            self._attempts.append(record)
            return record

    def _work_done(self, count: int) -> None:
        with self._lock:
            self._busy -= count
            if not self._busy:
                self._idle.notify_all()
