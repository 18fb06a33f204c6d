"""Hypothesis profiles and test-worker groups for every test in the repository.

`ci` (the default) is fast and deterministic; `thorough` explores far more.
Choose with HYPOTHESIS_PROFILE=thorough. No example database is written, so
nothing lands in the working tree.

`make test` spreads the tests over worker processes (pytest-xdist, `-n` with
`--dist loadgroup`); XDIST_GROUPS keeps the tests that share an expensive
fixture on one worker, which then builds it once rather than once per worker.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
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

# Node id prefix (a folder or a module) -> its worker group, and the fixture it shares.
XDIST_GROUPS = (
    ("tests/ui/", "browser"),  # one chromium; axe-core installed by one process only
    ("tests/openapi/", "openapi"),  # the client and models generated from /openapi.json
    ("tests/packaging/test_wheel.py", "wheel"),  # the wheel built and installed into a venv
    ("tests/recording/test_proxy.py", "recorded-session"),  # the example session, recorded
    ("tests/web/test_fast_routes.py", "fast-route-twins"),  # the twin apps of each variant
)


def xdist_group(nodeid: str) -> str | None:
    """The worker group of a test, from XDIST_GROUPS; None for a test that may run anywhere."""
    return next((group for prefix, group in XDIST_GROUPS if nodeid.startswith(prefix)), None)


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, which a run may lack
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under `--dist loadgroup`, each group of XDIST_GROUPS is one unit of work, for one worker.

    Chosen by node id on the controller rather than by `xdist_group` marks:
    pytest-xdist 3.8 passes a mark's group on by rewriting the node id, which
    pytest 9.2 ignores, so marked tests were spread over the workers anyway
    (pytest-dev/pytest-xdist#1386). Marks keep working once that is fixed.
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class PrefixGroupScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group(nodeid) or super()._split_scope(nodeid)

    return PrefixGroupScheduling(config, log)
