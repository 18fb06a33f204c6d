"""Hypothesis profiles of the suite: how many examples each kind of property gets.

`fast` is the default against a mock, `small` is used automatically against
any other target (each valid example is billed there), `thorough` is chosen
with APIXO_HYPOTHESIS_PROFILE=thorough. Against a mock, a model other than
gpt-image-1 gets `model`, a few examples each: `--apixo-model all` then stays
a matter of minutes (every model keeps every rule; gpt-image-1 keeps `fast`).
Settings objects are built per test rather than loaded globally, so the suite
never changes Hypothesis defaults for other tests in the same session. No
example database: nothing lands in git.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from hypothesis import HealthCheck, Phase, settings

ENV = "APIXO_HYPOTHESIS_PROFILE"
_QUIET = (
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.filter_too_much,
    HealthCheck.large_base_example,
)


@dataclass(frozen=True, slots=True)
class Profile:
    """Example counts per kind of property."""

    name: str
    valid_examples: int  # billable: each is a submit that generates images
    invalid_examples: int  # free on a correct target (400), billed on a broken one
    machine_runs: int
    machine_steps: int
    shrink: bool  # shrinking re-sends requests: off where they may cost money

    def settings(self, max_examples: int, *, billable: bool = False) -> settings:
        """Hypothesis settings for one property: deterministic, no database, no deadline."""
        phases = [Phase.explicit, Phase.generate]
        if self.shrink and not billable:
            phases.append(Phase.shrink)
        return settings(
            max_examples=max(1, max_examples),
            deadline=None,
            database=None,
            derandomize=True,
            phases=phases,
            report_multiple_bugs=False,
            suppress_health_check=_QUIET,
            stateful_step_count=self.machine_steps,
        )


PROFILES: Mapping[str, Profile] = MappingProxyType(
    {
        "fast": Profile("fast", 8, 40, 3, 12, True),
        "thorough": Profile("thorough", 60, 400, 25, 30, True),
        "small": Profile("small", 2, 12, 1, 6, False),
        "model": Profile("model", 2, 6, 1, 5, True),
    }
)


def choose(is_mock: bool, env: Mapping[str, str] | None = None, default: bool = True) -> Profile:
    """APIXO_HYPOTHESIS_PROFILE if set, else for a mock `fast` (`model` for a model other than
    the default one: `default=False`) and `small` for anything else."""
    env = os.environ if env is None else env
    name = env.get(ENV) or (("fast" if default else "model") if is_mock else "small")
    if name not in PROFILES:
        raise ValueError(f"{ENV}={name!r}: use one of {', '.join(PROFILES)}")
    return PROFILES[name]
