"""Per-key throttling on the mock's clock: requests per minute and unfinished tasks.

The request window locks itself (every request passes it, and it need not wait
for a submit's admission); the unfinished count is checked under the caller's
admission lock together with the admission it guards, so concurrent requests
can never slip past a cap.
"""

from __future__ import annotations

import heapq
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .errors import RateLimited

WINDOW_MS = 60_000

# (task_id, now) -> whether that task has ended by now
TaskFinished = Callable[[str, int], bool]


@dataclass(frozen=True, slots=True)
class Limits:
    """The caps for one key."""

    rpm: int = 10_000
    max_unfinished: int = 1_000


def over_rpm(rpm: int, wait_ms: int) -> RateLimited:
    """The 429 for a key past `rpm` requests a minute, whose window has room in `wait_ms`."""
    return RateLimited(
        f"Rate limit exceeded: more than {rpm} requests per minute",
        retry_after_s=-(-wait_ms // 1000),
    )


class RequestWindow:
    """Sliding one-minute window of request times for each key.

    Keys are kept least recently seen first, so a key whose window has emptied
    is found at the front and freed: a key with no traffic for a minute costs
    nothing, and freeing costs amortised O(1) per request, never a scan.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: dict[str, deque[int]] = {}

    def admit(self, key: str, now: int, rpm: int) -> None:
        """Count a request, or raise `RateLimited` (with Retry-After) if the key is over `rpm`."""
        # Inline under the lock, not a helper call: every request passes here.
        with self._lock:
            times = self._times.pop(key, None)
            self._free_idle(now)  # before this key is back in: it is never freed mid-request
            if times is None:
                times = deque()
            self._times[key] = times  # re-inserted: now the most recently seen key
            while times and times[0] <= now - WINDOW_MS:
                times.popleft()
            if len(times) < rpm:
                times.append(now)
                return
            wait_ms = times[len(times) - rpm] + WINDOW_MS - now if rpm > 0 else WINDOW_MS
        raise over_rpm(rpm, wait_ms)

    def used(self, key: str, now: int) -> int:
        """How many of `key`'s requests fall in the minute before `now` (changes nothing)."""
        with self._lock:
            times = self._times.get(key, ())
            return sum(1 for at in times if at > now - WINDOW_MS)

    def _free_idle(self, now: int) -> None:
        """Drop the least recently seen keys whose last request has left the window."""
        while self._times:
            oldest = next(iter(self._times))
            times = self._times[oldest]
            if times and times[-1] > now - WINDOW_MS:
                return
            del self._times[oldest]

    def __len__(self) -> int:
        return len(self._times)

    def clear(self) -> None:
        """Forget every request."""
        with self._lock:
            self._times.clear()


class UnfinishedTasks:
    """Which tasks of each key have not finished yet, settled lazily against the clock.

    Finished tasks leave through a heap ordered by end time, so counting costs
    O(log n) per task over its life rather than a scan per request. An entry
    whose task was re-timed is stale: `settle` checks the task's current end.
    """

    def __init__(self) -> None:
        self._open: dict[str, set[str]] = {}
        self._ends: list[tuple[int, str, str]] = []

    def add(self, key: str, task_id: str, done_at: int | None) -> None:
        """Track a new unfinished task (`done_at=None`: it never ends by itself)."""
        self._open.setdefault(key, set()).add(task_id)
        if done_at is not None:
            heapq.heappush(self._ends, (done_at, key, task_id))

    def retime(self, key: str, task_id: str, done_at: int) -> None:
        """The task now ends at `done_at`."""
        heapq.heappush(self._ends, (done_at, key, task_id))

    def settle(self, now: int, is_finished: TaskFinished) -> list[tuple[str, str]]:
        """Drop tasks that have ended by `now`; returns their (key, task_id) pairs."""
        ended: list[tuple[str, str]] = []
        while self._ends and self._ends[0][0] <= now:
            _, key, task_id = heapq.heappop(self._ends)
            still_open = self._open.get(key)
            if still_open and task_id in still_open and is_finished(task_id, now):
                still_open.discard(task_id)
                if not still_open:
                    del self._open[key]  # a key with nothing unfinished costs nothing
                ended.append((key, task_id))
        return ended

    def count(self, key: str) -> int:
        """Unfinished tasks of `key` as of the last `settle`."""
        return len(self._open.get(key, ()))

    def admit(self, key: str, cap: int, now: int | None = None) -> None:
        """Raise `RateLimited` if `key` already has `cap` unfinished tasks.

        Retry-After counts to the earliest end among them (1 s if none is known);
        it is worked out only for a refusal, since it scans the key's tasks.
        """
        if self.count(key) < cap:
            return
        end = self.next_end(key) if now is not None else None
        wait_s = -(-(end - now) // 1000) if end is not None and now is not None and end > now else 1
        raise RateLimited(
            f"Rate limit exceeded: more than {cap} unfinished tasks", retry_after_s=wait_s
        )

    def next_end(self, key: str) -> int | None:
        """The earliest scheduled end among `key`'s tasks, to tell a client when to retry."""
        still_open = self._open.get(key, set())
        ends = [
            done for done, owner, task_id in self._ends if owner == key and task_id in still_open
        ]
        return min(ends) if ends else None

    def clear(self) -> None:
        """Forget every task."""
        self._open.clear()
        self._ends.clear()
