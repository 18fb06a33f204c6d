"""Values generated from every pack's request schema are valid and give outputs and a price.

Generation goes through `strategy_schema`: one branch per draw (mode and the
fields the conditions test pinned), which hypothesis-jsonschema reads fast.
A handful of examples per pack keeps the whole file to seconds.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.strategies import SearchStrategy

from contract_tests.models import pack_bodies
from mock_server.core.models import (
    MISSING,
    ModelPack,
    ModelRegistry,
    condition_domains,
    outputs_for,
    price_micros,
    strategy_schema,
)
from tests.models.test_manifests import INDEXED_MODELS

FEW = settings(
    max_examples=3,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def bodies(pack: ModelPack, registry: ModelRegistry) -> SearchStrategy[dict[str, Any]]:
    """Submit bodies for any mode of `pack`: the contract suite's own strategy."""
    return pack_bodies(pack, registry)


@pytest.mark.parametrize("model_id", INDEXED_MODELS)
def test_generated_requests_validate_and_produce_outputs(
    model_registry: ModelRegistry, model_id: str
) -> None:
    pack = model_registry.get(model_id)

    @FEW
    @given(bodies(pack, model_registry))
    def check(body: dict[str, Any]) -> None:
        validator = model_registry.validator(model_id, body["input"]["mode"])
        assert [e.message for e in validator.iter_errors(body)] == []
        outputs = outputs_for(pack, body)
        assert outputs
        for output in outputs:
            assert output.kind == pack.mode(body["input"]["mode"]).output.kind
            sized = output.width is not None and output.height is not None
            assert sized == (output.kind != "audio")
            assert (output.duration_s is None) == (output.kind == "image")
        assert price_micros(pack, body) >= 0

    check()


def test_pinning_folds_the_conditions_away(model_registry: ModelRegistry) -> None:
    pack = model_registry.get("gpt-image-1")
    domains = condition_domains(pack, "gpt-image-1", model_registry.schema_registry)
    assert domains["input.num_images"] == (1, 2, 4, MISSING)
    assert domains["request_type"] == ("async", "callback", MISSING)
    pins = {"input.num_images": 2, "input.nVariants": 2, "request_type": "callback"}
    schema = strategy_schema(pack, "gpt-image-1", model_registry.schema_registry, pins)
    request_input = schema["properties"]["input"]
    assert request_input["allOf"] == [
        {
            "properties": {
                "nVariants": {
                    "const": 2,
                    "x-apixo-message": "must equal input.num_images when both are given",
                }
            }
        }
    ]
    assert schema["allOf"] == [{"required": ["callback_url"]}]
    assert "$ref" not in str(schema)


def test_missing_pins_forbid_the_field(model_registry: ModelRegistry) -> None:
    pack = model_registry.get("suno")
    pins = {"input.customMode": False, "input.instrumental": True, "input.vocalGender": MISSING}
    schema = strategy_schema(pack, "V4", model_registry.schema_registry, pins)
    properties = schema["properties"]["input"]["properties"]
    assert properties["vocalGender"] is False
    assert properties["mode"] == {"const": "V4"}
