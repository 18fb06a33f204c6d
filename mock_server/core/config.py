"""The core's own configuration: a frozen value built by the shell from its settings.

The core never imports the shell. Every field here has the name of the setting
it comes from, so a scenario's `settings:` overrides (written in setting names)
apply with `CoreConfig.replace`. Checking an override's name and value is the
shell's business: the shell injects `derive`, which validates the changes the
way every other source of settings is validated and builds the new config.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

# Link-local: where cloud metadata services answer (169.254.169.254); never a receiver.
LINK_LOCAL = ("169.254.0.0/16", "fe80::/10")

# Overrides (setting name -> value) -> the config with them applied, or ConfigError.
Derive = Callable[[Mapping[str, Any]], "CoreConfig"]


@dataclass(frozen=True, slots=True)
class CoreConfig:
    """Everything the core reads from the settings; defaults are the settings' defaults."""

    keys: tuple[str, ...] = ()
    seed: int | None = None
    frozen: bool = False
    public_url: str | None = None
    profile: str = "quick"
    pending_ms: int | None = None
    processing_min_ms: int | None = None
    processing_max_ms: int | None = None
    pending_state: bool = True
    result_ttl_s: int = 15 * 24 * 3600
    max_tasks: int = 100_000
    task_ttl_s: int = 16 * 24 * 3600
    triggers: bool = True
    scenario: str | None = None
    models_dir: tuple[str, ...] = ()
    image_mode: str = "offline"
    image_timeout_s: float = 10.0
    rpm: int = 10_000
    max_unfinished: int = 1_000
    balance: Decimal = Decimal(1_000_000)
    price_per_image: Decimal = Decimal("0.35")
    model_prices: tuple[str, ...] = ()
    insufficient_credits_status: int = 400
    accept_nvariants: bool = True
    strict_fields: bool = False
    callback_timeout_s: float = 30.0
    callback_retries: int = 3
    callback_backoff_s: tuple[float, ...] = (1.0, 4.0, 16.0)
    callback_secret: str | None = None
    callback_senders: int = 8
    callback_allow_hosts: tuple[str, ...] = ()
    callback_deny_hosts: tuple[str, ...] = LINK_LOCAL
    journal_size: int = 1_000
    store: str | None = None  # None: in this process's memory; else a Redis URL
    store_prefix: str = "apixo-mock:"
    # Injected by the shell: checks overrides like any other settings source.
    derive: Derive | None = field(default=None, compare=False, repr=False)
    # The shell's own settings object, carried for the shell's views (admin
    # guard, CORS, access log) until they read it from the app; the core never
    # looks inside it.
    shell: Any = field(default=None, compare=False, repr=False)

    def replace(self, **changes: Any) -> CoreConfig:
        """A copy with some settings changed (checked by the shell's `derive` when given)."""
        if self.derive is not None:
            return self.derive(changes)
        return dataclasses.replace(self, **changes)


class ConfigSource(Protocol):
    """Anything that can give the core its configuration (the shell's Settings can)."""

    def core_config(self) -> CoreConfig:
        """The core's configuration."""
        ...


def config_fields() -> tuple[str, ...]:
    """The names of the settings the core reads (every field but the injected ones)."""
    return tuple(f.name for f in dataclasses.fields(CoreConfig) if f.name not in _INJECTED)


_INJECTED = frozenset({"derive", "shell"})
