"""The suite's own options: `--apixo-NAME` on pytest's command line, or an APIXO_* variable.

Kept free of third-party imports, so `apixo-mock contract --help` can list
them even where the [contract] extra is not installed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class Option:
    """One command-line option of the suite, with its environment variable."""

    name: str
    env: str
    help: str
    kind: Callable[[str], Any] = str
    flag_only: bool = False  # `--apixo-strict` takes no value; its variable is true/false
    metavar: str = "TEXT"

    @property
    def flag(self) -> str:
        """`--apixo-base-url`."""
        return f"--apixo-{self.name}"

    @property
    def dest(self) -> str:
        """`apixo_base_url`, where pytest keeps the value."""
        return "apixo_" + self.name.replace("-", "_")

    def help_row(self) -> tuple[str, str]:
        """`--base-url URL` and its help with the variable, for `apixo-mock contract --help`."""
        usage = f"--{self.name}" if self.flag_only else f"--{self.name} {self.metavar}"
        return usage, f"{self.help} [env: {self.env}]"


OPTIONS: tuple[Option, ...] = (
    Option(
        "base-url", "APIXO_BASE_URL", "API origin; none: start the mock in-process", metavar="URL"
    ),
    Option("api-key", "APIXO_API_KEY", "API key the suite uses", metavar="KEY"),
    Option(
        "model",
        "APIXO_MODEL",
        "model the suite checks: a pack id, or `all` for every pack (default gpt-image-1)",
        metavar="ID",
    ),
    Option(
        "other-api-key", "APIXO_OTHER_API_KEY", "a second key (task isolation tests)", metavar="KEY"
    ),
    Option(
        "other-base-url",
        "APIXO_OTHER_BASE_URL",
        "origin the second key's requests go to (default: the base URL), e.g. a second"
        " process of one mock",
        metavar="URL",
    ),
    Option(
        "admin-token",
        "APIXO_ADMIN_TOKEN",
        "X-Apixo-Mock-Admin-Token for a mock's admin API",
        metavar="TOKEN",
    ),
    Option(
        "max-images",
        "APIXO_MAX_IMAGES",
        "most images the suite may bill (default 8)",
        int,
        metavar="N",
    ),
    Option(
        "poll-initial",
        "APIXO_POLL_INITIAL",
        "seconds before the first poll",
        float,
        metavar="SECONDS",
    ),
    Option(
        "poll-interval", "APIXO_POLL_INTERVAL", "seconds between polls", float, metavar="SECONDS"
    ),
    Option(
        "task-timeout", "APIXO_TASK_TIMEOUT", "seconds a task may take", float, metavar="SECONDS"
    ),
    Option("violation-prompt", "APIXO_VIOLATION_PROMPT", "prompt that ends CONTENT_VIOLATION"),
    Option(
        "callback-base-url",
        "APIXO_CALLBACK_BASE_URL",
        "public URL of the local receiver",
        metavar="URL",
    ),
    Option(
        "callback-port", "APIXO_CALLBACK_PORT", "port of the callback receiver", int, metavar="PORT"
    ),
    Option("price", "APIXO_PRICE", "USD per image (default 0.35)", Decimal, metavar="USD"),
    Option(
        "allow-unpriced",
        "APIXO_ALLOW_UNPRICED",
        "off a mock, bill models whose price the docs do not give (the pack's price is a guess)",
        lambda text: text.strip().lower() in ("1", "true", "yes", "on"),
        flag_only=True,
    ),
    Option(
        "limit-key",
        "APIXO_LIMIT_KEY",
        "a key with lowered limits, driven past them to check the 429 rules",
        metavar="KEY",
    ),
    Option(
        "limit-unfinished",
        "APIXO_LIMIT_UNFINISHED",
        "the limit key's unfinished-task cap (the suite submits N 1-image tasks)",
        int,
        metavar="N",
    ),
    Option(
        "limit-rpm",
        "APIXO_LIMIT_RPM",
        "the limit key's requests per minute (the suite sends up to N + 1 reads)",
        int,
        metavar="N",
    ),
    Option(
        "low-balance-key",
        "APIXO_LOW_BALANCE_KEY",
        "a key whose balance is below one image's price (insufficient credits, at no cost)",
        metavar="KEY",
    ),
    Option(
        "strict",
        "APIXO_STRICT",
        "fail on undeclared answer fields and on dialects (default: report them)",
        lambda text: text.strip().lower() in ("1", "true", "yes", "on"),
        flag_only=True,
    ),
)


def read_options(get: Callable[[str], Any], env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every option by name: the command line first, then its environment variable."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for option in OPTIONS:
        value = get(option.dest)
        if value is None and env.get(option.env):
            value = option.kind(env[option.env])
        values[option.name] = value
    return values
