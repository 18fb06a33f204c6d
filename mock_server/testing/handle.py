"""MockHandle: what a test holds to drive one mock: its URL and key, its clock and its state.

The handle talks to the in-process `MockService` directly, not through the
admin API: no HTTP round trip, typed answers, and no admin token to carry.
`MockServer` is a handle; the pytest plugin's `apixo_mock` fixture yields one.

Time is in seconds here, as Python's own time functions count it; the
service and the admin API count milliseconds.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, TypeAlias

from ..core.errors import TaskNotFound
from ..core.journal import Entry
from ..core.lifecycle import State
from ..core.scenario_files import resolve_scenario, scenario_from_document
from ..core.scenarios import Scenario
from ..core.service import MockService
from ..core.validation import SubmitRequest
from ..core.views import TaskView

DEFAULT_API_KEY: Final = "test-key"
CALLBACK_WAIT_S: Final = 5.0  # how long advance() lets due callbacks finish
_POLL_S: Final = 0.02  # polling step of wait_for on a running clock
_ORDER: Final = MappingProxyType(
    {State.PENDING: 0, State.PROCESSING: 1, State.SUCCESS: 2, State.FAILED: 2}
)

# A shipped scenario's name, a YAML path, a list of rules (as in a scenario file's
# `rules`), a whole scenario document, or a `Scenario`.
ScenarioSpec: TypeAlias = (
    str | os.PathLike[str] | Sequence[Mapping[str, Any]] | Mapping[str, Any] | Scenario
)


class StateUnreachable(AssertionError):
    """`wait_for` asked for a state the task can never reach (it ended otherwise, or never ends).

    An AssertionError, so pytest reports it as a failed expectation.
    """


@dataclass(frozen=True, slots=True)
class TaskInfo:
    """A snapshot of one task: request, timeline (Unix ms), outcome, and its status data now."""

    task_id: str
    key: str
    state: str
    request: SubmitRequest
    created_at: int
    processing_at: int
    done_at: int | None
    fail_code: str | None
    fail_msg: str | None
    reason: str
    status: Mapping[str, Any]  # the status response's `data`, as the API sends it now

    @property
    def result_urls(self) -> list[str]:
        """The result image URLs (empty unless the task succeeded)."""
        raw = self.status.get("resultJson")
        return list(json.loads(raw)["resultUrls"]) if raw else []


@dataclass(frozen=True, slots=True)
class CallbackInfo:
    """What the mock did with one task's callback so far."""

    task_id: str
    url: str
    state: str  # scheduled, delivering, delivered, failed or dropped
    attempts: int
    last_status: int | None
    last_error: str | None

    @classmethod
    def from_json(cls, row: Mapping[str, Any]) -> CallbackInfo:
        """From the dispatcher's JSON-ready summary (the admin API's shape)."""
        return cls(
            row["taskId"], row["url"], row["state"], row["attempts"],
            row["lastStatus"], row["lastError"],
        )  # fmt: skip


def to_scenario(spec: ScenarioSpec) -> Scenario:
    """A `Scenario` from any `ScenarioSpec`; `ConfigError` names the file or field at fault."""
    if isinstance(spec, Scenario):
        return spec
    if isinstance(spec, (str, os.PathLike)):
        return resolve_scenario(os.fspath(spec))
    if isinstance(spec, Mapping):
        return scenario_from_document(dict(spec), source="inline")
    return scenario_from_document({"name": "inline", "rules": list(spec)}, source="inline")


