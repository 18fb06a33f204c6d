"""MockService, the core's facade, on a frozen clock: no Flask, no network, no sleeps."""

from __future__ import annotations

import io
import json
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import pytest
from PIL import Image

from mock_server.core.callbacks import SendResult
from mock_server.core.clock import MockClock
from mock_server.core.errors import (
    ApiError,
    InsufficientCredits,
    InvalidRequest,
    RateLimited,
    TaskNotFound,
)
from mock_server.core.lifecycle import FailCode, Failure
from mock_server.core.scenarios import (
    Effect,
    FailEffect,
    Match,
    Reject,
    Rule,
    Scenario,
    TimelineOverride,
)
from mock_server.core.service import MockService
from mock_server.core.tasks import Task
from mock_server.settings import Settings

START = 1_700_000_000_000
JSON = "application/json"
ORIGIN = "http://127.0.0.1:8123"
KEY, OTHER_KEY = "key-alpha-0001", "key-beta-0002"
DAY_MS = 24 * 3600 * 1000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
GIF = b"GIF89a\x01\x00\x01\x00"


# -- fakes and fixtures ------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    url: str
    body: bytes
    headers: dict[str, str]


class FakeSender:
    """A callback sender that records every POST (from any thread) and answers 200."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[Call] = []

    def post(self, url: str, body: bytes, headers: Any, timeout_s: float) -> SendResult:
        with self._lock:
            self._calls.append(Call(url, body, dict(headers)))
        return SendResult(200, None, 1.0)

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)


@dataclass(frozen=True)
class Download:
    kind: str
    head: bytes = b""


@dataclass
class FakeFetcher:
    """A reference-image fetcher answering every URL alike (or raising)."""

    answer: Download = Download("ok", PNG_MAGIC)
    broken: bool = False
    urls: list[str] = field(default_factory=list)

    def fetch(self, url: str, *, timeout_s: float, max_bytes: int) -> Download:
        self.urls.append(url)
        if self.broken:
            raise OSError("connection reset")
        return self.answer


class MakeService(Protocol):
    def __call__(
        self,
        *,
        fetcher: FakeFetcher | None = None,
        sender: FakeSender | None = None,
        **changes: Any,
    ) -> MockService: ...


@pytest.fixture
def make_service() -> Iterator[MakeService]:
    """Services on their own frozen clocks, seeded; every one is closed afterwards."""
    made: list[MockService] = []

    def make(
        *, fetcher: FakeFetcher | None = None, sender: FakeSender | None = None, **changes: Any
    ) -> MockService:
        settings = Settings(**{"seed": 7, "frozen": True, "access_log": False, **changes})
        clock = MockClock(wall=lambda: START, frozen=True)
        service = MockService(
            settings.core_config(), sender=sender or FakeSender(), clock=clock, fetcher=fetcher
        )
        made.append(service)
        return service

    yield make
    for service in made:
        service.close()


@pytest.fixture
def service(make_service: MakeService) -> MockService:
    return make_service(balance=Decimal("10"))


# -- helpers -----------------------------------------------------------------------


def body(prompt: str = "a red fox", top: dict[str, Any] | None = None, **fields: Any) -> bytes:
    return json.dumps(
        {**(top or {}), "input": {"mode": "gpt-image-1", "prompt": prompt, **fields}}
    ).encode()


def submit(service: MockService, prompt: str = "a red fox", key: str = KEY, **fields: Any) -> Task:
    return service.submit(key, body(prompt, **fields), JSON, ORIGIN).task


def status(service: MockService, task: Task, key: str = KEY) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(service.status(key, task.task_id)[1])["data"]
    return data


def state(service: MockService, task: Task) -> str:
    return str(status(service, task)["state"])


def move_to(service: MockService, when: int) -> None:
    service.clock.advance(when - service.clock.now_ms())


def done_at(task: Task) -> int:
    assert task.timeline.done_at is not None
    return task.timeline.done_at


# -- the life of a task ------------------------------------------------------------


def test_task_moves_pending_processing_success_as_the_clock_advances(
    service: MockService,
) -> None:
    task = submit(service)
    assert task.timeline.created_at == START
    assert state(service, task) == "pending"
    move_to(service, task.timeline.processing_at - 1)
    assert state(service, task) == "pending"
    move_to(service, task.timeline.processing_at)
    assert state(service, task) == "processing"
    move_to(service, done_at(task) - 1)
    assert state(service, task) == "processing"
    move_to(service, done_at(task))
    data = status(service, task)
    assert data["state"] == "success"
    assert len(json.loads(data["resultJson"])["resultUrls"]) == 1


def test_result_urls_are_on_the_submitting_origin(service: MockService) -> None:
    task = submit(service, num_images=2)
    move_to(service, done_at(task))
    urls = json.loads(status(service, task)["resultJson"])["resultUrls"]
    assert [url.startswith(ORIGIN + "/") for url in urls] == [True, True]


def test_public_url_overrides_the_origin(make_service: MakeService) -> None:
    service = make_service(public_url="https://mock.example.com")
    task = submit(service)
    move_to(service, done_at(task))
    url = json.loads(status(service, task)["resultJson"])["resultUrls"][0]
    assert url.startswith("https://mock.example.com/results/")


def test_without_pending_state_a_task_starts_processing(make_service: MakeService) -> None:
    service = make_service(pending_state=False)
    task = submit(service)
    assert task.timeline.processing_at == START
    assert state(service, task) == "processing"


def test_same_seed_gives_the_same_task_ids_and_timelines(make_service: MakeService) -> None:
    first, second = make_service(), make_service()
    tasks = [(submit(first), submit(second)) for _ in range(3)]
    assert all(a.task_id == b.task_id and a.timeline == b.timeline for a, b in tasks)
    assert len({a.task_id for a, _ in tasks}) == 3


def test_profile_and_durations_shape_the_timeline(make_service: MakeService) -> None:
    service = make_service(pending_ms=100, processing_min_ms=1_000, processing_max_ms=1_000)
    task = submit(service)
    assert done_at(task) - task.timeline.processing_at == 1_000
    assert 80 <= task.timeline.processing_at - START <= 120


def test_minimum_above_the_profiles_maximum_raises_the_maximum(make_service: MakeService) -> None:
    service = make_service(profile="quick", processing_min_ms=10_000)
    task = submit(service)
    assert done_at(task) - task.timeline.processing_at == 10_000


# -- lookups -----------------------------------------------------------------------


def test_other_key_gets_task_not_found_for_a_foreign_task(service: MockService) -> None:
    task = submit(service)
    with pytest.raises(TaskNotFound) as caught:
        service.status(OTHER_KEY, task.task_id)
    assert caught.value.status == 404


def test_unknown_task_is_not_found(service: MockService) -> None:
    with pytest.raises(TaskNotFound):
        service.status(KEY, "task_0000000000000000")


def test_empty_task_id_is_a_400(service: MockService) -> None:
    with pytest.raises(InvalidRequest) as caught:
        service.status(KEY, "")
    assert caught.value.error.startswith("taskId: ")


# -- money -------------------------------------------------------------------------


@pytest.mark.parametrize(("num_images", "left"), [(1, 9.65), (2, 9.3), (4, 8.6)])
def test_submit_charges_the_price_of_each_image(
    service: MockService, num_images: int, left: float
) -> None:
    submit(service, num_images=num_images)
    assert service.balance(KEY) == left
    assert service.balance(OTHER_KEY) == 10


def test_price_per_image_is_configurable(make_service: MakeService) -> None:
    service = make_service(balance=Decimal("10"), price_per_image=Decimal("1.25"))
    submit(service, num_images=2)
    assert service.balance(KEY) == 7.5


def test_failed_task_is_refunded_once_it_has_failed(service: MockService) -> None:
    task = submit(service, "mock:fail:CONTENT_VIOLATION", num_images=2)
    assert service.balance(KEY) == 9.3
    move_to(service, done_at(task) - 1)
    assert service.balance(KEY) == 9.3
    move_to(service, done_at(task))
    assert state(service, task) == "failed"
    assert service.balance(KEY) == 10
    move_to(service, done_at(task) + DAY_MS)
    assert service.balance(KEY) == 10


def test_successful_task_is_not_refunded(service: MockService) -> None:
    task = submit(service)
    move_to(service, done_at(task) + 1)
    assert service.balance(KEY) == 9.65


@pytest.mark.parametrize("configured", [400, 402])
def test_insufficient_balance_is_refused_with_the_configured_status(
    make_service: MakeService, configured: int
) -> None:
    service = make_service(balance=Decimal("0.5"), insufficient_credits_status=configured)
    with pytest.raises(InsufficientCredits) as caught:
        submit(service, num_images=2)
    assert caught.value.status == configured
    assert caught.value.message == "Insufficient credits"
    assert service.balance(KEY) == 0.5
    assert len(service.tasks) == 0


def test_the_last_cent_can_be_spent(make_service: MakeService) -> None:
    service = make_service(balance=Decimal("0.7"))
    submit(service, num_images=2)
    assert service.balance(KEY) == 0


# -- limits ------------------------------------------------------------------------


def test_unfinished_cap_refuses_with_429_until_a_task_finishes(make_service: MakeService) -> None:
    service = make_service(max_unfinished=2)
    first, second = submit(service), submit(service)
    earliest = min(done_at(first), done_at(second))
    with pytest.raises(RateLimited) as caught:
        submit(service)
    assert caught.value.status == 429
    assert caught.value.headers["Retry-After"] == str(math.ceil((earliest - START) / 1000))
    assert submit(service, key=OTHER_KEY).key == OTHER_KEY
    move_to(service, earliest)
    assert submit(service).key == KEY


def test_cap_refusal_charges_nothing(make_service: MakeService) -> None:
    service = make_service(max_unfinished=1, balance=Decimal("10"))
    submit(service)
    with pytest.raises(RateLimited):
        submit(service, num_images=4)
    assert service.balance(KEY) == 9.65


def test_unfinished_cap_is_checked_before_the_balance(make_service: MakeService) -> None:
    service = make_service(max_unfinished=1, balance=Decimal("0.35"))
    submit(service)
    with pytest.raises(RateLimited):
        submit(service)


def test_invalid_body_is_refused_before_the_cap(make_service: MakeService) -> None:
    service = make_service(max_unfinished=1)
    submit(service)
    with pytest.raises(InvalidRequest):
        submit(service, num_images=3)


def test_requests_per_minute_are_counted_per_key(make_service: MakeService) -> None:
    service = make_service(rpm=2)
    service.admit(KEY)
    service.admit(KEY)
    with pytest.raises(RateLimited) as caught:
        service.admit(KEY)
    assert caught.value.headers["Retry-After"] == "60"
    service.admit(OTHER_KEY)
    service.clock.advance(60_000)
    service.admit(KEY)


def test_a_keys_own_caps_override_the_servers(service: MockService) -> None:
    account = service.update_account(KEY, balance="2.5", rpm=1, max_unfinished=1)
    assert account == {
        "key": KEY,
        "balance": 2.5,
        "rpm": 1,
        "maxUnfinished": 1,
        "unfinished": 0,
    }
    service.admit(KEY)
    with pytest.raises(RateLimited):
        service.admit(KEY)
    submit(service)
    assert service.account(KEY)["unfinished"] == 1
    with pytest.raises(RateLimited):
        submit(service)


def test_a_hundred_simultaneous_submits_admit_exactly_the_cap(make_service: MakeService) -> None:
    service = make_service(max_unfinished=10, balance=Decimal("100"))
    threads_n = 100
    barrier = threading.Barrier(threads_n, timeout=30)
    outcomes: list[str | None] = [None] * threads_n

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            submit(service, f"prompt {n}")
            outcomes[n] = "accepted"
        except RateLimited:
            outcomes[n] = "limited"

    threads = [threading.Thread(target=attempt, args=(n,), daemon=True) for n in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert outcomes.count("accepted") == 10
    assert outcomes.count("limited") == 90
    assert len(service.tasks) == 10
    assert service.balance(KEY) == 96.5
    assert service.account(KEY)["unfinished"] == 10


# -- triggers and reference images -------------------------------------------------


@pytest.mark.parametrize("code", list(FailCode), ids=[code.value for code in FailCode])
def test_fail_trigger_ends_the_task_with_that_code(service: MockService, code: FailCode) -> None:
    submitted = service.submit(KEY, body(f"mock:fail:{code.value}"), JSON, ORIGIN)
    move_to(service, done_at(submitted.task))
    data = status(service, submitted.task)
    assert (data["state"], data["failCode"], data["failMsg"]) == (
        "failed",
        code.value,
        code.message,
    )
    assert submitted.decision.reason == f"trigger mock:fail:{code.value}"


def test_reject_trigger_refuses_the_submit_and_charges_nothing(service: MockService) -> None:
    with pytest.raises(ApiError) as caught:
        submit(service, "mock:reject:503")
    assert caught.value.status == 503
    assert len(service.tasks) == 0
    assert service.balance(KEY) == 10


def test_hang_trigger_keeps_a_task_processing_and_unfinished(make_service: MakeService) -> None:
    service = make_service(max_unfinished=1)
    task = submit(service, "mock:hang")
    move_to(service, START + 30 * DAY_MS)
    assert state(service, task) == "processing"
    with pytest.raises(RateLimited):
        submit(service)


def test_invalid_reference_host_fails_the_task(service: MockService) -> None:
    task = submit(service, image_urls=["https://ok.example/a.png", "https://img.invalid/b.png"])
    move_to(service, done_at(task))
    assert status(service, task)["failCode"] == "INVALID_IMAGE_URL"


def test_triggers_can_be_turned_off(make_service: MakeService) -> None:
    service = make_service(triggers=False)
    failing = submit(service, "mock:fail:CONTENT_VIOLATION")
    unreachable = submit(service, image_urls=["https://img.invalid/b.png"])
    rejected = submit(service, "mock:reject:503")
    move_to(service, max(done_at(failing), done_at(unreachable), done_at(rejected)))
    assert [state(service, t) for t in (failing, unreachable, rejected)] == ["success"] * 3


@pytest.mark.parametrize(
    ("answer", "broken", "outcome"),
    [
        (Download("ok", PNG_MAGIC), False, None),
        (Download("ok", GIF), False, "UNSUPPORTED_FORMAT"),
        (Download("too_large", PNG_MAGIC), False, "IMAGE_TOO_LARGE"),
        (Download("unreachable"), False, "INVALID_IMAGE_URL"),
        (Download("ok", PNG_MAGIC), True, "IMAGE_DOWNLOAD_FAILED"),
    ],
    ids=["png", "gif", "too-large", "unreachable", "fetcher-raises"],
)
def test_fetch_mode_judges_the_downloaded_reference(
    make_service: MakeService, answer: Download, broken: bool, outcome: str | None
) -> None:
    fetcher = FakeFetcher(answer, broken)
    service = make_service(image_mode="fetch", fetcher=fetcher, balance=Decimal("1"))
    task = submit(service, image_urls=["https://img.example/a.png"])
    move_to(service, done_at(task))
    data = status(service, task)
    assert data.get("failCode") == outcome
    assert service.balance(KEY) == (1 if outcome else 0.65)
    assert fetcher.urls == ["https://img.example/a.png"]


# -- scenarios ---------------------------------------------------------------------


def failing_rule(name: str = "fail-foxes") -> Rule:
    effect = Effect(fail=FailEffect(Failure.of(FailCode.NSFW_DETECTED)))
    return Rule(name, Match(prompt_contains=("fox",)), effect)


def test_active_scenario_rules_decide_a_submit(service: MockService) -> None:
    service.use_scenario(Scenario("moderated", (failing_rule(),)))
    submitted = service.submit(KEY, body("a fox"), JSON, ORIGIN)
    assert submitted.decision.reason == "rule moderated/fail-foxes"
    assert submitted.task.reason == "rule moderated/fail-foxes"
    move_to(service, done_at(submitted.task))
    assert status(service, submitted.task)["failCode"] == "NSFW_DETECTED"


def test_triggers_come_before_scenario_rules(service: MockService) -> None:
    service.use_scenario(Scenario("moderated", (failing_rule(),)))
    task = submit(service, "a fox mock:fail:PROCESSING_TIMEOUT")
    move_to(service, done_at(task))
    assert status(service, task)["failCode"] == "PROCESSING_TIMEOUT"


def test_scenario_timeline_override_sets_exact_durations(service: MockService) -> None:
    effect = Effect(timeline=TimelineOverride(pending_ms=0, processing_ms=1_000))
    service.use_scenario(Scenario("fixed", (Rule("fixed", Match(), effect),)))
    task = submit(service)
    assert (task.timeline.processing_at, task.timeline.done_at) == (START, START + 1_000)


def test_scenario_fail_after_ends_the_task_early(service: MockService) -> None:
    effect = Effect(fail=FailEffect(Failure.of(FailCode.MODEL_UNAVAILABLE), after_ms=10))
    service.use_scenario(Scenario("outage", (Rule("down", Match(), effect),)))
    task = submit(service)
    assert task.timeline.done_at == START + 10
    move_to(service, START + 10)
    assert status(service, task)["failCode"] == "MODEL_UNAVAILABLE"


def test_scenario_settings_apply_while_active_and_clear_restores(service: MockService) -> None:
    service.use_scenario(Scenario("tight", settings={"rpm": 2, "max_unfinished": 1}))
    service.admit(KEY)
    service.admit(KEY)
    with pytest.raises(RateLimited):
        service.admit(KEY)
    submit(service)
    with pytest.raises(RateLimited):
        submit(service)
    service.clear_scenario()
    service.admit(KEY)
    submit(service)
    assert service.settings == service.base_config


def test_scenario_can_switch_off_the_pending_state(service: MockService) -> None:
    service.use_scenario(Scenario("no-pending", settings={"pending_state": False}))
    assert state(service, submit(service)) == "processing"


def test_reject_rule_refuses_the_submit(service: MockService) -> None:
    rule = Rule("busy", Match(), Effect(reject=Reject(429)))
    service.use_scenario(Scenario("busy", (rule,)))
    with pytest.raises(RateLimited):
        submit(service)
    assert service.balance(KEY) == 10


def test_status_rule_rejects_a_status_read_through_decide(service: MockService) -> None:
    rule = Rule("broken-status", Match(endpoint="status"), Effect(reject=Reject(500)))
    task = submit(service)
    service.use_scenario(Scenario("broken", (rule,)))
    with pytest.raises(ApiError) as caught:
        service.decide("status", KEY, task)
    assert caught.value.status == 500
    assert service.decide("balance", KEY).default


def test_a_named_scenario_decides_one_request(service: MockService) -> None:
    service.rules.add_to_library(Scenario("per-request", (failing_rule("named"),)))
    submitted = service.submit(KEY, body("a fox"), JSON, ORIGIN, scenario="per-request")
    unnamed = submit(service, "a fox")
    assert submitted.task.scenario == "per-request"
    move_to(service, max(done_at(submitted.task), done_at(unnamed)))
    assert status(service, submitted.task)["failCode"] == "NSFW_DETECTED"
    assert state(service, unnamed) == "success"


def test_a_shipped_scenario_can_be_named_per_request(service: MockService) -> None:
    submitted = service.submit(KEY, body("nude"), JSON, ORIGIN, scenario="content-moderation")
    move_to(service, done_at(submitted.task))
    assert status(service, submitted.task)["failCode"] == "NSFW_DETECTED"
    assert service.rules.active.rules == ()


def test_shipped_scenario_setting_applies_its_settings(make_service: MakeService) -> None:
    service = make_service(scenario="rate-limited")
    assert service.rules.active.name == "rate-limited"
    assert (service.settings.rpm, service.settings.max_unfinished) == (5, 2)


def test_an_unknown_named_scenario_is_a_400(service: MockService) -> None:
    with pytest.raises(InvalidRequest):
        service.submit(KEY, body(), JSON, ORIGIN, scenario="no-such-scenario")
    assert len(service.tasks) == 0


def test_scenario_setting_loads_a_scenario_file(make_service: MakeService, tmp_path: Path) -> None:
    path = tmp_path / "tight.yaml"
    path.write_text("name: tight\nsettings: {max_unfinished: 1}\n", encoding="utf-8")
    service = make_service(scenario=str(path))
    assert service.rules.active.name == "tight"
    submit(service)
    with pytest.raises(RateLimited):
        submit(service)
    service.reset()
    assert service.rules.active.name == "tight"


# -- admin: force ------------------------------------------------------------------


def test_force_success_ends_a_pending_task_now(service: MockService) -> None:
    task = submit(service)
    service.clock.advance(100)
    service.force(task.task_id, "success")
    data = status(service, task)
    assert data["state"] == "success"
    assert (data["completeTime"], data["costTime"]) == (START + 100, 100)


def test_force_failed_uses_the_given_failure_and_refunds(service: MockService) -> None:
    task = submit(service)
    service.force(task.task_id, "failed", Failure.of(FailCode.IMAGE_TOO_LARGE))
    assert status(service, task)["failCode"] == "IMAGE_TOO_LARGE"
    assert service.balance(KEY) == 10


def test_force_failed_without_a_failure_is_generation_failed(service: MockService) -> None:
    task = submit(service)
    service.force(task.task_id, "failed")
    assert status(service, task)["failCode"] == "GENERATION_FAILED"


def test_force_processing_starts_now_and_keeps_the_end(service: MockService) -> None:
    task = submit(service)
    end = done_at(task)
    updated = service.force(task.task_id, "processing")
    assert (updated.timeline.processing_at, updated.timeline.done_at) == (START, end)
    assert state(service, task) == "processing"


def test_force_success_frees_the_cap_held_by_a_hung_task(make_service: MakeService) -> None:
    service = make_service(max_unfinished=1)
    task = submit(service, "mock:hang")
    service.force(task.task_id, "success")
    assert state(service, task) == "success"
    assert submit(service).key == KEY


@pytest.mark.parametrize("target", ["success", "failed", "processing"])
def test_force_refuses_a_finished_task(service: MockService, target: str) -> None:
    task = submit(service)
    move_to(service, done_at(task))
    with pytest.raises(InvalidRequest) as caught:
        service.force(task.task_id, target)
    assert caught.value.error.startswith("state: ")
    assert state(service, task) == "success"


def test_force_of_an_unknown_task_is_not_found(service: MockService) -> None:
    with pytest.raises(TaskNotFound):
        service.force("task_0000000000000000", "success")


def test_forcing_a_hung_callback_task_schedules_its_callback(service: MockService) -> None:
    top = {"request_type": "callback", "callback_url": "http://127.0.0.1:9/hook"}
    task = service.submit(KEY, body("mock:hang", top), JSON, ORIGIN).task
    service.force(task.task_id, "success")
    assert len(service.callbacks.deliveries(task_id=task.task_id)) == 1


# -- callbacks ---------------------------------------------------------------------


def test_callback_task_schedules_a_delivery_at_its_end(service: MockService) -> None:
    top = {"request_type": "callback", "callback_url": "http://127.0.0.1:9/hook"}
    task = service.submit(KEY, body("p", top), JSON, ORIGIN).task
    [delivery] = service.callbacks.deliveries(task_id=task.task_id)
    assert (delivery["url"], delivery["dueTime"]) == ("http://127.0.0.1:9/hook", done_at(task))


def test_callback_body_is_the_status_body_at_the_end(make_service: MakeService) -> None:
    sender = FakeSender()
    service = make_service(sender=sender)
    service.start()
    top = {"request_type": "callback", "callback_url": "http://127.0.0.1:9/hook"}
    task = service.submit(KEY, body("p", top), JSON, ORIGIN).task
    move_to(service, done_at(task))
    assert service.callbacks.wait_idle(10.0)
    [call] = sender.calls
    assert call.url == "http://127.0.0.1:9/hook"
    assert call.body == service.status(KEY, task.task_id)[1]


def test_callback_to_a_denied_host_is_a_400(make_service: MakeService) -> None:
    service = make_service(callback_deny_hosts=("*.blocked.test",))
    top = {"request_type": "callback", "callback_url": "http://hooks.blocked.test/cb"}
    with pytest.raises(InvalidRequest) as caught:
        service.submit(KEY, body("p", top), JSON, ORIGIN)
    assert caught.value.error.startswith("callback_url: ")


# -- result images -----------------------------------------------------------------


def test_result_image_exists_only_between_success_and_its_expiry(
    make_service: MakeService,
) -> None:
    service = make_service(result_ttl_s=60)
    task = submit(service, aspect_ratio="3:2")
    assert service.result_image(task.task_id, 0) is None
    move_to(service, done_at(task) - 1)
    assert service.result_image(task.task_id, 0) is None
    move_to(service, done_at(task))
    image = service.result_image(task.task_id, 0)
    assert image is not None
    assert image.startswith(PNG_MAGIC)
    with Image.open(io.BytesIO(image)) as picture:
        assert picture.size == (1536, 1024)
    move_to(service, done_at(task) + 59_999)
    assert service.result_image(task.task_id, 0) == image
    move_to(service, done_at(task) + 60_000)
    assert service.result_image(task.task_id, 0) is None


def test_result_image_beyond_the_count_asked_for_is_none(service: MockService) -> None:
    task = submit(service, num_images=2)
    move_to(service, done_at(task))
    assert service.result_image(task.task_id, 1) is not None
    assert service.result_image(task.task_id, 2) is None


def test_result_image_with_a_negative_index_is_none(service: MockService) -> None:
    task = submit(service)
    move_to(service, done_at(task))
    assert service.result_image(task.task_id, -1) is None


def test_failed_or_unknown_tasks_have_no_result_image(service: MockService) -> None:
    task = submit(service, "mock:fail:GENERATION_FAILED")
    move_to(service, done_at(task))
    assert service.result_image(task.task_id, 0) is None
    assert service.result_image("task_0000000000000000", 0) is None


# -- reset and isolation -----------------------------------------------------------


def test_reset_forgets_tasks_accounts_and_the_sequence(service: MockService) -> None:
    first = submit(service)
    service.update_account(KEY, rpm=1)
    service.use_scenario(Scenario("moderated", (failing_rule(),)))
    service.reset()
    assert len(service.tasks) == 0
    with pytest.raises(TaskNotFound):
        service.status(KEY, first.task_id)
    assert service.balance(KEY) == 10
    assert service.account(KEY)["rpm"] == 10_000
    assert service.rules.active.rules == ()
    assert submit(service).task_id == first.task_id


def test_reset_puts_the_clock_back_on_the_wall(service: MockService) -> None:
    service.clock.advance(DAY_MS)
    service.reset()
    assert service.clock.now_ms() == START
    assert service.clock.frozen


def test_reset_keeps_an_injected_frozen_clock_frozen() -> None:
    clock = MockClock(wall=lambda: START, frozen=True)
    service = MockService(Settings(seed=1).core_config(), sender=FakeSender(), clock=clock)
    try:
        service.reset()
        assert clock.frozen
    finally:
        service.close()


def test_two_services_share_nothing(make_service: MakeService) -> None:
    first, second = make_service(balance=Decimal("10")), make_service(balance=Decimal("10"))
    task = submit(first)
    first.clock.advance(DAY_MS)
    with pytest.raises(TaskNotFound):
        second.status(KEY, task.task_id)
    assert (first.balance(KEY), second.balance(KEY)) == (9.65, 10)
    assert second.clock.now_ms() == START


def test_accounts_lists_every_key_that_spent_or_has_caps_set(service: MockService) -> None:
    submit(service)
    service.balance(OTHER_KEY)  # a mere read opens no account
    service.update_account("key-capped-0003", rpm=5)
    accounts = service.accounts()
    assert sorted(accounts) == sorted([KEY, "key-capped-0003"])
    assert accounts[KEY]["balance"] == 9.65
    assert accounts[KEY]["unfinished"] == 1


@dataclass
class GatedFetcher(FakeFetcher):
    """A fetcher whose downloads wait until the test opens the gate."""

    gate: threading.Event = field(default_factory=threading.Event)

    def fetch(self, url: str, *, timeout_s: float, max_bytes: int) -> Download:
        self.gate.wait(10)
        return Download("ok", b"GIF89a")


def test_a_pending_download_never_holds_up_balance_or_submit(make_service: MakeService) -> None:
    fetcher = GatedFetcher()
    service = make_service(fetcher=fetcher, image_mode="fetch", balance=Decimal("10"))
    task = submit(service, image_urls=["https://images.example/a.gif"])
    move_to(service, done_at(task) + 1)
    answers: list[object] = []
    reader = threading.Thread(
        target=lambda: answers.extend([service.balance(KEY), submit(service)])
    )
    reader.start()
    reader.join(5)
    finished_before_the_download = not reader.is_alive()
    fetcher.gate.set()
    reader.join(5)
    assert finished_before_the_download
    assert answers[0] == 9.65  # the charge stands until the verdict is in
    assert status(service, task)["failCode"] == "UNSUPPORTED_FORMAT"
    assert service.balance(KEY) == 9.65  # refunded 0.35 for the failed task, charged 0.35 anew
