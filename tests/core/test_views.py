"""The service's read models and admin commands: the only way in for admin, handle and recorder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from mock_server.core.clock import MockClock
from mock_server.core.errors import InvalidRequest, TaskNotFound
from mock_server.core.lifecycle import Failure
from mock_server.core.scenarios import Rule, Scenario
from mock_server.core.service import MockService
from mock_server.core.views import (
    AccountView,
    AttemptView,
    ClockView,
    DeliveryView,
    RuleView,
    TaskView,
)
from mock_server.settings import Settings
from mock_server.version import __version__
from tests.core.test_service import FakeFetcher, FakeSender

START = 1_700_000_000_000
KEY, OTHER_KEY = "key-alpha-0001", "key-beta-0002"
HOOK = "http://receiver.test/hook"


def make(fetcher: FakeFetcher | None = None, **changes: Any) -> MockService:
    settings = Settings(**{"seed": 7, "frozen": True, "balance": Decimal("10"), **changes})
    clock = MockClock(wall=lambda: START, frozen=True)
    return MockService(settings, sender=FakeSender(), clock=clock, fetcher=fetcher)


@pytest.fixture
def service() -> Iterator[MockService]:
    with make(callback_allow_hosts=("receiver.test",)) as running:
        yield running


def submit(service: MockService, key: str = KEY, **fields: Any) -> str:
    top: dict[str, Any] = {
        k: fields.pop(k) for k in ("request_type", "callback_url") if k in fields
    }
    body: dict[str, Any] = {
        **top,
        "input": {"mode": "gpt-image-1", "prompt": "a red fox", **fields},
    }
    task = service.submit(key, json.dumps(body).encode(), "application/json", "http://mock")
    return task.task.task_id


def status_data(service: MockService, key: str, task_id: str) -> Any:
    return json.loads(service.status(key, task_id)[1])["data"]


# -- tasks -------------------------------------------------------------------------


def test_a_task_view_carries_the_status_data_a_status_read_answers(service: MockService) -> None:
    task_id = submit(service, num_images=2)
    for step in (0, 1_000, 60_000):
        service.advance_clock(step)
        view = service.task_view(task_id)
        assert view.status == status_data(service, KEY, task_id)
        assert view.state == view.status["state"]
    assert (view.task_id, view.key, view.model, view.charge) == (task_id, KEY, "gpt-image-1", 0.7)
    assert view.request["num_images"] == 2
    assert view.submitted.num_images == 2


def test_a_fetch_mode_verdict_is_settled_before_the_view_shows_the_end() -> None:
    with make(FakeFetcher(broken=True), image_mode="fetch") as service:
        task_id = submit(service, image_urls=["https://example.com/a.png"])
        service.advance_clock(600_000)
        view = service.task_view(task_id)
        assert (view.state, view.fail_code) == ("failed", "IMAGE_DOWNLOAD_FAILED")
        assert view.status == status_data(service, KEY, task_id)


def test_a_task_view_as_json_is_the_admin_apis_task(service: MockService) -> None:
    task_id = submit(service, image_urls=["https://example.com/a.png"])
    view = service.force_view(task_id, "failed", Failure.of("NSFW_DETECTED"))
    document = view.to_json()
    assert document["key"] == KEY  # full here; the web layer masks it
    assert document["failure"] == {"failCode": "NSFW_DETECTED", "failMsg": view.fail_msg}
    assert document["request"]["image_urls"] == ["https://example.com/a.png"]
    assert document["status"] == dict(view.status)
    assert document["timeline"]["doneAt"] == view.done_at == START
    json.dumps(document)  # JSON-ready as it is


def test_an_unknown_task_is_task_not_found(service: MockService) -> None:
    with pytest.raises(TaskNotFound):
        service.task_view("nope")


def test_task_views_filter_by_key_and_state_and_keep_the_last(service: MockService) -> None:
    first, second, third = submit(service), submit(service, OTHER_KEY), submit(service)
    service.force(first, "success")
    assert [v.task_id for v in service.task_views()] == [first, second, third]
    assert [v.task_id for v in service.task_views(key=KEY)] == [first, third]
    assert [v.task_id for v in service.task_views(state="success")] == [first]
    assert [v.task_id for v in service.task_views(limit=2)] == [second, third]
    assert all(isinstance(v, TaskView) for v in service.task_views())


# -- clock, scenarios, accounts --------------------------------------------------------


def test_clock_commands_answer_the_clock_view(service: MockService) -> None:
    assert service.clock_view() == ClockView(START, True, 0)
    assert service.advance_clock(500) == ClockView(START + 500, True, 500)
    assert service.set_clock(START + 2_000).now == START + 2_000
    with pytest.raises(InvalidRequest) as refused:
        service.set_clock(START)
    assert refused.value.error.endswith("it only moves on")
    assert service.clock_view().to_json() == {
        "now": START + 2_000,
        "frozen": True,
        "offsetMs": 2_000,
    }
    assert service.unfreeze_clock().frozen is False
    assert service.freeze_clock().frozen is True


def test_scenario_commands_answer_the_scenario_view(service: MockService) -> None:
    assert service.scenario_view().name == "none"
    with pytest.raises(InvalidRequest) as refused:
        service.load_scenario("nope")
    assert refused.value.error.startswith("name: no such scenario 'nope' (known: ")
    service.use_scenario(Scenario("mine", settings={"rpm": 5}))
    view = service.add_rule(Rule("once", times=1))
    assert view.rules == (RuleView("once", 1, 1),)
    assert service.add_rule(Rule("first"), 10**30).rules[-1].name == "first"
    assert [r.name for r in service.remove_rule("once").rules] == ["first"]
    assert service.load_scenario("rate-limited").to_json()["settings"]["rpm"] == 5
    assert "rate-limited" in service.scenario_names()
    assert service.health().settings["scenario"] == "rate-limited"


def test_account_views_are_the_accounts_as_the_admin_api_shows_them(service: MockService) -> None:
    submit(service)
    assert service.account_view(KEY) == AccountView(KEY, 9.65, 10_000, 1_000, 1)
    changed = service.change_account(OTHER_KEY, balance="2.5", rpm=3)
    assert changed.to_json() == service.update_account(OTHER_KEY)
    assert [v.key for v in service.account_views()] == [KEY, OTHER_KEY]


# -- callbacks, journal, health ----------------------------------------------------------


def test_deliveries_attempts_and_redelivery_are_typed(service: MockService) -> None:
    task_id = submit(service, request_type="callback", callback_url=HOOK)
    service.force(task_id, "success")
    assert service.wait_for_callbacks(5)
    [delivery] = service.deliveries()
    assert isinstance(delivery, DeliveryView)
    assert delivery.to_json() == service.callbacks.deliveries()[0]
    assert service.deliveries(outcome="scheduled") == []
    with pytest.raises(InvalidRequest) as refused:
        service.deliveries(outcome="lost")
    assert refused.value.error.startswith("outcome: 'lost' is not one of")
    [attempt] = service.attempts(task_id)
    assert isinstance(attempt, AttemptView)
    assert attempt.to_json() == service.callbacks.attempts(task_id)[0]
    assert service.redeliver(task_id) is not None
    assert service.wait_for_callbacks(5)
    assert [a.attempt for a in service.attempts(task_id)] == [1, 2]
    for no_callback in (service.attempts, service.redeliver):
        with pytest.raises(TaskNotFound):
            no_callback("nope")


def test_recorded_requests_are_stamped_with_mock_time_and_kept_on_request(
    service: MockService,
) -> None:
    service.advance_clock(10)
    kept = service.record_request("GET", "/api/x", 200, 1.5, "...0001", "t1", "default")
    service.record_request("GET", "/__admin/clock", 200, 0.5, keep=False)
    assert kept.time == START + 10
    assert service.journal_entries() == [kept]
    assert service.journal_entries(task_id="t2") == []


def test_health_is_the_admin_health_answer(service: MockService) -> None:
    submit(service)
    health = service.health().to_json()
    assert (health["status"], health["version"], health["tasks"]) == ("ok", __version__, 1)
    assert health["settings"]["seed"] == 7
    assert health["backgroundErrors"] == 0
