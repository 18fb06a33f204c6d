"""Break one rule of the mock at a time (a middleware rewrites its answers): the suite must fail
and name that rule, both in the assertion message and in the end-of-run summary."""

from __future__ import annotations

import itertools
import json
from typing import Any
from urllib.parse import parse_qs

import pytest

from tests.suite.harness import KEYS, Answer, Before, Rewrite, broken_mock, run_suite

STATUS_PATH = "/api/v1/statusTask/gpt-image-1"
BALANCE_PATH = "/api/v1/apikeys/current-balance"


def error_code_is_200(environ: dict[str, Any], answer: Answer) -> Answer:
    """Errors say code 200 while the HTTP status says otherwise."""
    body = answer.json()
    if isinstance(body, dict) and body.get("code", 200) >= 400:
        return answer.with_json({**body, "code": 200})
    return answer


def _status_data(environ: dict[str, Any], answer: Answer) -> dict[str, Any] | None:
    body = answer.json()
    if environ["PATH_INFO"] != STATUS_PATH or not isinstance(body, dict):
        return None
    data = body.get("data")
    return data if isinstance(data, dict) else None


def result_json_as_object(environ: dict[str, Any], answer: Answer) -> Answer:
    """resultJson sent as an object instead of a JSON string."""
    data = _status_data(environ, answer)
    if data is None or not isinstance(data.get("resultJson"), str):
        return answer
    data["resultJson"] = json.loads(data["resultJson"])
    return answer.with_json({**answer.json(), "data": data})


def cost_time_off_by_one(environ: dict[str, Any], answer: Answer) -> Answer:
    """costTime one millisecond longer than completeTime - createTime."""
    data = _status_data(environ, answer)
    if data is None or "costTime" not in data:
        return answer
    data["costTime"] += 1
    return answer.with_json({**answer.json(), "data": data})


def balance_as_string(environ: dict[str, Any], answer: Answer) -> Answer:
    """The balance as "1000000.00", as Flask's default provider would write a Decimal."""
    body = answer.json()
    if environ["PATH_INFO"] != BALANCE_PATH or not isinstance(body, dict):
        return answer
    return answer.with_json({**body, "data": f"{body['data']:.2f}"})


def fail_msg_while_unfinished(environ: dict[str, Any], answer: Answer) -> Answer:
    """An unfinished task already carries a failMsg."""
    data = _status_data(environ, answer)
    if data is None or data.get("state") not in ("pending", "processing"):
        return answer
    return answer.with_json({**answer.json(), "data": {**data, "failMsg": "not yet"}})


def create_time_drifts() -> Rewrite:
    """createTime moves by one more millisecond with every unfinished read."""
    reads = itertools.count(1)

    def rewrite(environ: dict[str, Any], answer: Answer) -> Answer:
        data = _status_data(environ, answer)
        if data is None or data.get("state") not in ("pending", "processing"):
            return answer
        moved = {**data, "createTime": data["createTime"] + next(reads)}
        return answer.with_json({**answer.json(), "data": moved})

    return rewrite


def other_key_reads_as_owner(environ: dict[str, Any]) -> None:
    """Status reads with the second key are answered as if the first key asked: no isolation."""
    asks_status = environ["PATH_INFO"] == STATUS_PATH and parse_qs(environ["QUERY_STRING"])
    if asks_status and environ.get("HTTP_AUTHORIZATION") == f"Bearer {KEYS[1]}":
        environ["HTTP_AUTHORIZATION"] = f"Bearer {KEYS[0]}"


def no_allow_header(environ: dict[str, Any], answer: Answer) -> Answer:
    """405 without the Allow header."""
    headers = [(k, v) for k, v in answer.headers if k.lower() != "allow"]
    return Answer(answer.status, headers, answer.body)


