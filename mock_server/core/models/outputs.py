"""The files a validated request produces: kind, format, pixel size and duration per result.

Values come from the request's input fields named in the manifest (the first
one present wins) or from the manifest's defaults; the request schema has
already limited them to values the manifest maps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from .manifest import FormatSetting, IntSetting, ModelPack, OutputSpec, SizeRule

_EXTENSIONS: Mapping[str, str] = MappingProxyType({"jpeg": "jpg"})


@dataclass(frozen=True, slots=True)
class OutputFile:
    """One result file; width and height are None for audio, duration_s is None for images."""

    kind: str
    format: str
    width: int | None
    height: int | None
    duration_s: int | None

    @property
    def extension(self) -> str:
        """The file name extension of its result URL: png, jpg, webp, mp4 or mp3."""
        return _EXTENSIONS.get(self.format, self.format)


def _given(fields: tuple[str, ...], request_input: Mapping[str, Any]) -> Any:
    """The value of the first of `fields` present in the input, or None."""
    for field in fields:
        if field in request_input:
            return request_input[field]
    return None


def _integer(setting: IntSetting, request_input: Mapping[str, Any]) -> int:
    value = _given(setting.fields, request_input)
    return setting.default if value is None else int(value)


def _format(setting: FormatSetting, request_input: Mapping[str, Any]) -> str:
    value = _given(setting.fields, request_input)
    chosen = setting.default if value is None else str(value)
    return setting.aliases.get(chosen, chosen)


def _even(value: Fraction) -> int:
    """The nearest even integer: video encoders (H.264 4:2:0) need even sides."""
    return max(2, 2 * round(value / 2))


def _size(rule: SizeRule, request_input: Mapping[str, Any]) -> tuple[int, int]:
    aspect = rule.aspect_ratio
    ratio = _given(aspect.fields, request_input) or aspect.default
    if ratio not in aspect.sizes:
        raise ValueError(f"aspect ratio {ratio!r} has no size in the manifest")
    width, height = aspect.sizes[ratio]
    resolution = rule.resolution
    if resolution is None:
        return width, height
    name = _given(resolution.fields, request_input) or resolution.default
    if name not in resolution.pixels:
        raise ValueError(f"resolution {name!r} has no pixel count in the manifest")
    side = max(width, height) if resolution.side == "long" else min(width, height)
    scale = Fraction(resolution.pixels[name], side)
    if scale == 1:
        return width, height
    return _even(width * scale), _even(height * scale)


def output_file(spec: OutputSpec, request_input: Mapping[str, Any]) -> OutputFile:
    """The file one result of `spec` is, for this request input."""
    width, height = _size(spec.size, request_input) if spec.size else (None, None)
    duration = _integer(spec.duration_s, request_input) if spec.duration_s else None
    return OutputFile(spec.kind, _format(spec.format, request_input), width, height, duration)


def output_count(spec: OutputSpec, request_input: Mapping[str, Any]) -> int:
    """How many files a task of `spec` produces for this request input."""
    return _integer(spec.count, request_input)


def outputs_for(pack: ModelPack, body: Mapping[str, Any]) -> tuple[OutputFile, ...]:
    """Every result file of a validated submit body, in resultUrls order."""
    request_input = body["input"]
    spec = pack.mode(request_input["mode"]).output
    return (output_file(spec, request_input),) * output_count(spec, request_input)
