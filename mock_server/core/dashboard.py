"""MockService's read models for the dashboard: a page of tasks, a status body, rule use.

A mixin of the facade, kept apart by concept (admin_views.py holds the admin
API's). The dashboard (web/ui) reads these and the admin read models only;
it never touches a store.

A page of tasks must stay cheap with 100,000 tasks kept: rows are built
from the task records directly (no status rendering), newest first, and the
scan stops as soon as a page is full. A cursor (`before`: a task's sequence
number) pages on, so a page never counts or sorts the whole store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .admin_views import AdminViews
from .errors import InvalidRequest, TaskNotFound
from .lifecycle import State
from .money import usd_number
from .tasks import Task

STATES = tuple(state.value for state in State)
PAGE_SIZES = (25, 50, 100, 200)


@dataclass(frozen=True, slots=True)
class TaskFilter:
    """Which tasks a page shows; every field optional, all given ones must hold.

    `key` matches a task's full key or its last characters (keys are shown
    masked); `text` is looked for, case-insensitively, in the id and the prompt.
    """

    state: str | None = None
    model: str | None = None
    key: str | None = None
    text: str | None = None

    def __post_init__(self) -> None:
        if self.state is not None and self.state not in STATES:
            raise InvalidRequest(f"state: {self.state!r} is not one of {list(STATES)}")

    def fits(self, task: Task, now: int) -> bool:
        """Whether `task` passes every filter given."""
        if self.model is not None and task.request.model != self.model:
            return False
        if self.key is not None and not task.key.endswith(self.key):
            return False
        if self.text is not None:
            needle = self.text.lower()
            if needle not in task.task_id.lower() and needle not in task.request.prompt.lower():
                return False
        return self.state is None or task.state(now).value == self.state


@dataclass(frozen=True, slots=True)
class TaskRow:
    """One line of the task list: enough to find a task, not its whole story."""

    task_id: str
    key: str
    model: str
    state: str
    prompt: str
    created_at: int
    done_at: int | None
    charge: int | float
    sequence: int


@dataclass(frozen=True, slots=True)
class TaskPage:
    """A page of tasks, newest first; `older` is the cursor of the next page (None: last)."""

    rows: tuple[TaskRow, ...]
    older: int | None
    kept: int  # every task kept, whatever the filter


@dataclass(frozen=True, slots=True)
class RuleUse:
    """A rule of the active scenario and how many times it has fired."""

    name: str
    times: int | None
    remaining: int | None
    fired: int
    summary: str


class DashboardViews(AdminViews):
    """The dashboard's read models of MockService (see service.py)."""

    def task_page(
        self, where: TaskFilter, *, before: int | None = None, size: int = 50
    ) -> TaskPage:
        """Up to `size` tasks passing `where`, newest first, older than sequence `before`."""
        if size not in PAGE_SIZES:
            raise InvalidRequest(f"size: must be one of {list(PAGE_SIZES)}")
        now = self.clock.now_ms()
        rows: list[TaskRow] = []
        older = None
        for task in _newest_first(self.tasks.all(), before):
            if not where.fits(task, now):
                continue
            if len(rows) == size:
                older = rows[-1].sequence
                break
            rows.append(self._row(task, now))
        return TaskPage(tuple(rows), older, len(self.tasks))

    def _row(self, task: Task, now: int) -> TaskRow:
        self._resolve_check(task, now)  # a fetch-mode verdict, as a status read would see it
        return TaskRow(
            task.task_id,
            task.key,
            task.request.model,
            task.state(now).value,
            task.request.prompt,
            task.timeline.created_at,
            task.timeline.done_at,
            usd_number(task.charge_micros),
            task.sequence,
        )

    def task_status_body(self, task_id: str) -> bytes:
        """The status response body of a task exactly as its client reads it now."""
        task = self.tasks.get(task_id)
        if task is None:
            raise TaskNotFound()
        return self.status_body(task)

    def rule_uses(self) -> list[RuleUse]:
        """The active scenario's rules, in order, with how many times each has fired."""
        scenario = self.rules.active
        return [
            RuleUse(
                rule.name,
                rule.times,
                self.rules.remaining(scenario.name, rule),
                self.rules.fired(scenario.name, rule),
                _summary(rule.match, rule.effect),
            )
            for rule in scenario.rules
        ]


def _newest_first(tasks: Iterable[Task], before: int | None) -> Iterable[Task]:
    """Tasks newest first (the store keeps them oldest first), from `before` on."""
    ordered = reversed(list(tasks))
    if before is None:
        return ordered
    return (task for task in ordered if task.sequence < before)


def _summary(*parts: object) -> str:
    """A rule's match and effect in a line: only the fields set away from their defaults."""
    shown = []
    for part in parts:
        fields = getattr(part, "__dataclass_fields__", {})
        for name, spec in fields.items():
            value = getattr(part, name)
            if value != spec.default and value not in ((), None):
                shown.append(f"{name}={value}")
    return ", ".join(shown) or "every request"
