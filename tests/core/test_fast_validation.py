"""The fast (jsonschema-rs) and the authoritative (jsonschema) validators agree on submits.

The server accepts a body when jsonschema-rs says it is valid and the body
holds no float (jsonschema-rs, like JSON Schema, counts 2.0 as an integer; the
mock's strict validator does not), so the server must accept exactly the
bodies the strict validator passes.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from mock_server.core.errors import InvalidRequest
from mock_server.core.schemas import schema, validator
from mock_server.core.validation import SubmitValidator

FIELDS = ("mode", "prompt", "aspect_ratio", "num_images", "nVariants", "isEnhance", "image_urls")
TOP = ("request_type", "callback_url", "provider")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["gpt-image-1", "1:1", "3:2", "async", "callback", "auto", "official", ""]),
    st.sampled_from(
        ["https://a.example/x.png", "http://127.0.0.1:9/cb", "ftp://x", "https://h:99999"]
    ),
    st.text(max_size=20),
)
values = st.one_of(scalars, st.lists(scalars, max_size=7))


@st.composite
def near_requests(draw: st.DrawFn) -> dict[str, Any]:
    """Bodies shaped like submits, with any field possibly missing or wrong."""
    body: dict[str, Any] = {name: draw(values) for name in draw(st.sets(st.sampled_from(TOP)))}
    if draw(st.booleans()):
        fields = draw(st.sets(st.sampled_from(FIELDS)))
        body["input"] = {name: draw(values) for name in fields}
    else:
        body["input"] = draw(values)
    return body


def strategy_schema() -> dict[str, Any]:
    copy = json.loads(json.dumps(schema("submit-request")))
    for key in ("$schema", "$id"):
        copy.pop(key)
    copy["properties"]["input"]["properties"].pop("nVariants")
    copy["properties"]["input"].pop("allOf")
    return dict(copy)


def server_accepts(body: dict[str, Any]) -> bool:
    try:
        SubmitValidator().parse(json.dumps(body).encode(), "application/json")
    except InvalidRequest:
        return False
    return True


@given(near_requests())
@example({"input": {"mode": "gpt-image-1", "prompt": "x", "num_images": 2.0}})
@example({"input": {"mode": "gpt-image-1", "prompt": "x", "nVariants": 4.0}})
@example({"input": {"mode": "gpt-image-1", "prompt": "x", "unknown": 1.5}})
def test_server_accepts_what_the_strict_validator_accepts(body: dict[str, Any]) -> None:
    assert server_accepts(body) == validator("submit-request").is_valid(body)


def test_jsonschema_rs_alone_would_take_a_whole_float_count() -> None:
    # Why the server does not trust the fast validator with floats.
    body = {"input": {"mode": "gpt-image-1", "prompt": "x", "num_images": 2.0}}
    assert jsonschema_rs.validator_for(schema("submit-request")).is_valid(body)
    assert not server_accepts(body)


@given(from_schema(strategy_schema()))
def test_fast_validator_accepts_valid_requests(body: dict[str, Any]) -> None:
    assert jsonschema_rs.validator_for(schema("submit-request")).is_valid(body)
