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
from contract_tests.client import ApiClient, ApiResponse
from contract_tests.dialects import DIALECTS, speak
from contract_tests.model_bodies import input_schema
from contract_tests.model_mutations import SCHEMA_RULE
from contract_tests.subject import Subject
from contract_tests.target import Target


def optional_field(subject: Subject) -> tuple[str, str]:
    """An optional input field of the plain body's mode, and the rule a null there breaks
    (gpt-image-1: aspect_ratio)."""
    if subject.is_default:
        return "aspect_ratio", "submit.aspect-ratio-400"
    mode = subject.plain()["input"]["mode"]
    schema = input_schema(subject.model, mode)
    required = set(schema.get("required", ()))
    return next(name for name in schema["properties"] if name not in required), SCHEMA_RULE


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


@pytest.mark.model_specific("gpt-image-1")
@pytest.mark.rule("submit.aspect-ratio-400", "errors.envelope")
def test_null_for_an_optional_field_gets_400(
    request: pytest.FixtureRequest,
    target: Target,
    api: ApiClient,
    budget: Budget,
    subject: Subject,
) -> None:
    """`aspect_ratio: null` is a type error, not "omitted"."""
    _null_refused(request, target, api, budget, subject)


@pytest.mark.pack_driven
@pytest.mark.rule(SCHEMA_RULE, "errors.envelope")
def test_null_for_a_models_optional_field_gets_400(
    request: pytest.FixtureRequest,
    target: Target,
    api: ApiClient,
    budget: Budget,
    subject: Subject,
) -> None:
    """`null` for the first optional field of the model's schema is a type error too."""
    _null_refused(request, target, api, budget, subject)


def _null_refused(
    request: pytest.FixtureRequest,
    target: Target,
    api: ApiClient,
    budget: Budget,
    subject: Subject,
) -> None:
    _skip_if_spent(budget)
    body = subject.plain()
    name, rule = optional_field(subject)
    body["input"][name] = None
    answer = api.submit(body)
    if answer.status == 200:
        budget.charge(subject.units(subject.plain()))
    _refused_or_dialect(request, target, answer, "null-optional", rule)


@pytest.mark.rule("submit.content-type-400", "errors.envelope")
def test_json_labelled_text_plain_gets_400(
    request: pytest.FixtureRequest,
    target: Target,
    api: ApiClient,
    budget: Budget,
    subject: Subject,
) -> None:
    """A valid body sent as `Content-Type: text/plain` is refused, whatever its bytes."""
    _skip_if_spent(budget)
    answer = api.request(
        "POST",
        api.submit_path,
        raw_body=json.dumps(subject.plain()).encode(),
        content_type="text/plain",
    )
    if answer.status == 200:
        budget.charge(subject.units(subject.plain()))
    _refused_or_dialect(request, target, answer, "content-type", "submit.content-type-400")
