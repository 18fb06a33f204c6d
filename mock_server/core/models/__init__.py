"""Models as data: the registry of packs read from schemas/models/<id>/ and what they imply.

Each pack is a folder (manifest.json + request schemas); this package turns
it into frozen values (`ModelPack`), prices a request (`price_micros`) and
lists the files it produces (`outputs_for`). Nothing is loaded at import.
"""

from __future__ import annotations

from .bundle import MISSING, bundled, condition_domains, strategy_schema
from .manifest import (
    Choice,
    Mode,
    ModelPack,
    ModelTiming,
    OutputSpec,
    PriceRule,
    Provider,
)
from .outputs import OutputFile, outputs_for
from .pricing import price_micros
from .registry import ModelPackError, ModelRegistry, default_root, load_pack

__all__ = (
    "MISSING",
    "Choice",
    "Mode",
    "ModelPack",
    "ModelPackError",
    "ModelRegistry",
    "ModelTiming",
    "OutputFile",
    "OutputSpec",
    "PriceRule",
    "Provider",
    "bundled",
    "condition_domains",
    "default_root",
    "load_pack",
    "outputs_for",
    "price_micros",
    "strategy_schema",
)
