"""Price rules compute exact micro-USD: per image, per video, per second, per task."""

from __future__ import annotations

from typing import Any

import pytest

from mock_server.core.models import ModelRegistry, price_micros
from mock_server.core.money import to_usd


def request(mode: str, **fields: Any) -> dict[str, Any]:
    return {"input": {"mode": mode, "prompt": "a scene", **fields}}


CASES = [
    ("veo-3-1", request("fast"), "0.20"),
    ("veo-3-1", request("quality"), "1.50"),
    (
        "veo-3-1",
        request(
            "fast", generationType="REFERENCE_2_VIDEO", image_urls=["https://example.com/a.png"]
        ),
        "0.20",
    ),
    ("suno", request("V4", customMode=False, instrumental=True), "0.12"),
    ("suno", request("V5_5", customMode=False, instrumental=False), "0.12"),
    ("kling-2-1", request("master-text-to-video"), "0.25"),
    ("kling-2-1", request("master-text-to-video", duration=10), "0.50"),
    ("seedance-1-5-pro", request("text-to-video", sound=True, duration=12), "0.36"),
    ("happyHorse", request("video-edit", duration=15), "0.50"),
    ("seedream-4-5", request("text-to-image", max_images=7), "0.28"),
    ("nano-banana", request("text-to-image"), "0.03"),
    ("midjourney", request("text-to-image"), "0.10"),
    ("sora-2", request("text-to-video", duration=12), "0.15"),
    ("gpt-image-1", request("gpt-image-1", num_images=4), "1.40"),
]


@pytest.mark.parametrize(
    ("model_id", "body", "usd"), CASES, ids=[f"{c[0]}-{c[1]['input']['mode']}" for c in CASES]
)
def test_price_rule(model_registry: ModelRegistry, model_id: str, body: Any, usd: str) -> None:
    assert model_registry.validator(model_id, body["input"]["mode"]).is_valid(body)
    micros = price_micros(model_registry.get(model_id), body)
    assert isinstance(micros, int)
    assert str(to_usd(micros).quantize(to_usd(10_000))) == usd


def test_per_second_multiplies_exactly_without_float_drift(model_registry: ModelRegistry) -> None:
    pack = model_registry.get("kling-3-0-std")
    prices = [price_micros(pack, request("text-to-video", duration=d)) for d in range(3, 16)]
    assert prices == [80_000 * d for d in range(3, 16)]
