"""Limits a real target cannot be pushed into cheaply: the mock's admin API lowers them per key.

Each test changes the second key's account (balance or caps) and puts it back
afterwards, so the rest of the suite never sees the change.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest

from contract_tests.checks import (
    ContractViolation,
    balance_amount,
    check_error,
    check_refusal_free,
    submitted_task_id,
)
from contract_tests.client import AdminApi, AdminUnsupported, ApiClient, ApiResponse
from contract_tests.plugin import report_of
from contract_tests.subject import Subject

UNKNOWN_MODEL = "/api/v1/generateTask/apixo-contract-unknown-model"
UNKNOWN_TASK = "apixo-contract-no-such-task"
TOO_LOW = "0.10"


def too_low(subject: Subject) -> str:
    """A balance below the plain body's price (gpt-image-1: 0.10 USD, below one image)."""
    if subject.is_default:
        return TOO_LOW
    return str(max(Decimal(0), subject.cost(subject.plain()) - Decimal("0.01")))


@contextmanager
def account_changed(admin: AdminApi, key: str, **changes: Any) -> Iterator[None]:
    """The key's account with some fields changed, restored on the way out."""
    try:
        before = admin.account(key)
    except AdminUnsupported as error:
        pytest.skip(str(error))
    admin.update_account(key, **changes)
    try:
        yield
    finally:
        restore = {name: before[name] for name in ("rpm", "maxUnfinished")}
        admin.update_account(key, balance=str(before["balance"]), **restore)


def note_retry_after(config: pytest.Config, answer: ApiResponse) -> None:
    """Report whether a 429 said when to retry (never a failure)."""
    value = answer.header("Retry-After")
    said = f"Retry-After: {value}" if value is not None else "no Retry-After header"
    report_of(config).note("ratelimit.retry-after", f"{answer.brief()[:60]}... with {said}")


@pytest.mark.mock_only
@pytest.mark.rule("balance.insufficient-400", "errors.envelope")
def test_submit_the_balance_cannot_cover_gets_400(
    admin_api: AdminApi, other_api: ApiClient, subject: Subject
) -> None:
    """A balance below the plain body's price: 400, and nothing is taken from it."""
    low = too_low(subject)
    with account_changed(admin_api, other_api.key, balance=low):
        check_error(other_api.submit(subject.plain()), 400, "balance.insufficient-400")
        left = balance_amount(other_api.balance())
    if left != Decimal(low):
        raise ContractViolation(
            "balance.insufficient-400", f"a refused submit changed the balance to {left}"
        )


@pytest.mark.mock_only
@pytest.mark.rule(
    "limits.unfinished-tasks-429",
    "limits.refusal-free",
    "precedence.task-cap-order",
    "ratelimit.retry-after",
)
def test_too_many_unfinished_tasks_gets_429(
    pytestconfig: pytest.Config, admin_api: AdminApi, other_api: ApiClient, subject: Subject
) -> None:
    """With the cap at 1 and one task that never ends: 429; a bad body still 400 first.

    Tasks that never end stay unfinished: another model's run of this test
    left its own, so the cap is 1 above what the key has unfinished already.
    """
    hang = subject.with_trigger("mock:hang")
    if hang is None:
        pytest.skip(f"{subject.model.id} takes no prompt or URL to carry mock:hang")
    left = int(admin_api.account(other_api.key).get("unfinished", 0))
    with account_changed(admin_api, other_api.key, maxUnfinished=left + 1):
        before = balance_amount(other_api.balance())
        submitted_task_id(other_api.submit(hang))
        capped = other_api.submit(subject.plain(), retry_429=False)
        check_error(capped, 429, "limits.unfinished-tasks-429")
        note_retry_after(pytestconfig, capped)
        check_refusal_free(before, balance_amount(other_api.balance()), 1, subject.cost(hang))
        invalid = subject.invalid()
        check_error(other_api.submit(invalid, retry_429=False), 400, "precedence.task-cap-order")
        with account_changed(admin_api, other_api.key, balance=too_low(subject)):
            broke = other_api.submit(subject.plain(), retry_429=False)
            check_error(broke, 429, "precedence.task-cap-order")


@pytest.mark.mock_only
@pytest.mark.rule(
    "limits.requests-per-minute-429", "precedence.rate-limit-order", "ratelimit.retry-after"
)
def test_too_many_requests_per_minute_gets_429(
    pytestconfig: pytest.Config, admin_api: AdminApi, other_api: ApiClient, subject: Subject
) -> None:
    """With 3 requests a minute allowed: the 4th is 429, and 429 comes before 404/405/400.

    The three allowed are a status read, a refused submit and a balance read:
    every authenticated request counts, whatever its endpoint or outcome.
    """
    with account_changed(admin_api, other_api.key, rpm=3):
        answers = [
            other_api.status(UNKNOWN_TASK, retry_429=False),
            other_api.request("POST", other_api.submit_path, raw_body=b"[]", retry_429=False),
            other_api.balance(retry_429=False),
            other_api.balance(retry_429=False),
        ]
        check_error(answers[-1], 429, "limits.requests-per-minute-429")
        note_retry_after(pytestconfig, answers[-1])
        later = (
            other_api.request("POST", UNKNOWN_MODEL, json_body=subject.plain(), retry_429=False),
            other_api.request("GET", other_api.submit_path, retry_429=False),
            other_api.request("POST", other_api.submit_path, raw_body=b"[]", retry_429=False),
        )
        for answer in later:
            check_error(answer, 429, "precedence.rate-limit-order")
