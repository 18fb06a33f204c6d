"""Waiting for tasks to finish: the admin clock against a mock, the documented rhythm elsewhere.

The docs advise: wait 20 s after submit, then poll every 3 s. Against a
mock with admin controls the suite moves the mock's clock instead of
sleeping. Every read is checked as it arrives (shape, taskId, times) and
against the previous one (states only move forward, a terminal body never
changes), so a wait is itself a test of the status endpoint.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .checks import TERMINAL, ContractViolation, check_history, status_data
from .client import AdminApi, ApiClient

# Clock steps against a mock (ms): fine at first to see pending and processing,
# then the documented 3 s interval.
_CLOCK_STEPS_MS = (250, 500, 1000, 2000, 3000)
_PROGRESS_EVERY_S = 5.0


class TaskTimeout(AssertionError):
    """A task did not finish within --apixo-task-timeout."""


@dataclass(slots=True)
class TaskRecord:
    """One submitted task and every envelope read of it, in order."""

    task_id: str
    images: int = 1
    aspect_ratio: str = "1:1"
    bodies: list[dict[str, Any]] = field(default_factory=list)
    error: AssertionError | None = None

    @property
    def state(self) -> str | None:
        """The state of the last read, or None before the first."""
        return str(self.bodies[-1]["data"]["state"]) if self.bodies else None

    @property
    def settled(self) -> bool:
        """Terminal, or broken (no use reading it again)."""
        return self.error is not None or self.state in TERMINAL

    def final(self) -> dict[str, Any]:
        """The terminal `data`; raises what went wrong while waiting, if anything did."""
        if self.error is not None:
            raise self.error
        if self.state not in TERMINAL:
            raise TaskTimeout(f"task {self.task_id} is still {self.state}")
        return dict(self.bodies[-1]["data"])


@dataclass(frozen=True, slots=True)
class PollPlan:
    """Real-time polling: first wait, interval, and the most a task may take (seconds)."""

    initial_s: float
    interval_s: float
    timeout_s: float


class Poller:
    """Reads tasks until they settle, by advancing the admin clock or by waiting."""

    def __init__(
        self,
        client: ApiClient,
        plan: PollPlan,
        clock: AdminApi | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.client = client
        self.plan = plan
        self.clock = clock
        self.progress = progress

    def read(self, record: TaskRecord) -> None:
        """Read a task once; a broken answer is kept in `record.error`."""
        try:
            answer = self.client.status(record.task_id)
            status_data(answer, record.task_id)
            record.bodies.append(answer.json())
            check_history(record.bodies[-2:])
        except ContractViolation as error:
            record.error = error

    def wait(self, records: Iterable[TaskRecord]) -> None:
        """Read every task until it settles (or times out), then once more for stability."""
        pending = [record for record in records if not record.settled]
        if self.clock is not None:
            self._wait_on_clock(pending)
        else:
            self._wait_in_real_time(pending)
        for record in pending:
            if record.error is None and record.settled:
                self.read(record)  # a terminal body must read the same again
            elif record.error is None:
                record.error = TaskTimeout(
                    f"task {record.task_id} still {record.state} after"
                    f" {self.plan.timeout_s:g} s (--apixo-task-timeout)"
                )

    def _wait_on_clock(self, records: Sequence[TaskRecord]) -> None:
        assert self.clock is not None
        advanced_ms, step = 0, 0
        while True:
            self._read_unsettled(records)
            if all(record.settled for record in records):
                return
            if advanced_ms >= self.plan.timeout_s * 1000:
                return
            delta = _CLOCK_STEPS_MS[min(step, len(_CLOCK_STEPS_MS) - 1)]
            self.clock.advance(delta)
            advanced_ms, step = advanced_ms + delta, step + 1

    def _wait_in_real_time(self, records: Sequence[TaskRecord]) -> None:
        started = time.monotonic()
        told = started
        time.sleep(self.plan.initial_s)
        while True:
            self._read_unsettled(records)
            now = time.monotonic()
            if all(record.settled for record in records) or now - started > self.plan.timeout_s:
                return
            if self.progress is not None and now - told >= _PROGRESS_EVERY_S:
                self.progress(_progress_line(records, now - started))
                told = now
            time.sleep(self.plan.interval_s)

    def _read_unsettled(self, records: Sequence[TaskRecord]) -> None:
        for record in records:
            if not record.settled:
                self.read(record)


def _progress_line(records: Sequence[TaskRecord], elapsed_s: float) -> str:
    """`waiting 23 s for 3 task(s): 2 processing, 1 success`."""
    counts: dict[str, int] = {}
    for record in records:
        state = "broken" if record.error is not None else str(record.state)
        counts[state] = counts.get(state, 0) + 1
    states = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    return f"waiting {elapsed_s:.0f} s for {len(records)} task(s): {states}"
