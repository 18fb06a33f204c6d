"""Result images: deterministic PNGs of the right size, drawn with Pillow.

Each image shows the prompt, the taskId and its index, so a developer looking
at a result knows which request produced it. The same task and index always
give the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import textwrap
import threading
from collections import OrderedDict
from collections.abc import Mapping
from types import MappingProxyType

from PIL import Image, ImageDraw, ImageFont

SIZES: Mapping[str, tuple[int, int]] = MappingProxyType(
    {
        "1:1": (1024, 1024),
        "3:2": (1536, 1024),
        "2:3": (1024, 1536),
    }
)


def image_size(aspect_ratio: str) -> tuple[int, int]:
    """Pixel size of gpt-image-1's output for an aspect ratio."""
    return SIZES[aspect_ratio]


def render_png(task_id: str, index: int, prompt: str, aspect_ratio: str) -> bytes:
    """The `index`-th result image of a task as PNG bytes."""
    width, height = image_size(aspect_ratio)
    digest = hashlib.sha256(f"{task_id}:{index}".encode()).digest()
    background = (digest[0] // 2 + 40, digest[1] // 2 + 40, digest[2] // 2 + 40)
    accent = (255 - background[0], 255 - background[1], 255 - background[2])
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    _draw_shapes(draw, digest, width, height, accent)
    _draw_caption(draw, task_id, index, prompt, width, height)
    out = io.BytesIO()
    # Speed over size: a flat picture compresses well even at level 1.
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def _draw_shapes(
    draw: ImageDraw.ImageDraw,
    digest: bytes,
    width: int,
    height: int,
    colour: tuple[int, int, int],
) -> None:
    for n in range(4):
        x, y = digest[4 + n] * width // 256, digest[8 + n] * height // 256
        radius = 40 + digest[12 + n]
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), outline=colour, width=6)


def _draw_caption(
    draw: ImageDraw.ImageDraw, task_id: str, index: int, prompt: str, width: int, height: int
) -> None:
    title = ImageFont.load_default(size=44)
    body = ImageFont.load_default(size=30)
    margin = 48
    draw.rectangle((0, height - 330, width, height), fill=(0, 0, 0))
    draw.text((margin, height - 310), f"apixo-mock  {task_id}  #{index}", fill="white", font=title)
    lines = textwrap.wrap(prompt, width=max(20, (width - 2 * margin) // 16))[:5]
    for n, line in enumerate(lines):
        draw.text((margin, height - 240 + n * 40), line, fill=(220, 220, 220), font=body)
    draw.text((margin, margin), f"{width}x{height}", fill="white", font=title)


class ResultCache:
    """A small LRU of rendered images, since clients often fetch a result twice."""

    def __init__(self, capacity: int = 64) -> None:
        self._capacity = capacity
        self._items: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_render(self, task_id: str, index: int, prompt: str, aspect_ratio: str) -> bytes:
        """The image's bytes, rendered at most once while it stays cached."""
        key = (task_id, index)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        data = render_png(task_id, index, prompt, aspect_ratio)
        with self._lock:
            self._items[key] = data
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
        return data

    def clear(self) -> None:
        """Drop every cached image."""
        with self._lock:
            self._items.clear()
