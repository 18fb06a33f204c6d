"""The checks on canned bodies: the docs' own examples pass, a broken variant names its rule."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from typing import Any

import pytest
from PIL import Image

from contract_tests.checks import (
    ContractViolation,
    balance_amount,
    check_allow,
    check_charge,
    check_envelope,
    check_error,
    check_history,
    check_image,
    check_names_field,
    check_result_count,
    status_data,
    submitted_task_id,
)
from contract_tests.client import ApiResponse

TASK = "task_12345678"
RESULT_JSON = '{"resultUrls":["https://r2.apixo.ai/xxx.png","https://r2.apixo.ai/yyy.png"]}'
SUCCESS: dict[str, Any] = {
    "taskId": TASK,
    "state": "success",
    "resultJson": RESULT_JSON,
    "createTime": 1767965610929,
    "completeTime": 1767965652317,
    "costTime": 41388,
}
FAILED: dict[str, Any] = {
    "taskId": TASK,
    "state": "failed",
    "failCode": "CONTENT_VIOLATION",
    "failMsg": "Content does not meet safety guidelines",
}


def answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> ApiResponse:
    """A canned answer with a JSON body (or raw text when `body` is bytes)."""
    text = body.decode() if isinstance(body, bytes) else json.dumps(body)
    return ApiResponse("GET", "http://api.test/x", status, headers or {}, text)


def ok(data: Any) -> ApiResponse:
    """A success envelope around `data`."""
    return answer({"code": 200, "message": "success", "data": data})


def rule_of(error: pytest.ExceptionInfo[ContractViolation]) -> str:
    """The rule a violation names; its message starts with it too."""
    assert str(error.value).startswith(f"{error.value.rule}: ")
    return error.value.rule


def test_docs_examples_pass() -> None:
    """The submit, status (success and failed) and balance examples of the docs."""
    assert submitted_task_id(ok({"taskId": TASK})) == TASK
    assert status_data(ok(SUCCESS), TASK)["state"] == "success"
    assert status_data(ok(FAILED), TASK)["failCode"] == "CONTENT_VIOLATION"
    assert balance_amount(ok(74.87)) == Decimal("74.87")
    check_error(
        answer({"code": 400, "message": "Insufficient credits", "data": None}, 400),
        400,
        "balance.insufficient-400",
    )
    check_error(
        answer({"code": 404, "message": "Task not found", "data": None}, 404),
        404,
        "status.unknown-task-404",
    )
    assert check_result_count(SUCCESS, 2) == [
        "https://r2.apixo.ai/xxx.png",
        "https://r2.apixo.ai/yyy.png",
    ]


STATUS_BREAKS = {
    "state-unknown": ({**SUCCESS, "state": "done"}, "status.schema"),
    "result-json-object": (
        {**SUCCESS, "resultJson": json.loads(RESULT_JSON)},
        "status.result-json-string",
    ),
    "result-json-not-json": (
        {**SUCCESS, "resultJson": "resultUrls: x"},
        "status.result-json-string",
    ),
    "result-url-not-http": (
        {**SUCCESS, "resultJson": '{"resultUrls":["ftp://x/y.png"]}'},
        "status.result-json-string",
    ),
    "no-complete-time": ({k: v for k, v in SUCCESS.items() if k != "completeTime"}, "status.times"),
    "time-in-seconds": ({**SUCCESS, "createTime": 1767965610}, "status.times"),
    "cost-time-off": ({**SUCCESS, "costTime": 41389}, "status.cost-time"),
    "failed-without-message": (
        {k: v for k, v in FAILED.items() if k != "failMsg"},
        "status.failed-fields",
    ),
    "undocumented-fail-code": ({**FAILED, "failCode": "OOPS"}, "status.failed-fields"),
    "success-with-fail-code": ({**SUCCESS, "failCode": "CONTENT_VIOLATION"}, "status.schema"),
    "other-task-id": ({**SUCCESS, "taskId": "task_other"}, "status.task-id-echo"),
}


@pytest.mark.parametrize("case", list(STATUS_BREAKS))
def test_broken_status_names_its_rule(case: str) -> None:
    """Each broken status body fails with the rule it breaks."""
    data, rule = STATUS_BREAKS[case]
    with pytest.raises(ContractViolation) as error:
        status_data(ok(data), TASK)
    assert rule_of(error) == rule


ENVELOPE_BREAKS = {
    "not-json": (answer(b"<html>oops</html>", 500), "envelope.json"),
    "no-message": (answer({"code": 200, "data": None}), "envelope.json"),
    "empty-message": (answer({"code": 200, "message": "", "data": None}), "envelope.json"),
    "code-is-a-string": (
        answer({"code": "200", "message": "success", "data": None}),
        "envelope.json",
    ),
    "code-differs": (
        answer({"code": 200, "message": "Task not found", "data": None}, 404),
        "envelope.code-equals-status",
    ),
}


@pytest.mark.parametrize("case", list(ENVELOPE_BREAKS))
def test_broken_envelope_names_its_rule(case: str) -> None:
    """Every answer is an envelope whose code is the HTTP status."""
    response, rule = ENVELOPE_BREAKS[case]
    with pytest.raises(ContractViolation) as error:
        check_envelope(response)
    assert rule_of(error) == rule


def test_error_data_must_be_null_or_an_object() -> None:
    """An error's data is null or an object."""
    with pytest.raises(ContractViolation) as error:
        check_error(
            answer({"code": 400, "message": "Invalid", "data": "num_images"}, 400),
            400,
            "submit.num-images-400",
        )
    assert rule_of(error) == "errors.envelope"


