"""Invalid submit bodies and status parameters get 400 with an envelope that names the field.

Each case breaks exactly one rule of the submit table: gpt-image-1's written
out (mutations.py), any other model's read off its pack's request schema
(model_mutations.py). A broken target might accept one and bill it, so
whatever it accepts is charged to the budget and the property runs are bounded.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from contract_tests.budget import Budget
from contract_tests.checks import ContractViolation, balance_amount, check_error, check_names_field
from contract_tests.client import ApiClient, ApiResponse
from contract_tests.dialects import DIALECTS, speak
from contract_tests.model_bodies import is_valid, minimal_body, plain_body
from contract_tests.model_mutations import SCHEMA_RULE, schema_mutations
from contract_tests.models import ModelCase, units
from contract_tests.mutations import EXAMPLES, FIELDS, Mutation, base_body
from contract_tests.profiles import Profile
from contract_tests.strategies import image_count, invalid_bodies
from contract_tests.target import Target

NOT_JSON = MappingProxyType(
    {
        "truncated": b'{"input": ',
        "empty": b"",
        "text": b"make me a cat",
        "binary": b"\xff\xfe",
    }
)
NOT_OBJECT = MappingProxyType(
    {"array": b"[]", "string": b'"a cat"', "number": b"42", "null": b"null"}
)
FIELD_RULES = sorted({item.rule for item in FIELDS} | {"alias.nvariants-conflict-400"})
PACK_RULES = (
    "submit.input-400",
    "submit.mode-400",
    SCHEMA_RULE,
    "submit.request-type-400",
    "submit.provider-400",
    "submit.callback-url-400",
)


def submit_invalid(api: ApiClient, budget: Budget, mutation: Mutation, body: Any) -> None:
    """Send a body that owes a 400; stop once the target has billed the whole budget."""
    if budget.exhausted:
        pytest.skip("the image budget is spent: the target billed requests it should refuse")
    refused(api.submit(body), budget, mutation, body)


def refused(
    answer: ApiResponse, budget: Budget, mutation: Mutation, body: Any, cost: int | None = None
) -> None:
    """The submit was refused with 400 naming the field (an accepted one is billed: `cost`
    budget images, or as many as the body asks for)."""
    if answer.status == 200:
        budget.charge(_images(body) if cost is None else cost)
    check_error(answer, 400, mutation.rule)
    check_names_field(answer, mutation.field_names)


def _images(body: Any) -> int:
    try:
        return image_count(body)
    except (AttributeError, TypeError, ValueError):
        return 1


@pytest.mark.model_specific("gpt-image-1")
@pytest.mark.rule("submit.error-names-field", "errors.envelope")
@pytest.mark.parametrize(
    "mutation",
    [pytest.param(m, id=m.label, marks=pytest.mark.rule(m.rule)) for m in EXAMPLES],
)
def test_single_mutation_gets_400(
    request: pytest.FixtureRequest,
    api: ApiClient,
    budget: Budget,
    target: Target,
    mutation: Mutation,
) -> None:
    """A valid body with one field missing, mistyped or out of range.

    A target that does not know nVariants ignores it as an unknown field: the
    nVariants dialect, reported (see dialects.py) unless it is a mock or strict.
    """
    if budget.exhausted:
        pytest.skip("the image budget is spent: the target billed requests it should refuse")
    body = mutation.apply(base_body())
    answer = api.submit(body)
    if mutation.is_alias and answer.status == 200 and target.speaks_dialects:
        budget.charge(_images(body))
        pytest.skip(speak(request.node, "nvariants", DIALECTS["nvariants"].other))
    refused(answer, budget, mutation, body)


@pytest.mark.model_specific("gpt-image-1")
@pytest.mark.rule(*FIELD_RULES, "submit.error-names-field", "errors.envelope")
def test_any_single_mutation_gets_400(
    api: ApiClient, budget: Budget, profile: Profile, target: Target
) -> None:
    """Drawn valid bodies with one drawn mutation each (of nVariants only on a mock or strict:
    elsewhere the single-mutation cases report that dialect)."""

    found: list[ContractViolation] = []

    @profile.settings(profile.invalid_examples)
    @given(invalid_bodies(alias=not target.speaks_dialects))
    def check(case: tuple[Mutation, dict[str, Any]]) -> None:
        # Violations are kept, not raised: Hypothesis would replay the failing
        # example, and with the budget spent by then a skip would hide it.
        if found or budget.exhausted:
            return
        try:
            refused(api.submit(case[1]), budget, *case)
        except ContractViolation as violation:
            found.append(violation)

    check()
    if found:
        raise found[0]
    if budget.exhausted:
        pytest.skip("the image budget is spent: the target billed requests it should refuse")


@pytest.mark.pack_driven
@pytest.mark.rule(*PACK_RULES, "submit.error-names-field", "errors.envelope")
def test_every_constraint_of_the_models_schema_gets_400(
    api: ApiClient, budget: Budget, model: ModelCase, target: Target
) -> None:
    """The model's plain body with one constraint of its schema broken, for each constraint
    (model_mutations.py): 400 naming the field. The first violation is raised after all ran."""
    body = plain_body(model)
    cost = units(model.cost_micros(body), target.price)
    found: list[ContractViolation] = []
    for mutation in schema_mutations(model):
        if budget.exhausted:
            pytest.skip("the image budget is spent: the target billed requests it should refuse")
        broken = mutation.apply(body)
        try:
            refused(api.submit(broken), budget, mutation, broken, cost)
        except ContractViolation as violation:
            found.append(ContractViolation(violation.rule, f"{mutation.label}: {violation.detail}"))
    if found:
        raise found[0]


@pytest.mark.pack_driven
@pytest.mark.rule(*PACK_RULES, "submit.error-names-field", "errors.envelope")
def test_any_valid_body_with_one_constraint_broken_gets_400(
    api: ApiClient, budget: Budget, model: ModelCase, profile: Profile, target: Target
) -> None:
    """Any of the model's valid bodies (the docs' examples, every mode they show, and the
    smallest body) with one drawn constraint of its mode's schema broken: 400 naming the
    field. (Drawing whole bodies from the schema is test_submit.py's: it costs seconds.)"""
    found: list[ContractViolation] = []
    bases = [*model.examples(), minimal_body(model)]

    @profile.settings(profile.invalid_examples)
    @given(body=st.sampled_from(bases), data=st.data())
    def check(body: dict[str, Any], data: st.DataObject) -> None:
        mutation = data.draw(st.sampled_from(schema_mutations(model, body["input"]["mode"])))
        broken = mutation.apply(body)
        assume(not is_valid(model, broken))
        if found or budget.exhausted:
            return
        cost = units(model.cost_micros(body), target.price)
        try:
            refused(api.submit(broken), budget, mutation, broken, cost)
        except ContractViolation as violation:
            found.append(ContractViolation(violation.rule, f"{mutation.label}: {violation.detail}"))

    check()
    if found:
        raise found[0]


@pytest.mark.rule("submit.not-json-400", "errors.envelope")
@pytest.mark.parametrize("raw", list(NOT_JSON.values()), ids=list(NOT_JSON))
def test_body_that_is_not_json_gets_400(api: ApiClient, raw: bytes) -> None:
    """Content-Type says JSON, the body is not."""
    answer = api.request("POST", api.submit_path, raw_body=raw)
    check_error(answer, 400, "submit.not-json-400")


@pytest.mark.rule("submit.not-object-400", "errors.envelope")
@pytest.mark.parametrize("raw", list(NOT_OBJECT.values()), ids=list(NOT_OBJECT))
def test_json_that_is_not_an_object_gets_400(api: ApiClient, raw: bytes) -> None:
    """Valid JSON of the wrong type for a body."""
    answer = api.request("POST", api.submit_path, raw_body=raw)
    check_error(answer, 400, "submit.not-object-400")


@pytest.mark.rule("status.missing-task-id-400", "errors.envelope")
@pytest.mark.parametrize("task_id", [None, ""], ids=["missing", "empty"])
def test_status_without_task_id_gets_400(api: ApiClient, task_id: str | None) -> None:
    """No taskId parameter, or an empty one."""
    check_error(api.status(task_id), 400, "status.missing-task-id-400")


@pytest.mark.rule("balance.charge")
def test_refused_submits_cost_nothing(
    api: ApiClient, budget: Budget, model: ModelCase, is_default: bool
) -> None:
    """A submit answered 400 is not billed: the balance does not drop across a few of them.

    Only a drop counts: a task of an earlier test may end and be refunded meanwhile.
    """
    before = balance_amount(api.balance())
    if is_default:
        cases = [(mutation, base_body()) for mutation in EXAMPLES[:6]]
    else:
        cases = [(mutation, plain_body(model)) for mutation in schema_mutations(model)[:6]]
    for mutation, body in cases:
        submit_invalid(api, budget, mutation, mutation.apply(body))
    after = balance_amount(api.balance())
    if after < before:
        raise ContractViolation(
            "balance.charge", f"six refused submits took {before - after} from the balance"
        )
