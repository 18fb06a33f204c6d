"""Limits and credits on any target, through keys the team set up for it (no admin API needed).

A real key cannot be driven to 10000 requests a minute or 1000 unfinished
tasks cheaply, but a staging target (or another mock) can give a key lower
limits, or a balance below one image: `--apixo-limit-key` with
`--apixo-limit-unfinished N` and/or `--apixo-limit-rpm N`, and
`--apixo-low-balance-key`. The unfinished-task check is the only one that
bills (N 1-image tasks, taken from the image budget, waited for until they
end); the others cost nothing. Run in file order: the cap first, then the
rate, which leaves the key throttled for the rest of its minute.
"""

from __future__ import annotations

import dataclasses

import pytest

from contract_tests.budget import Budget
from contract_tests.checks import (
    TERMINAL,
    ContractViolation,
    balance_amount,
    check_error,
    check_refusal_free,
    status_data,
    submitted_task_id,
)
from contract_tests.client import AdminApi, ApiClient, ApiResponse, Transport
from contract_tests.dialects import speak
from contract_tests.plugin import progress_writer
from contract_tests.polling import Poller, TaskRecord
from contract_tests.subject import Subject
from contract_tests.target import Target
from contract_tests.test_limits import UNKNOWN_MODEL, note_retry_after

MOST_RPM_REQUESTS = 500  # a limit above this is no "lowered" limit: the test would only flood
MOST_UNFINISHED = 20  # each one is a billed image


@pytest.fixture
def limit_api(target: Target, transport: Transport, apixo_model: str) -> ApiClient:
    """The API with --apixo-limit-key; skips without it.

    Its 429s are the point, so a 429 it did not ask for is retried (after
    Retry-After) rather than reported as throttling below the documented limits.
    """
    if not target.limit_key:
        pytest.skip("needs a key with lowered limits: --apixo-limit-key (APIXO_LIMIT_KEY)")
    quiet = dataclasses.replace(transport, unasked_429=None)
    return ApiClient(target.base_url, target.limit_key, quiet, apixo_model)


@pytest.mark.billable
@pytest.mark.rule(
    "limits.unfinished-tasks-429",
    "limits.refusal-free",
    "precedence.task-cap-order",
    "ratelimit.retry-after",
)
def test_limit_key_past_its_unfinished_cap_gets_429(
    pytestconfig: pytest.Config,
    target: Target,
    limit_api: ApiClient,
    budget: Budget,
    admin: AdminApi | None,
    subject: Subject,
) -> None:
    """N 1-image tasks (another model: N plain bodies), then one more while they run: 429 in
    the envelope, nothing charged, and a bad body is still a 400 first. The N tasks are waited
    for until they end."""
    cap = target.limit_unfinished
    if cap is None:
        pytest.skip("needs the limit key's cap: --apixo-limit-unfinished (APIXO_LIMIT_UNFINISHED)")
    if not 1 <= cap <= MOST_UNFINISHED:
        pytest.skip(f"--apixo-limit-unfinished {cap}: the suite drives caps of 1 to 20 only")
    plain = subject.plain()
    if not budget.take(cap * subject.units(plain)):
        pytest.skip(budget.refusal(cap * subject.units(plain)))
    before = balance_amount(limit_api.balance())
    records: list[TaskRecord] = []
    try:
        for _ in range(cap):
            records.append(TaskRecord(submitted_task_id(limit_api.submit(subject.plain()))))
        over = limit_api.submit(subject.plain(), retry_429=False)
        if over.status == 200:
            _accepted_over_the_cap(over, records, limit_api, budget)
        check_error(over, 429, "limits.unfinished-tasks-429")
        note_retry_after(pytestconfig, over)
        after = balance_amount(limit_api.balance())
        check_refusal_free(before, after, cap, subject.cost(plain))
        invalid = subject.invalid()
        check_error(limit_api.submit(invalid, retry_429=False), 400, "precedence.task-cap-order")
    finally:
        # Whatever happened, leave no task of ours running: the cap stays free for the next run.
        Poller(limit_api, target.poll, admin, progress_writer(pytestconfig)).wait(records)


