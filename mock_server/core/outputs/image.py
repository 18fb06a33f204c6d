"""Result images in any size and in PNG, JPEG or WebP, drawn with Pillow.

The picture is the one results.py draws for gpt-image-1 (coloured circles, a
caption with the taskId, index and prompt, the size in the corner), scaled to
the requested size: at a 1024-pixel short side the scale is 1 and the PNG is
byte-for-byte today's render_png. The same inputs always give the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import textwrap
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from PIL import Image, ImageDraw, ImageFont

MAX_SIDE = 8192  # past every documented "4K" output, short of a memory hazard

# Encoder settings chosen for speed: a flat picture compresses well anyway.
_SAVE_OPTIONS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "png": MappingProxyType({"format": "PNG", "compress_level": 1}),
        "jpeg": MappingProxyType({"format": "JPEG", "quality": 85}),
        "webp": MappingProxyType({"format": "WEBP", "quality": 80, "method": 0}),
    }
)
_ALIASES: Mapping[str, str] = MappingProxyType({"jpg": "jpeg"})
MEDIA_TYPES: Mapping[str, str] = MappingProxyType(
    {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
)


def image_format(fmt: str) -> str:
    """The canonical name (png, jpeg, webp) of an output format, any case, jpg allowed."""
    name = fmt.lower()
    name = _ALIASES.get(name, name)
    if name not in _SAVE_OPTIONS:
        raise ValueError(f"unknown image format {fmt!r}; expected png, jpeg or webp")
    return name


def render(task_id: str, index: int, prompt: str, width: int, height: int, fmt: str) -> bytes:
    """The `index`-th result image of a task, `width` x `height`, encoded as `fmt`."""
    options = _SAVE_OPTIONS[image_format(fmt)]
    _check_size(width, height)
    out = io.BytesIO()
    _picture(task_id, index, prompt, width, height).save(out, **options)
    return out.getvalue()


def _picture(task_id: str, index: int, prompt: str, width: int, height: int) -> Image.Image:
    digest = hashlib.sha256(f"{task_id}:{index}".encode()).digest()
    background = (digest[0] // 2 + 40, digest[1] // 2 + 40, digest[2] // 2 + 40)
    accent = (255 - background[0], 255 - background[1], 255 - background[2])
    scale = min(width, height) / 1024
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    _draw_shapes(draw, digest, width, height, accent, scale)
    draw_caption(draw, f"apixo-mock  {task_id}  #{index}", prompt, width, height, scale)
    return image


def _check_size(width: int, height: int) -> None:
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise ValueError(f"image size {width}x{height} outside 1..{MAX_SIDE} per side")


def _px(value: int, scale: float) -> int:
    return max(1, round(value * scale))


def _draw_shapes(
    draw: ImageDraw.ImageDraw,
    digest: bytes,
    width: int,
    height: int,
    colour: tuple[int, int, int],
    scale: float,
) -> None:
    for n in range(4):
        x, y = digest[4 + n] * width // 256, digest[8 + n] * height // 256
        radius = _px(40 + digest[12 + n], scale)
        box = (x - radius, y - radius, x + radius, y + radius)
        draw.ellipse(box, outline=colour, width=_px(6, scale))


def draw_caption(
    draw: ImageDraw.ImageDraw, title: str, text: str, width: int, height: int, scale: float
) -> None:
    """Draw a black band at the bottom with `title` and up to five lines of `text`.

    Also writes the size in the top-left corner. `scale` is 1 for a 1024-pixel
    short side; the video frames use the same caption.
    """
    heading = ImageFont.load_default(size=_px(44, scale))
    body = ImageFont.load_default(size=_px(30, scale))
    margin = _px(48, scale)
    draw.rectangle((0, height - _px(330, scale), width, height), fill=(0, 0, 0))
    draw.text((margin, height - _px(310, scale)), title, fill="white", font=heading)
    # 16 px per character at scale 1 is results.py's wrap width; it scales with the font.
    lines = textwrap.wrap(text, width=max(20, (width - 2 * margin) // _px(16, scale)))[:5]
    for n, line in enumerate(lines):
        top = height - _px(240, scale) + n * _px(40, scale)
        draw.text((margin, top), line, fill=(220, 220, 220), font=body)
    draw.text((margin, margin), f"{width}x{height}", fill="white", font=heading)
