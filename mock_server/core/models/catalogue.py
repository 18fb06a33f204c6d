"""The model catalogue in Markdown, generated from the registry for docs/models.md."""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType

from ..money import to_usd
from .manifest import ModelPack, PriceRule
from .registry import ModelRegistry

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
