"""Where the core keeps state: small interfaces (Protocols), one per kind of state.

The service reaches every piece of state through these, so a second
implementation (shared state for several processes, e.g. Redis) replaces the
in-memory one (`memory.py`, the default) without touching the web layer,
the admin API or the plugin. Each method is one atomic step of its store.

Admission (the unfinished-task cap, the charge and the insert) and settling
span several stores; the service runs them inside `Stores.admission`, one
transaction over the whole bundle: a lock in memory, a transaction or Lua
script in Redis. Reads on the hot paths (a task by id, a key's caps, the
clock) take no such transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..lifecycle import Failure, Timeline
from ..limits import Limits, TaskFinished

if TYPE_CHECKING:
    from ..callbacks.policy import Attempt, SendResult
    from ..callbacks.records import DeliveryRecord, Work

    # An attempt to settle: its work, the send's index in it, its result, its retry's due time.
    Settling = tuple[Work, int, SendResult, int | None]
    from ..config import CoreConfig
    from ..journal import Entry
    from ..scenarios import Scenario
    from ..tasks import Task
    from .steps import AdmissionSteps, RequestGate

# The clock's state: (offset from the wall clock in ms, the frozen reading or None).
ClockReading = tuple[int, "int | None"]


class TaskStore(Protocol):
    """Tasks by id, kept until they have finished, settled and aged out."""

    def add(self, task: Task) -> None:
        """Keep a new task; its id must be unused (`KeyError` otherwise)."""

    def last_sequence(self) -> int:
        """The highest `sequence` of any task added since the last `clear` (0: none).

        Read inside the admission transaction, so that processes sharing the
        store number (and, when seeded, name) their tasks as one server would.
        """

    def get(self, task_id: str) -> Task | None:
        """The task with this id, whoever owns it."""

    def get_many(self, task_ids: list[str]) -> list[Task | None]:
        """The tasks with these ids, in order (None: not kept): one step on a shared store."""

    def owned(self, task_id: str, key: str) -> Task | None:
        """The task if `key` created it: another key's task does not exist for it."""

    def retime(
        self, task_id: str, timeline: Timeline, failure: Failure | None, reason: str
    ) -> Task:
        """Give an unfinished task a new end (and outcome); returns the updated task."""

    def retire(self, task_id: str, ended_at: int) -> None:
        """The task has finished and been settled: it may be evicted from now on."""

    def retire_many(self, ended: list[tuple[str, int]]) -> None:
        """`retire` each (task id, ended at) pair: one step on a shared store."""

    def evict(self, now: int) -> int:
        """Forget retired tasks past the store's count or age limit; returns how many."""

    def all(self) -> Iterator[Task]:
        """A snapshot of every task, oldest first."""

    def __len__(self) -> int:
        """How many tasks are kept."""

    def clear(self) -> None:
        """Forget every task."""


class AccountStore(Protocol):
    """Every key's balance (micro-USD) and cap overrides, opened on first write."""

    def defaults(self, balance_micros: int, limits: Limits) -> None:
        """New defaults: the balance for keys opened from now on, the caps for all."""

    def balance_micros(self, key: str) -> int:
        """The key's balance (the default for a key with no account; opens none)."""

    def limits(self, key: str) -> Limits:
        """The caps in force for `key` (opens no account; called on every request)."""

    def charge(self, key: str, micros: int, status: int = 400) -> None:
        """Take `micros` or raise `InsufficientCredits` (with `status`)."""

    def refund(self, key: str, micros: int) -> None:
        """Give `micros` back (a failed task's charge)."""

    def set_balance(self, key: str, micros: int) -> None:
        """Set a key's balance outright (`ValueError` if negative)."""

    def set_limits(
        self, key: str, *, rpm: int | None = None, max_unfinished: int | None = None
    ) -> None:
        """Override a key's caps; `None` leaves a cap as it is."""

    def opened(self) -> list[str]:
        """Every key with an account."""

    def clear(self) -> None:
        """Forget every account."""


class WindowStore(Protocol):
    """Each key's requests in the last minute; `admit` is atomic on its own."""

    def admit(self, key: str, now: int, rpm: int) -> None:
        """Count a request, or raise `RateLimited` (with Retry-After) past `rpm`."""

    def used(self, key: str, now: int) -> int:
        """How many of `key`'s requests fall in the minute before `now` (changes nothing)."""

    def __len__(self) -> int:
        """How many keys have requests in their window."""

    def clear(self) -> None:
        """Forget every request."""


