"""The request gate made of the other stores: one call to each, in the order a request needs.

The default for every bundle without a gate of its own: in memory each call
is a load or a short lock, so one step made of several costs nothing more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import ClockReading, ClockStateStore, Entered, ScenarioStateStore, TaskStore, WindowStore

if TYPE_CHECKING:
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
