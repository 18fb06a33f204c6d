"""The handle the `apixo_mock` fixture yields: clock, wait_for, scenarios, accounts, records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from mock_server.core.errors import ConfigError
from mock_server.core.scenarios import Scenario
from mock_server.testing.handle import StateUnreachable
from mock_server.testing.receiver import CallbackReceiver
from mock_server.testing.server import MockServer

from .helpers import BALANCE, callback_submit, post_submit, status, submit


def fail_swords() -> dict[str, Any]:
    """A rule: prompts with "sword" end failed with CONTENT_VIOLATION."""
    return {
        "name": "swords",
        "when": {"prompt_contains": "sword"},
        "then": {"fail": {"code": "CONTENT_VIOLATION"}},
    }


# -- the fixture's defaults -------------------------------------------------------


def test_the_mock_listens_on_loopback_with_a_frozen_clock(apixo_mock: MockServer) -> None:
    assert apixo_mock.base_url.startswith("http://127.0.0.1:")
    assert apixo_mock.service.clock.frozen
    assert apixo_mock.api_key == "test-key"
    assert apixo_mock.headers == {"Authorization": "Bearer test-key"}


def test_each_test_gets_a_fresh_mock(apixo_mock: MockServer) -> None:
    assert apixo_mock.tasks() == []
    submit(apixo_mock)  # left behind on purpose: the next test must not see it


def test_a_fresh_mock_after_one_that_left_a_task(apixo_mock: MockServer) -> None:
    assert apixo_mock.tasks() == []


# -- time -------------------------------------------------------------------------


def test_advance_takes_seconds(apixo_mock: MockServer) -> None:
    before = apixo_mock.service.clock.now_ms()

    apixo_mock.advance(1.5)

    assert apixo_mock.service.clock.now_ms() - before == 1500
    assert apixo_mock.now() == (before + 1500) / 1000


@pytest.mark.parametrize("seconds", [1e26, float("inf"), float("nan")])
def test_advance_refuses_to_pass_the_clock_bound(apixo_mock: MockServer, seconds: float) -> None:
    before = apixo_mock.now()

    with pytest.raises(ValueError, match=r"9007199254740991|finite"):
        apixo_mock.advance(seconds)

    assert apixo_mock.now() == before


def test_advance_refuses_to_go_backwards(apixo_mock: MockServer) -> None:
    with pytest.raises(ValueError, match="forwards"):
        apixo_mock.advance(-1)


def test_a_task_moves_on_only_when_the_clock_does(apixo_mock: MockServer) -> None:
    task_id = submit(apixo_mock)
    assert status(apixo_mock, task_id)["data"]["state"] == "pending"

    apixo_mock.advance(3600)

    assert status(apixo_mock, task_id)["data"]["state"] == "success"


# -- wait_for -------------------------------------------------------------------


def test_wait_for_success_advances_exactly_to_the_end(apixo_mock: MockServer) -> None:
    task_id = submit(apixo_mock)

    task = apixo_mock.wait_for(task_id, "success")

    assert task.state == "success"
    assert apixo_mock.service.clock.now_ms() == task.done_at
    assert task.status == status(apixo_mock, task_id)["data"]
    assert task.result_urls[0].startswith(apixo_mock.base_url + "/results/")


def test_wait_for_processing_stops_at_processing(apixo_mock: MockServer) -> None:
    task_id = submit(apixo_mock)

    task = apixo_mock.wait_for(task_id, "processing")

    assert task.state == "processing"
    assert apixo_mock.service.clock.now_ms() == task.processing_at
    assert task.result_urls == []


def test_wait_for_failed_reports_the_fail_code(apixo_mock: MockServer) -> None:
    task_id = submit(apixo_mock, "mock:fail:CONTENT_VIOLATION")

    task = apixo_mock.wait_for(task_id, "failed")

    assert (task.fail_code, task.status["failCode"]) == ("CONTENT_VIOLATION", "CONTENT_VIOLATION")


def test_wait_for_a_state_already_reached_returns_at_once(apixo_mock: MockServer) -> None:
    task_id = submit(apixo_mock)
    before = apixo_mock.service.clock.now_ms()

    assert apixo_mock.wait_for(task_id, "pending").state == "pending"
    assert apixo_mock.service.clock.now_ms() == before


def test_waiting_for_success_on_a_failing_task_says_why(apixo_mock: MockServer) -> None:
    task_id = submit(apixo_mock, "mock:fail:CONTENT_VIOLATION")

    never = r"failed \(CONTENT_VIOLATION: .*never become success"
    with pytest.raises(StateUnreachable, match=never):
        apixo_mock.wait_for(task_id, "success")


def test_waiting_for_a_task_that_never_finishes_fails_at_once(apixo_mock: MockServer) -> None:
    task_id = submit(apixo_mock, "mock:hang")
    before = apixo_mock.service.clock.now_ms()

    with pytest.raises(StateUnreachable, match="never finishes"):
        apixo_mock.wait_for(task_id, "success")
    assert apixo_mock.service.clock.now_ms() == before


def test_states_only_move_forward(apixo_mock: MockServer) -> None:
    task_id = submit(apixo_mock)
    apixo_mock.wait_for(task_id, "processing")

    with pytest.raises(StateUnreachable, match="only move forward"):
        apixo_mock.wait_for(task_id, "pending")


def test_waiting_for_an_unknown_task_is_a_lookup_error(apixo_mock: MockServer) -> None:
    with pytest.raises(LookupError, match="task_nope"):
        apixo_mock.wait_for("task_nope", "success")


def test_waiting_for_an_unknown_state_is_a_value_error(apixo_mock: MockServer) -> None:
    task_id = submit(apixo_mock)
    with pytest.raises(ValueError, match="done"):
        apixo_mock.wait_for(task_id, "done")


def test_an_unknown_state_lists_the_valid_ones(apixo_mock: MockServer) -> None:
    task_id = submit(apixo_mock)
    expected = "'pending', 'processing', 'success', 'failed', got 'succeeded'"
    with pytest.raises(ValueError, match=expected):
        apixo_mock.wait_for(task_id, "succeeded")


def test_a_hanging_task_still_pending_is_said_to_stay_processing(apixo_mock: MockServer) -> None:
    task_id = submit(apixo_mock, "mock:hang")
    assert apixo_mock.task(task_id).state == "pending"

    with pytest.raises(StateUnreachable, match="pending now and stays processing"):
        apixo_mock.wait_for(task_id, "success")


def test_on_a_running_clock_wait_for_polls_in_real_time() -> None:
    with MockServer(frozen=False, profile="instant") as mock:
        task_id = submit(mock)

        assert mock.wait_for(task_id, "success", timeout=5).state == "success"


def test_on_a_running_clock_wait_for_gives_up_after_its_timeout() -> None:
    with MockServer(frozen=False, profile="realistic") as mock:
        task_id = submit(mock)

        with pytest.raises(TimeoutError, match="still pending"):
            mock.wait_for(task_id, "success", timeout=0.05)


# -- scenarios ------------------------------------------------------------------


def test_use_scenario_by_shipped_name(apixo_mock: MockServer) -> None:
    scenario = apixo_mock.use_scenario("content-moderation")

    task_id = submit(apixo_mock, "a gun on a table")

    assert scenario.name == apixo_mock.service.rules.active.name == "content-moderation"
    assert apixo_mock.wait_for(task_id, "failed").fail_code == "CONTENT_VIOLATION"


def test_use_scenario_from_a_list_of_rules(apixo_mock: MockServer) -> None:
    apixo_mock.use_scenario([fail_swords()])

    swords, shields = submit(apixo_mock, "a sword"), submit(apixo_mock, "a shield")

    assert apixo_mock.wait_for(swords, "failed").fail_code == "CONTENT_VIOLATION"
    assert apixo_mock.wait_for(shields, "success").state == "success"


def test_use_scenario_from_a_document_with_settings(apixo_mock: MockServer) -> None:
    apixo_mock.use_scenario({"name": "tight", "settings": {"rpm": 1}})

    assert post_submit(apixo_mock).status_code == 200
    refused = post_submit(apixo_mock)

    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"


def test_use_scenario_from_a_yaml_path(apixo_mock: MockServer, tmp_path: Path) -> None:
    path = tmp_path / "outage.yaml"
    path.write_text(
        "name: down\nrules:\n  - name: all\n    then: {reject: {status: 503}}\n", encoding="utf-8"
    )

    apixo_mock.use_scenario(path)

    assert post_submit(apixo_mock).status_code == 503


def test_use_scenario_accepts_a_scenario_object(apixo_mock: MockServer) -> None:
    assert apixo_mock.use_scenario(Scenario("empty")).name == "empty"


def test_a_bad_rule_names_the_field(apixo_mock: MockServer) -> None:
    bad = {"name": "oops", "then": {"fail": {"code": "NOT_A_CODE"}}}
    with pytest.raises(ConfigError, match=r"rules\[0\] \(oops\)\.then\.fail\.code"):
        apixo_mock.use_scenario([bad])


def test_an_unknown_scenario_name_lists_the_shipped_ones(apixo_mock: MockServer) -> None:
    with pytest.raises(ConfigError, match="flaky"):
        apixo_mock.use_scenario("no-such-scenario")


def test_clear_scenario_removes_the_rules(apixo_mock: MockServer) -> None:
    apixo_mock.use_scenario([fail_swords()])

    apixo_mock.clear_scenario()

    assert apixo_mock.wait_for(submit(apixo_mock, "a sword"), "success").state == "success"


# -- accounts ---------------------------------------------------------------------


def test_set_balance_changes_what_the_api_reports(apixo_mock: MockServer) -> None:
    apixo_mock.set_balance("0.70")

    balance = requests.get(apixo_mock.base_url + BALANCE, headers=apixo_mock.headers, timeout=10)

    assert balance.json()["data"] == 0.7


def test_a_balance_too_low_refuses_the_submit(apixo_mock: MockServer) -> None:
    apixo_mock.set_balance(0.34)

    refused = post_submit(apixo_mock)

    assert (refused.status_code, refused.json()["message"]) == (400, "Insufficient credits")


def test_a_balance_set_after_wait_for_failed_is_not_topped_up_by_the_refund(
    apixo_mock: MockServer,
) -> None:
    apixo_mock.wait_for(submit(apixo_mock, "mock:fail:GENERATION_FAILED"), "failed")
    apixo_mock.set_balance("0.10")

    balance = requests.get(apixo_mock.base_url + BALANCE, headers=apixo_mock.headers, timeout=10)

    assert balance.json()["data"] == 0.1
    assert post_submit(apixo_mock).status_code == 400  # 0.35 does not fit


def test_set_limits_caps_unfinished_tasks(apixo_mock: MockServer) -> None:
    apixo_mock.set_limits(max_unfinished=1)
    submit(apixo_mock)

    assert post_submit(apixo_mock).status_code == 429


def test_limits_apply_to_one_key_only(apixo_mock: MockServer) -> None:
    apixo_mock.set_limits(rpm=1, key="other-key")
    submit(apixo_mock)

    assert post_submit(apixo_mock).status_code == 200


# -- records ----------------------------------------------------------------------


def test_tasks_lists_every_task_oldest_first_and_filters_by_state(apixo_mock: MockServer) -> None:
    first = submit(apixo_mock, "one")
    second = submit(apixo_mock, "mock:hang")
    apixo_mock.wait_for(first, "success")

    assert [t.task_id for t in apixo_mock.tasks()] == [first, second]
    assert [t.task_id for t in apixo_mock.tasks(state="success")] == [first]
    assert apixo_mock.task(first).request.prompt == "one"


def test_journal_records_api_requests_with_filters(apixo_mock: MockServer) -> None:
    task_id = submit(apixo_mock)
    status(apixo_mock, task_id)
    post_submit(apixo_mock, "")  # invalid: 400

    assert [e.status for e in apixo_mock.journal()] == [200, 200, 400]
    assert [e.path for e in apixo_mock.journal(status=400)] == ["/api/v1/generateTask/gpt-image-1"]
    assert len(apixo_mock.journal(task_id=task_id)) == 2


def test_callbacks_are_delivered_by_the_time_advance_returns(
    apixo_mock: MockServer, apixo_callback_receiver: CallbackReceiver
) -> None:
    task_id = callback_submit(apixo_mock, apixo_callback_receiver.url + "/done")

    apixo_mock.advance(60)

    [delivery] = apixo_callback_receiver.deliveries()
    assert delivery.json == status(apixo_mock, task_id)
    [sent] = apixo_mock.callbacks()
    assert (sent.task_id, sent.state, sent.attempts, sent.last_status) == (
        task_id,
        "delivered",
        1,
        200,
    )


def test_a_failed_callback_is_retried_when_the_clock_reaches_the_backoff(
    apixo_mock: MockServer, apixo_callback_receiver: CallbackReceiver
) -> None:
    apixo_callback_receiver.respond_with(status=500, times=1)
    task_id = callback_submit(apixo_mock, apixo_callback_receiver.url)
    apixo_mock.wait_for(task_id, "success")
    [failing] = apixo_mock.callbacks(task_id)
    assert (failing.state, failing.attempts, failing.last_status) == ("delivering", 1, 500)

    apixo_mock.advance(2)  # past the first backoff (1 s, +-10 %)

    [retried] = apixo_mock.callbacks(task_id)
    assert (retried.state, retried.attempts) == ("delivered", 2)
    assert len(apixo_callback_receiver.deliveries()) == 2


# -- reset and MockServer -----------------------------------------------------------


def test_reset_forgets_tasks_and_refreezes_the_clock(apixo_mock: MockServer) -> None:
    submit(apixo_mock)
    apixo_mock.service.clock.unfreeze()
    apixo_mock.use_scenario([fail_swords()])

    apixo_mock.reset()

    assert apixo_mock.tasks() == []
    assert apixo_mock.service.clock.frozen
    assert apixo_mock.service.rules.active.rules == ()


def test_a_server_scenario_survives_reset() -> None:
    with MockServer(scenario=[fail_swords()]) as mock:
        mock.reset()

        assert mock.wait_for(submit(mock, "a sword"), "failed").fail_code == "CONTENT_VIOLATION"


def test_a_named_server_scenario_survives_reset() -> None:
    with MockServer(scenario="content-moderation") as mock:
        mock.reset()

        assert mock.service.rules.active.name == "content-moderation"


def test_the_api_key_is_the_first_configured_key() -> None:
    with MockServer(keys=("k-1", "k-2")) as mock:
        assert mock.api_key == "k-1"
        assert post_submit(mock).status_code == 200
        mock.api_key = "unknown"
        assert post_submit(mock).status_code == 401


def test_close_stops_serving_and_is_idempotent() -> None:
    mock = MockServer()
    with mock:
        url = mock.base_url
        assert mock.is_running()

    mock.close()
    assert not mock.is_running()
    with pytest.raises(requests.ConnectionError):
        requests.get(url + BALANCE, headers=mock.headers, timeout=2)
    with pytest.raises(RuntimeError, match="not running"):
        _ = mock.base_url
