"""Result files opened with real decoders: Pillow for images, PyAV (FFmpeg) for video and audio.

`check_output` compares one downloaded file with the `OutputFile` the
model's pack says the request produces: its kind (by Content-Type and by
what the decoder finds), its format, its pixel size and its duration. Values
the pack marks as the mock's own choice (an undocumented size, say) are
checked only where `documented` says so: on a mock always, elsewhere never.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

from mock_server.core.models import OutputFile

from .checks import ContractViolation
from .models import CONTENT_TYPES

DURATION_TOLERANCE_S = 0.6  # containers round to frames (video at 2 fps) and MP3 frames
# What Pillow and FFmpeg call each format the packs name.
_IMAGE_FORMATS = MappingProxyType({"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"})
_CONTAINERS = ("mp4", "mp3")


@dataclass(frozen=True, slots=True)
class Decoded:
    """What a decoder read from a file."""

    format: str  # png, jpeg, webp, mp4, mp3 (as the packs spell them), or what was found
    width: int | None
    height: int | None
    duration_s: float | None
    codec: str | None = None


def decode(content: bytes, kind: str) -> Decoded:
    """Open `content` as a file of `kind`; ValueError if the decoder cannot."""
    if kind == "image":
        return _image(content)
    return _stream(content, kind)


def _image(content: bytes) -> Decoded:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(content)) as image:
            image.load()
            names = {value: key for key, value in _IMAGE_FORMATS.items()}
            found = names.get(str(image.format), str(image.format).lower())
            return Decoded(found, int(image.size[0]), int(image.size[1]), None)
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError(f"Pillow cannot open it: {error}") from None


def _stream(content: bytes, kind: str) -> Decoded:
    import av

    try:
        with av.open(io.BytesIO(content)) as container:
            names = set(container.format.name.split(","))
            found = next((name for name in _CONTAINERS if name in names), container.format.name)
            duration = None if container.duration is None else container.duration / av.time_base
            if kind != "video":
                codec = container.streams.audio[0].codec_context.name
                return Decoded(found, None, None, duration, codec)
            stream = container.streams.video[0]
            next(container.decode(stream))  # a frame decodes: the file plays, not just parses
            context = stream.codec_context
            return Decoded(found, context.width, context.height, duration, context.name)
    except (av.error.FFmpegError, IndexError, StopIteration) as error:
        raise ValueError(f"FFmpeg cannot play it: {error}") from None


def check_output(
    content: bytes,
    content_type: str,
    expected: OutputFile,
    url: str,
    documented: Callable[[str], bool] = lambda part: True,
) -> Decoded:
    """One result file is what the pack says: kind, format, size, duration (raises otherwise)."""
    kind = expected.kind
    if not content_type.startswith(CONTENT_TYPES[kind]):
        raise ContractViolation(
            "results.downloadable", f"{url} came as {content_type!r}, want a {kind}"
        )
    try:
        found = decode(content, kind)
    except ValueError as error:
        raise ContractViolation("results.downloadable", f"{url}: not a {kind}: {error}") from None
    if documented("format") and found.format != expected.format:
        raise ContractViolation(
            "results.format", f"{url}: a {found.format} file, the request asks {expected.format}"
        )
    if kind == "video" and found.codec != "h264":
        raise ContractViolation("results.format", f"{url}: video codec {found.codec}, not H.264")
    size = (expected.width, expected.height)
    if documented("size") and expected.width is not None and (found.width, found.height) != size:
        raise ContractViolation(
            "results.size",
            f"{url}: {found.width}x{found.height}, the pack gives {size[0]}x{size[1]}",
        )
    _check_duration(found, expected, url, documented("duration_s"))
    return found


def _check_duration(found: Decoded, expected: OutputFile, url: str, documented: bool) -> None:
    if expected.duration_s is None or not documented:
        return
    if found.duration_s is None or abs(found.duration_s - expected.duration_s) > (
        DURATION_TOLERANCE_S
    ):
        raise ContractViolation(
            "results.duration",
            f"{url}: plays {found.duration_s} s, the request asks {expected.duration_s} s",
        )