class UnfinishedStore(Protocol):
    """Which tasks of each key have not finished, settled lazily against the clock."""

    def add(self, key: str, task_id: str, done_at: int | None) -> None:
        """Track a new unfinished task (`done_at=None`: it never ends by itself)."""

    def retime(self, key: str, task_id: str, done_at: int) -> None:
        """The task now ends at `done_at`."""

    def settle(self, now: int, is_finished: TaskFinished) -> list[tuple[str, str]]:
        """Drop tasks that have ended by `now`; returns their (key, task_id) pairs."""

    def count(self, key: str) -> int:
        """Unfinished tasks of `key` as of the last `settle`."""

    def admit(self, key: str, cap: int, now: int | None = None) -> None:
        """Raise `RateLimited` if `key` already has `cap` unfinished tasks."""

    def clear(self) -> None:
        """Forget every task."""


class JournalStore(Protocol):
    """The last requests the server answered, newest last, bounded."""

    def record(self, entry: Entry) -> None:
        """Keep one entry, dropping the oldest past the size."""

    def entries(
        self,
        *,
        path: str | None = None,
        status: int | None = None,
        task_id: str | None = None,
        limit: int | None = None,
    ) -> list[Entry]:
        """Entries matching every filter given (path by prefix), oldest first."""

    def clear(self) -> None:
        """Forget every entry."""


class RuleCounterStore(Protocol):
    """Per rule (scenario name, rule name): requests seen and times fired."""

    def see(self, slot: tuple[str, str]) -> int:
        """Count one matching request; returns the new count (1 for the first)."""

    def fire(self, slot: tuple[str, str], times: int | None) -> bool:
        """Count one firing unless `times` firings are counted already; whether it fired."""

    def fired(self, slot: tuple[str, str]) -> int:
        """How many times the rule has fired."""

    def forget(self, scenario: str) -> None:
        """Drop every counter of `scenario`'s rules."""

    def clear(self) -> None:
        """Drop every counter."""


class ScenarioStateStore(Protocol):
    """What every process serving one mock must agree on besides the other stores.

    The active scenario (its rules, and the settings it overrides), the
    scenarios known by name, and the seed of an unseeded mock. Each write of
    the active scenario gets a new version, so a process notices another's
    change with one cheap read (`version`) and follows it.
    """

    def claim_seed(self, seed: int) -> int:
        """The shared seed: `seed` if none is kept yet, else the one kept."""

    def version(self) -> int:
        """The active scenario's version; read on every request, so keep it cheap."""

    def active(self) -> tuple[int, Scenario | None]:
        """The active scenario (None: none) and its version."""

    def set_active(self, scenario: Scenario | None) -> int:
        """Make `scenario` the active one (None: none); returns the new version."""

    def remember(self, scenario: Scenario) -> None:
        """Make `scenario` known by its name (replacing one of the same name)."""

    def recall(self, name: str) -> Scenario | None:
        """The scenario known by `name`, or None."""

    def names(self) -> list[str]:
        """Every scenario's name known through `remember`."""


class AttemptLogStore(Protocol):
    """The last callback attempts (POSTs), bounded; the dispatcher calls it under its lock."""

    def append(self, attempt: Attempt) -> None:
        """Log one attempt, dropping the oldest past the size."""

    def for_task(self, task_id: str) -> list[Attempt]:
        """Every logged attempt for `task_id`, oldest first."""

    def clear(self) -> None:
        """Forget every attempt."""


