"""The tasks a settle judges, each read once: on a shared store, all in one round trip."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .stores import TaskStore
    from .tasks import Task


class EndedReads:
    """The tasks a settle judges, each read once (a shared store reads them in one step).

    It is the settle's `TaskFinished`: called for each task whose end is due.
    A store that knows which tasks it is about to ask about hands them all to
    `read_ahead` first, so a shared store reads them in one round trip, not
    one each; the same reads then serve the refunds and the retirements.
    """

    def __init__(self, tasks: TaskStore, finished: Callable[[str, int, EndedReads], bool]) -> None:
        self._tasks = tasks
        self._finished = finished
        self._read: dict[str, Task | None] = {}

    def __call__(self, task_id: str, now: int) -> bool:
        """Whether the task has finished by `now` (the admission's judgement)."""
        return self._finished(task_id, now, self)

    def read_ahead(self, task_ids: list[str]) -> None:
        """Read every task of `task_ids` not read yet, in one step."""
        missing = [task_id for task_id in dict.fromkeys(task_ids) if task_id not in self._read]
        if missing:
            found = self._tasks.get_many(missing)
            self._read.update(zip(missing, found, strict=True))

    def task(self, task_id: str) -> Task | None:
        """The task as read (read now if it was not)."""
        if task_id not in self._read:
            self._read[task_id] = self._tasks.get(task_id)
        return self._read[task_id]

    def forget(self, task_id: str) -> None:
        """Read the task again when next asked (its record may change meanwhile)."""
        self._read.pop(task_id, None)
