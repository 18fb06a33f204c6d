"""The in-memory stores: the default, for one process.

Tasks, accounts, unfinished counts and the journal are the classes beside
their concepts (`tasks.TaskStore`, `accounts.Accounts`, `limits.UnfinishedTasks`,
`journal.Journal`); this module adds the stores that have no other home and
assembles the bundle.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..accounts import Accounts
from ..journal import Journal
from ..limits import Limits, RequestWindow, UnfinishedTasks
from ..money import to_micros
from ..tasks import TaskStore
from . import ClockReading, Stores

if TYPE_CHECKING:
    # Annotations only: importing the callbacks package here would be circular.
    from ..callbacks.policy import Attempt
    from ..config import CoreConfig
    from ..scenarios import Scenario


class MemoryRuleCounters:
    """Rule counters in two dicts; the rule book calls them under its own lock."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], int] = {}
        self._fired: dict[tuple[str, str], int] = {}

    def see(self, slot: tuple[str, str]) -> int:
        """Count one matching request; returns the new count."""
        seen = self._seen.get(slot, 0) + 1
        self._seen[slot] = seen
        return seen

    def fire(self, slot: tuple[str, str], times: int | None) -> bool:
        """Count one firing unless `times` are counted already."""
        fired = self._fired.get(slot, 0)
        if times is not None and fired >= times:
            return False
        self._fired[slot] = fired + 1
        return True

    def fired(self, slot: tuple[str, str]) -> int:
        """How many times the rule has fired."""
        return self._fired.get(slot, 0)

    def forget(self, scenario: str) -> None:
        """Drop every counter of `scenario`'s rules."""
        for counters in (self._seen, self._fired):
            for slot in [s for s in counters if s[0] == scenario]:
                del counters[slot]

    def clear(self) -> None:
        """Drop every counter."""
        self._seen.clear()
        self._fired.clear()


class MemoryClockState:
    """The clock's (offset, frozen reading) as one tuple, swapped whole.

    `reading` is a plain attribute: a read (on every request) is one load, no lock.
    """

    __slots__ = ("_lock", "reading")

    def __init__(self, reading: ClockReading = (0, None)) -> None:
        self._lock = threading.Lock()
        self.reading = reading

    def update(self, change: Callable[[ClockReading], ClockReading]) -> ClockReading:
        """Apply `change` under the lock; returns the new state."""
        with self._lock:
            self.reading = change(self.reading)
            return self.reading


class MemoryScenarioState:
    """The active scenario, the library and the seed, for one process: plain attributes."""

    __slots__ = ("_active", "_library", "_lock", "_seed", "_version")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: Scenario | None = None
        self._version = 0
        self._library: dict[str, Scenario] = {}
        self._seed: int | None = None

    def claim_seed(self, seed: int) -> int:
        """`seed`, unless one was claimed before."""
        with self._lock:
            if self._seed is None:
                self._seed = seed
            return self._seed

    def version(self) -> int:
        """The active scenario's version."""
        return self._version

    def active(self) -> tuple[int, Scenario | None]:
        """The active scenario and its version."""
        with self._lock:
            return self._version, self._active

    def set_active(self, scenario: Scenario | None) -> int:
        """Make `scenario` the active one; returns the new version."""
        with self._lock:
            self._active = scenario
            self._version += 1
            return self._version

    def remember(self, scenario: Scenario) -> None:
        """Make `scenario` known by its name."""
        self._library[scenario.name] = scenario

    def recall(self, name: str) -> Scenario | None:
        """The scenario known by `name`, or None."""
        return self._library.get(name)

    def names(self) -> list[str]:
        """Every remembered scenario's name."""
        return list(self._library)


class AttemptLog:
    """The last `size` callback attempts in a ring buffer; locked by the dispatcher."""

    def __init__(self, size: int = 10_000) -> None:
        self._attempts: deque[Attempt] = deque(maxlen=size)

    def append(self, attempt: Attempt) -> None:
        """Log one attempt, dropping the oldest past the size."""
        self._attempts.append(attempt)

    def for_task(self, task_id: str) -> list[Attempt]:
        """Every logged attempt for `task_id`, oldest first."""
        return [a for a in self._attempts if a.task_id == task_id]

    def clear(self) -> None:
        """Forget every attempt."""
        self._attempts.clear()


def in_memory(config: CoreConfig) -> Stores:
    """Every store in memory, configured from `config`; one re-entrant lock for admission."""
    limits = Limits(rpm=config.rpm, max_unfinished=config.max_unfinished)
    return Stores(
        tasks=TaskStore(config.max_tasks, config.task_ttl_s * 1000),
        accounts=Accounts(to_micros(config.balance), limits),
        windows=RequestWindow(),
        unfinished=UnfinishedTasks(),
        journal=Journal(config.journal_size),
        rule_counters=MemoryRuleCounters(),
        scenario_state=MemoryScenarioState(),
        clock_state=MemoryClockState(),
        attempts=AttemptLog(),
        admission=threading.RLock(),
    )
