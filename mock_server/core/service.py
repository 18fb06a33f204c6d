"""MockService: the facade that owns the core's parts and answers the API's questions.

The web layer calls one method per endpoint; every answer is either data or
an `ApiError`. State lives in the injected `Stores` (in memory by default);
their admission transaction makes admission one step: the unfinished-task
cap, the charge and the insert cannot interleave between threads (or processes).
"""

from __future__ import annotations

import logging
import os
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from ..version import __version__
from .auth import KeyRing
from .callbacks import (
    DELIVERY_STATES,
    CallbackDispatcher,
    CallbackEffect,
    CallbackPolicy,
    CallbackSender,
    check_callback_url,
)
from .clock import MockClock
from .config import ConfigSource, CoreConfig
from .errors import InvalidRequest, NotFound, TaskNotFound, Unavailable
from .journal import Entry
from .lifecycle import Failure, State, Timeline
from .limits import Limits
from .models import ModelRegistry
from .models.catalogue import manifest, summary
from .models.submission import ServedModels, image_references
from .money import to_micros, usd_number
from .outputs.files import ResultFiles
from .references import Fetcher, check_by_fetching, judge_offline
from .results import ResultCache
from .scenario_files import load_scenario_file, resolve_scenario, shipped_scenarios
from .scenarios import (
    NO_DECISION,
    Context,
    Decision,
    Effect,
    FailEffect,
    Rule,
    RuleBook,
    Scenario,
    reject_error,
    trigger_decision,
)
from .stores import Stores
from .tasks import Task, ended_now
from .timing import PROFILES, Timing, task_id, task_rng, within_clock
from .validation import GPT_IMAGE_1, Dialect, SubmitRequest, SubmitValidator
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
from .wire import status_data, status_envelope

log = logging.getLogger("apixo_mock")


@dataclass(frozen=True, slots=True)
class Submitted:
    """A task accepted at submit, and the rule that decided its fate."""

    task: Task
    decision: Decision