def _accepted_over_the_cap(
    over: ApiResponse, records: list[TaskRecord], api: ApiClient, budget: Budget
) -> None:
    """The submit past the cap went through: a violation if the N tasks were still unfinished.

    States only move forward, so tasks unfinished after the extra submit were
    unfinished when it arrived.
    """
    budget.charge(1)  # the target billed an image the suite did not plan for
    capped = list(records)
    records.append(TaskRecord(submitted_task_id(over)))
    states = [status_data(api.status(record.task_id), record.task_id)["state"] for record in capped]
    if any(state in TERMINAL for state in states):
        pytest.skip(
            "a task ended before the cap was reached (the target is faster than the"
            " suite's submits); raise --apixo-limit-unfinished or slow the key's tasks"
        )
    raise ContractViolation(
        "limits.unfinished-tasks-429",
        f"{len(capped)} unfinished task(s) on a key capped at {len(capped)}, and one more"
        f" submit was accepted: expected 429, got {over.brief()}",
    )


@pytest.mark.rule(
    "limits.requests-per-minute-429", "precedence.rate-limit-order", "ratelimit.retry-after"
)
def test_limit_key_past_its_rate_gets_429(
    pytestconfig: pytest.Config,
    target: Target,
    limit_api: ApiClient,
    budget: Budget,
    subject: Subject,
) -> None:
    """Up to N + 1 balance reads: one is 429 in the envelope; then a submit with an unknown
    model, a wrong method and a bad body are 429 too (the rate comes first), costing nothing."""
    rpm = target.limit_rpm
    if rpm is None:
        pytest.skip("needs the limit key's rate: --apixo-limit-rpm (APIXO_LIMIT_RPM)")
    if not 1 <= rpm < MOST_RPM_REQUESTS:
        pytest.skip(f"--apixo-limit-rpm {rpm}: the suite drives rates below 500 a minute only")
    throttled = None
    for _ in range(rpm + 1):  # earlier requests this minute may bring the 429 sooner
        answer = limit_api.balance(retry_429=False)
        if answer.status == 429:
            throttled = answer
            break
    if throttled is None:
        raise ContractViolation(
            "limits.requests-per-minute-429",
            f"{rpm + 1} requests within a minute on a key limited to {rpm}: none got 429",
        )
    check_error(throttled, 429, "limits.requests-per-minute-429")
    note_retry_after(pytestconfig, throttled)
    _check_rate_comes_first(limit_api, budget, subject)


def _check_rate_comes_first(api: ApiClient, budget: Budget, subject: Subject) -> None:
    """While throttled, what would be 404, 405 or 400 is 429 (nothing is billed)."""
    later = (
        api.request("POST", UNKNOWN_MODEL, json_body=subject.plain(), retry_429=False),
        api.request("GET", api.submit_path, retry_429=False),
        api.request("POST", api.submit_path, raw_body=b"[]", retry_429=False),
    )
    for answer in later:
        check_error(answer, 429, "precedence.rate-limit-order")
    refused = api.submit(subject.plain(), retry_429=False)
    if refused.status == 200:
        budget.charge(subject.units(subject.plain()))
    check_error(refused, 429, "limits.requests-per-minute-429")


@pytest.mark.rule("balance.insufficient-400", "errors.envelope")
def test_low_balance_key_submit_gets_insufficient_credits(
    request: pytest.FixtureRequest,
    target: Target,
    transport: Transport,
    budget: Budget,
    subject: Subject,
) -> None:
    """A key whose balance is below the plain body's price: the submit is refused as
    'Insufficient credits' (400; 402 is the other docs version's dialect) and nothing is
    taken. Costs nothing."""
    if not target.low_balance_key:
        pytest.skip(
            "needs a key whose balance is below one image's price:"
            " --apixo-low-balance-key (APIXO_LOW_BALANCE_KEY)"
        )
    api = ApiClient(target.base_url, target.low_balance_key, transport, subject.model.id)
    before = balance_amount(api.balance())
    plain = subject.plain()
    if before >= subject.cost(plain):
        pytest.skip(
            f"the --apixo-low-balance-key balance is {before}, not below the price of"
            f" {subject.model.id}'s plain body ({subject.cost(plain)} USD): the suite will not"
            " spend it"
        )
    answer = api.submit(plain, retry_429=False)
    if answer.status == 200:
        budget.charge(subject.units(plain))
    status = 402 if answer.status == 402 and target.speaks_dialects else 400
    body = check_error(answer, status, "balance.insufficient-400")
    if "insufficient" not in str(body["message"]).lower():
        raise ContractViolation(
            "balance.insufficient-400", f"the refusal does not say Insufficient credits: {body}"
        )
    after = balance_amount(api.balance())
    if after != before:
        raise ContractViolation(
            "balance.insufficient-400", f"a refused submit changed the balance to {after}"
        )
    if status == 402:
        pytest.skip(speak(request.node, "insufficient-credits-status", "402"))
