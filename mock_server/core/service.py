"""MockService: the facade that owns the core's parts and answers the API's questions.

The web layer calls one method per endpoint; every answer is either data or
an `ApiError`. State lives in the injected `Stores` (in memory by default);
their admission transaction makes admission one step: the unfinished-task
cap, the charge and the insert cannot interleave between threads (or processes).

MockService is the one facade class; its methods are kept by concept in
mixins: admission.py (submit steps, settling, reference checks) and
admin_views.py (admin commands and read models) and dashboard.py (the
dashboard's read models), over service_parts.py.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from .admin_views import limits_of
from .auth import KeyRing
from .callbacks import (
    CallbackDispatcher,
    CallbackPolicy,
    CallbackSender,
)
from .clock import MockClock
from .config import ConfigSource, CoreConfig
from .dashboard import DashboardViews
from .errors import InvalidRequest, TaskNotFound, Unavailable
from .held import ThreadBlock, ThreadBlocks
from .lifecycle import Failure, State
from .models import ModelRegistry
from .models.submission import ServedModels
from .money import to_micros, usd_number
from .outputs.files import ResultFiles
from .references import Fetcher
from .results import ResultCache
from .scenario_files import load_scenario_file, resolve_scenario, shipped_scenarios
from .scenarios import (
    NO_DECISION,
    Context,
    Decision,
    RuleBook,
    Scenario,
    reject_error,
)
from .stores import Stores
from .stores.composed import ComposedAdmission, ComposedGate
from .stores.memory import MemoryClockState, MemoryScenarioState
from .stores.steps import AdmissionSteps, RequestGate
from .tasks import Task
from .validation import GPT_IMAGE_1, Dialect, SubmitValidator

_NO_BLOCK: AbstractContextManager[None] = nullcontext()  # stateless: safe to share
# A gate step retried while other processes move the clock between assuming and checking.
_CLOCK_TRIES = 100


class Unread:
    """No task read yet for this request (None would say: read, and none found)."""


UNREAD = Unread()


@dataclass(frozen=True, slots=True)
class Submitted:
    """A task accepted at submit, and the rule that decided its fate."""

    task: Task
    decision: Decision


class MockService(DashboardViews):
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
        stores = stores or Stores.open(config)
        self.base_config = config
        # An unseeded mock draws a seed; processes sharing the stores agree on the first drawn.
        seed = config.seed
        if seed is None:
            seed = stores.scenario_state.claim_seed(int.from_bytes(os.urandom(4), "big"))
        self.seed = seed
        self.clock = clock or MockClock(frozen=config.frozen, state=stores.clock_state)
        # reset() returns the clock to how it started, whoever built it.
        self._clock_starts_frozen = self.clock.frozen
        self.keys = KeyRing(config.keys)
        self.tasks = stores.tasks
        self.journal = stores.journal
        self._window, self._unfinished = stores.windows, stores.unfinished
        self._accounts = stores.accounts
        gate = stores.gate
        if gate is None or self.clock.state is not stores.clock_state:
            # A clock of its own (a test's) is the one the gate must check.
            gate = ComposedGate(
                self.clock.state, stores.scenario_state, stores.accounts, stores.windows, self.tasks
            )
        self._gate: RequestGate = gate
        # A clock and scenario state in this process: a request's block has nothing to keep.
        self._memory_reads = isinstance(self.clock.state, MemoryClockState) and isinstance(
            stores.scenario_state, MemoryScenarioState
        )
        self._close_stores = stores.close
        self._steps: AdmissionSteps = stores.admission_steps or ComposedAdmission(
            stores.accounts, stores.tasks, stores.unfinished
        )
        self.results = ResultCache()
        self.files = ResultFiles()
        self.models = ServedModels.of(config.models_dir, models)
        self.rules = RuleBook(
            seed=self.seed,
            loader=_load_shipped,
            counters=stores.rule_counters,
            state=stores.scenario_state,
            on_change=self._follow_scenario,
        )
        # Built once: a request enters it every time, and it keeps nothing itself
        # (what a request holds is in the thread's locals).
        self._reading_block = _reading_block(self.clock.steady(), self.rules.steady())
        self.callbacks = CallbackDispatcher(
            self.clock,
            sender,
            _policy(config),
            seed=self.seed,
            attempts=stores.attempts,
            deliveries=stores.deliveries,
            render=self.callback_body,
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
        """Stop every background thread; idempotent. Submits are refused from now on.

        Closes all the same when a shared store has gone away (its lock is then
        out of reach, and no submit can be admitted through it either).
        """
        try:
            with self._lock:
                self._closed = True
        except Unavailable:
            self._closed = True
        self.callbacks.close()
        if self._fetch_pool is not None:
            self._fetch_pool.shutdown(wait=False, cancel_futures=True)
        if self._close_stores is not None:
            self._close_stores()

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
        self._accounts.defaults(to_micros(settings.balance), limits_of(settings))
        if settings.scenario:
            self.use_scenario(resolve_scenario(settings.scenario))
        elif self.rules.active.rules or self.rules.active.settings:
            self._follow_scenario(self.rules.active)  # made active by another process

    # -- the public API ---------------------------------------------------

    def one_reading(self) -> AbstractContextManager[None]:
        """A block (one request) that reads the clock's shared state at most once.

        On Redis every reading is a round trip; a move of the clock made in
        this process is still seen at once, one made in another by the next
        block. The active scenario's version, read by `admit`, is kept too.
        """
        return self._reading_block

    def authenticate(self, authorization: str | None) -> str:
        """The key a request speaks for, or `Unauthorized`."""
        return self.keys.authenticate(authorization)

    def admit(self, key: str, task_id: str | None = None) -> Task | None:
        """Count one authenticated request against the key's per-minute limit.

        Returns the task `task_id` names (None: none, or no id), read in the
        same step: on a shared store, one round trip for the whole step.
        """
        # Atomic in the gate itself: no wait for a submit's admission.
        if self._memory_reads:  # the state read is the state: nothing to assume or hold
            clock = self.clock
            return self._gate.enter(key, clock.assumed(), clock.now_ms(), task_id).task
        for _ in range(_CLOCK_TRIES):
            assumed = self.clock.assumed()
            entered = self._gate.enter(key, assumed, self.clock.time_at(assumed), task_id)
            self.clock.hold(entered.clock)
            if not entered.stale:
                self.rules.hold(entered.scenario_version)
                return entered.task
        raise Unavailable("The mock's clock kept moving; try again")

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

    def status(
        self, key: str, task_id: str, model: str = GPT_IMAGE_1, read: Task | Unread | None = UNREAD
    ) -> tuple[Task, bytes]:
        """A task of this key and model and its status response body, or `TaskNotFound`.

        `read`: the task as `admit` read it for this request, if it did.
        """
        if not task_id:
            raise InvalidRequest("taskId: is required")
        if isinstance(read, Unread):
            task = self.tasks.owned(task_id, key)
        else:
            task = read if read is not None and read.key == key else None
        if task is None or task.request.model != model:
            raise TaskNotFound()
        return task, self.status_body(task)

    def balance(self, key: str) -> int | float:
        """The key's balance in USD as a JSON number."""
        if self._steps.lockless:  # a shared store: no lock, unless there is something to settle
            outlook = self._steps.look(key, self.clock.now_ms())
            if not (outlook.due or outlook.evictable):
                return usd_number(outlook.balance_micros)
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


def _reading_block(*blocks: AbstractContextManager[None]) -> AbstractContextManager[None]:
    """The clock's and the rules' blocks as one (each is a no-op where its state is in memory)."""
    threads = [block for block in blocks if isinstance(block, ThreadBlock)]
    if any(not isinstance(block, ThreadBlock | nullcontext) for block in blocks):
        raise TypeError("a request's blocks are ThreadBlocks or no-ops")
    if len(threads) == 2:
        return ThreadBlocks(*threads)
    return threads[0] if threads else _NO_BLOCK
