"""The strategies agree with the schemas: valid bodies validate under 2020-12, mutations do not."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from contract_tests.mutations import EXAMPLES, Mutation, base_body
from contract_tests.schemas import DRAFT07, draft07, validator
from contract_tests.strategies import TRIGGER, image_count, invalid_bodies, valid_bodies

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_draft07_copy_is_self_contained() -> None:
    """hypothesis-jsonschema gets draft-07 with nothing to resolve."""
    copy = draft07("submit-request")
    assert copy["$schema"] == DRAFT07
    assert "$id" not in copy
    assert "$ref" not in json.dumps(copy)


def test_draft07_inlines_references() -> None:
    """A schema with `$ref`s comes out with each one replaced by its target."""
    copy = draft07("status-response")
    assert "$ref" not in json.dumps(copy)
    assert "taskId" in json.dumps(copy)


@PROPERTY
@given(valid_bodies())
def test_every_valid_body_passes_the_2020_12_schema(body: dict[str, Any]) -> None:
    """What the suite sends as valid, the source-of-truth schema accepts."""
    validator("submit-request").validate(body)
    given_input = body["input"]
    if "num_images" in given_input and "nVariants" in given_input:
        assert given_input["num_images"] == given_input["nVariants"]
    assert TRIGGER not in given_input["prompt"]


@PROPERTY
@given(valid_bodies(max_images=2, callback_url="http://127.0.0.1:9/cb", extras=False))
def test_valid_bodies_respect_the_image_cap_and_callback(body: dict[str, Any]) -> None:
    """No more images than the budget allows; callbacks go where the suite says."""
    assert image_count(body) <= 2
    assert body.get("callback_url", "http://127.0.0.1:9/cb") == "http://127.0.0.1:9/cb"
    assert set(body) <= {"request_type", "callback_url", "provider", "input"}


@PROPERTY
@given(invalid_bodies())
def test_every_mutation_breaks_the_2020_12_schema(case: tuple[Mutation, dict[str, Any]]) -> None:
    """What the suite sends as invalid, the schema refuses (so a 400 is owed)."""
    mutation, body = case
    assert not validator("submit-request").is_valid(body), mutation.label


@pytest.mark.parametrize("mutation", EXAMPLES, ids=[m.label for m in EXAMPLES])
def test_every_table_mutation_breaks_the_schema(mutation: Mutation) -> None:
    """The readable table too: each row is invalid, and the base body is valid."""
    validator("submit-request").validate(base_body())
    assert not validator("submit-request").is_valid(mutation.apply(base_body()))


def test_mutation_leaves_the_original_alone() -> None:
    """Applying a mutation copies the body."""
    body = base_body()
    EXAMPLES[0].apply(body)
    assert body == base_body()
