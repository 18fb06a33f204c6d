"""gpt-image-1's pack reproduces the server's behaviour today: price, sizes, timing, validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mock_server.core.models import ModelRegistry, OutputFile, outputs_for, price_micros
from mock_server.core.money import to_micros
from mock_server.core.schemas import validator
from mock_server.core.timing import PROFILES
from mock_server.settings import Settings

FIXTURES = Path(__file__).parents[2] / "fixtures" / "examples"


def body(**fields: Any) -> dict[str, Any]:
    return {"input": {"mode": "gpt-image-1", "prompt": "a cat", **fields}}


@pytest.mark.parametrize(
    ("fields", "micros"),
    [
        ({}, 350_000),
        ({"num_images": 2}, 700_000),
        ({"num_images": 4}, 1_400_000),
        ({"nVariants": 4}, 1_400_000),
        ({"num_images": 2, "nVariants": 2}, 700_000),
    ],
    ids=["default", "two", "four", "nvariants-alias", "both-names"],
)
def test_price_is_0_35_per_image(model_registry: ModelRegistry, fields: Any, micros: int) -> None:
    assert price_micros(model_registry.get("gpt-image-1"), body(**fields)) == micros


def test_price_is_the_servers_default_price(model_registry: ModelRegistry) -> None:
    pack = model_registry.get("gpt-image-1")
    assert pack.price.micros == to_micros(Settings().price_per_image)


@pytest.mark.parametrize(
    ("ratio", "size"),
    [(None, (1024, 1024)), ("1:1", (1024, 1024)), ("3:2", (1536, 1024)), ("2:3", (1024, 1536))],
)
def test_sizes_by_aspect_ratio(
    model_registry: ModelRegistry, ratio: str | None, size: tuple[int, int]
) -> None:
    fields = {"aspect_ratio": ratio, "num_images": 2} if ratio else {"num_images": 2}
    png = OutputFile("image", "png", *size, None)
    assert outputs_for(model_registry.get("gpt-image-1"), body(**fields)) == (png, png)


def test_timing_is_the_servers_profiles(model_registry: ModelRegistry) -> None:
    assert dict(model_registry.get("gpt-image-1").timing.as_mapping()) == dict(PROFILES)


def test_provider_and_fail_codes_are_the_platforms(model_registry: ModelRegistry) -> None:
    pack = model_registry.get("gpt-image-1")
    assert pack.provider.values == ("auto", "value", "official")
    assert dict(pack.fail_codes) == {}


SAMPLES = [
    *(json.loads(p.read_text(encoding="utf-8")) for p in sorted(FIXTURES.glob("*.request.json"))),
    body(num_images=2, nVariants=4),
    body(num_images=3),
    body(isEnhance="yes"),
    body(aspect_ratio="16:9"),
    {"request_type": "callback", **body()},
    {"input": {"mode": "gpt-image-1"}},
    body(extra_field=1),
]


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: json.dumps(s)[:60])
def test_request_schema_judges_like_submit_request(
    model_registry: ModelRegistry, sample: dict[str, Any]
) -> None:
    pack_says = model_registry.request_validator("gpt-image-1").is_valid(sample)
    assert pack_says == validator("submit-request").is_valid(sample)
