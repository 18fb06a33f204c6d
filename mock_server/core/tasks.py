"""The task record and the thread-safe store that holds every task in memory."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace

from .lifecycle import Failure, State, Timeline, state_at
from .validation import SubmitRequest


@dataclass(slots=True)
class Task:
    """One submitted task. Its state is derived from `timeline`, `failure` and the clock.

    Only `timeline`, `failure` and `reason` ever change after creation (an admin
    forcing the end, a reference-image check deciding the outcome), always
    under the store's lock and only while the task is unfinished.
    """

    task_id: str
    key: str
    request: SubmitRequest
    timeline: Timeline
    failure: Failure | None
    origin: str
    sequence: int
    charge_micros: int
    reason: str = "default"
    scenario: str | None = None
    final_body: bytes | None = None  # the status envelope, once terminal: it never changes

    def state(self, now: int) -> State:
        """The state this task reports at `now`."""
        return state_at(self.timeline, self.failure, now)


class TaskStore:
    """Tasks by id; every method is safe across threads.

    Memory stays bounded: a task that has finished and been settled (left the
    unfinished count, refunded if it failed) is `retire`d into a queue in the
    order it finished; `evict` forgets the earliest retired ones beyond
    `max_kept` or older than `ttl_ms` on the mock clock. Each task is queued
    and dropped once, so eviction costs amortised O(1) per task, never a scan.
    Unfinished tasks are never retired, hence never forgotten.
    """

    def __init__(self, max_kept: int = 0, ttl_ms: int = 0) -> None:
        self._lock = threading.Lock()
        self._tasks: dict[str, Task] = {}
        self._retired: deque[tuple[int, str]] = deque()  # (ended at, task_id), oldest first
        self._max_kept = max_kept  # 0: no limit
        self._ttl_ms = ttl_ms  # 0: no age limit
        self._last_sequence = 0

    def add(self, task: Task) -> None:
        """Keep a new task; its id must be unused."""
        with self._lock:
            if task.task_id in self._tasks:
                raise KeyError(f"duplicate taskId {task.task_id}")
            self._tasks[task.task_id] = task
            self._last_sequence = max(self._last_sequence, task.sequence)

    def last_sequence(self) -> int:
        """The highest `sequence` of any task added since the last `clear` (0: none)."""
        return self._last_sequence

    def get(self, task_id: str) -> Task | None:
        """The task with this id, whoever owns it."""
        return self._tasks.get(task_id)

    def get_many(self, task_ids: list[str]) -> list[Task | None]:
        """The tasks with these ids, in order (None: not kept)."""
        return [self._tasks.get(task_id) for task_id in task_ids]

    def owned(self, task_id: str, key: str) -> Task | None:
        """The task if `key` created it: another key's task does not exist for it."""
        task = self._tasks.get(task_id)
        return task if task is not None and task.key == key else None

    def retime(
        self, task_id: str, timeline: Timeline, failure: Failure | None, reason: str
    ) -> Task:
        """Give an unfinished task a new end (and outcome); returns the updated task."""
        with self._lock:
            task = self._tasks[task_id]
            task.timeline = timeline
            task.failure = failure
            task.reason = reason
            task.final_body = None
            return task

    def retire(self, task_id: str, ended_at: int) -> None:
        """The task has finished and been settled: it may be evicted from now on."""
        if self._max_kept or self._ttl_ms:
            with self._lock:
                self._retired.append((ended_at, task_id))

    def retire_many(self, ended: list[tuple[str, int]]) -> None:
        """`retire` each (task id, ended at) pair."""
        if self._max_kept or self._ttl_ms:
            with self._lock:
                self._retired.extend((ended_at, task_id) for task_id, ended_at in ended)

    def evict(self, now: int) -> int:
        """Forget retired tasks beyond `max_kept` or past `ttl_ms`; returns how many."""
        evicted = 0
        with self._lock:
            retired = self._retired
            while retired and self._expired(len(retired), retired[0][0], now):
                self._tasks.pop(retired.popleft()[1], None)
                evicted += 1
        return evicted

    def _expired(self, retired: int, ended_at: int, now: int) -> bool:
        over_count = bool(self._max_kept) and retired > self._max_kept
        return over_count or (bool(self._ttl_ms) and now - ended_at >= self._ttl_ms)

    def all(self) -> Iterator[Task]:
        """A snapshot of every task, oldest first."""
        with self._lock:
            tasks = list(self._tasks.values())
        return iter(tasks)

    def __len__(self) -> int:
        return len(self._tasks)

    def clear(self) -> None:
        """Forget every task."""
        with self._lock:
            self._tasks.clear()
            self._retired.clear()
            self._last_sequence = 0


def ended_now(timeline: Timeline, now: int) -> Timeline:
    """The same timeline, ending at `now` (processing starts no later than that)."""
    processing_at = min(timeline.processing_at, now)
    return replace(timeline, processing_at=max(processing_at, timeline.created_at), done_at=now)