class DeliveryStore(Protocol):
    """Callback deliveries: their records, the queue of due work, leases, the attempt log.

    The dispatcher keeps no delivery state of its own: it claims due work,
    sends it, and settles each attempt here. A claim moves work out of the
    queue atomically, so one owner (a process's dispatcher) sends it; a store
    shared by several processes gives each claim a lease, and work whose
    owner died unsettled is claimed again once the lease runs out.
    """

    @property
    def poll_s(self) -> float | None:
        """How often to look for work nobody announced in this process (None: never)."""

    @property
    def claim_limit(self) -> int | None:
        """Most works to hold unsent at once (None: no limit; leases make one necessary)."""

    def schedule(self, delivery: DeliveryRecord) -> None:
        """Keep a new delivery (replacing the task's earlier one); it starts at `due_ms`."""

    def reschedule(self, task_id: str, due_ms: int) -> bool:
        """Move a delivery whose first attempt is not yet due; False if there is none."""

    def redeliver(self, task_id: str, now: int) -> bool:
        """Queue a fresh attempt chain due at `now`; False if the task has no delivery."""

    def drop(self, task_id: str) -> bool:
        """Forget one delivery (its queued work goes stale); False if there was none."""

    def claim(self, now: int, owner: str, limit: int, reorder_window_ms: int) -> list[Work]:
        """Take up to `limit` works due at `now` (and expired leases) for `owner`, atomically.

        A first attempt falling due applies the delivery's effect here: drop,
        copies, and reorder (held in a batch that closes `reorder_window_ms` later).
        """

    def renew(self, tokens: list[str], owner: str) -> set[str]:
        """Restart the leases of works about to be sent; the tokens `owner` still holds."""

    def settle(
        self,
        work: Work,
        index: int,
        owner: str,
        result: SendResult,
        now: int,
        retry_due_ms: int | None,
    ) -> Attempt | None:
        """Record the attempt of `work.sends[index]` and queue its retry (None: none left).

        One step; the work's lease ends with its last send. None if the attempt no longer
        counts: the delivery was replaced or forgotten, or the lease was lost.
        """

    def settle_later(
        self,
        work: Work,
        index: int,
        owner: str,
        result: SendResult,
        now: int,
        retry_due_ms: int | None,
    ) -> Callable[[], Attempt | None]:
        """`settle`, on its way to the store when this returns; calling the result reads it.

        A sender sends its next callbacks before it reads the outcomes, so that a
        shared store's round trips overlap those POSTs. One thread may settle
        several times before it reads; each outcome is its own, read in any order.
        """

    def settle_all_later(
        self, settles: Sequence[Settling], owner: str, now: int
    ) -> list[Callable[[], Attempt | None]]:
        """`settle_later` of several attempts, (work, index, result, retry due) each, in one
        step: one round trip to a shared store. Each outcome is its own, as there."""

    def has_due(self, now: int) -> bool:
        """Whether any queued work is due at `now`."""

    def next_due_ms(self) -> int | None:
        """When the earliest queued work falls due (it may have gone stale since)."""

    def deliveries(self, task_id: str | None = None) -> list[DeliveryRecord]:
        """Every delivery (or the task's), in due order, then in order of first schedule."""

    def attempts(self, task_id: str) -> list[Attempt]:
        """Every logged attempt for `task_id`, oldest first."""

    def pending_count(self) -> int:
        """Deliveries not yet finished: scheduled or delivering."""

    def clear(self) -> None:
        """Forget every delivery, queued work, lease and attempt."""


class ClockStateStore(Protocol):
    """The mock clock's state: its offset from the wall clock and its frozen reading."""

    @property
    def reading(self) -> ClockReading:
        """The current (offset_ms, frozen_at); read on every request, so keep it cheap."""

    def update(self, change: Callable[[ClockReading], ClockReading]) -> ClockReading:
        """Apply `change` to the state atomically; returns the new state."""


@dataclass(frozen=True, slots=True)
class Stores:
    """Every store a `MockService` keeps state in, and the transaction that spans them.

    `admission` is entered (re-entrantly) for every step that must see and
    change several stores at once: admission, settling, admin writes.
    """

    tasks: TaskStore
    accounts: AccountStore
    windows: WindowStore
    unfinished: UnfinishedStore
    journal: JournalStore
    rule_counters: RuleCounterStore
    scenario_state: ScenarioStateStore
    clock_state: ClockStateStore
    attempts: AttemptLogStore
    admission: AbstractContextManager[Any]
    # None (the default): deliveries in this process's memory, logging to `attempts`,
    # so that replacing `attempts` alone still takes every attempt.
    deliveries: DeliveryStore | None = None
    # None (the default): the request's steps made of the stores above, one call each.
    gate: RequestGate | None = None
    admission_steps: AdmissionSteps | None = None
    # What to release when the service closes (a Redis bundle: its connections).
    close: Callable[[], None] | None = None

    @classmethod
    def in_memory(cls, config: CoreConfig) -> Stores:
        """The default: everything in this process's memory, one lock for admission."""
        from .memory import in_memory

        return in_memory(config)

    @classmethod
    def open(cls, config: CoreConfig) -> Stores:
        """The stores `config.store` names: in memory (None) or a Redis URL."""
        if config.store is None:
            return cls.in_memory(config)
        from .redis.stores import redis_stores

        return redis_stores(config)
