"""What the [contract] extra installs, and which of it this interpreter lacks.

`apixo-mock contract` asks before it starts pytest: without this check a
missing Hypothesis would surface as a ModuleNotFoundError while pytest
collects the suite. Only the standard library is imported here.
"""

from __future__ import annotations

import importlib.util

from mock_server.version import __version__

# Import names of the [contract] extra's packages (pyproject.toml).
MODULES = ("pytest", "requests", "hypothesis", "hypothesis_jsonschema")
# apixo-mock is on no registry: the extra comes with a clone or a built wheel.
INSTALL = (
    "in a clone, pip install -e '.[contract]'; with a wheel,"
    f" pip install 'apixo_mock-{__version__}-py3-none-any.whl[contract]'"
)


def missing() -> list[str]:
    """The extra's modules that cannot be imported here, in MODULES order."""
    return [name for name in MODULES if importlib.util.find_spec(name) is None]


def advice(absent: list[str]) -> str:
    """One line that names what is missing and the extra that brings it."""
    names = ", ".join(absent)
    return f"the contract suite needs the [contract] extra (missing: {names}): {INSTALL}"
