"""The scenario engine: ordered rules, the first that matches a request decides its fate.

A rule is a `Match` (what requests it applies to) and an `Effect` (what
happens to them). Rules come from scenario files, the admin API and the
built-in triggers (`mock:fail:CODE`, `mock:reject:STATUS`, `mock:hang`) in a prompt
or a reference-image URL.
Every decision carries its reason, which the journal and the task record keep.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote

from .callbacks import CallbackEffect
from .errors import ApiError, InvalidRequest
from .held import Held
from .lifecycle import FailCode, Failure
from .stores import RuleCounterStore, ScenarioStateStore
from .stores.memory import MemoryRuleCounters, MemoryScenarioState
from .validation import SubmitRequest

ENDPOINTS = ("submit", "status", "balance")
_FAIL_TRIGGER = re.compile(r"mock:fail:([A-Z_]+)")
_REJECT_TRIGGER = re.compile(r"mock:reject:(\d{3})")
_HANG_TRIGGER = "mock:hang"
_TRIGGER_MARK = "mock:"  # every trigger above starts with it


@dataclass(frozen=True, slots=True)
class Match:
    """Which requests a rule applies to; every field given must match."""

    endpoint: str = "submit"
    prompt_contains: tuple[str, ...] = ()
    prompt_regex: re.Pattern[str] | None = None
    key: str | None = None
    model: str | None = None
    provider: str | None = None
    aspect_ratio: str | None = None
    num_images: int | None = None
    image_url: re.Pattern[str] | None = None
    request_type: str | None = None
    every_nth: int | None = None
    probability: float | None = None

    def fits(self, ctx: Context) -> bool:
        """Whether the request's own facts match (the counting parts are the rule's)."""
        if self.endpoint not in ("any", ctx.endpoint):
            return False
        if self.key is not None and ctx.key != self.key:
            return False
        request = ctx.request
        if request is None:
            return not self._needs_request()
        return self._fits_request(request)

    def _needs_request(self) -> bool:
        request_fields = (
            self.model,
            self.provider,
            self.aspect_ratio,
            self.num_images,
            self.request_type,
        )
        return bool(self.prompt_contains or self.prompt_regex or self.image_url) or any(
            value is not None for value in request_fields
        )

    def _fits_request(self, request: SubmitRequest) -> bool:
        prompt = request.prompt.lower()
        checks = (
            not self.prompt_contains
            or any(word.lower() in prompt for word in self.prompt_contains),
            self.prompt_regex is None or self.prompt_regex.search(request.prompt) is not None,
            self.model is None or request.model == self.model,
            self.provider is None or request.provider == self.provider,
            self.aspect_ratio is None or request.aspect_ratio == self.aspect_ratio,
            self.num_images is None or request.num_images == self.num_images,
            self.request_type is None or request.request_type == self.request_type,
            self.image_url is None or any(self.image_url.search(u) for u in request.image_urls),
        )
        return all(checks)


@dataclass(frozen=True, slots=True)
class Reject:
    """Answer the request itself with an HTTP error."""

    status: int
    message: str | None = None


@dataclass(frozen=True, slots=True)
class TimelineOverride:
    """Durations for the task instead of the timing profile's."""

    pending_ms: int | None = None
    processing_ms: int | None = None
    never_finish: bool = False


