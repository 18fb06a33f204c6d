"""Failed tasks: CONTENT_VIOLATION for the violation prompt; every documented code has its shape."""

from __future__ import annotations

import pytest

from contract_tests.checks import check_error, check_failed, submitted_task_id
from contract_tests.client import ApiClient
from contract_tests.fleet import Fleet
from contract_tests.polling import Poller, TaskRecord
from mock_server.core.schemas import schema

FAIL_CODES = tuple(schema("fail-code")["enum"])
REJECTIONS = (403, 429, 500, 503)


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
    api: ApiClient, poller: Poller, admin_api: object
) -> None:
    """The mock's `mock:fail:CODE` trigger, once per documented failCode."""
    records = {}
    for code in FAIL_CODES:
        body = {"input": {"mode": "gpt-image-1", "prompt": f"a cat, mock:fail:{code}"}}
        records[code] = TaskRecord(submitted_task_id(api.submit(body)))
    poller.wait(records.values())
    for code, record in records.items():
        check_failed(record.final(), code, "status.failed-fields")


@pytest.mark.mock_only
@pytest.mark.rule("errors.status-envelopes", "ratelimit.retry-after")
@pytest.mark.parametrize("status", REJECTIONS)
def test_other_http_errors_are_envelopes(api: ApiClient, admin_api: object, status: int) -> None:
    """The mock's `mock:reject:STATUS` trigger: 403, 429, 500 and 503 are envelopes too."""
    body = {"input": {"mode": "gpt-image-1", "prompt": f"a cat, mock:reject:{status}"}}
    answer = api.submit(body, retry_429=False)
    check_error(answer, status, "errors.status-envelopes")
