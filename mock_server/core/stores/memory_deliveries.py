"""Callback deliveries in memory: the default `DeliveryStore`, for one process.

Queued work sits in a heap ordered by due time, then by the order it was
queued. Entries are never removed early: a rescheduled, replaced or
cancelled one goes stale and is skipped when it falls due. One process owns
everything here, so leases never expire: an owner is only a name.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ..callbacks.policy import Attempt, SendResult
from ..callbacks.records import REORDER_LANE, DeliveryRecord, Send, Work
from . import AttemptLogStore

if TYPE_CHECKING:
    from . import Settling


@dataclass(frozen=True, slots=True)
class _Start:
    """A delivery's scheduled first attempt (its effect applies when it falls due)."""

    task_id: str
    incarnation: int
    generation: int


@dataclass(frozen=True, slots=True)
class _Retry:
    """A retry, cancelled (stale) once the delivery's retry epoch has moved on."""

    send: Send
    epoch: int


@dataclass(frozen=True, slots=True)
class _Fresh:
    """A redelivery's first attempt: effects and epochs do not apply."""

    send: Send


@dataclass(slots=True)
class _Batch:
    """Reordered deliveries held back together until `due_ms`: (due, seq, task, incarnation)."""

    due_ms: int
    held: list[tuple[int, int, str, int]] = field(default_factory=list)


_Entry = _Start | _Retry | _Fresh | _Batch


