"""Waiting for tasks: bounded by the timeout, every read checked, a broken read kept."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from contract_tests.checks import ContractViolation
from contract_tests.client import ApiResponse
from contract_tests.polling import Poller, PollPlan, TaskRecord, TaskTimeout

FAST = PollPlan(initial_s=0.0, interval_s=0.001, timeout_s=0.05)
DONE = {"resultJson": '{"resultUrls":["https://r/x.png"]}', "createTime": 1767965610929}
DONE_TIMES = {**DONE, "completeTime": 1767965611929, "costTime": 1000}


@dataclass
class ScriptedApi:
    """Answers status reads from a list of data dicts (the last one repeats)."""

    states: list[dict[str, Any]]
    reads: int = 0

    def status(self, task_id: str | None, **options: Any) -> ApiResponse:
        data = self.states[min(self.reads, len(self.states) - 1)]
        self.reads += 1
        body = {"code": 200, "message": "success", "data": {"taskId": task_id, **data}}
        return ApiResponse("GET", "http://api.test/s", 200, {}, json.dumps(body))


@dataclass
class FakeClock:
    """Records how far the poller moved the mock's clock."""

    moves: list[int] = field(default_factory=list)

    def advance(self, ms: int) -> None:
        self.moves.append(ms)


def poller(
    states: list[dict[str, Any]], clock: FakeClock | None = None, plan: PollPlan = FAST
) -> Poller:
    """A poller reading scripted states."""
    return Poller(ScriptedApi(states), plan, clock)  # type: ignore[arg-type]


def test_clock_mode_advances_until_the_task_settles_then_reads_once_more() -> None:
    """pending, processing, success: two clock moves, and a last read for stability."""
    clock = FakeClock()
    record = TaskRecord("task_1")
    poller(
        [{"state": "pending"}, {"state": "processing"}, {"state": "success", **DONE_TIMES}],
        clock,
        PollPlan(initial_s=0.0, interval_s=0.0, timeout_s=10.0),  # 10 s of mock time
    ).wait([record])
    assert [body["data"]["state"] for body in record.bodies] == [
        "pending",
        "processing",
        "success",
        "success",
    ]
    assert clock.moves == [250, 500]
    assert record.final()["state"] == "success"


def test_real_time_mode_gives_up_at_the_timeout() -> None:
    """A task that never ends is a TaskTimeout, not an endless loop."""
    record = TaskRecord("task_2")
    poller([{"state": "processing"}]).wait([record])
    with pytest.raises(TaskTimeout, match="still processing"):
        record.final()


def test_a_state_going_back_is_kept_as_the_tasks_error() -> None:
    """success then processing: the wait stops reading it and keeps the violation."""
    record = TaskRecord("task_3")
    poller([{"state": "success", **DONE_TIMES}, {"state": "processing"}]).wait([record])
    with pytest.raises(ContractViolation, match=r"^status\.terminal-stable: "):
        record.final()