@dataclass(frozen=True, slots=True)
class FailEffect:
    """End the task failed, at its normal end or `after_ms` after creation."""

    failure: Failure
    after_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Effect:
    """What a matching rule does; several parts may combine."""

    fail: FailEffect | None = None
    timeline: TimelineOverride | None = None
    reject: Reject | None = None
    latency_ms: int = 0
    fault: str | None = None
    callback: CallbackEffect | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """A named match and effect; `times` limits how often it fires before it expires."""

    name: str
    match: Match = Match()
    effect: Effect = Effect()
    times: int | None = None


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named set of rules, plus settings it overrides while it is active."""

    name: str
    rules: tuple[Rule, ...] = ()
    description: str = ""
    settings: Mapping[str, Any] = field(default_factory=dict)
    source: str = "inline"


@dataclass(frozen=True, slots=True)
class Context:
    """The facts about one request that rules match against."""

    endpoint: str
    key: str | None = None
    request: SubmitRequest | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """The effect that applies to a request, and why."""

    effect: Effect = Effect()
    reason: str = "default"

    @property
    def default(self) -> bool:
        """Whether no rule matched."""
        return self.reason == "default"


NO_DECISION = Decision()


def trigger_decision(request: SubmitRequest) -> Decision | None:
    """The built-in triggers, in the prompt or a reference-image URL; they need no scenario.

    A reject wins over a fail, a fail over a hang, wherever each is written.
    """
    texts = (request.prompt, *(unquote(url) for url in request.image_urls))
    if not any(_TRIGGER_MARK in text for text in texts):
        return None  # the usual submit: one substring search per text, no regex
    for found in _found(_REJECT_TRIGGER, texts):
        status = int(found.group(1))
        if status in _DEFAULT_REJECT_MESSAGES:
            return Decision(Effect(reject=Reject(status)), f"trigger mock:reject:{status}")
    for found in _found(_FAIL_TRIGGER, texts):
        code = found.group(1)
        if code in FailCode.__members__:
            return Decision(Effect(fail=FailEffect(Failure.of(code))), f"trigger mock:fail:{code}")
    if any(_HANG_TRIGGER in text for text in texts):
        return Decision(Effect(timeline=TimelineOverride(never_finish=True)), "trigger mock:hang")
    return None


def _found(pattern: re.Pattern[str], texts: Sequence[str]) -> Iterator[re.Match[str]]:
    for text in texts:
        yield from pattern.finditer(text)


def reject_error(reject: Reject) -> ApiError:
    """The API error a `Reject` effect answers with."""
    if reject.status == 429:
        from .errors import RateLimited

        return RateLimited(reject.message or RateLimited.message)
    return ApiError(
        reject.message or _DEFAULT_REJECT_MESSAGES.get(reject.status), status=reject.status
    )


_DEFAULT_REJECT_MESSAGES: Mapping[int, str] = MappingProxyType(
    {
        400: "Invalid request",
        401: "Invalid or missing API key",
        402: "Insufficient credits",
        403: "Forbidden",
        404: "Not found",
        429: "Rate limit exceeded",
        500: "Internal server error",
        502: "Bad gateway",
        503: "Model temporarily unavailable",
        504: "Gateway timeout",
    }
)


class RuleBook:
    """The active rules, the library of named scenarios, and each rule's counters.

    Counting (every Nth, times) and seeded probability live here, under one
    lock, so concurrent requests draw a deterministic sequence per rule; the
    counts themselves are kept in a `RuleCounterStore` (in memory by default).
    The active scenario and the library are kept in a `ScenarioStateStore`,
    which several processes may share: a change made by another process is
    followed (and `on_change` told) the next time the active scenario is read.
    """

    def __init__(
        self,
        library: Mapping[str, Scenario] | None = None,
        *,
        seed: int = 0,
        loader: Callable[[str], Scenario | None] | None = None,
        counters: RuleCounterStore | None = None,
        state: ScenarioStateStore | None = None,
        on_change: Callable[[Scenario], None] | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._library = dict(library or {})
        self._loader = loader
        self._seed = seed
        self._active = Scenario("none")
        self._counters = counters if counters is not None else MemoryRuleCounters()
        self._state: ScenarioStateStore = state if state is not None else MemoryScenarioState()
        self._on_change = on_change
        # Another process may have made a scenario active already: start from it.
        self._seen, shared = self._state.active()
        if shared is not None:
            self._active = shared
        self._held: Held[int] = Held()  # what a request's first step read (`RequestGate`)
        self._shared = not isinstance(self._state, MemoryScenarioState)

    @property
    def active(self) -> Scenario:
        """The scenario whose rules apply to requests that name none."""
        version = self._held.get() if self._shared else None
        if version is None:
            version = self._state.version()
        if version != self._seen:
            self._follow()
        return self._active

    def steady(self) -> AbstractContextManager[None]:
        """A block in which `hold` spares this thread reading the version (no-op in memory)."""
        return self._held.block() if self._shared else nullcontext()

    def hold(self, version: int) -> None:
        """Within a `steady()` block: `version` is the shared version for the rest of it."""
        self._held.put(version)

    def _follow(self) -> None:
        """Take the shared active scenario as this process's own, and tell `on_change`."""
        with self._lock:
            self._seen, shared = self._state.active()
            self._active = shared if shared is not None else Scenario("none")
            active = self._active
        if self._on_change is not None:
            self._on_change(active)

    def _publish(self, scenario: Scenario) -> None:
        """Make `scenario` active here and for every process sharing the state."""
        self._active = scenario
        # "none" with rules added through the admin API is shared like any other;
        # only the empty one is stored as no scenario at all.
        empty = scenario.name == "none" and not (scenario.rules or scenario.settings)
        self._seen = self._state.set_active(None if empty else scenario)

    def library(self) -> dict[str, Scenario]:
        """Every scenario known by name."""
        with self._lock:
            for name in self._state.names():
                self._known(name)
            return dict(self._library)

    def _known(self, name: str) -> Scenario | None:
        scenario = self._library.get(name) or self._state.recall(name)
        if scenario is None and self._loader is not None:
            scenario = self._loader(name)
        if scenario is not None:
            self._library[name] = scenario
        return scenario

    def named(self, name: str) -> Scenario:
        """A known scenario (loading a shipped one on first use), or `InvalidRequest`."""
        with self._lock:
            scenario = self._known(name)
        if scenario is None:
            raise InvalidRequest(f"scenario: unknown scenario {name!r}")
        return scenario

    def add_to_library(self, scenario: Scenario) -> None:
        """Make a scenario known by its name (replacing one of the same name)."""
        with self._lock:
            self._library[scenario.name] = scenario
            self._state.remember(scenario)

    def activate(self, scenario: Scenario) -> None:
        """Make `scenario` the active one, with fresh counters."""
        with self._lock:
            if scenario.name not in self._library:
                self._library[scenario.name] = scenario
                self._state.remember(scenario)
            self._publish(scenario)
            self._counters.forget(scenario.name)

    def add_rule(self, rule: Rule, index: int | None = None) -> None:
        """Insert a rule into the active scenario (at the end by default)."""
        with self._lock:
            rules = list(self.active.rules)
            if any(r.name == rule.name for r in rules):
                raise InvalidRequest(f"rule: a rule named {rule.name!r} already exists")
            rules.insert(len(rules) if index is None else index, rule)
            self._publish(_with_rules(self._active, rules))

    def remove_rule(self, name: str) -> None:
        """Remove the active scenario's rule called `name`."""
        with self._lock:
            active = self.active
            rules = [r for r in active.rules if r.name != name]
            if len(rules) == len(active.rules):
                raise InvalidRequest(f"rule: no rule named {name!r}")
            self._publish(_with_rules(active, rules))

    def clear(self) -> None:
        """No active rules."""
        with self._lock:
            self._publish(Scenario("none"))
            self._counters.clear()

    def decide(self, ctx: Context, scenario: str | None = None) -> Decision:
        """The first matching rule of `scenario` (default: the active one) decides."""
        if scenario is None and not self.active.rules:
            return NO_DECISION  # the common case, without taking the lock
        with self._lock:
            chosen = self._active if scenario is None else self.named(scenario)
            for rule in chosen.rules:
                if self._applies(chosen.name, rule, ctx):
                    return Decision(rule.effect, f"rule {chosen.name}/{rule.name}")
        return NO_DECISION

    def remaining(self, scenario: str, rule: Rule) -> int | None:
        """How many more times a rule with `times` will fire."""
        if rule.times is None:
            return None
        return max(0, rule.times - self._counters.fired((scenario, rule.name)))

    def fired(self, scenario: str, rule: Rule) -> int:
        """How many times a rule has fired since its scenario was activated."""
        return self._counters.fired((scenario, rule.name))

    def _applies(self, scenario: str, rule: Rule, ctx: Context) -> bool:
        if not rule.match.fits(ctx):
            return False
        slot = (scenario, rule.name)
        seen = self._counters.see(slot)
        if rule.match.every_nth and seen % rule.match.every_nth != 0:
            return False
        if rule.match.probability is not None and self._draw(slot, seen) >= rule.match.probability:
            return False
        return self._counters.fire(slot, rule.times)

    def _draw(self, slot: tuple[str, str], seen: int) -> float:
        text = f"{self._seed}:{slot[0]}:{slot[1]}:{seen}".encode()
        return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big") / 2**64


def _with_rules(scenario: Scenario, rules: Sequence[Rule]) -> Scenario:
    return Scenario(
        scenario.name, tuple(rules), scenario.description, scenario.settings, scenario.source
    )