class MemoryDeliveries:
    """Deliveries in a dict, due work in a heap, attempts in an `AttemptLogStore`; one lock."""

    poll_s: float | None = None  # every change is made in this process, which wakes its dispatcher
    claim_limit: int | None = None  # leases never expire here: no reason to hold work back

    def __init__(self, attempts: AttemptLogStore) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, DeliveryRecord] = {}
        self._heap: list[tuple[int, int, _Entry]] = []
        self._seq = 0  # orders the heap's ties; also names incarnations and tokens
        self._batch: _Batch | None = None  # the reorder batch being collected
        self._log = attempts

    def schedule(self, delivery: DeliveryRecord) -> None:
        """Keep `delivery` (a dict keeps a replaced task's first position) and queue its start."""
        with self._lock:
            delivery.incarnation = self._next()
            self._records[delivery.task_id] = delivery
            self._push(delivery.due_ms, _Start(delivery.task_id, delivery.incarnation, 0))

    def reschedule(self, task_id: str, due_ms: int) -> bool:
        """Move a not-yet-started delivery to `due_ms` (+ its delay)."""
        with self._lock:
            record = self._records.get(task_id)
            if record is None or record.started:
                return False
            record.generation += 1
            record.due_ms = due_ms + record.effect.delay_ms
            self._push(record.due_ms, _Start(task_id, record.incarnation, record.generation))
            return True

    def redeliver(self, task_id: str, now: int) -> bool:
        """Queue a fresh chain at `now`: one more success wanted."""
        with self._lock:
            record = self._records.get(task_id)
            if record is None:
                return False
            record.active += 1
            record.wanted = max(record.wanted, record.delivered + 1)
            self._push(now, _Fresh(Send(task_id, record.url, record.incarnation, 1, now)))
            return True

    def drop(self, task_id: str) -> bool:
        """Forget one delivery; its queued work goes stale."""
        with self._lock:
            return self._records.pop(task_id, None) is not None

    def claim(self, now: int, owner: str, limit: int, reorder_window_ms: int) -> list[Work]:
        """Pop the entries due at `now` into works (stale ones vanish)."""
        works: list[Work] = []
        with self._lock:
            while self._heap and self._heap[0][0] <= now and len(works) < limit:
                due, seq, entry = heapq.heappop(self._heap)
                self._take(due, seq, entry, works, reorder_window_ms)
        return works

    def renew(self, tokens: list[str], owner: str) -> set[str]:
        """Every token: nothing is ever claimed twice in one process."""
        return set(tokens)

    def settle(
        self,
        work: Work,
        index: int,
        owner: str,
        result: SendResult,
        now: int,
        retry_due_ms: int | None,
    ) -> Attempt | None:
        """Count the attempt, queue its retry, log it."""
        send = work.sends[index]
        with self._lock:
            record = self._records.get(send.task_id)
            if record is None or record.incarnation != send.incarnation:
                return None
            outcome = record.record(result, last_try=retry_due_ms is None)
            if outcome == "retrying" and retry_due_ms is not None:
                record.next_attempt_ms = retry_due_ms
                retry = Send(
                    send.task_id, send.url, send.incarnation, send.attempt + 1, retry_due_ms
                )
                self._push(retry_due_ms, _Retry(retry, record.retry_epoch))
            attempt = Attempt(
                task_id=send.task_id,
                url=send.url,
                attempt=record.attempts,
                due_ms=send.due_ms,
                time_ms=now,
                status=result.status,
                error=result.error,
                latency_ms=result.latency_ms,
                outcome=outcome,
            )
            self._log.append(attempt)
            return attempt

    def settle_later(
        self,
        work: Work,
        index: int,
        owner: str,
        result: SendResult,
        now: int,
        retry_due_ms: int | None,
    ) -> Callable[[], Attempt | None]:
        """Settled at once: there is no round trip to overlap."""
        attempt = self.settle(work, index, owner, result, now, retry_due_ms)
        return lambda: attempt

    def settle_all_later(
        self, settles: Sequence[Settling], owner: str, now: int
    ) -> list[Callable[[], Attempt | None]]:
        """Each settled at once, in order."""
        return [
            self.settle_later(work, index, owner, result, now, retry_due_ms)
            for work, index, result, retry_due_ms in settles
        ]

    def has_due(self, now: int) -> bool:
        """Whether the heap's earliest entry is due."""
        with self._lock:
            return bool(self._heap) and self._heap[0][0] <= now

    def next_due_ms(self) -> int | None:
        """The heap's earliest due time."""
        with self._lock:
            return self._heap[0][0] if self._heap else None

    def deliveries(self, task_id: str | None = None) -> list[DeliveryRecord]:
        """Snapshots (copies) in due order; ties in order of first schedule."""
        with self._lock:
            if task_id is None:
                chosen = list(self._records.values())
            else:
                chosen = [r for r in [self._records.get(task_id)] if r is not None]
            rows = [replace(record) for record in chosen]  # snapshots: senders go on changing
        rows.sort(key=lambda record: record.due_ms)
        return rows

    def attempts(self, task_id: str) -> list[Attempt]:
        """The task's logged attempts."""
        with self._lock:
            return self._log.for_task(task_id)

    def pending_count(self) -> int:
        """Deliveries scheduled or delivering."""
        with self._lock:
            return sum(record.pending for record in self._records.values())

    def clear(self) -> None:
        """Forget everything, the attempt log included."""
        with self._lock:
            self._records.clear()
            self._heap.clear()
            self._batch = None
            self._log.clear()

    # -- inside the lock ---------------------------------------------------------

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def _push(self, due_ms: int, entry: _Entry) -> None:
        heapq.heappush(self._heap, (due_ms, self._next(), entry))

    def _work(self, lane: str, sends: list[Send]) -> Work:
        return Work(str(self._next()), lane, tuple(sends))

    def _take(self, due: int, seq: int, entry: _Entry, works: list[Work], window: int) -> None:
        if isinstance(entry, _Batch):
            works.extend(self._close(entry))
            return
        task_id = entry.task_id if isinstance(entry, _Start) else entry.send.task_id
        record = self._records.get(task_id)
        incarnation = entry.incarnation if isinstance(entry, _Start) else entry.send.incarnation
        if record is None or record.incarnation != incarnation:
            return  # replaced or forgotten since
        if isinstance(entry, _Fresh):
            works.append(self._work(record.origin, [entry.send]))
        elif isinstance(entry, _Retry):
            if entry.epoch == record.retry_epoch:  # else cancelled by a success
                record.pending_retries -= 1
                works.append(self._work(record.origin, [entry.send]))
        elif entry.generation == record.generation:
            self._start(record, due, seq, works, window)

    def _start(
        self, record: DeliveryRecord, due: int, seq: int, works: list[Work], window: int
    ) -> None:
        """The scheduled first attempt fell due: apply the effect."""
        record.started = True
        effect = record.effect
        if record.fault is not None:
            record.last_error = record.fault
            return
        if effect.drop:
            record.dropped = True
            return
        record.active += effect.copies
        record.wanted += effect.copies
        if not effect.reorder:
            send = Send(record.task_id, record.url, record.incarnation, 1, due)
            works.extend(self._work(record.origin, [send]) for _ in range(effect.copies))
            return
        # Reorder rule: the first reordered delivery to fall due opens a window of
        # `window` ms on the mock clock; every reordered delivery falling due
        # before it closes joins, and at the close they go out newest due first.
        if self._batch is None:
            self._batch = _Batch(due + window)
            self._push(self._batch.due_ms, self._batch)
        self._batch.held.append((due, seq, record.task_id, record.incarnation))

    def _close(self, batch: _Batch) -> list[Work]:
        """The batch's window closed: one work sending its deliveries newest first."""
        if self._batch is batch:
            self._batch = None
        sends: list[Send] = []
        for _, _, task_id, incarnation in sorted(batch.held, reverse=True):
            record = self._records.get(task_id)
            if record is not None and record.incarnation == incarnation:
                send = Send(task_id, record.url, incarnation, 1, batch.due_ms)
                sends.extend([send] * record.effect.copies)
        return [self._work(REORDER_LANE, sends)] if sends else []
