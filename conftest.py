"""Hypothesis profiles for every test in the repository.

`ci` (the default) is fast and deterministic; `thorough` explores far more.
Choose with HYPOTHESIS_PROFILE=thorough. No example database is written, so
nothing lands in the working tree.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# The plugin's own tests drive inner pytest sessions (tests/plugin/).
pytest_plugins = ["pytester"]

settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", max_examples=500, deadline=None, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
