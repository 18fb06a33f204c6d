"""The apixo-mock pytest plugin: the `apixo_mock` and `apixo_callback_receiver` fixtures.

Registered through the `pytest11` entry point, so installing apixo-mock makes
it available. A run that uses neither fixture pays for one small module: the
server (Flask, Pillow, waitress) is imported only when a fixture is set up.

    def test_happy_path(apixo_mock):
        client = MyClient(apixo_mock.base_url, apixo_mock.api_key, sleep=apixo_mock.advance)

Guide: docs/pytest-plugin.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

import pytest

if TYPE_CHECKING:
    from .receiver import CallbackReceiver
    from .server import MockServer

MARKER: Final = "apixo_scenario"
SCOPES: Final = ("function", "session")
_SCOPE_INI: Final = "apixo_mock_scope"
_SCENARIO_INI: Final = "apixo_mock_scenario"


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--apixo-mock-scope` and `--apixo-mock-scenario`, each with an ini twin."""
    group = parser.getgroup("apixo-mock", "apixo-mock: a mock of the APIXO gpt-image-1 API")
    group.addoption(
        "--apixo-mock-scope",
        dest=_SCOPE_INI,
        choices=SCOPES,
        default=None,
        help="function: a fresh mock per test (default); session: one mock, reset between tests.",
    )
    group.addoption(
        "--apixo-mock-scenario",
        dest=_SCENARIO_INI,
        default=None,
        metavar="NAME_OR_PATH",
        help="Scenario every apixo_mock starts with (a mark apixo_scenario overrides it).",
    )
    parser.addini(_SCOPE_INI, "apixo_mock fixture scope: function or session.", default="function")
    parser.addini(_SCENARIO_INI, "Scenario every apixo_mock starts with.", default="")


def pytest_configure(config: pytest.Config) -> None:
    """Check the scope setting now, and register the marker for `--strict-markers` runs."""
    mock_scope(config)  # a bad value is a usage error here, not an internal error later
    config.addinivalue_line(
        "markers",
        f"{MARKER}(name_or_rules): the scenario apixo_mock uses in this test: a shipped "
        "name, a YAML path, a list of rules or a scenario document.",
    )


def mock_scope(config: pytest.Config) -> str:
    """The scope of the mock server: the option, else the ini value, else function."""
    scope = config.getoption(_SCOPE_INI) or str(config.getini(_SCOPE_INI)).strip() or "function"
    if scope not in SCOPES:
        raise pytest.UsageError(f"{_SCOPE_INI}: {scope!r} is not one of {', '.join(SCOPES)}")
    return scope


def _server_scope(fixture_name: str, config: pytest.Config) -> Any:
    # pytest calls this once per run to choose the scope of _apixo_mock_server.
    return mock_scope(config)


@pytest.fixture(scope="session")
def apixo_mock_options() -> dict[str, Any]:
    """Keyword arguments for the `MockServer` behind `apixo_mock`; override to change them.

    Any `Settings` field (e.g. `profile`, `seed`, `keys`, `callback_retries`),
    `api_key`, or `scenario`. The default is empty: a frozen clock on a free port.
    """
    return {}


@pytest.fixture(scope=_server_scope)
def _apixo_mock_server(
    request: pytest.FixtureRequest, apixo_mock_options: dict[str, Any]
) -> Iterator[MockServer]:
    """The running server, per test or per session (see `mock_scope`)."""
    from .server import MockServer  # here, not at import: unused plugins cost nothing

    options = dict(apixo_mock_options)
    config = request.config
    scenario = config.getoption(_SCENARIO_INI) or str(config.getini(_SCENARIO_INI)).strip()
    if scenario:
        options.setdefault("scenario", scenario)
    with MockServer(**options) as server:
        yield server


@pytest.fixture
def apixo_mock(request: pytest.FixtureRequest, _apixo_mock_server: MockServer) -> MockServer:
    """An isolated APIXO mock on a free loopback port: a `MockHandle` with `base_url`, `api_key`.

    Its clock is frozen: `advance(seconds)` and `wait_for(task_id, state)`
    move it. A shared (session) server is reset first, so every test starts
    clean. `@pytest.mark.apixo_scenario(...)` loads a scenario for the test.
    """
    server = _apixo_mock_server
    if mock_scope(request.config) != "function":
        server.reset()
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        if len(marker.args) != 1 or marker.kwargs:
            pytest.fail(f"{MARKER} takes one argument: a name, a path, rules or a document")
        server.use_scenario(marker.args[0])
    return server


@pytest.fixture
def apixo_callback_receiver() -> Iterator[CallbackReceiver]:
    """A loopback HTTP server recording the callbacks it receives; its `url` + any path.

    `deliveries()`, `wait_for(count, timeout_s)`, `respond_with(status, delay_s, times)`.
    """
    from .receiver import CallbackReceiver

    with CallbackReceiver() as receiver:
        yield receiver