class MockService:
    """One mock server's whole state. Constructing it starts no thread; `start()` does."""

    def __init__(
        self,
        config: CoreConfig | ConfigSource,
        *,
        sender: CallbackSender,
        fetcher: Fetcher | None = None,
        clock: MockClock | None = None,
        models: ModelRegistry | None = None,
        stores: Stores | None = None,
    ) -> None:
        # Settings (or anything with core_config()) will do: the core never imports them.
        config = config if isinstance(config, CoreConfig) else config.core_config()
        stores = stores or Stores.in_memory(config)
        self.base_config = config
        self.seed = config.seed if config.seed is not None else int.from_bytes(os.urandom(4), "big")
        self.clock = clock or MockClock(frozen=config.frozen, state=stores.clock_state)
        # reset() returns the clock to how it started, whoever built it.
        self._clock_starts_frozen = self.clock.frozen
        self.keys = KeyRing(config.keys)
        self.tasks = stores.tasks
        self.journal = stores.journal
        self._window, self._unfinished = stores.windows, stores.unfinished
        self._accounts = stores.accounts
        self.results = ResultCache()
        self.files = ResultFiles()
        self.models = ServedModels.of(config.models_dir, models)
        self.rules = RuleBook(seed=self.seed, loader=_load_shipped, counters=stores.rule_counters)
        self.callbacks = CallbackDispatcher(
            self.clock, sender, _policy(config), seed=self.seed, attempts=stores.attempts
        )
        self._fetcher = fetcher
        self._fetch_pool: ThreadPoolExecutor | None = None
        # One transaction over every store: admission, settling and admin writes.
        self._lock = stores.admission
        self._validator = SubmitValidator(Dialect(config.accept_nvariants, config.strict_fields))
        self._checks: dict[str, Future[Failure | None]] = {}
        self._closed = False
        self._start(config)

    @property
    def base_settings(self) -> Any:
        """The shell's settings this service was configured from (the core never reads them)."""
        return self.base_config.shell

    # -- life cycle -------------------------------------------------------

    def start(self) -> None:
        """Load the model packs (a broken one fails here) and start the callback dispatcher."""
        self.models.registry  # noqa: B018 -- loaded for its checks
        self.callbacks.start()

    def close(self) -> None:
        """Stop every background thread; idempotent. Submits are refused from now on."""
        with self._lock:
            self._closed = True
        self.callbacks.close()
        if self._fetch_pool is not None:
            self._fetch_pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> MockService:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def reset(self) -> None:
        """Back to the start-up state: tasks, clock, accounts, scenarios, journal, callbacks."""
        with self._lock:
            for store in (self.tasks, self.journal, self._window, self._unfinished, self._accounts):
                store.clear()
            self.results.clear()
            self.files.clear()
            self.callbacks.reset()
            self.rules.clear()
            self._checks.clear()
            self.clock.reset(frozen=self._clock_starts_frozen)
            self._start(self.base_config)

    def _start(self, settings: CoreConfig) -> None:
        """Start-up state over the stores as they are (shared ones are not wiped)."""
        self._apply(settings)
        self._accounts.defaults(to_micros(settings.balance), _limits(settings))
        if settings.scenario:
            self.use_scenario(resolve_scenario(settings.scenario))

    def _apply(self, settings: CoreConfig) -> None:
        """Make `settings` current, with what submits derive from them worked out once.

        A timing the settings cannot make is refused here, before it is in force,
        never halfway through a submit.
        """
        timing = timing_of(settings)
        self.settings = settings
        self._timing = timing
        self._price_micros = to_micros(settings.price_per_image)

    # -- the public API ---------------------------------------------------

    def authenticate(self, authorization: str | None) -> str:
        """The key a request speaks for, or `Unauthorized`."""
        return self.keys.authenticate(authorization)

    def admit(self, key: str) -> None:
        """Count one authenticated request against the key's per-minute limit."""
        # Atomic in the window store itself: no wait for a submit's admission.
        self._window.admit(key, self.clock.now_ms(), self._accounts.limits(key).rpm)

    def decide(self, endpoint: str, key: str, task: Task | None = None) -> Decision:
        """The rule that applies to a status or balance request (latency, reject, faults)."""
        request = task.request if task is not None else None
        scenario = task.scenario if task is not None else None
        if scenario is None and not self.rules.active.rules:
            return NO_DECISION  # no rules at all: skip building the context
        decision = self.rules.decide(Context(endpoint, key, request), scenario)
        if decision.effect.reject is not None:
            raise reject_error(decision.effect.reject)
        return decision

    def submit(
        self,
        key: str,
        body: bytes,
        content_type: str | None,
        origin: str,
        scenario: str | None = None,
        model: str = GPT_IMAGE_1,
    ) -> Submitted:
        """Validate and accept a task, or raise the `ApiError` that wins."""
        if model == GPT_IMAGE_1:  # its own validator: aliases, dialects, strict fields
            request = self._validator.parse(body, content_type)
        else:
            request = self.models.parse(model, body, content_type)
        self._check_callback(request)
        if scenario is not None:
            self.rules.named(scenario)
        decision = self._decide_submit(key, request, scenario)
        if decision.effect.reject is not None:
            raise reject_error(decision.effect.reject)
        task = self._admit_task(key, request, decision, origin, scenario)
        self._after_submit(task, decision.effect)
        return Submitted(task, decision)

    def status(self, key: str, task_id: str, model: str = GPT_IMAGE_1) -> tuple[Task, bytes]:
        """A task of this key and model and its status response body, or `TaskNotFound`."""
        if not task_id:
            raise InvalidRequest("taskId: is required")
        task = self.tasks.owned(task_id, key)
        if task is None or task.request.model != model:
            raise TaskNotFound()
        return task, self.status_body(task)

    def status_body(self, task: Task) -> bytes:
        """The status envelope of `task` now (also the callback body)."""
        if task.final_body is not None:
            return task.final_body
        now = self.clock.now_ms()
        self._resolve_check(task, now)
        body = status_envelope(task, now)
        if task.state(now).terminal:
            task.final_body = body
        return body

    def balance(self, key: str) -> int | float:
        """The key's balance in USD as a JSON number."""
        with self._lock:
            self._settle()
            return usd_number(self._accounts.balance_micros(key))

    def result_image(self, task_id: str, index: int) -> bytes | None:
        """PNG bytes of a result, or None if there is none (or it has expired)."""
        found = self.result_file(task_id, index, "png")
        return None if found is None else found[0]

    def result_file(self, task_id: str, index: int, extension: str) -> tuple[bytes, str] | None:
        """A result file's bytes and media type, or None if there is none (or it has expired)."""
        task = self.tasks.get(task_id)
        now = self.clock.now_ms()
        if task is None or task.state(now) is not State.SUCCESS:
            return None
        done_at = task.timeline.done_at or now
        expired = now >= done_at + self.settings.result_ttl_s * 1000
        if expired or not 0 <= index < task.request.num_images:
            return None
        request = task.request
        if request.outputs:  # a model other than gpt-image-1
            return self.files.get(task_id, index, request, extension)
        if extension != "png":
            return None
        image = self.results.get_or_render(task_id, index, request.prompt, request.aspect_ratio)
        return image, "image/png"

    # -- submit, step by step ---------------------------------------------

    def _check_callback(self, request: SubmitRequest) -> None:
        if request.request_type == "callback" and request.callback_url is not None:
            problem = check_callback_url(request.callback_url, self.callbacks.policy)
            if problem is not None:
                raise InvalidRequest(problem)

    def _decide_submit(self, key: str, request: SubmitRequest, scenario: str | None) -> Decision:
        if self.settings.triggers:
            decision = trigger_decision(request)
            if decision is not None:
                return decision
            failure = judge_offline(request.image_urls)
            if failure is not None:
                return Decision(Effect(fail=FailEffect(failure)), "trigger .invalid host")
        return self.rules.decide(Context("submit", key, request), scenario)

    def _admit_task(
        self,
        key: str,
        request: SubmitRequest,
        decision: Decision,
        origin: str,
        scenario: str | None,
    ) -> Task:
        with self._lock:
            if self._closed:
                raise Unavailable("The mock is shutting down")
            now = self.clock.now_ms()
            self._settle()
            cap = self._accounts.limits(key).max_unfinished
            self._unfinished.admit(key, cap, now)
            sequence = self.tasks.last_sequence() + 1
            rng = task_rng(self.seed, sequence)
            timeline = self._timeline(now, rng, decision.effect, self._timing_of(request))
            failure = decision.effect.fail.failure if decision.effect.fail else None
            charge = self._charge_of(request)
            # Charged last, once nothing else can refuse: a refusal never costs money.
            self._accounts.charge(key, charge, self.settings.insufficient_credits_status)
            task = Task(
                task_id(rng if self.base_config.seed is not None else None),
                key,
                request,
                timeline,
                failure,
                (self.settings.public_url or origin).rstrip("/"),
                sequence,
                charge,
                decision.reason,
                scenario,
            )
            self.tasks.add(task)
            self._unfinished.add(key, task.task_id, timeline.done_at)
            if self._needs_check(task):
                # Registered before the lock is let go, so no settle can count the
                # task as a success before its reference images have been judged.
                self._start_check(task)
            return task

    def _charge_of(self, request: SubmitRequest) -> int:
        if request.model == GPT_IMAGE_1:
            return self._price_micros * request.num_images
        return self.models.price_micros(request)

    def _timing_of(self, request: SubmitRequest) -> Timing:
        if request.model == GPT_IMAGE_1:
            return self._timing
        return timing_of(self.settings, self.models.timing(request.model, self.settings.profile))

    def _timeline(self, now: int, rng: Any, effect: Effect, timing: Timing) -> Timeline:
        timeline = timing.timeline(now, rng, pending_state=self.settings.pending_state)
        override = effect.timeline
        if override is not None:
            pending = override.pending_ms
            start = now + pending if pending is not None else timeline.processing_at
            processing = override.processing_ms
            length = (
                processing
                if processing is not None
                else (timeline.done_at or start) - timeline.processing_at
            )
            timeline = Timeline(now, start, None if override.never_finish else start + length)
        fail = effect.fail
        if fail is not None and fail.after_ms is not None:
            end = now + fail.after_ms
            timeline = Timeline(now, min(timeline.processing_at, end), end)
        return within_clock(timeline)

    def _after_submit(self, task: Task, effect: Effect) -> None:
        self._schedule_callback(task, effect.callback)

    def _schedule_callback(self, task: Task, effect: CallbackEffect | None = None) -> None:
        request, done_at = task.request, task.timeline.done_at
        if request.request_type != "callback" or not request.callback_url or done_at is None:
            return
        self.callbacks.schedule(
            task.task_id,
            request.callback_url,
            done_at,
            lambda: self.status_body(task),
            effect or CallbackEffect(),
        )

    # -- derived bookkeeping ---------------------------------------------

    def _settle(self) -> None:
        """Account for tasks that have ended: they leave the cap, failed ones are refunded.

        Only then may a finished task be forgotten (`max_tasks`, `task_ttl_s`).
        """
        now = self.clock.now_ms()
        for _key, ended_id in self._unfinished.settle(now, self._finished):
            task = self.tasks.get(ended_id)
            if task is None:
                continue
            if task.state(now) is State.FAILED:
                self._accounts.refund(task.key, task.charge_micros)
            self.tasks.retire(ended_id, task.timeline.done_at or now)
        self.tasks.evict(now)

    def _finished(self, task_id: str, now: int) -> bool:
        task = self.tasks.get(task_id)
        if task is None:
            return True
        pending = self._checks.get(task_id)
        if pending is not None and not pending.done() and task.timeline.finished_by(now):
            # Runs under the admission lock: never wait for a download here. The
            # verdict's callback (_check_done) puts the task back in line to settle.
            return False
        self._resolve_check(task, now)
        return task.timeline.finished_by(now)

    def _needs_check(self, task: Task) -> bool:
        fetch_mode = self.settings.image_mode == "fetch" and self._fetcher is not None
        return fetch_mode and bool(image_references(task.request)) and task.failure is None

    def _start_check(self, task: Task) -> None:
        """Judge the task's reference images in the background (called under the lock)."""
        assert self._fetcher is not None
        if self._fetch_pool is None:
            self._fetch_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="apixo-fetch")
        fetcher, timeout = self._fetcher, self.settings.image_timeout_s
        future = self._fetch_pool.submit(
            check_by_fetching, image_references(task.request), fetcher, timeout
        )
        self._checks[task.task_id] = future
        future.add_done_callback(lambda _: self._check_done(task))

    def _check_done(self, task: Task) -> None:
        """The verdict is in: let the next settle account for the task at its real end."""
        done_at = task.timeline.done_at
        if done_at is not None:
            with self._lock:
                self._unfinished.retime(task.key, task.task_id, done_at)

    def _resolve_check(self, task: Task, now: int) -> None:
        """A fetch-mode task's outcome is settled before anyone sees it end."""
        future = self._checks.get(task.task_id)
        if future is None or not task.timeline.finished_by(now):
            return
        try:
            failure = future.result(timeout=self.settings.image_timeout_s * 6)
        except Exception as exc:  # the check itself broke: the download failed
            log.warning("reference check of %s failed: %s", task.task_id, exc)
            failure = Failure.of("IMAGE_DOWNLOAD_FAILED")
        with self._lock:
            # Record the verdict before forgetting the check: a reader that finds no
            # check must find the outcome already in place.
            if task.task_id in self._checks and failure is not None:
                self.tasks.retime(task.task_id, task.timeline, failure, "reference image check")
            self._checks.pop(task.task_id, None)

    # -- admin ------------------------------------------------------------

    def use_scenario(self, scenario: Scenario) -> None:
        """Make a scenario active, with the settings it overrides."""
        with self._lock:
            self._settle()  # what fell due under the old caps settles under them
            overrides = dict(scenario.settings)
            self._apply(self.base_config.replace(**overrides) if overrides else self.base_config)
            self._accounts.defaults(to_micros(self.settings.balance), _limits(self.settings))
            self.rules.activate(scenario)

    def clear_scenario(self) -> None:
        """No active rules, and the start-up settings again."""
        with self._lock:
            self._settle()
            self.rules.clear()
            self._apply(self.base_config)
            self._accounts.defaults(to_micros(self.settings.balance), _limits(self.settings))

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
            "scenario": self.rules.active.name,
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
        self, *, key: str | None = None, state: str | None = None, limit: int | None = None
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
        entry = Entry(self.clock.now_ms(), method, path, status, latency_ms, key, task_id, reason)
        if keep:
            self.journal.record(entry)
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
        return [summary(pack) for pack in self.models]

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


