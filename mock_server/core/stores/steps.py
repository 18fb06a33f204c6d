"""A request's steps on the shared state, each one step so that Redis takes it in one round trip.

The stores' own methods are one atomic step each; a request needs several.
Where a bundle offers these (Redis), a request's first step (`RequestGate`)
and a submit's admission (`AdmissionSteps`) each cost one round trip; a
bundle without them gets the same steps made of its stores' calls (composed.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ..limits import Limits

if TYPE_CHECKING:
    from ..tasks import Task
    from . import ClockReading


# Not frozen: a frozen dataclass's __init__ costs several times more, on every request.
@dataclass(slots=True)
class Entered:
    """What a request's first step on the shared state found.

    `clock` is the clock's state then; if it was not the state assumed,
    `stale` is set and the step counted nothing (try again from `clock`).
    """

    clock: ClockReading
    scenario_version: int
    stale: bool = False
    task: Task | None = None  # the task asked for, read in the same step (None: none)


class RequestGate(Protocol):
    """A request's first step: count it in its key's window and read what it needs next.

    One step, so that a shared store answers it in one round trip: the
    clock's state, the active scenario's version, the per-minute count
    against the key's cap, and (for a status read) the task.
    """

    def enter(self, key: str, assumed: ClockReading, now: int, task_id: str | None) -> Entered:
        """Count a request of `key` at `now` (the time under the `assumed` clock state).

        If the clock's state is no longer `assumed`, count nothing and return
        it with `stale` set. Past the key's cap, `RateLimited`.
        """


@dataclass(slots=True)
class Outlook:
    """What admission reads before it decides: is anything due to settle or evict, the caps."""

    due: int  # tasks that may have ended by now (> 0: settle before counting)
    evictable: bool  # a retired task may be past the count or age: evict
    limits: Limits
    unfinished: int  # the key's unfinished tasks (as of the last settle)
    last_sequence: int
    balance_micros: int  # the key's balance (as of the last settle)


class AdmissionSteps(Protocol):
    """A submit's admission: look, then commit.

    Under the admission transaction; or, if `lockless`, outside it too: a
    commit given `after` (the last sequence looked at) takes place only if
    no task was admitted since, so a look and a commit need no lock around them.
    """

    lockless: bool

    def look(self, key: str, now: int) -> Outlook:
        """Everything admission reads of `key` at `now`, in one step."""

    def commit(self, task: Task, insufficient_status: int, after: int | None = None) -> bool:
        """Charge the task's key, keep the task and count it unfinished: all or nothing.

        `InsufficientCredits` (with `insufficient_status`) if the balance is
        short; `KeyError` if the task id is taken; False if `after` is given
        and the last sequence is no longer it. Each time, nothing changed.
        """

    def known_sequence(self) -> int | None:
        """The last sequence this process saw, to build a task on with no look (None: look)."""

    def commit_checked(
        self, task: Task, insufficient_status: int, after: int, now: int, settle_batch: int
    ) -> Outlook | None:
        """`commit` with no lock and no look before it (a `lockless` store's one step).

        None once committed. Else nothing changed, and the answer is what
        `look` at `now` gives: another task was admitted since `after`, or
        admission must take the lock (the key is at its unfinished cap, there
        are `settle_batch` ended tasks to settle or one to evict). Raises as `commit`.
        """