def test_wrong_status_names_the_rule_given() -> None:
    """An answer with another status fails with the rule the caller checks."""
    with pytest.raises(ContractViolation) as error:
        check_error(ok(None), 404, "status.other-key-404")
    assert rule_of(error) == "status.other-key-404"


@pytest.mark.parametrize("value", ["74.87", True, None, -1])
def test_balance_must_be_a_bare_number(value: Any) -> None:
    """A string (Flask's Decimal), a boolean, null or a negative amount is not a balance."""
    with pytest.raises(ContractViolation) as error:
        balance_amount(ok(value))
    assert rule_of(error) == "balance.bare-number"


def test_charge_is_exact() -> None:
    """Balance deltas compare as decimals: no float drift."""
    check_charge(Decimal("1000000"), Decimal("999999.30"), 2, Decimal("0.35"))
    with pytest.raises(ContractViolation) as error:
        check_charge(Decimal("1000000"), Decimal("999999.65"), 2, Decimal("0.35"))
    assert rule_of(error) == "balance.charge"


def envelope(state: str, **extra: Any) -> dict[str, Any]:
    """A status envelope of `state`."""
    return {"code": 200, "message": "success", "data": {"taskId": TASK, "state": state, **extra}}


def test_history_moves_forward_and_terminal_bodies_stay() -> None:
    """pending -> processing -> success, read twice the same: fine; anything else names a rule."""
    check_history(
        [
            envelope("pending"),
            envelope("processing"),
            envelope("success", a=1),
            envelope("success", a=1),
        ]
    )
    with pytest.raises(ContractViolation) as back:
        check_history([envelope("processing"), envelope("pending")])
    assert rule_of(back) == "status.states-forward"
    with pytest.raises(ContractViolation) as changed:
        check_history([envelope("success", costTime=1), envelope("success", costTime=2)])
    assert rule_of(changed) == "status.terminal-stable"


def png(width: int, height: int, kind: str = "PNG") -> bytes:
    """An image of this size."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height)).save(buffer, kind)
    return buffer.getvalue()


def test_images_by_magic_bytes_and_size() -> None:
    """PNG, JPEG or WebP, of the size the aspect ratio gives."""
    check_image(png(1536, 1024), "3:2", "u")
    check_image(png(1024, 1536, "JPEG"), "2:3", "u")
    check_image(png(1024, 1024, "WEBP"), "1:1", "u")
    with pytest.raises(ContractViolation) as wrong:
        check_image(png(1024, 1024), "3:2", "u")
    assert rule_of(wrong) == "results.size"
    with pytest.raises(ContractViolation) as garbage:
        check_image(b"<html>", "1:1", "u")
    assert rule_of(garbage) == "results.downloadable"


def test_error_must_name_the_field() -> None:
    """The field may be named in message or data, in any spelling."""
    said = answer(
        {"code": 400, "message": "Invalid request", "data": {"error": "input.num_images: 3"}}, 400
    )
    check_names_field(said, ["num_images"])
    check_names_field(
        answer({"code": 400, "message": "numImages must be 1, 2 or 4", "data": None}, 400),
        ["num_images"],
    )
    with pytest.raises(ContractViolation) as error:
        check_names_field(
            answer({"code": 400, "message": "Invalid request", "data": None}, 400), ["num_images"]
        )
    assert rule_of(error) == "submit.error-names-field"


def test_allow_header_lists_the_method() -> None:
    """405 with Allow naming the right method; without it, the rule is named."""
    check_allow(answer({}, 405, {"Allow": "GET, HEAD"}), "GET")
    with pytest.raises(ContractViolation) as error:
        check_allow(answer({}, 405), "POST")
    assert rule_of(error) == "routing.wrong-method-405"
