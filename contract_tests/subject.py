"""The bodies and prices a test needs from the model under test, whichever model it is.

gpt-image-1's come from its tables (mutations.base_body, --apixo-price per
image); any other model's from its pack (model_bodies, its price rule). A
test that needs "a plain valid body", "a body that owes a 400" or "what this
submit costs" asks the `subject` fixture and works for every model alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .client import DEFAULT_MODEL
from .model_bodies import plain_body, with_trigger
from .model_mutations import SCHEMA_RULE, schema_mutations
from .models import ModelCase, units
from .mutations import base_body


def image_count(body: dict[str, Any]) -> int:
    """gpt-image-1's count (strategies.image_count; not imported: conftest loads this module,
    and Hypothesis must not load with it)."""
    given = body.get("input", {})
    return int(given.get("num_images", given.get("nVariants", 1)))


@dataclass(frozen=True, slots=True)
class Subject:
    """One model under test and the suite's price of a budget image (--apixo-price)."""

    model: ModelCase
    price: Decimal

    @property
    def is_default(self) -> bool:
        """Whether the model is gpt-image-1 (its own tables apply)."""
        return self.model.id == DEFAULT_MODEL

    def plain(self) -> dict[str, Any]:
        """A fresh plain valid body."""
        return base_body() if self.is_default else plain_body(self.model)

    def invalid(self) -> dict[str, Any]:
        """A body with one field wrong, which owes a 400 (and bills nothing)."""
        if self.is_default:
            return {"input": {**base_body()["input"], "num_images": 3}}
        mutation = next(m for m in schema_mutations(self.model) if m.rule == SCHEMA_RULE)
        return mutation.apply(self.plain())

    def with_trigger(self, trigger: str) -> dict[str, Any] | None:
        """The plain body carrying a mock trigger (None if the model has nowhere to put it)."""
        if self.is_default:
            body = base_body()
            body["input"]["prompt"] = f"a cat, {trigger}"
            return body
        return with_trigger(self.model, trigger)

    def cost(self, body: dict[str, Any]) -> Decimal:
        """What a valid body costs, in USD."""
        if self.is_default:
            return image_count(body) * self.price
        return self.model.cost_usd(body)

    def units(self, body: dict[str, Any]) -> int:
        """What a valid body costs in budget images."""
        if self.is_default:
            return image_count(body)
        return units(self.model.cost_micros(body), self.price)
