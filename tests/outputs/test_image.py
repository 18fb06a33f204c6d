"""Result images: the requested format and size, today's PNG at gpt-image-1's sizes."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from mock_server.core import results
from mock_server.core.outputs.image import MEDIA_TYPES, image_format, render

TASK = "task_00000000cafebabe"
PROMPT = "a lighthouse at dusk, waves breaking on the rocks below"
PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


def opened(data: bytes) -> tuple[str | None, tuple[int, int]]:
    with Image.open(io.BytesIO(data)) as image:
        image.load()  # decodes every pixel: a truncated file fails here
        return image.format, image.size


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
@pytest.mark.parametrize("size", [(256, 256), (320, 180), (90, 160)], ids=str)
def test_image_decodes_in_the_requested_format_and_size(fmt: str, size: tuple[int, int]) -> None:
    data = render(TASK, 0, PROMPT, *size, fmt)
    assert opened(data) == (PIL_FORMATS[fmt], size)


@pytest.mark.parametrize(("aspect_ratio", "size"), sorted(results.SIZES.items()))
def test_png_at_gpt_image_1_sizes_is_todays_render_png(
    aspect_ratio: str, size: tuple[int, int]
) -> None:
    assert render(TASK, 2, PROMPT, *size, "png") == results.render_png(
        TASK, 2, PROMPT, aspect_ratio
    )


def test_a_large_jpeg_keeps_its_size() -> None:
    assert opened(render(TASK, 0, PROMPT, 2048, 1152, "jpeg")) == ("JPEG", (2048, 1152))


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_same_inputs_give_the_same_bytes(fmt: str) -> None:
    assert render(TASK, 1, PROMPT, 200, 120, fmt) == render(TASK, 1, PROMPT, 200, 120, fmt)


def test_another_index_gives_another_image() -> None:
    assert render(TASK, 0, PROMPT, 200, 120, "webp") != render(TASK, 1, PROMPT, 200, 120, "webp")


@pytest.mark.parametrize(("name", "canonical"), [("PNG", "png"), ("jpg", "jpeg"), ("WebP", "webp")])
def test_format_names_are_case_blind_and_accept_jpg(name: str, canonical: str) -> None:
    assert image_format(name) == canonical
    assert MEDIA_TYPES[canonical] == f"image/{canonical}"


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown image format 'gif'"):
        render(TASK, 0, PROMPT, 64, 64, "gif")


@pytest.mark.parametrize("size", [(0, 64), (64, 8193)], ids=str)
def test_size_outside_bounds_is_refused(size: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="outside"):
        render(TASK, 0, PROMPT, *size, "png")