def _limits(settings: CoreConfig) -> Limits:
    return Limits(rpm=settings.rpm, max_unfinished=settings.max_unfinished)


def _policy(settings: CoreConfig) -> CallbackPolicy:
    return CallbackPolicy(
        timeout_s=settings.callback_timeout_s,
        retries=settings.callback_retries,
        backoff_s=settings.callback_backoff_s,
        secret=settings.callback_secret,
        senders=settings.callback_senders,
        allow_hosts=settings.callback_allow_hosts,
        deny_hosts=settings.callback_deny_hosts,
    )


def _load_shipped(name: str) -> Scenario | None:
    """A shipped scenario, read when first named so that start-up reads no YAML."""
    path = shipped_scenarios().get(name)
    return load_scenario_file(path) if path is not None else None


def timing_of(settings: CoreConfig, model_timing: Timing | None = None) -> Timing:
    """The profile's durations (or a model's under it), with any explicit ones in place.

    A maximum given alone below the profile's minimum pulls the minimum down
    with it (and the other way round), so any single setting is usable.
    """
    profile = PROFILES[settings.profile] if model_timing is None else model_timing
    low, high = settings.processing_min_ms, settings.processing_max_ms
    low_ms = profile.processing_min_ms if low is None else low
    if low is None and high is not None:
        low_ms = min(low_ms, high)
    high_ms = max(profile.processing_max_ms, low_ms) if high is None else high
    pending = profile.pending_ms if settings.pending_ms is None else settings.pending_ms
    return Timing(pending, low_ms, high_ms, profile.jitter)
