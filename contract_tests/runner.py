"""`apixo-mock contract`: run the installed suite against any target, from any directory.

The suite is a package; pytest finds it with `--pyargs contract_tests` and its
options come from `-p contract_tests.plugin`. The caller's own pytest
configuration is kept out (`-c` an empty file, `--rootdir` the package), so a
project's addopts or plugins settings cannot change what the suite checks.
Here `--base-url` may be written without the `--apixo-` prefix that pytest
needs (pytest-base-url owns `--base-url` there).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .options import OPTIONS

PACKAGE = Path(__file__).resolve().parent
FIXED_ARGS = (
    "-p",
    "contract_tests.plugin",
    "-p",
    "no:cacheprovider",
    "--strict-markers",
    "-o",
    "xfail_strict=true",
    # `apixo-mock contract` has imported mock_server (the CLI) before pytest starts,
    # so pytest cannot assertion-rewrite the mock's pytest11 plugin; nothing is lost.
    "-W",
    "ignore::pytest.PytestAssertRewriteWarning",
)


def translate(argv: list[str]) -> list[str]:
    """`--base-url URL` (the CLI's short spelling) -> `--apixo-base-url URL`; the rest as is."""
    short = {f"--{option.name}": option.flag for option in OPTIONS}
    out = []
    for arg in argv:
        name, equals, value = arg.partition("=")
        out.append(short[name] + equals + value if name in short else arg)
    return out


def pytest_args(argv: list[str]) -> list[str]:
    """The pytest command line for the installed suite, followed by the caller's arguments."""
    return [
        *FIXED_ARGS,
        "-c",
        os.devnull,
        "--rootdir",
        str(PACKAGE),
        "--pyargs",
        "contract_tests",
        *translate(argv),
    ]


def main(argv: list[str]) -> int:
    """Run the suite with pytest arguments such as `--apixo-base-url URL -x`; the exit code."""
    return int(pytest.main(pytest_args(argv)))
