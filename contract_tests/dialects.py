"""Dialects: where the public docs disagree, the contract decided, and a target may not have.

The mock's own dialect settings are the reference: each entry names the
setting, the contract's reading (the setting's default) and the other one.
Against a target that is not a mock, a test that meets the other reading
reports it (in the summary and as a JUnit property of the test) and fails
only with --apixo-strict; against a mock it is a failure, since the mock's
defaults are the contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import pytest


@dataclass(frozen=True, slots=True)
class Dialect:
    """One disagreement of the docs: the mock setting that offers it, and the two readings."""

    name: str
    setting: str
    contract: str
    other: str


DIALECTS = MappingProxyType(
    {
        dialect.name: dialect
        for dialect in (
            Dialect("nvariants", "accept_nvariants", "an alias of num_images", "not an alias"),
            Dialect("insufficient-credits-status", "insufficient_credits_status", "400", "402"),
            # The mock always refuses these two; the contract says a real service may not.
            Dialect("null-optional", "", "400", "accepted as omitted"),
            Dialect("content-type", "", "400", "accepted"),
        )
    }
)
PROPERTY_PREFIX = "apixo_dialect_"


def speak(item: pytest.Item, name: str, reading: str) -> str:
    """Record that the target speaks `reading` of dialect `name`; returns a skip reason."""
    from .plugin import report_of  # imported here: the plugin imports the checks, not dialects

    dialect = DIALECTS[name]
    report_of(item.config).spoke(name, f"{reading} (contract: {dialect.contract})")
    item.user_properties.append((PROPERTY_PREFIX + name, reading))
    setting = f" (the mock's {dialect.setting} setting)" if dialect.setting else ""
    return (
        f"the target speaks the {name} dialect: {reading}, where the contract says"
        f" {dialect.contract}{setting}; fails only with --apixo-strict"
    )
