"""The model catalogue: a summary per model (admin API, CLI) and Markdown for docs/models.md."""

from __future__ import annotations

import json
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from ..money import to_usd, usd_number
from .manifest import ModelPack, PriceRule
from .registry import MANIFEST, ModelRegistry

_UNITS = MappingProxyType(
    {"per_image": "image", "per_video": "video", "per_second": "second", "per_task": "task"}
)


def _usd(micros: int) -> str:
    """Dollars with cents always shown and further digits only when there are any."""
    amount = to_usd(micros)
    cents = amount.quantize(Decimal("0.01"))
    return f"${cents if cents == amount else amount:f}"


def price_text(price: PriceRule) -> str:
    """`$0.35 / image`, with per-mode overrides after the default."""
    unit = _UNITS[price.unit]
    overrides = "".join(f"; {mode} {_usd(micros)}" for mode, micros in price.by_mode.items())
    return f"{_usd(price.micros)} / {unit}{overrides}"


def summary(pack: ModelPack, price: PriceRule | None = None) -> dict[str, Any]:
    """One model as `GET /__admin/models` lists it: id, category, modes and the price in force.

    `price` is the rule after the `model_prices` setting (default: the pack's).
    """
    price = pack.price if price is None else price
    return {
        "id": pack.id,
        "name": pack.name,
        "category": pack.category,
        "modes": list(pack.modes),
        "price": {
            "rule": price.unit,
            "usd": usd_number(price.micros),
            "byMode": {mode: usd_number(micros) for mode, micros in price.by_mode.items()},
            "text": price_text(price),
        },
    }


def manifest(pack: ModelPack) -> Any:
    """The pack's manifest.json as written."""
    return json.loads((pack.folder / MANIFEST).read_text(encoding="utf-8"))


def _is_choice(pack: ModelPack, pointer: str) -> bool:
    return any(
        choice.at == pointer or pointer.startswith(choice.at + "/") for choice in pack.choices
    )


def table(registry: ModelRegistry) -> str:
    """One row per model: id, category, modes, price rule (and whether the price is the mock's)."""
    rows = ["| model | category | modes | price | price source |", "|---|---|---|---|---|"]
    for pack in registry:
        modes = ", ".join(f"`{mode}`" for mode in pack.modes)
        source = "mock's choice" if _is_choice(pack, "/price/usd") else "docs"
        rows.append(
            f"| `{pack.id}` | {pack.category} | {modes} | {price_text(pack.price)} | {source} |"
        )
    return "\n".join(rows)


def choices(registry: ModelRegistry) -> str:
    """Per model, every value that is the mock's own choice and why."""
    sections = []
    for pack in registry:
        lines = [f"### {pack.id}", "", f"Read from <{pack.docs_url}>.", ""]
        lines += [f"- `{choice.at}`: {choice.reason}" for choice in pack.choices]
        sections.append("\n".join(lines))
    return "\n\n".join(sections)
