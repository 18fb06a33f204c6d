"""docs/models.md shows the registry as it is: the model table and every pack's choices."""

from __future__ import annotations

from pathlib import Path

from mock_server.core.models import ModelRegistry
from mock_server.core.models.catalogue import choices, price_text, table

DOC = Path(__file__).parents[2] / "docs" / "models.md"
REGENERATE = (
    "regenerate the generated sections of docs/models.md from "
    "mock_server.core.models.catalogue.table() and choices()"
)


def test_model_table_is_current(model_registry: ModelRegistry) -> None:
    assert table(model_registry) in DOC.read_text(encoding="utf-8"), REGENERATE


def test_choices_are_current(model_registry: ModelRegistry) -> None:
    assert choices(model_registry) in DOC.read_text(encoding="utf-8"), REGENERATE


def test_table_has_a_row_per_model(model_registry: ModelRegistry) -> None:
    rows = table(model_registry).splitlines()[2:]
    assert [row.split("`")[1] for row in rows] == list(model_registry.ids())


def test_price_text_shows_cents_and_overrides(model_registry: ModelRegistry) -> None:
    assert price_text(model_registry.get("veo-3-1").price) == "$1.50 / video; fast $0.20"
    assert price_text(model_registry.get("kling-3-0-std").price) == "$0.08 / second"
