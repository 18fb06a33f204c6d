"""A model pack as typed, frozen values, read from a validated manifest.json.

The manifest schema (schemas/model-manifest.schema.json) has already checked
shapes and types when these constructors run, so they only convert: JSON
objects become read-only mappings, lists become tuples, USD strings become
integer micro-dollars, timing rows become the core's `Timing`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, cast

from ..money import to_micros
from ..timing import Timing

Category = Literal["image", "video", "audio"]
PriceUnit = Literal["per_image", "per_video", "per_second", "per_task"]
Side = Literal["long", "short"]
PROFILE_NAMES = ("quick", "realistic", "instant")


def _fields(document: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(document.get("fields", ()))


@dataclass(frozen=True, slots=True)
class IntSetting:
    """An integer output property (count, duration): a default and the input fields that set it."""

    default: int
    fields: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> IntSetting:
        """From a manifest object `{"default": n, "fields": [...]}`."""
        return cls(int(document["default"]), _fields(document))


@dataclass(frozen=True, slots=True)
class FormatSetting:
    """The file format: a default, the input fields that choose it, and their aliases (jpg)."""

    default: str
    fields: tuple[str, ...]
    aliases: Mapping[str, str]

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> FormatSetting:
        """From a manifest object `{"default", "fields", "aliases"}`."""
        aliases = MappingProxyType(dict(document.get("aliases", {})))
        return cls(str(document["default"]), _fields(document), aliases)


@dataclass(frozen=True, slots=True)
class AspectRule:
    """Pixel size [w, h] by aspect-ratio value, at the base resolution."""

    default: str
    sizes: Mapping[str, tuple[int, int]]
    fields: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> AspectRule:
        """From a manifest object `{"default", "sizes", "fields"}`."""
        sizes = {key: (int(w), int(h)) for key, (w, h) in document["sizes"].items()}
        return cls(str(document["default"]), MappingProxyType(sizes), _fields(document))


@dataclass(frozen=True, slots=True)
class ResolutionRule:
    """Pixels of one side (long for 1K/2K images, short for 720p video) by resolution value."""

    default: str
    side: Side
    pixels: Mapping[str, int]
    fields: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> ResolutionRule:
        """From a manifest object `{"default", "side", "pixels", "fields"}`."""
        pixels = MappingProxyType({key: int(value) for key, value in document["pixels"].items()})
        side = cast(Side, document["side"])
        return cls(str(document["default"]), side, pixels, _fields(document))


@dataclass(frozen=True, slots=True)
class SizeRule:
    """How a request's fields become a pixel size."""

    aspect_ratio: AspectRule
    resolution: ResolutionRule | None = None

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> SizeRule:
        """From a manifest object `{"aspect_ratio": {...}, "resolution": {...}}`."""
        resolution = document.get("resolution")
        return cls(
            AspectRule.from_json(document["aspect_ratio"]),
            ResolutionRule.from_json(resolution) if resolution else None,
        )


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """What one task of a mode produces: kind, format, count, size and duration."""

    kind: Category
    format: FormatSetting
    count: IntSetting
    size: SizeRule | None = None
    duration_s: IntSetting | None = None

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> OutputSpec:
        """From a manifest mode's `output` object."""
        size = document.get("size")
        duration = document.get("duration_s")
        return cls(
            kind=cast(Category, document["kind"]),
            format=FormatSetting.from_json(document["format"]),
            count=IntSetting.from_json(document["count"]),
            size=SizeRule.from_json(size) if size else None,
            duration_s=IntSetting.from_json(duration) if duration else None,
        )


@dataclass(frozen=True, slots=True)
class Mode:
    """One accepted `input.mode`: the request schema file that validates it and its output."""

    name: str
    request: str
    output: OutputSpec


@dataclass(frozen=True, slots=True)
class PriceRule:
    """A price in micro-USD per unit (image, video, second or task), with per-mode overrides."""

    unit: PriceUnit
    micros: int
    by_mode: Mapping[str, int]

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> PriceRule:
        """From a manifest `price` object; amounts are exact decimal strings."""
        by_mode = {mode: to_micros(usd) for mode, usd in document.get("by_mode", {}).items()}
        unit = cast(PriceUnit, document["rule"])
        return cls(unit, to_micros(document["usd"]), MappingProxyType(by_mode))

    def micros_for(self, mode: str) -> int:
        """The unit price of `mode`."""
        return self.by_mode.get(mode, self.micros)


@dataclass(frozen=True, slots=True)
class ModelTiming:
    """The model's `Timing` under each profile of the server (quick, realistic, instant)."""

    quick: Timing
    realistic: Timing
    instant: Timing

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> ModelTiming:
        """From a manifest `timing` object; `Timing` itself refuses a max below the min."""
        return cls(*(Timing(**document[name]) for name in PROFILE_NAMES))

    def profile(self, name: str) -> Timing:
        """The timing under profile `name`."""
        if name not in PROFILE_NAMES:
            raise KeyError(f"unknown timing profile {name!r}")
        return cast(Timing, getattr(self, name))

    def as_mapping(self) -> Mapping[str, Timing]:
        """Every profile by name, comparable with `timing.PROFILES`."""
        return MappingProxyType({name: self.profile(name) for name in PROFILE_NAMES})


@dataclass(frozen=True, slots=True)
class Provider:
    """The `provider` values the model accepts, its default, and which docs say so."""

    values: tuple[str, ...]
    default: str
    source: str


@dataclass(frozen=True, slots=True)
class Choice:
    """A value that is the mock's own choice: where it is (a JSON pointer) and why."""

    at: str
    reason: str


@dataclass(frozen=True, slots=True)
class ModelPack:
    """One model: its manifest as values, its folder and its request schema documents."""

    id: str
    name: str
    category: Category
    docs_url: str
    modes: Mapping[str, Mode]
    price: PriceRule
    timing: ModelTiming
    provider: Provider
    fail_codes: Mapping[str, str]
    choices: tuple[Choice, ...]
    documented: tuple[str, ...]
    folder: Path
    request_schemas: Mapping[str, Mapping[str, Any]]

    @classmethod
    def from_json(
        cls,
        document: Mapping[str, Any],
        folder: Path,
        request_schemas: Mapping[str, Mapping[str, Any]],
    ) -> ModelPack:
        """From a manifest that passed the manifest schema, and the request schemas it names."""
        modes = {
            name: Mode(name, mode["request"], OutputSpec.from_json(mode["output"]))
            for name, mode in document["modes"].items()
        }
        provider = document["provider"]
        return cls(
            id=document["id"],
            name=document["name"],
            category=cast(Category, document["category"]),
            docs_url=document["docs_url"],
            modes=MappingProxyType(modes),
            price=PriceRule.from_json(document["price"]),
            timing=ModelTiming.from_json(document["timing"]),
            provider=Provider(tuple(provider["values"]), provider["default"], provider["source"]),
            fail_codes=MappingProxyType(dict(document.get("fail_codes", {}))),
            choices=tuple(Choice(c["at"], c["reason"]) for c in document["choices"]),
            documented=tuple(document["documented"]),
            folder=folder,
            request_schemas=MappingProxyType(dict(request_schemas)),
        )

    def mode(self, name: str) -> Mode:
        """The mode called `name`; KeyError names the model and its modes."""
        try:
            return self.modes[name]
        except KeyError:
            modes = ", ".join(self.modes)
            raise KeyError(f"{self.id} has no mode {name!r} (modes: {modes})") from None
