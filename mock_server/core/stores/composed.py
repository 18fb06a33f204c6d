"""A request's steps made of the stores' own calls, in the order a request needs them.

The default for every bundle without steps of its own: in memory each call
is a load or a short lock, so one step made of several costs nothing more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import (
    ClockReading,
    ClockStateStore,
    ScenarioStateStore,
    TaskStore,
    UnfinishedStore,
    WindowStore,
)
from .steps import Entered, Outlook

if TYPE_CHECKING:
    from ..tasks import Task
    from . import AccountStore


class ComposedGate:
    """`RequestGate` over separate stores: clock, scenario version, caps, window, task."""

    __slots__ = ("_accounts", "_clock", "_scenarios", "_tasks", "_windows")

    def __init__(
        self,
        clock: ClockStateStore,
        scenarios: ScenarioStateStore,
        accounts: AccountStore,
        windows: WindowStore,
        tasks: TaskStore,
    ) -> None:
        self._clock = clock
        self._scenarios = scenarios
        self._accounts = accounts
        self._windows = windows
        self._tasks = tasks

    def enter(self, key: str, assumed: ClockReading, now: int, task_id: str | None) -> Entered:
        """Count a request of `key` at `now`, then read the task `task_id` names."""
        reading = self._clock.reading
        version = self._scenarios.version()
        if reading != assumed:
            return Entered(reading, version, stale=True)
        self._windows.admit(key, now, self._accounts.limits(key).rpm)
        task = self._tasks.get(task_id) if task_id else None
        return Entered(reading, version, task=task)


class ComposedAdmission:
    """`AdmissionSteps` over separate stores (called under the admission transaction)."""

    __slots__ = ("_accounts", "_tasks", "_unfinished")
    lockless = False  # separate calls: only the admission transaction makes them one step

    def __init__(
        self, accounts: AccountStore, tasks: TaskStore, unfinished: UnfinishedStore
    ) -> None:
        self._accounts = accounts
        self._tasks = tasks
        self._unfinished = unfinished

    def look(self, key: str, now: int) -> Outlook:
        """The caps and counts of `key`; settling and eviction are left to run each time."""
        return Outlook(
            due=1,
            evictable=True,
            limits=self._accounts.limits(key),
            unfinished=self._unfinished.count(key),
            last_sequence=self._tasks.last_sequence(),
            balance_micros=self._accounts.balance_micros(key),
        )

    def commit(self, task: Task, insufficient_status: int, after: int | None = None) -> bool:
        """Charge, keep and count the task; the id is checked before any money moves."""
        if after is not None and self._tasks.last_sequence() != after:
            return False
        if self._tasks.get(task.task_id) is not None:
            raise KeyError(f"duplicate taskId {task.task_id}")
        self._accounts.charge(task.key, task.charge_micros, insufficient_status)
        self._tasks.add(task)
        self._unfinished.add(task.key, task.task_id, task.timeline.done_at)
        return True

    def known_sequence(self) -> int | None:
        """None: never lockless, so admission always looks (under the transaction)."""
        return None

    def commit_checked(
        self, task: Task, insufficient_status: int, after: int, now: int, settle_batch: int
    ) -> Outlook | None:
        """Commits nothing: the look says to take the lock (separate calls are no one step)."""
        return self.look(task.key, now)
