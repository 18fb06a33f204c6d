"""Read models: what the service shows of its state to the admin API, the handle and dashboards.

Each is a frozen snapshot built by `MockService` under its own rules (a
task's status is the very data a status read returns now). Nothing outside
the core needs the stores behind them. `to_json()` is the admin API's shape;
keys are full here: the web layer masks them (`auth.redact`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .callbacks.policy import Attempt
from .money import usd_number
from .scenarios import Scenario
from .tasks import Task
from .validation import SubmitRequest


def frozen_map(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """A read-only copy of `data`: a view is a snapshot nobody can change."""
    return MappingProxyType(dict(data))


@dataclass(frozen=True, slots=True)
class TaskView:
    """One task: who made it, its timeline (Unix ms), planned outcome and status data now.

    `fail_code` and `fail_msg` are the failure the task has or is set to end
    with; `status` is the status response's `data` exactly as a client reads it now.
    """

    task_id: str
    key: str
    model: str
    state: str
    reason: str
    scenario: str | None
    charge: int | float
    created_at: int
    processing_at: int
    done_at: int | None
    fail_code: str | None
    fail_msg: str | None
    request: Mapping[str, Any]
    status: Mapping[str, Any]
    submitted: SubmitRequest  # the parsed request, for typed access (`request` is its JSON)

    @classmethod
    def of(cls, task: Task, status: Mapping[str, Any]) -> TaskView:
        """The view of `task`, given its status data now."""
        submitted, timeline, failure = task.request, task.timeline, task.failure
        return cls(
            task_id=task.task_id,
            key=task.key,
            model=submitted.model,
            state=status["state"],
            reason=task.reason,
            scenario=task.scenario,
            charge=usd_number(task.charge_micros),
            created_at=timeline.created_at,
            processing_at=timeline.processing_at,
            done_at=timeline.done_at,
            fail_code=failure.code if failure else None,
            fail_msg=failure.message if failure else None,
            request=frozen_map(request_fields(submitted)),
            status=frozen_map(status),
            submitted=submitted,
        )

    def to_json(self) -> dict[str, Any]:
        """The admin API's task: state, timeline, rule, request and status data."""
        failure = None
        if self.fail_code is not None:
            failure = {"failCode": self.fail_code, "failMsg": self.fail_msg}
        return {
            "taskId": self.task_id,
            "key": self.key,
            "model": self.model,
            "state": self.state,
            "reason": self.reason,
            "scenario": self.scenario,
            "charge": self.charge,
            "timeline": {
                "createdAt": self.created_at,
                "processingAt": self.processing_at,
                "doneAt": self.done_at,
            },
            "failure": failure,
            "request": {**self.request, "image_urls": list(self.request["image_urls"])},
            "status": dict(self.status),
        }


def request_fields(request: SubmitRequest) -> dict[str, Any]:
    """The request fields as the admin API shows them."""
    return {
        "prompt": request.prompt,
        "aspect_ratio": request.aspect_ratio,
        "num_images": request.num_images,
        "image_urls": tuple(request.image_urls),
        "request_type": request.request_type,
        "callback_url": request.callback_url,
        "provider": request.provider,
    }


@dataclass(frozen=True, slots=True)
class AccountView:
    """One key's balance (USD), caps and count of unfinished tasks."""

    key: str
    balance: int | float
    rpm: int
    max_unfinished: int
    unfinished: int

    def to_json(self) -> dict[str, Any]:
        """The admin API's account."""
        return {
            "key": self.key,
            "balance": self.balance,
            "rpm": self.rpm,
            "maxUnfinished": self.max_unfinished,
            "unfinished": self.unfinished,
        }


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """One task's callback: where it goes, how far it got, and the effect applied to it."""

    task_id: str
    url: str
    state: str  # scheduled, delivering, delivered, failed or dropped
    attempts: int
    due_time: int
    next_attempt_time: int | None
    last_status: int | None
    last_error: str | None
    effect: Mapping[str, Any]

    @classmethod
    def from_json(cls, row: Mapping[str, Any]) -> DeliveryView:
        """From the dispatcher's summary row."""
        return cls(
            row["taskId"], row["url"], row["state"], row["attempts"], row["dueTime"],
            row["nextAttemptTime"], row["lastStatus"], row["lastError"],
            frozen_map(row["effect"]),
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        """The admin API's delivery summary."""
        return {
            "taskId": self.task_id,
            "url": self.url,
            "state": self.state,
            "attempts": self.attempts,
            "dueTime": self.due_time,
            "nextAttemptTime": self.next_attempt_time,
            "lastStatus": self.last_status,
            "lastError": self.last_error,
            "effect": dict(self.effect),
        }


@dataclass(frozen=True, slots=True)
class AttemptView:
    """One POST of one callback, as logged."""

    task_id: str
    url: str
    attempt: int
    due_time: int
    time: int
    status: int | None
    error: str | None
    latency_ms: float
    outcome: str  # delivered, retrying or failed

    @classmethod
    def from_json(cls, row: Mapping[str, Any]) -> AttemptView:
        """From the dispatcher's attempt row."""
        return cls(
            row["taskId"], row["url"], row["attempt"], row["dueTime"], row["time"],
            row["status"], row["error"], row["latencyMs"], row["outcome"],
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        """The admin API's attempt (the same fields as the attempt log's)."""
        return Attempt(
            self.task_id, self.url, self.attempt, self.due_time, self.time,
            self.status, self.error, self.latency_ms, self.outcome,
        ).to_json()  # fmt: skip


@dataclass(frozen=True, slots=True)
class RuleView:
    """A rule of a scenario: how often it may apply, and how often it still may."""

    name: str
    times: int | None
    remaining: int | None

    def to_json(self) -> dict[str, Any]:
        """The admin API's rule."""
        return {"name": self.name, "times": self.times, "remaining": self.remaining}


@dataclass(frozen=True, slots=True)
class ScenarioView:
    """A scenario: where it came from, the settings it overrides and its rules."""

    name: str
    description: str
    source: str
    settings: Mapping[str, Any]
    rules: tuple[RuleView, ...]

    @classmethod
    def of(cls, scenario: Scenario, rules: tuple[RuleView, ...]) -> ScenarioView:
        """The view of `scenario` with its rules' counts."""
        return cls(
            scenario.name,
            scenario.description,
            scenario.source,
            frozen_map(scenario.settings),
            rules,
        )

    def to_json(self) -> dict[str, Any]:
        """The admin API's scenario."""
        return {
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "settings": dict(self.settings),
            "rules": [rule.to_json() for rule in self.rules],
        }


@dataclass(frozen=True, slots=True)
class ClockView:
    """The mock's time (Unix ms), whether it stands still, and how far it is from real time."""

    now: int
    frozen: bool
    offset_ms: int

    def to_json(self) -> dict[str, Any]:
        """The admin API's clock."""
        return {"now": self.now, "frozen": self.frozen, "offsetMs": self.offset_ms}


@dataclass(frozen=True, slots=True)
class HealthView:
    """Up, with the version, a summary of the settings in force and background error count."""

    status: str
    version: str
    settings: Mapping[str, Any]
    tasks: int
    background_errors: int

    def to_json(self) -> dict[str, Any]:
        """The admin API's health answer."""
        return {
            "status": self.status,
            "version": self.version,
            "settings": dict(self.settings),
            "tasks": self.tasks,
            # Errors the background threads caught and survived (see docs/callbacks.md).
            "backgroundErrors": self.background_errors,
        }
