"""schemas/openapi.yaml: valid OpenAPI 3.1, served bundled at /openapi.json for Schemathesis."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask.testing import FlaskClient
from hypothesis import given, settings
from openapi_spec_validator import validate

from mock_server.core.openapi import bundled_document, source_document
from mock_server.core.schemas import schema_dir
from mock_server.settings import Settings
from mock_server.testing.server import MockServer


def external_refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        found = [ref] if isinstance(ref, str) and not ref.startswith("#") else []
        return found + [r for value in node.values() for r in external_refs(value)]
    if isinstance(node, list):
        return [r for item in node for r in external_refs(item)]
    return []


def test_source_document_with_file_refs_is_valid() -> None:
    validate(source_document(), base_uri=(schema_dir() / "openapi.yaml").as_uri())


def test_bundled_document_is_valid_and_self_contained() -> None:
    document = bundled_document("http://127.0.0.1:8000")
    validate(document)
    assert external_refs(document) == []


def test_mock_serves_the_bundled_document(client: FlaskClient) -> None:
    served = client.get("/openapi.json")
    assert served.status_code == 200
    document = served.get_json()
    assert document["servers"] == [{"url": "http://localhost"}]
    assert document["paths"].keys() == bundled_document()["paths"].keys()


def test_without_admin_the_document_has_no_admin_paths() -> None:
    document = bundled_document(admin=False)
    validate(document)
    assert not [p for p in document["paths"] if p.startswith("/__admin")]


@pytest.fixture(scope="module")
def live_schema() -> Iterator[Any]:
    strict = Settings(
        host="127.0.0.1", port=0, access_log=False, seed=11, keys=("schemathesis-key",)
    )
    with MockServer(strict) as mock:
        loaded = schemathesis.openapi.from_url(f"{mock.base_url}/openapi.json")
        # The per-model operations (submit_<id>, status_<id>) share gpt-image-1's
        # answers; tests/openapi/ checks them, which keeps this run short.
        public = loaded.include(tag="public").exclude(path_regex="/results/")
        yield public.exclude(operation_id_regex="^(submit|status)_")


def test_schemathesis_default_checks_pass(live_schema: Any) -> None:
    # Driven through Schemathesis' Python API: its pytest integration does not
    # yet support pytest 9's node ids.
    operations = [result.ok() for result in live_schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/v1/generateTask/gpt-image-1"}
    for operation in operations:

        @given(operation.as_strategy())
        @settings(max_examples=5)
        def check(case: Any) -> None:
            case.call_and_validate(headers={"Authorization": "Bearer schemathesis-key"})

        check()


def test_bundle_round_trips_through_json() -> None:
    document = bundled_document()
    assert json.loads(json.dumps(document)) == document
