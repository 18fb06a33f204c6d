"""hypothesis-jsonschema generates from the request schema, and the mock accepts what it makes.

This is also the canary for the hypothesis pin in pyproject.toml: hypothesis
>= 6.170.10 breaks hypothesis-jsonschema 0.23.1 on every object schema.
"""

from __future__ import annotations

import json
from typing import Any

from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from mock_server.core.schemas import schema, validator
from tests.conftest import AUTH, SUBMIT


def draft7_copy(name: str) -> dict[str, Any]:
    """The schema without its 2020-12 markers, which hypothesis-jsonschema does not know.

    The nVariants alias and the rule that it agrees with num_images are left
    out: hypothesis-jsonschema turns that if/then into a search ten times
    slower, and the alias has tests of its own.
    """
    copy = json.loads(
        json.dumps({k: v for k, v in schema(name).items() if k not in ("$schema", "$id")})
    )
    request_input = copy.get("properties", {}).get("input", {})
    request_input.get("properties", {}).pop("nVariants", None)
    request_input.pop("allOf", None)
    return dict(copy)


@given(from_schema({"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}))
def test_object_schemas_generate(value: dict[str, Any]) -> None:
    assert isinstance(value["a"], int)


@given(from_schema(draft7_copy("submit-request")))
def test_generated_requests_pass_the_2020_12_validator(request_body: dict[str, Any]) -> None:
    assert validator("submit-request").is_valid(request_body)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=from_schema(draft7_copy("submit-request")), key=st.sampled_from(["k-one", "k-two"]))
def test_mock_accepts_every_valid_request(
    client: FlaskClient, body: dict[str, Any], key: str
) -> None:
    response = client.post(
        SUBMIT,
        data=json.dumps(body),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    prompt = body["input"]["prompt"]
    if "mock:reject:" in prompt:
        return
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["data"]["taskId"]


def test_auth_header_constant_is_well_formed() -> None:
    assert AUTH["Authorization"].startswith("Bearer ")