CASES: dict[str, tuple[Rewrite | None, Before | None, str, str]] = {
    "code-is-not-the-status": (
        error_code_is_200,
        None,
        "test_unknown_task_gets_404",
        "envelope.code-equals-status",
    ),
    "result-json-is-an-object": (
        result_json_as_object,
        None,
        "test_every_read_has_the_shape_of_its_state",
        "status.result-json-string",
    ),
    "cost-time-off-by-one": (
        cost_time_off_by_one,
        None,
        "test_every_read_has_the_shape_of_its_state",
        "status.cost-time",
    ),
    "balance-is-a-string": (
        balance_as_string,
        None,
        "test_balance_is_a_bare_number",
        "balance.bare-number",
    ),
    "other-key-sees-the-task": (
        None,
        other_key_reads_as_owner,
        "test_other_key_gets_404",
        "status.other-key-404",
    ),
    "fail-msg-while-unfinished": (
        fail_msg_while_unfinished,
        None,
        "test_every_read_has_the_shape_of_its_state",
        "status.schema",
    ),
    "create-time-drifts": (
        create_time_drifts(),
        None,
        "test_states_move_forward_and_terminal_bodies_stay",
        "status.times",
    ),
    "405-without-allow": (
        no_allow_header,
        None,
        "test_wrong_method_gets_405_with_allow",
        "routing.wrong-method-405",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_suite_fails_and_names_the_broken_rule(case: str) -> None:
    """The rewrite breaks exactly one rule; the run fails on it and says which."""
    rewrite, before, selection, rule = CASES[case]
    with broken_mock(rewrite, before) as base_url:
        code, outcomes = run_suite(base_url, "-k", selection)
    assert code == pytest.ExitCode.TESTS_FAILED
    assert rule in outcomes.failed_rules()
    assert any(f"{rule}: " in text for text in outcomes.failures), outcomes.failures


# Dialects the mock offers for docs versions the contract decided against.
DIALECTS: dict[str, tuple[dict[str, Any], str, str]] = {
    "strict-fields": (
        {"strict_fields": True},
        "test_unknown_fields_and_is_enhance_are_ignored",
        "submit.extra-fields-ignored",
    ),
    "no-nvariants-alias": (
        {"accept_nvariants": False},
        "test_nvariants_is_an_alias_of_num_images",
        "alias.nvariants",
    ),
    "insufficient-credits-402": (
        {"insufficient_credits_status": 402},
        "test_submit_the_balance_cannot_cover_gets_400",
        "balance.insufficient-400",
    ),
}


@pytest.mark.parametrize("dialect", list(DIALECTS))
def test_suite_fails_on_a_dialect_the_contract_decided_against(dialect: str) -> None:
    """Each dialect breaks one decision of docs/contract.md; the suite names it."""
    settings, selection, rule = DIALECTS[dialect]
    with broken_mock(**settings) as base_url:
        code, outcomes = run_suite(base_url, "-k", selection)
    assert code == pytest.ExitCode.TESTS_FAILED
    assert rule in outcomes.failed_rules()
    assert any(f"{rule}: " in text for text in outcomes.failures), outcomes.failures


def test_suite_accepts_tasks_that_skip_pending() -> None:
    """The newer docs page has no pending state: allowed, the states still move forward."""
    with broken_mock(pending_state=False) as base_url:
        code, outcomes = run_suite(base_url, "-k", "states_move or every_read or interleaving")
    assert code == pytest.ExitCode.OK, outcomes.failures


@pytest.mark.parametrize(
    ("settings", "rule"),
    [
        ({"rpm": 12}, "limits.requests-per-minute-429"),
        ({"max_unfinished": 2, "profile": "quick"}, "limits.unfinished-tasks-429"),
    ],
    ids=["rate-far-below-10000", "cap-far-below-1000"],
)
def test_suite_fails_on_limits_far_below_the_documented(
    settings: dict[str, Any], rule: str
) -> None:
    """A 429 the suite never provoked names the limit the target set too low."""
    with broken_mock(**settings) as base_url:
        code, outcomes = run_suite(base_url, "-k", "test_balance or test_status")
    assert code == pytest.ExitCode.TESTS_FAILED
    assert rule in outcomes.failed_rules(), outcomes.failures
