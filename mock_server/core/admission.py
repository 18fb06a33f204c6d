"""MockService's submit steps and the bookkeeping derived from the clock.

A mixin of the facade, kept apart by concept: admitting a task (callback URL,
scenario decision, charge, timeline) and settling what the clock has finished,
including the reference checks of fetch mode. Only MockService uses it.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import Any

from .callbacks import (
    CallbackEffect,
    check_callback_url,
)
from .config import CoreConfig
from .errors import InsufficientCredits, InvalidRequest, Unavailable
from .lifecycle import Failure, State, Timeline
from .models.pricing import gpt_image_price, parse_prices
from .models.submission import image_references, lora_references
from .money import to_micros
from .references import check_by_fetching, judge_offline
from .scenarios import (
    Context,
    Decision,
    Effect,
    FailEffect,
    trigger_decision,
)
from .service_parts import ServiceParts
from .settle_reads import EndedReads
from .stores.steps import Outlook
from .tasks import Task
from .timing import PROFILES, Timing, task_id, task_rng, within_clock
from .validation import GPT_IMAGE_1, SubmitRequest
from .wire import status_envelope

# Looks and commits tried while other admissions keep coming between them.
_COMMIT_TRIES = 50
# Ended tasks left to settle before a lockless admission takes the lock to settle them.
_SETTLE_BATCH = 256

log = logging.getLogger("apixo_mock")


class Admission(ServiceParts):
    """The submit steps and derived bookkeeping of MockService (see service.py)."""

    # -- submit, step by step ---------------------------------------------

    def _apply(self, settings: CoreConfig) -> None:
        """Make `settings` current, with what submits derive from them worked out once.

        A timing the settings cannot make is refused here, before it is in force,
        never halfway through a submit.
        """
        timing = timing_of(settings)
        self.settings = settings
        self._timing = timing
        self._price_micros = to_micros(settings.price_per_image)
        self._prices = parse_prices(settings.model_prices)

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
            failure = judge_offline(request.image_urls, lora_references(request))
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
        if self._closed:
            raise Unavailable("The mock is shutting down")
        made = (key, request, decision, origin, scenario)
        if self._steps.lockless and not self._may_need_check(request):
            task = self._admit_lockless(*made)
            if task is not None:
                return task
        with self._lock:
            if self._closed:
                raise Unavailable("The mock is shutting down")
            for _ in range(_COMMIT_TRIES):
                now = self.clock.now_ms()
                outlook = self._look_settled(key, now)
                cap = outlook.limits.max_unfinished
                if outlook.unfinished >= cap:
                    self._unfinished.admit(key, cap, now)  # refuses, with the wait until one ends
                task = self._new_task(*made, now, outlook.last_sequence + 1)
                # Charged last, once nothing else can refuse: a refusal never costs money.
                # A lockless admission (another process) may come between look and commit.
                after = outlook.last_sequence if self._steps.lockless else None
                if self._steps.commit(task, self.settings.insufficient_credits_status, after):
                    break
            else:
                raise Unavailable("The mock's shared store is busy; try again")
            if self._needs_check(task):
                # Registered before the lock is let go, so no settle can count the
                # task as a success before its reference images have been judged.
                self._start_check(task)
            return task

    def _look_settled(self, key: str, now: int) -> Outlook:
        """The look admission decides on, with what has ended settled (under the lock)."""
        if not self._steps.lockless:  # in memory a look costs nothing: settle, then look
            self._settle()
            return self._steps.look(key, now)
        outlook = self._steps.look(key, now)  # one round trip on a shared store
        if outlook.due or outlook.evictable:
            self._settle(evict=outlook.evictable)
            if outlook.due:  # settling may have freed some of the key's cap
                outlook = self._steps.look(key, now)
        return outlook

    def _admit_lockless(
        self,
        key: str,
        request: SubmitRequest,
        decision: Decision,
        origin: str,
        scenario: str | None,
    ) -> Task | None:
        """Admit with no lock (a shared store's steps): commit if nothing came between.

        The task is built on the last sequence this process saw (a look first
        only if it saw none), and the commit checks everything a look would.

        None when admission must take the lock: ended tasks to settle or old
        ones to evict piled up, the key is at its cap or short of money (a
        settle may free either), or other admissions kept coming between.
        Settling waits for the locked path, or a balance read: nothing that
        shows a cap or a balance reads it unsettled.
        """
        with self._lockless_turn:
            steps = self._steps
            # A wrong guess costs nothing: the commit changes nothing and answers as a look.
            after = steps.known_sequence()
            for _ in range(_COMMIT_TRIES):
                now = self.clock.now_ms()
                if after is None:
                    outlook = steps.look(key, now)
                    if _needs_lock(outlook):
                        return None
                    after = outlook.last_sequence
                task = self._new_task(key, request, decision, origin, scenario, now, after + 1)
                status = self.settings.insufficient_credits_status
                try:
                    seen = steps.commit_checked(task, status, after, now, _SETTLE_BATCH)
                except InsufficientCredits:
                    return None
                if seen is None:
                    return task
                if _needs_lock(seen):
                    return None
                after = seen.last_sequence
            return None

    @cached_property
    def _lockless_turn(self) -> threading.Lock:
        """Lockless admissions of this process take turns: one commit in flight.

        Threads of one process build on the same last sequence, so racing each
        other they would only make each other's commits fail and try again.
        """
        return threading.Lock()

    def _new_task(
        self,
        key: str,
        request: SubmitRequest,
        decision: Decision,
        origin: str,
        scenario: str | None,
        now: int,
        sequence: int,
    ) -> Task:
        rng = task_rng(self.seed, sequence)
        timeline = self._timeline(now, rng, decision.effect, self._timing_of(request))
        failure = decision.effect.fail.failure if decision.effect.fail else None
        return Task(
            task_id(rng if self.base_config.seed is not None else None),
            key,
            request,
            timeline,
            failure,
            (self.settings.public_url or origin).rstrip("/"),
            sequence,
            self._charge_of(request),
            decision.reason,
            scenario,
        )

    def _charge_of(self, request: SubmitRequest) -> int:
        if request.model == GPT_IMAGE_1:
            unit = gpt_image_price(self._prices, self._price_micros, request.mode)
            return unit * request.num_images
        return self.models.price_micros(request, self._prices)

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
            task.task_id, request.callback_url, done_at, effect=effect or CallbackEffect()
        )

    def callback_body(self, task_id: str) -> bytes:
        """A task's callback body, rendered when it is sent (by whichever process sends it)."""
        task = self.tasks.get(task_id)
        if task is None:
            raise LookupError(f"task {task_id} is no longer kept")
        return self.status_body(task)

    # -- derived bookkeeping ---------------------------------------------

    def status_body(self, task: Task) -> bytes:
        """The status envelope of `task` now (also the callback body)."""
        if task.final_body is not None:
            return task.final_body
        now = self.clock.now_ms()
        self._resolve_check(task, now)
        state = task.state(now)  # once: the body and the caching both need it
        body = status_envelope(task, now, state)
        if state.terminal:
            task.final_body = body
        return body

    def _settle(self, *, evict: bool = True) -> None:
        """Account for tasks that have ended: they leave the cap, failed ones are refunded.

        Only then may a finished task be forgotten (`max_tasks`, `task_ttl_s`).
        """
        now = self.clock.now_ms()
        reads = EndedReads(self.tasks, self._finished)
        ended = self._unfinished.settle(now, reads)
        reads.read_ahead([task_id for _key, task_id in ended])
        retired: list[tuple[str, int]] = []
        for _key, ended_id in ended:
            task = reads.task(ended_id)
            if task is None:
                continue
            if task.state(now) is State.FAILED:
                self._accounts.refund(task.key, task.charge_micros)
            retired.append((ended_id, task.timeline.done_at or now))
        self.tasks.retire_many(retired)
        if evict:
            self.tasks.evict(now)

    def _finished(self, task_id: str, now: int, reads: EndedReads) -> bool:
        task = reads.task(task_id)
        if task_id in self._checks:  # its verdict may change the record: read it again after
            reads.forget(task_id)
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
        return self._may_need_check(task.request) and task.failure is None

    def _may_need_check(self, request: SubmitRequest) -> bool:
        fetch_mode = self.settings.image_mode == "fetch" and self._fetcher is not None
        return fetch_mode and bool(image_references(request))

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


def _needs_lock(outlook: Outlook) -> bool:
    """Admission must take the lock: the key is at its cap, or there is much to settle or evict."""
    crowded = outlook.unfinished >= outlook.limits.max_unfinished
    return crowded or outlook.due >= _SETTLE_BATCH or outlook.evictable


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