class MockHandle:
    """Drives one mock service: clock, scenarios, accounts, and what it has seen.

    Subclasses provide `base_url` (`MockServer` does). `scenario` is re-applied
    by `reset()`, so a shared server starts every test the same way.
    """

    def __init__(
        self,
        service: MockService,
        api_key: str = DEFAULT_API_KEY,
        *,
        scenario: ScenarioSpec | None = None,
        callback_wait_s: float = CALLBACK_WAIT_S,
    ) -> None:
        self.service = service
        self.api_key = api_key
        self.callback_wait_s = callback_wait_s
        self._scenario = to_scenario(scenario) if scenario is not None else None
        if self._scenario is not None:
            service.use_scenario(self._scenario)

    @property
    def base_url(self) -> str:
        """`http://host:port` of the mock (provided by the server)."""
        raise NotImplementedError

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header for `api_key`."""
        return {"Authorization": f"Bearer {self.api_key}"}

    # -- time ------------------------------------------------------------------

    def now(self) -> float:
        """The mock's current time in Unix seconds (as `time.time()` counts)."""
        return self.service.clock_view().now / 1000

    def advance(self, seconds: float) -> None:
        """Move the mock clock forward, then let callbacks due by then be delivered.

        Waits at most `callback_wait_s` real seconds for deliveries in flight
        (a receiver told to hang can hold them longer; the test then sees them undelivered).
        """
        if not seconds >= 0 or math.isinf(seconds):  # also refuses NaN
            raise ValueError(f"the clock only advances forwards by a finite step, got {seconds} s")
        # ClockOutOfRange (a ValueError) if that would pass the clock's bound.
        self.service.advance_clock(round(seconds * 1000))
        self._settle_callbacks()

    def _settle_callbacks(self) -> None:
        self.service.wait_for_callbacks(self.callback_wait_s)

    # -- tasks -----------------------------------------------------------------

    def task(self, task_id: str) -> TaskInfo:
        """One task by id, whichever key made it; `LookupError` if there is none."""
        return _info(self._view(task_id))

    def tasks(self, state: str | None = None) -> list[TaskInfo]:
        """Every task (any key), oldest first, optionally only those in `state`."""
        found = (_info(view) for view in self.service.task_views())
        return [info for info in found if state is None or info.state == state]

    def wait_for(self, task_id: str, state: str = "success", timeout: float = 10.0) -> TaskInfo:
        """Bring a task to `state` and return it; `StateUnreachable` if it never gets there.

        On a frozen clock this advances the clock to the moment the task gets
        there (no real waiting); on a running clock it polls for at most
        `timeout` real seconds, then raises `TimeoutError`.
        """
        target = _target(state)
        view = self._view(task_id)
        if self.service.clock_view().frozen:
            self._advance_to(view, target)
        else:
            self._poll(view, target, timeout)
        self._settle_callbacks()
        return self.task(task_id)

    def _advance_to(self, view: TaskView, target: State) -> None:
        if view.state != target.value:
            _check_reachable(view, target)
            now = self.service.clock_view().now
            # _check_reachable has rejected a terminal target on a task that never ends.
            due = view.processing_at if target is State.PROCESSING else view.done_at
            self.service.advance_clock(max(0, (due or now) - now))
            view = self._view(view.task_id)
        if view.state != target.value:
            raise StateUnreachable(_describe(_info(view), target))

    def _poll(self, view: TaskView, target: State, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pause = threading.Event()  # never set: a bounded wait between reads
        while (view := self._view(view.task_id)).state != target.value:
            _check_reachable(view, target)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"task {view.task_id} is still {view.state} after {timeout} s")
            pause.wait(min(left, _POLL_S))

    def _view(self, task_id: str) -> TaskView:
        # The service settles a fetch-mode reference check first, as a status read would.
        try:
            return self.service.task_view(task_id)
        except TaskNotFound:
            raise LookupError(f"no task {task_id!r} in this mock") from None

    # -- scenarios, accounts, records ------------------------------------------

    def use_scenario(self, spec: ScenarioSpec) -> Scenario:
        """Make a scenario active until the next `use_scenario`, `clear_scenario` or `reset`."""
        scenario = to_scenario(spec)
        self.service.use_scenario(scenario)
        return scenario

    def clear_scenario(self) -> None:
        """No active rules, and the start-up settings again."""
        self.service.clear_scenario()

    def set_balance(self, usd: float | str, key: str | None = None) -> None:
        """Set a key's balance in USD (default key: `api_key`); a str keeps cents exact."""
        self.service.update_account(key or self.api_key, balance=usd)

    def set_limits(
        self, *, rpm: int | None = None, max_unfinished: int | None = None, key: str | None = None
    ) -> None:
        """Set a key's requests per minute and/or unfinished-task cap (default key: `api_key`)."""
        self.service.update_account(key or self.api_key, rpm=rpm, max_unfinished=max_unfinished)

    def callbacks(self, task_id: str | None = None) -> list[CallbackInfo]:
        """Callback deliveries the mock scheduled or made, in due order."""
        views = self.service.deliveries(task_id=task_id)
        return [CallbackInfo.from_json(view.to_json()) for view in views]

    def journal(
        self, *, path: str | None = None, status: int | None = None, task_id: str | None = None
    ) -> list[Entry]:
        """API requests the mock answered, oldest first (path filters by prefix)."""
        return self.service.journal_entries(path=path, status=status, task_id=task_id)

    def reset(self) -> None:
        """Back to the start-up state (clock included), with the handle's scenario re-applied."""
        self.service.reset()
        if self._scenario is not None:
            self.service.use_scenario(self._scenario)

    def submit(self, model: str, body: Mapping[str, Any], key: str | None = None) -> str:
        """POST `body` to `model`'s submit endpoint over HTTP; the new task's id.

        Goes through the served API (auth, validation, billing, journal) as a
        client would, with `key` or the handle's key. A refusal raises
        ValueError carrying the API's error envelope (code and message).
        """
        import urllib.error  # here, not at the top: the move of this file carries one method
        import urllib.request

        request = urllib.request.Request(
            f"{self.base_url}/api/v1/generateTask/{model}",
            data=json.dumps(body).encode(),
            headers={
                "Authorization": f"Bearer {key or self.api_key}",
                "Content-Type": "application/json",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                answer = json.loads(reply.read())
        except urllib.error.HTTPError as error:
            envelope = json.loads(error.read() or b"{}")
            raise ValueError(f"{model} submit refused: {envelope}") from None
        return str(answer["data"]["taskId"])


def _target(state: str) -> State:
    """The state `wait_for` was asked for, or a ValueError that lists the valid ones."""
    try:
        return State(state)
    except ValueError:
        valid = ", ".join(repr(s.value) for s in State)
        raise ValueError(f"state must be one of {valid}, got {state!r}") from None


def _info(view: TaskView) -> TaskInfo:
    """The handle's snapshot of a task: its outcome as the status data shows it now."""
    status = view.status
    return TaskInfo(
        task_id=view.task_id,
        key=view.key,
        state=view.state,
        request=view.submitted,
        created_at=view.created_at,
        processing_at=view.processing_at,
        done_at=view.done_at,
        fail_code=status.get("failCode"),
        fail_msg=status.get("failMsg"),
        reason=view.reason,
        status=dict(status),
    )


def _check_reachable(view: TaskView, target: State) -> None:
    current = State(view.state)
    if current.terminal or _ORDER[current] > _ORDER[target]:
        raise StateUnreachable(_describe(_info(view), target))
    if target.terminal and view.done_at is None:
        # A pending task that never ends still starts processing: say where it stays.
        raise StateUnreachable(
            f"task {view.task_id} never finishes ({view.reason}); it is {view.state} now "
            f"and stays processing, so it can never become {target.value}"
        )


def _describe(info: TaskInfo, target: State) -> str:
    outcome = f" ({info.fail_code}: {info.fail_msg})" if info.fail_code else ""
    return (
        f"task {info.task_id} is {info.state}{outcome}; it can never become {target.value} "
        "(states only move forward: pending -> processing -> success or failed)"
    )
