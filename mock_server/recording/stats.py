"""Timing a recording shows, per model, and the timing profile it implies.

Pending and processing durations are inferred from reads: a state ended
somewhere between the last read that showed it and the first read past it,
so the estimate is the midpoint, measured on the recording's clock from the
submit's `recordedAt`. costTime is the service's own figure.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..core.timing import PROFILES, Timing
from .exchange import Exchange

_ORDER = MappingProxyType({"pending": 0, "processing": 1, "success": 2, "failed": 2})


@dataclass(slots=True)
class ModelTiming:
    """Durations of one model's tasks in a recording, in milliseconds."""

    tasks: int = 0
    pending_ms: list[int] = field(default_factory=list)
    processing_ms: list[int] = field(default_factory=list)
    cost_time_ms: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """min / median / p90 / max of each duration (None where the recording shows none)."""
        return {
            "tasks": self.tasks,
            "pendingMs": spread(self.pending_ms),
            "processingMs": spread(self.processing_ms),
            "costTimeMs": spread(self.cost_time_ms),
        }


@dataclass(slots=True)
class _Task:
    model: str
    submitted: int
    reads: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)


def spread(values: Sequence[int]) -> dict[str, int] | None:
    """min, median, p90 (nearest rank) and max of some durations, or None."""
    if not values:
        return None
    ordered = sorted(values)
    p90 = ordered[max(0, -(-len(ordered) * 9 // 10) - 1)]
    median = round(statistics.median(ordered))
    return {"min": ordered[0], "median": median, "p90": p90, "max": ordered[-1]}


def realistic() -> dict[str, int]:
    """The mock's `realistic` profile, for comparison."""
    return profile_dict(PROFILES["realistic"])


def profile_dict(timing: Timing) -> dict[str, int]:
    """A timing as the settings keys that configure it."""
    return {
        "pending_ms": timing.pending_ms,
        "processing_min_ms": timing.processing_min_ms,
        "processing_max_ms": timing.processing_max_ms,
    }


def timing_stats(exchanges: Sequence[Exchange]) -> dict[str, ModelTiming]:
    """Per model: each task's pending and processing estimate and its costTime."""
    tasks = _tasks(exchanges)
    models: dict[str, ModelTiming] = {}
    for task in tasks.values():
        timing = models.setdefault(task.model, ModelTiming())
        timing.tasks += 1
        _measure(task, timing)
    return models


def emitted_profile(models: dict[str, ModelTiming]) -> dict[str, int] | None:
    """Settings that make the mock time tasks like the recording (None: too little data)."""
    pending = [value for timing in models.values() for value in timing.pending_ms]
    processing = [value for timing in models.values() for value in timing.processing_ms]
    if not processing:
        return None
    return {
        "pending_ms": round(statistics.median(pending)) if pending else 0,
        "processing_min_ms": min(processing),
        "processing_max_ms": max(processing),
    }


def _tasks(exchanges: Sequence[Exchange]) -> dict[str, _Task]:
    """Submitted tasks with the status reads recorded for each, in order."""
    tasks: dict[str, _Task] = {}
    for exchange in exchanges:
        if exchange.kind != "api" or exchange.response.get("status") != 200 or not exchange.task_id:
            continue
        path = str(exchange.request.get("path", ""))
        if "/generateTask/" in path:
            model = exchange.model or "unknown"
            tasks[exchange.task_id] = _Task(model, exchange.recorded_ms)
        elif "/statusTask/" in path and exchange.task_id in tasks:
            body = exchange.response.get("body")
            data = body.get("data") if isinstance(body, dict) else None
            if isinstance(data, dict):
                tasks[exchange.task_id].reads.append(
                    (exchange.recorded_ms, str(data.get("state")), data)
                )
    return tasks


def _measure(task: _Task, timing: ModelTiming) -> None:
    """Add one task's estimates to its model's figures."""
    pending_end = _ended(task, "pending")
    if pending_end is not None:
        timing.pending_ms.append(pending_end - task.submitted)
    final = next((data for _, state, data in task.reads if state in ("success", "failed")), None)
    cost = final.get("costTime") if final else None
    if isinstance(cost, int) and not isinstance(cost, bool):
        timing.cost_time_ms.append(cost)
        if pending_end is not None:
            timing.processing_ms.append(max(0, cost - (pending_end - task.submitted)))
        return
    processing_end = _ended(task, "processing")
    if processing_end is not None and pending_end is not None:
        timing.processing_ms.append(processing_end - pending_end)


def _ended(task: _Task, state: str) -> int | None:
    """When `state` ended: midway between the last read in it (or the submit) and the next read.

    Only when that next read shows the very next state: a pending read followed
    by a success says nothing about when processing began.
    """
    last_in = task.submitted if state == "pending" else None
    for moment, seen, _ in task.reads:
        if seen == state:
            last_in = moment
        elif _after(seen, state):
            return (last_in + moment) // 2 if last_in is not None and _next(seen, state) else None
    return None


def _next(seen: str, state: str) -> bool:
    return _ORDER.get(seen, -1) == _ORDER[state] + 1


def _after(seen: str, state: str) -> bool:
    return _ORDER.get(seen, -1) > _ORDER[state]
