"""MockService's admin commands and read models: the only way in for the shell.

A mixin of the facade, kept apart by concept. The admin API, the pytest handle,
the recorder and any dashboard read typed snapshots (core.views) and call
commands; none of them touches a store, and none renders a task to parse it back.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Any

from ..version import __version__
from .admission import Admission
from .callbacks import (
    DELIVERY_STATES,
)
from .config import CoreConfig
from .errors import InvalidRequest, NotFound, TaskNotFound, Unavailable
from .journal import Entry
from .lifecycle import Failure
from .limits import Limits
from .models import ModelRegistry
from .models.catalogue import manifest, summary
from .models.pricing import price_in_force
from .money import to_micros, usd_number
from .scenario_files import shipped_scenarios
from .scenarios import (
    Rule,
    Scenario,
)
from .tasks import Task, ended_now
from .views import (
    AccountView,
    AttemptView,
    ClockView,
    DeliveryView,
    HealthView,
    RuleView,
    ScenarioView,
    TaskView,
    frozen_map,
)
from .wire import status_data


class AdminViews(Admission):
    """The admin commands and read models of MockService (see service.py)."""

    # -- admin ------------------------------------------------------------

    def use_scenario(self, scenario: Scenario) -> None:
        """Make a scenario active, with the settings it overrides."""
        with self._lock:
            self._settle()  # what fell due under the old caps settles under them
            self._follow_scenario(scenario)
            self.rules.activate(scenario)

    def _follow_scenario(self, scenario: Scenario) -> None:
        """The settings in force while `scenario` is active (also: another process made it so)."""
        overrides = dict(scenario.settings)
        self._apply(self.base_config.replace(**overrides) if overrides else self.base_config)
        self._accounts.defaults(to_micros(self.settings.balance), limits_of(self.settings))

    def clear_scenario(self) -> None:
        """No active rules, and the start-up settings again."""
        with self._lock:
            self._settle()
            self.rules.clear()
            self._apply(self.base_config)
            self._accounts.defaults(to_micros(self.settings.balance), limits_of(self.settings))

    def force(self, task_id: str, state: str, failure: Failure | None = None) -> Task:
        """Move an unfinished task on: to processing now, or to its end now."""
        with self._lock:
            self._settle()
            task = self.tasks.get(task_id)
            if task is None:
                raise TaskNotFound()
            now = self.clock.now_ms()
            current = task.state(now)
            if current.terminal:
                raise InvalidRequest(f"state: task already {current.value}; it cannot change")
            if state == "processing":
                timeline = replace(
                    task.timeline, processing_at=min(task.timeline.processing_at, now)
                )
                return self.tasks.retime(task_id, timeline, task.failure, "admin: processing")
            outcome = failure if state == "failed" else None
            if state == "failed" and outcome is None:
                outcome = Failure.of("GENERATION_FAILED")
            self._checks.pop(task_id, None)
            updated = self.tasks.retime(
                task_id, ended_now(task.timeline, now), outcome, f"admin: {state}"
            )
            self._unfinished.retime(task.key, task_id, now)
            if not self.callbacks.reschedule(task_id, now):
                self._schedule_callback(updated)  # a task that was never going to end
            return updated

    def accounts(self) -> dict[str, Any]:
        """Every key with an account (it spent, or had its balance or caps set)."""
        with self._lock:
            self._settle()
            return {key: self._account_json(key) for key in self._accounts.opened()}

    def account(self, key: str) -> dict[str, Any]:
        """One key's balance, caps and unfinished-task count."""
        with self._lock:
            self._settle()
            return self._account_json(key)

    def update_account(
        self,
        key: str,
        *,
        balance: Any = None,
        rpm: int | None = None,
        max_unfinished: int | None = None,
    ) -> dict[str, Any]:
        """Set a key's balance and/or caps, after everything due by now has settled.

        Settling first keeps money in clock order: a refund that fell due before
        this change lands before it, never later on top of the balance set here.
        """
        with self._lock:
            self._settle()
            if balance is not None:
                self._accounts.set_balance(key, to_micros(balance))
            self._accounts.set_limits(key, rpm=rpm, max_unfinished=max_unfinished)
            return self._account_json(key)

    def _account_json(self, key: str) -> dict[str, Any]:
        limits = self._accounts.limits(key)
        return {
            "key": key,
            "balance": usd_number(self._accounts.balance_micros(key)),
            "rpm": limits.rpm,
            "maxUnfinished": limits.max_unfinished,
            "unfinished": self._unfinished.count(key),
        }

    # -- read models and admin commands -----------------------------------
    #
    # The only way in for the admin API, the pytest handle, the recorder and
    # any dashboard: typed snapshots (core.views) and commands. None of them
    # touches a store, and none renders a task to parse it back.

    def health(self) -> HealthView:
        """Up, with the version, the settings in force and the background error count."""
        active = self.rules.active  # first: following another process may change the settings
        s = self.settings
        summary = {
            "profile": s.profile,
            "seed": self.seed,
            "keys": "strict" if self.keys.strict else "any",
            "imageMode": s.image_mode,
            "triggers": s.triggers,
            "rpm": s.rpm,
            "maxUnfinished": s.max_unfinished,
            "pricePerImage": float(s.price_per_image),
            "scenario": active.name,
            "pendingState": s.pending_state,
            "insufficientCreditsStatus": s.insufficient_credits_status,
        }
        return HealthView(
            "ok",
            __version__,
            frozen_map(summary),
            len(self.tasks),
            self.callbacks.background_errors,
        )

    def clock_view(self) -> ClockView:
        """The mock's time now."""
        clock = self.clock
        return ClockView(clock.now_ms(), clock.frozen, clock.offset_ms)

    def advance_clock(self, ms: int) -> ClockView:
        """Move time forward by `ms` (`ClockOutOfRange` past the clock's bound)."""
        self.clock.advance(ms)
        return self.clock_view()

    def set_clock(self, ms: int) -> ClockView:
        """Jump to the absolute time `ms`, never back: tasks derive their state from it."""
        now = self.clock.now_ms()
        if ms < now:
            raise InvalidRequest(f"ms: {ms} is before the mock's time {now}; it only moves on")
        self.clock.set(ms)
        return self.clock_view()

    def freeze_clock(self) -> ClockView:
        """Stop time."""
        self.clock.freeze()
        return self.clock_view()

    def unfreeze_clock(self) -> ClockView:
        """Let time run again."""
        self.clock.unfreeze()
        return self.clock_view()

    def scenario_view(self, name: str | None = None) -> ScenarioView:
        """The active scenario (or one known by `name`) with its rules' remaining counts."""
        active = self.rules.active
        scenario = active if name is None or name == active.name else self.rules.named(name)
        rules = tuple(
            RuleView(r.name, r.times, self.rules.remaining(scenario.name, r))
            for r in scenario.rules
        )
        return ScenarioView.of(scenario, rules)

    def scenario_names(self) -> list[str]:
        """Every scenario known by name: shipped ones and those loaded since, sorted."""
        return sorted(set(shipped_scenarios()) | set(self.rules.library()))

    def load_scenario(self, name: str) -> ScenarioView:
        """Activate a scenario known by name; else `InvalidRequest` listing the known names."""
        try:
            scenario = self.rules.named(name)
        except InvalidRequest:
            known = ", ".join(self.scenario_names()) or "none"
            raise InvalidRequest(f"name: no such scenario {name!r} (known: {known})") from None
        self.use_scenario(scenario)
        return self.scenario_view(scenario.name)

    def add_rule(self, rule: Rule, index: int | None = None) -> ScenarioView:
        """Add a rule to the active scenario (at `index`; past the end, or None, means last)."""
        # Past sys.maxsize list.insert would raise; it means last all the same.
        self.rules.add_rule(rule, None if index is None else min(index, sys.maxsize))
        return self.scenario_view()

    def remove_rule(self, name: str) -> ScenarioView:
        """Remove a rule from the active scenario."""
        self.rules.remove_rule(name)
        return self.scenario_view()

    def task_view(self, task_id: str) -> TaskView:
        """One task by id, whichever key made it; `TaskNotFound` if there is none."""
        task = self.tasks.get(task_id)
        if task is None:
            raise TaskNotFound()
        return self._view(task)

    def task_views(
        self,
        *,
        key: str | None = None,
        state: str | None = None,
        limit: int | None = None,
    ) -> list[TaskView]:
        """Tasks of `key` in `state` (each filter optional), oldest first; the last `limit`."""
        now = self.clock.now_ms()
        found = [
            self._view(t)
            for t in self.tasks.all()
            if (key is None or t.key == key) and (state is None or t.state(now).value == state)
        ]
        return found[-limit:] if limit else found

    def force_view(self, task_id: str, state: str, failure: Failure | None = None) -> TaskView:
        """`force`, answered with the task's view."""
        return self._view(self.force(task_id, state, failure))

    def _view(self, task: Task) -> TaskView:
        # The status data comes from the function that makes the status bytes,
        # after a fetch-mode verdict is settled, as a status read would see it.
        now = self.clock.now_ms()
        self._resolve_check(task, now)
        return TaskView.of(task, status_data(task, now))

    def account_view(self, key: str) -> AccountView:
        """One key's balance, caps and unfinished-task count."""
        return _account_view(self.account(key))

    def account_views(self) -> list[AccountView]:
        """Every key with an account (it spent, or had its balance or caps set)."""
        return [_account_view(row) for row in self.accounts().values()]

    def change_account(
        self,
        key: str,
        *,
        balance: Any = None,
        rpm: int | None = None,
        max_unfinished: int | None = None,
    ) -> AccountView:
        """`update_account`, answered with the account's view."""
        row = self.update_account(key, balance=balance, rpm=rpm, max_unfinished=max_unfinished)
        return _account_view(row)

    def deliveries(
        self, task_id: str | None = None, outcome: str | None = None
    ) -> list[DeliveryView]:
        """Callback deliveries in due order, by task and by state (`InvalidRequest` if unknown)."""
        if outcome is not None and outcome not in DELIVERY_STATES:
            raise InvalidRequest(f"outcome: {outcome!r} is not one of {list(DELIVERY_STATES)}")
        rows = self.callbacks.deliveries(task_id=task_id, outcome=outcome)
        return [DeliveryView.from_json(row) for row in rows]

    def attempts(self, task_id: str) -> list[AttemptView]:
        """Every logged attempt of a task's callback; `TaskNotFound` if it had none."""
        if not self.callbacks.deliveries(task_id=task_id):
            raise _no_callback(task_id)
        return [AttemptView.from_json(row) for row in self.callbacks.attempts(task_id)]

    def redeliver(self, task_id: str) -> DeliveryView | None:
        """A fresh attempt chain now; the delivery's summary (None only if a reset raced)."""
        try:
            self.callbacks.redeliver(task_id)
        except KeyError:
            raise _no_callback(task_id) from None
        rows = self.deliveries(task_id=task_id)
        return rows[0] if rows else None

    def wait_for_callbacks(self, timeout_s: float) -> bool:
        """Wait until no callback is due now or in flight; False if `timeout_s` passed first."""
        return self.callbacks.wait_idle(timeout_s)

    def journal_entries(
        self,
        *,
        path: str | None = None,
        status: int | None = None,
        task_id: str | None = None,
        limit: int | None = None,
    ) -> list[Entry]:
        """Recorded requests matching every filter given (path by prefix), oldest first."""
        return self.journal.entries(path=path, status=status, task_id=task_id, limit=limit)

    def record_request(
        self,
        method: str,
        path: str,
        status: int,
        latency_ms: float,
        key: str | None = None,
        task_id: str | None = None,
        reason: str | None = None,
        *,
        keep: bool = True,
    ) -> Entry:
        """One answered request, stamped with the mock's time; journaled if `keep`.

        `key` is stored as given: the caller redacts it.
        """
        entry = Entry(0, method, path, status, latency_ms, key, task_id, reason)
        try:
            entry.time = self.clock.now_ms()
            if keep:
                self.journal.record(entry)
        except Unavailable:  # a shared store that is down: the answer (a 503) still goes out
            pass
        return entry

    def now_ms(self) -> int:
        """The mock's time in Unix ms (what a replayed recording is timed by)."""
        return self.clock.now_ms()

    def serves(self, model_id: str) -> bool:
        """Whether `model_id` names a model of this mock (its routes answer)."""
        return model_id in self.models

    def model_registry(self) -> ModelRegistry:
        """Every model this mock serves (its OpenAPI document is built from them)."""
        return self.models.registry

    def model_summaries(self) -> list[dict[str, Any]]:
        """The catalogue: each served model's id, category, modes and price rule."""
        return [
            summary(pack, price_in_force(pack, self._prices, self._price_micros))
            for pack in self.models
        ]

    def model_manifest(self, model_id: str) -> dict[str, Any]:
        """One served model's manifest, as its pack states it; NotFound for another id."""
        if model_id not in self.models:
            raise NotFound(f"Model not found: {model_id}")
        document: dict[str, Any] = manifest(self.models.registry.get(model_id))
        return document


def _account_view(row: dict[str, Any]) -> AccountView:
    return AccountView(
        row["key"], row["balance"], row["rpm"], row["maxUnfinished"], row["unfinished"]
    )


def _no_callback(task_id: str) -> TaskNotFound:
    return TaskNotFound(data={"error": f"taskId: no callback was scheduled for {task_id}"})


def limits_of(settings: CoreConfig) -> Limits:
    """The default per-key limits `settings` give."""
    return Limits(rpm=settings.rpm, max_unfinished=settings.max_unfinished)
