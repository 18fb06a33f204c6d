"""Failed tasks: CONTENT_VIOLATION for the violation prompt; every documented code has its shape.

Every model knows the platform's failCodes; a model may add its own
(ltx-2-19b's INVALID_LORA_URL, in its manifest's fail_codes), which only it
may report. The mock's triggers go into the model's prompt, or into one of
its URLs when it takes no prompt (model_bodies.with_trigger).
"""

from __future__ import annotations

from typing import Any

import pytest

from contract_tests.checks import check_error, check_failed, submitted_task_id
from contract_tests.client import ApiClient
from contract_tests.fleet import Fleet
from contract_tests.model_bodies import with_trigger
from contract_tests.models import ModelCase
from contract_tests.polling import Poller, TaskRecord
from mock_server.core.schemas import schema

FAIL_CODES = tuple(schema("fail-code")["enum"])
REJECTIONS = (403, 429, 500, 503)


def trigger_body(model: ModelCase, trigger: str) -> dict[str, Any]:
    """gpt-image-1's plain trigger body, or the model's plain body carrying the trigger."""
    if model.id == "gpt-image-1":
        return {"input": {"mode": "gpt-image-1", "prompt": f"a cat, {trigger}"}}
    body = with_trigger(model, trigger)
    if body is None:
        pytest.skip(f"{model.id} takes no prompt or URL to carry {trigger}")
    return body


@pytest.mark.billable
@pytest.mark.rule("failures.content-violation", "status.failed-fields")
def test_violation_prompt_ends_content_violation(fleet: Fleet) -> None:
    """A prompt the target refuses: the mock's trigger, or --apixo-violation-prompt."""
    data = fleet["violation"].final()
    check_failed(data, "CONTENT_VIOLATION", "failures.content-violation")


@pytest.mark.mock_only
@pytest.mark.billable(images=len(FAIL_CODES))
@pytest.mark.rule("status.failed-fields", "status.times", "status.cost-time")
def test_every_documented_fail_code_has_the_failed_shape(
    api: ApiClient, poller: Poller, admin_api: object, model: ModelCase
) -> None:
    """The mock's `mock:fail:CODE` trigger, once per failCode the model may report."""
    records = {}
    for code in model.fail_codes():
        body = trigger_body(model, f"mock:fail:{code}")
        records[code] = TaskRecord(submitted_task_id(api.submit(body)))
    poller.wait(records.values())
    for code, record in records.items():
        check_failed(record.final(), code, "status.failed-fields")


@pytest.mark.mock_only
@pytest.mark.rule("errors.status-envelopes", "ratelimit.retry-after")
@pytest.mark.parametrize("status", REJECTIONS)
def test_other_http_errors_are_envelopes(
    api: ApiClient, admin_api: object, status: int, model: ModelCase
) -> None:
    """The mock's `mock:reject:STATUS` trigger: 403, 429, 500 and 503 are envelopes too."""
    answer = api.submit(trigger_body(model, f"mock:reject:{status}"), retry_429=False)
    check_error(answer, status, "errors.status-envelopes")
