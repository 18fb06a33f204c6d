"""Drift: answer fields no schema declares are named, reported, and fail only when strict."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contract_tests.checks import ContractViolation, check_drift
from contract_tests.client import ApiResponse
from contract_tests.drift import unknown_fields
from tests.suite.harness import Answer, broken_mock, run_suite

BASE = "http://127.0.0.1:9"
SUCCESS = {
    "taskId": "task_1",
    "state": "success",
    "resultJson": '{"resultUrls":["https://r2.example/x.png"]}',
    "createTime": 1767965610929,
    "completeTime": 1767965652317,
    "costTime": 41388,
}


def answer(method: str, path: str, status: int, body: Any) -> ApiResponse:
    return ApiResponse(method, BASE + path, status, {}, json.dumps(body))


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (
            answer(
                "GET",
                "/api/v1/statusTask/gpt-image-1",
                200,
                {"code": 200, "message": "success", "data": SUCCESS},
            ),
            [],
        ),
        (
            answer(
                "GET",
                "/api/v1/statusTask/gpt-image-1",
                200,
                {"code": 200, "message": "success", "data": {**SUCCESS, "seed": 4}},
            ),
            ["data.seed"],
        ),
        (
            answer(
                "GET",
                "/api/v1/statusTask/gpt-image-1",
                200,
                {
                    "code": 200,
                    "message": "success",
                    "data": {"taskId": "t", "state": "pending", "progress": 0.5},
                    "requestId": "r",
                },
            ),
            ["data.progress", "requestId"],
        ),
        (
            answer(
                "POST",
                "/api/v1/generateTask/gpt-image-1",
                200,
                {"code": 200, "message": "success", "data": {"taskId": "t", "eta": 30}},
            ),
            ["data.eta"],
        ),
        (
            answer(
                "GET",
                "/api/v1/apikeys/current-balance",
                200,
                {"code": 200, "message": "success", "data": 7.5},
            ),
            [],
        ),
        (
            answer(
                "POST",
                "/api/v1/generateTask/gpt-image-1",
                400,
                {"code": 400, "message": "Invalid", "data": {"error": "x", "field": "y"}},
            ),
            [],
        ),
        (
            answer(
                "POST",
                "/api/v1/generateTask/gpt-image-1",
                429,
                {"code": 429, "message": "Slow down", "data": None, "retryIn": 3},
            ),
            ["retryIn"],
        ),
    ],
    ids=[
        "declared",
        "extra-in-data",
        "extra-at-both-levels",
        "extra-in-submit",
        "balance",
        "error-data-is-free-form",
        "extra-in-error",
    ],
)
def test_undeclared_fields_are_named(response: ApiResponse, expected: list[str]) -> None:
    assert unknown_fields(response) == expected


def test_drift_is_a_note_unless_strict() -> None:
    response = answer(
        "GET",
        "/api/v1/apikeys/current-balance",
        200,
        {"code": 200, "message": "success", "data": 1, "currency": "USD"},
    )
    notes: list[tuple[str, str]] = []
    check_drift(response, False, lambda rule, text: notes.append((rule, text)))
    assert notes == [
        (
            "drift.unknown-fields",
            "GET /api/v1/apikeys/current-balance -> 200 has undeclared currency",
        )
    ]
    with pytest.raises(ContractViolation, match=r"^drift\.unknown-fields: "):
        check_drift(response, True, lambda rule, text: None)


def with_currency(environ: dict[str, Any], reply: Answer) -> Answer:
    """Balance answers grow a field no schema declares."""
    body = reply.json()
    if environ["PATH_INFO"] != "/api/v1/apikeys/current-balance" or not isinstance(body, dict):
        return reply
    return reply.with_json({**body, "currency": "USD"})


def test_extra_fields_pass_by_default_and_fail_when_strict() -> None:
    with broken_mock(with_currency) as base_url:
        tolerant, _ = run_suite(base_url, "-k", "test_balance_is_a_bare_number")
        strict, outcomes = run_suite(
            base_url, "-k", "test_balance_is_a_bare_number", "--apixo-strict"
        )
    assert tolerant == pytest.ExitCode.OK
    assert strict == pytest.ExitCode.TESTS_FAILED
    assert "drift.unknown-fields" in outcomes.failed_rules()
