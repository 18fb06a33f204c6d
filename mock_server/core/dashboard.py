"""MockService's read models for the dashboard: a page of tasks, a status body, rule use.

A mixin of the facade, kept apart by concept (admin_views.py holds the admin
API's). The dashboard (web/ui) reads these and the admin read models only;
it never touches a store.

A page of tasks must stay cheap with 100,000 tasks kept: rows are built
from the task records directly (no status rendering), newest first; the scan
stops as soon as a page is full, and after `SCAN_LIMIT` tasks in any case. A
cursor (`before`: a task's sequence number, found by bisection) pages on, so
a page never counts, sorts or filters the whole store.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, is_dataclass
from itertools import islice
from operator import attrgetter

from .admin_views import AdminViews
from .errors import InvalidRequest, TaskNotFound
from .lifecycle import State
from .money import usd_number
from .tasks import Task

STATES = tuple(state.value for state in State)
PAGE_SIZES = (25, 50, 100, 200)
# The most tasks one page looks at: a filter matching nothing costs this much, not the store.
SCAN_LIMIT = 20_000


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
        return all(test(task) for test in self.tests(now))

    def tests(self, now: int) -> tuple[Callable[[Task], bool], ...]:
        """One small test per filter given, cheapest first: a full scan runs only these."""
        tests: list[Callable[[Task], bool]] = []
        model, key, text = self.model, self.key, self.text
        if model is not None:
            tests.append(lambda task: task.request.model == model)
        if key is not None:
            tests.append(lambda task: task.key.endswith(key))
        if self.state is not None:
            tests.append(_state_test(self.state, now))
        if text is not None:
            needle = text.lower()
            tests.append(
                lambda task: needle in task.request.prompt.lower() or needle in task.task_id.lower()
            )
        return tuple(tests)


def _state_test(state: str, now: int) -> Callable[[Task], bool]:
    """`task.state(now).value == state`, inlined: a scan of 100,000 tasks feels the calls."""
    if state == State.PENDING.value:
        return lambda task: now < task.timeline.processing_at
    if state == State.PROCESSING.value:
        return lambda task: task.timeline.processing_at <= now and not _ended(task, now)
    failed = state == State.FAILED.value
    return lambda task: _ended(task, now) and (task.failure is not None) == failed


def _ended(task: Task, now: int) -> bool:
    done_at = task.timeline.done_at
    return done_at is not None and now >= done_at


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
    limited: bool  # the scan stopped at SCAN_LIMIT tasks before the page was full


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
        """Up to `size` tasks passing `where`, newest first, older than sequence `before`.

        At most `SCAN_LIMIT` tasks are looked at: a filter that matches few
        tasks answers with fewer rows and a cursor to search on (`limited`).
        """
        if size not in PAGE_SIZES:
            raise InvalidRequest(f"size: must be one of {list(PAGE_SIZES)}")
        now = self.clock.now_ms()
        tasks = list(self.tasks.all())  # oldest first, so in sequence order
        end = len(tasks) if before is None else bisect_left(tasks, before, key=_sequence)
        start = max(0, end - SCAN_LIMIT)
        found: Iterable[Task] = reversed(tasks[start:end])
        for test in where.tests(now):
            found = filter(test, found)
        chosen = list(islice(found, size + 1))
        rows = tuple(self._row(task, now) for task in chosen[:size])
        if len(chosen) > size:
            return TaskPage(rows, rows[-1].sequence, len(tasks), limited=False)
        if start > 0:
            return TaskPage(rows, tasks[start].sequence, len(tasks), limited=True)
        return TaskPage(rows, None, len(tasks), limited=False)

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

    def key_usage(self) -> dict[str, int]:
        """Per key, how many of the tasks kept it made.

        The one read model that must see all 100,000 tasks: counted at C speed
        (a Python loop over them costs more than the page's whole budget).
        """
        return dict(Counter(map(attrgetter("key"), self.tasks.all())))

    def minute_usage(self, keys: Iterable[str]) -> dict[str, int]:
        """Per key, its requests in the last minute (what its per-minute cap counts)."""
        now = self.now_ms()
        return {key: self._window.used(key, now) for key in keys}

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


def _sequence(task: Task) -> int:
    return task.sequence


def _summary(match: object, effect: object) -> str:
    """A rule in a line, fields left at their defaults unsaid: "when ...; then ..."."""
    return f"when {_describe(match) or 'every submit'}; then {_describe(effect) or 'nothing'}"


def _describe(value: object) -> str:
    if is_dataclass(value) and not isinstance(value, type):
        shown = []
        for spec in fields(value):
            part = getattr(value, spec.name)
            if part != spec.default and part not in ((), None):
                shown.append(f"{spec.name} {_describe(part)}")
        return ", ".join(shown)
    if isinstance(value, re.Pattern):
        return f"/{value.pattern}/"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_describe(item) for item in value) + "]"
    return str(value)
