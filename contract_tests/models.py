"""Which models the suite checks (`--apixo-model`) and what each model's pack promises.

The packs are the ones shipped with apixo-mock (schemas/models/<id>/): they
say how a valid body looks (the bundled per-mode request schemas hypothesis
draws from, and the docs' example requests), what a task costs (its price
rule) and which files it produces (`outputs_for`). `all` selects every
shipped pack, whatever the target is: a target that serves fewer models
fails the rules of the ones it lacks.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from mock_server.core.models import (
    ModelPack,
    ModelRegistry,
    OutputFile,
    condition_domains,
    outputs_for,
    price_micros,
    strategy_schema,
)
from mock_server.core.schemas import schema

from .client import DEFAULT_MODEL

if TYPE_CHECKING:  # hypothesis is imported when bodies are drawn, not when conftest loads
    from hypothesis.strategies import SearchStrategy

ALL = "all"
MICROS_PER_USD = Decimal(1_000_000)
# The Content-Type a result file of each kind must download with (images: any image/*).
CONTENT_TYPES: Mapping[str, str] = MappingProxyType(
    {"image": "image/", "video": "video/mp4", "audio": "audio/mpeg"}
)
# Drawn bodies must not steer the mock (trigger words) or name hosts that never resolve.
_UNWANTED = ("mock:", ".invalid")


@cache
def shipped() -> ModelRegistry:
    """The packs shipped with apixo-mock (loaded once: compiling them takes a moment)."""
    return ModelRegistry.load()


def selected(value: str | None, registry: ModelRegistry | None = None) -> tuple[str, ...]:
    """The model ids `--apixo-model` names: one id, several separated by commas, or `all`."""
    registry = registry or shipped()
    names = [name.strip() for name in (value or DEFAULT_MODEL).split(",") if name.strip()]
    if names == [ALL]:
        return registry.ids()
    for name in names or [""]:
        if name not in registry:
            known = ", ".join(registry.ids())
            raise ValueError(
                f"--apixo-model {name!r} is no model pack apixo-mock knows ({known}, all)"
            )
    return tuple(dict.fromkeys(names))


def units(micros: int, price: Decimal) -> int:
    """A charge in budget units: images at `price` USD each (--apixo-price), rounded up."""
    return max(1, math.ceil(Decimal(micros) / MICROS_PER_USD / price))


@dataclass(frozen=True, slots=True)
class ModelCase:
    """One model under test: its pack and what a body of it costs and produces."""

    pack: ModelPack
    registry: ModelRegistry

    @property
    def id(self) -> str:
        """The model id (the last segment of its API paths)."""
        return self.pack.id

    def examples(self) -> tuple[dict[str, Any], ...]:
        """The docs' example requests of the pack (examples/*.request.json), sorted by name."""
        return tuple(json.loads(text) for text in _example_texts(self.pack.folder))

    def cost_micros(self, body: Mapping[str, Any]) -> int:
        """What a valid body costs by the pack's price rule, in micro-USD."""
        return price_micros(self.pack, body)

    def cost_usd(self, body: Mapping[str, Any]) -> Decimal:
        """What a valid body costs by the pack's price rule, in USD (exact)."""
        return Decimal(self.cost_micros(body)) / MICROS_PER_USD

    def is_choice(self, part: str) -> bool:
        """Whether the pack marks a value of `part` as the mock's own choice, not a docs fact.

        `part` is a manifest key: price, format, size, count, duration_s. A
        choice about one mode counts for every mode (the packs note it once).
        """
        return any(part in choice.at.split("#")[-1].split("/") for choice in self.pack.choices)

    def documented(self, part: str) -> bool:
        """The opposite of `is_choice`: the docs state the value."""
        return not self.is_choice(part)

    def outputs(self, body: Mapping[str, Any]) -> tuple[OutputFile, ...]:
        """The result files a valid body produces, in resultUrls order."""
        return outputs_for(self.pack, body)

    def fail_codes(self) -> tuple[str, ...]:
        """The failCodes the model may report: the platform's (the codes no pack claims as its
        own) and its pack's own (`fail_codes`, e.g. ltx-2-19b's INVALID_LORA_URL)."""
        owned = {code for pack in self.registry for code in pack.fail_codes}
        own = set(self.pack.fail_codes)
        return tuple(code for code in _fail_code_enum() if code not in owned or code in own)

    def other_model(self) -> str:
        """Another model's id (its paths must not show this model's tasks)."""
        return next(model for model in self.registry.ids() if model != self.id)

    def invalid_bodies(self) -> Mapping[str, dict[str, Any]]:
        """Bodies every pack refuses with 400, built from the first example."""
        example = self.examples()[0] if self.examples() else {"input": {}}
        return MappingProxyType(
            {
                "input-not-object": {**example, "input": "not an object"},
                "unknown-mode": {**example, "input": {**example["input"], "mode": "no-such-mode"}},
            }
        )

    def bodies(self) -> SearchStrategy[dict[str, Any]]:
        """Valid bodies drawn from the pack's bundled per-mode request schemas."""
        return _bodies(self.id).filter(_harmless)


def case(model: str) -> ModelCase:
    """The shipped pack of `model` as a case."""
    return ModelCase(shipped().get(model), shipped())


@cache
def _fail_code_enum() -> tuple[str, ...]:
    return tuple(schema("fail-code")["enum"])


@cache
def _example_texts(folder: Path) -> tuple[str, ...]:
    """The example files' text, read once (each caller gets fresh, mutable bodies)."""
    paths = sorted((folder / "examples").glob("*.request.json"))
    return tuple(path.read_text(encoding="utf-8") for path in paths)


def _harmless(body: dict[str, Any]) -> bool:
    text = json.dumps(body)
    return not any(word in text for word in _UNWANTED)


@cache
def _bodies(model: str) -> SearchStrategy[dict[str, Any]]:
    registry = shipped()
    return pack_bodies(registry.get(model), registry)


def pack_bodies(pack: ModelPack, registry: ModelRegistry) -> SearchStrategy[dict[str, Any]]:
    """Submit bodies for any mode of `pack`, one schema branch (mode and pinned fields) per draw."""
    from hypothesis import strategies as st
    from hypothesis_jsonschema import from_schema

    # Compiling a branch is slow (hypothesis-jsonschema canonicalises it): once per strategy.
    branches: dict[str, SearchStrategy[Any]] = {}

    def branch(mode: str, pins: dict[str, Any]) -> SearchStrategy[Any]:
        key = repr((mode, sorted(pins.items())))
        if key not in branches:
            schema = strategy_schema(pack, mode, registry.schema_registry, pins)
            branches[key] = from_schema(schema)
        return branches[key]

    @st.composite
    def draw(data: st.DrawFn) -> dict[str, Any]:
        mode = data(st.sampled_from(sorted(pack.modes)))
        domains = condition_domains(pack, mode, registry.schema_registry)
        pins = {name: data(st.sampled_from(values)) for name, values in sorted(domains.items())}
        body: dict[str, Any] = data(branch(mode, pins))
        return body

    return draw()
