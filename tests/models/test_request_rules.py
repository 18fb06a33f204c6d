"""Mode-specific rules of the request schemas, as the model pages state them."""

from __future__ import annotations

from typing import Any

import pytest

from mock_server.core.models import ModelRegistry

URL = "https://example.com/a.png"


def request(mode: str, **fields: Any) -> dict[str, Any]:
    return {"input": {"mode": mode, **fields}}


CASES = [
    (
        "image-to-image needs references",
        "nano-banana",
        request("image-to-image", prompt="x"),
        False,
    ),
    ("text-to-image needs none", "nano-banana", request("text-to-image", prompt="x"), True),
    (
        "nano-banana-2 needs ratio and resolution",
        "nano-banana-2",
        request("text-to-image", prompt="x"),
        False,
    ),
    (
        "flux-2 prompt of 3 chars minimum",
        "flux-2",
        request("pro-text-to-image", prompt="ab"),
        False,
    ),
    (
        "veo reference needs fast",
        "veo-3-1",
        request("quality", prompt="x", generationType="REFERENCE_2_VIDEO", image_urls=[URL]),
        False,
    ),
    (
        "veo reference needs 16:9",
        "veo-3-1",
        request(
            "fast",
            prompt="x",
            generationType="REFERENCE_2_VIDEO",
            image_urls=[URL],
            aspect_ratio="9:16",
        ),
        False,
    ),
    (
        "veo first and last frames take two",
        "veo-3-1",
        request(
            "quality",
            prompt="x",
            generationType="FIRST_AND_LAST_FRAMES_2_VIDEO",
            image_urls=[URL] * 3,
        ),
        False,
    ),
    (
        "sora-2 duration 4, 8 or 12",
        "sora-2",
        request("text-to-video", prompt="x", duration=10),
        False,
    ),
    (
        "sora-2 i2v takes one image",
        "sora-2",
        request("image-to-video", prompt="x", image_urls=[URL] * 2),
        False,
    ),
    (
        "kling-2-1 standard takes one image",
        "kling-2-1",
        request("standard-image-to-video", prompt="x", image_urls=[URL] * 2),
        False,
    ),
    (
        "kling-2-1 pro takes an end frame",
        "kling-2-1",
        request("pro-image-to-video", prompt="x", image_urls=[URL] * 2),
        True,
    ),
    (
        "motion-control needs no prompt",
        "kling-3-0-std",
        request("motion-control", image_urls=[URL], video_urls=[URL]),
        True,
    ),
    (
        "motion-control needs a video",
        "kling-3-0-std",
        request("motion-control", image_urls=[URL]),
        False,
    ),
    (
        "seedance-1-5-pro needs sound",
        "seedance-1-5-pro",
        request("text-to-video", prompt="abc"),
        False,
    ),
    (
        "omni_reference with audio alone fails",
        "seedance-2-0-fast",
        request("omni_reference", prompt="x", audio_urls=[URL]),
        False,
    ),
    (
        "omni_reference with a video",
        "seedance-2-0-fast",
        request("omni_reference", prompt="x", video_urls=[URL]),
        True,
    ),
    (
        "happyHorse i2v needs no prompt",
        "happyHorse",
        request("image-to-video", image_urls=[URL]),
        True,
    ),
    (
        "happyHorse r2v needs a prompt",
        "happyHorse",
        request("reference-to-video", image_urls=[URL]),
        False,
    ),
    ("ltx LoRA modes need lora_url", "ltx-2-19b", request("text-to-video-LoRA", prompt="x"), False),
    (
        "suno simple prompt up to 500",
        "suno",
        request("V5", customMode=False, instrumental=False, prompt="x" * 501),
        False,
    ),
    (
        "suno custom needs style and title",
        "suno",
        request("V5", customMode=True, instrumental=True),
        False,
    ),
    (
        "suno custom instrumental needs no lyrics",
        "suno",
        request("V5", customMode=True, instrumental=True, style="jazz", title="t"),
        True,
    ),
    (
        "suno V4 style up to 200",
        "suno",
        request("V4", customMode=True, instrumental=True, style="s" * 201, title="t"),
        False,
    ),
    (
        "suno V5 style up to 1000",
        "suno",
        request("V5", customMode=True, instrumental=True, style="s" * 201, title="t"),
        True,
    ),
    ("midjourney upscale needs nothing", "midjourney", request("upscale"), True),
    ("midjourney generation needs a prompt", "midjourney", request("text-to-image"), False),
    ("unknown mode", "nano-banana", request("video", prompt="x"), False),
    (
        "unknown fields are ignored",
        "wan-2-5",
        request("text-to-video", prompt="x", shiny=True),
        True,
    ),
]


@pytest.mark.parametrize(
    ("model_id", "body", "valid"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_request_rule(model_registry: ModelRegistry, model_id: str, body: Any, valid: bool) -> None:
    assert model_registry.request_validator(model_id).is_valid(body) is valid
