"""A validated request's outputs: kind, format, size (by aspect ratio and resolution), duration."""

from __future__ import annotations

from typing import Any

import pytest

from mock_server.core.models import ModelRegistry, OutputFile, outputs_for


def request(mode: str, **fields: Any) -> dict[str, Any]:
    return {"input": {"mode": mode, "prompt": "a scene", **fields}}


CASES = [
    (
        "wan-2-5",
        request("text-to-video", resolution="480p"),
        OutputFile("video", "mp4", 854, 480, 5),
    ),
    (
        "wan-2-5",
        request("text-to-video", resolution="1080p", aspect_ratio="9:16", duration=10),
        OutputFile("video", "mp4", 1080, 1920, 10),
    ),
    (
        "nano-banana-2",
        request("text-to-image", aspect_ratio="16:9", resolution="4k", output_format="jpg"),
        OutputFile("image", "jpeg", 4096, 2304, None),
    ),
    ("nano-banana", request("text-to-image"), OutputFile("image", "jpeg", 1024, 1024, None)),
    (
        "sora-2-pro",
        request("text-to-video", size="1024*1792", duration=12),
        OutputFile("video", "mp4", 1024, 1792, 12),
    ),
    (
        "sora-2-pro",
        request("image-to-video", resolution="1080p", image_urls=["https://example.com/a.png"]),
        OutputFile("video", "mp4", 1920, 1080, 4),
    ),
    ("happyHorse", request("text-to-video", ratio="4:3"), OutputFile("video", "mp4", 960, 720, 5)),
    ("veo-3-1", request("fast", aspect_ratio="9:16"), OutputFile("video", "mp4", 720, 1280, 8)),
    (
        "midjourney",
        request("text-to-image", aspect="2:1"),
        OutputFile("image", "png", 1024, 512, None),
    ),
]


@pytest.mark.parametrize(
    ("model_id", "body", "expected"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_one_output_of_the_expected_shape(
    model_registry: ModelRegistry, model_id: str, body: Any, expected: OutputFile
) -> None:
    assert model_registry.validator(model_id, body["input"]["mode"]).is_valid(body)
    outputs = outputs_for(model_registry.get(model_id), body)
    assert outputs[0] == expected


def test_aspect_ratio_wins_over_its_older_name(model_registry: ModelRegistry) -> None:
    body = request("text-to-image", aspect_ratio="1:1", aspect="2:1")
    assert outputs_for(model_registry.get("midjourney"), body)[0].width == 1024
    assert outputs_for(model_registry.get("midjourney"), body)[0].height == 1024


def test_midjourney_grids_four_and_upscales_one(model_registry: ModelRegistry) -> None:
    pack = model_registry.get("midjourney")
    assert len(outputs_for(pack, request("vary"))) == 4
    assert outputs_for(pack, {"input": {"mode": "upscale"}}) == (
        OutputFile("image", "png", 2048, 2048, None),
    )


def test_suno_makes_two_mp3_tracks_without_pixels(model_registry: ModelRegistry) -> None:
    body = request("V4_5PLUS", customMode=False, instrumental=False)
    track = OutputFile("audio", "mp3", None, None, 30)
    assert outputs_for(model_registry.get("suno"), body) == (track, track)


def test_count_follows_max_images(model_registry: ModelRegistry) -> None:
    body = request("text-to-image", max_images=10, resolution="4K", aspect_ratio="21:9")
    outputs = outputs_for(model_registry.get("seedream-4-5"), body)
    assert outputs == (OutputFile("image", "jpeg", 4096, 1760, None),) * 10
