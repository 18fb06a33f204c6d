"""Readings of the docs the contract decided between, which the mock always refuses.

`null` for an optional field, and a JSON body labelled with another
Content-Type: the contract (and the mock) answer 400, but a real service may
take the first as "omitted" and read the second anyway. Against a target
that is not a mock that is reported as a dialect (see dialects.py) and
fails only with --apixo-strict. A target that accepts the submit bills one
image, charged to the budget; a correct one costs nothing.
"""

from __future__ import annotations

import json

import pytest

from contract_tests.budget import Budget
from contract_tests.checks import check_error
from contract_tests.client import SUBMIT_PATH, ApiClient, ApiResponse
from contract_tests.dialects import DIALECTS, speak
from contract_tests.mutations import base_body
from contract_tests.target import Target


def _refused_or_dialect(
    request: pytest.FixtureRequest, target: Target, answer: ApiResponse, dialect: str, rule: str
) -> None:
    """400 is the contract; an accepted submit is the dialect, reported unless strict."""
    if answer.status == 200 and target.speaks_dialects:
        pytest.skip(speak(request.node, dialect, DIALECTS[dialect].other))
    check_error(answer, 400, rule)


def _skip_if_spent(budget: Budget) -> None:
    if budget.exhausted:
        pytest.skip("the image budget is spent: the target billed requests it should refuse")


@pytest.mark.rule("submit.aspect-ratio-400", "errors.envelope")
def test_null_for_an_optional_field_gets_400(
    request: pytest.FixtureRequest, target: Target, api: ApiClient, budget: Budget
) -> None:
    """`aspect_ratio: null` is a type error, not "omitted"."""
    _skip_if_spent(budget)
    body = base_body()
    body["input"]["aspect_ratio"] = None
    answer = api.submit(body)
    if answer.status == 200:
        budget.charge(1)
    _refused_or_dialect(request, target, answer, "null-optional", "submit.aspect-ratio-400")


@pytest.mark.rule("submit.content-type-400", "errors.envelope")
def test_json_labelled_text_plain_gets_400(
    request: pytest.FixtureRequest, target: Target, api: ApiClient, budget: Budget
) -> None:
    """A valid body sent as `Content-Type: text/plain` is refused, whatever its bytes."""
    _skip_if_spent(budget)
    answer = api.request(
        "POST",
        SUBMIT_PATH,
        raw_body=json.dumps(base_body()).encode(),
        content_type="text/plain",
    )
    if answer.status == 200:
        budget.charge(1)
    _refused_or_dialect(request, target, answer, "content-type", "submit.content-type-400")
