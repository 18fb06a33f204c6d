"""The plugin as its users meet it: run inside a fresh pytest session with `pytester`."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from mock_server.testing.pytest_plugin import MARKER

SHARED_SERVER_TESTS = """
    seen = []

    def test_first(apixo_mock):
        seen.append(apixo_mock.base_url)
        apixo_mock.use_scenario("content-moderation")
        apixo_mock.set_balance(1)
        apixo_mock.advance(3600)

    def test_second(apixo_mock):
        seen.append(apixo_mock.base_url)
        assert apixo_mock.service.rules.active.name == "none"
        assert apixo_mock.service.account(apixo_mock.api_key)["balance"] == 1000000
        assert apixo_mock.service.clock.frozen

    def test_one_server_served_both():
        assert len(seen) == 2 and seen[0] == seen[1]
"""

FRESH_SERVER_TESTS = """
    seen = []

    def test_first(apixo_mock):
        seen.append(apixo_mock)

    def test_second(apixo_mock):
        seen.append(apixo_mock)

    def test_each_test_had_its_own_server():
        assert seen[0] is not seen[1]
        assert not seen[0].is_running()
"""


def mock_threads() -> list[threading.Thread]:
    """Threads a mock server or receiver runs, by their names."""
    prefixes = ("apixo-mock", "callbacks-", "callback-receiver", "waitress")
    return [t for t in threading.enumerate() if t.name.startswith(prefixes)]


@pytest.fixture(autouse=True)
def no_threads_left_behind() -> Iterator[None]:
    """Every inner run must stop every server and thread it started."""
    before = set(mock_threads())
    yield
    assert [t for t in mock_threads() if t not in before] == []


def test_function_scope_gives_each_test_a_new_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(FRESH_SERVER_TESTS)

    pytester.runpytest().assert_outcomes(passed=3)


@pytest.mark.parametrize("how", ["option", "ini"])
def test_session_scope_shares_one_server_reset_between_tests(
    pytester: pytest.Pytester, how: str
) -> None:
    pytester.makepyfile(SHARED_SERVER_TESTS)
    args = ["--apixo-mock-scope=session"] if how == "option" else []
    if how == "ini":
        pytester.makeini("[pytest]\napixo_mock_scope = session\n")

    pytester.runpytest(*args).assert_outcomes(passed=3)


def test_an_unknown_scope_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\napixo_mock_scope = module\n")
    pytester.makepyfile("def test_x(apixo_mock):\n    pass\n")

    result = pytester.runpytest()

    result.stderr.fnmatch_lines(["*apixo_mock_scope: 'module' is not one of function, session*"])


def test_the_marker_is_registered_for_strict_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.{MARKER}("content-moderation")
        def test_scenario_is_active(apixo_mock):
            assert apixo_mock.service.rules.active.name == "content-moderation"

        @pytest.mark.{MARKER}([{{"name": "r", "then": {{"fail": {{"code": "NSFW_DETECTED"}}}}}}])
        def test_rules_are_active(apixo_mock):
            assert [r.name for r in apixo_mock.service.rules.active.rules] == ["r"]
        """
    )

    pytester.runpytest("--strict-markers").assert_outcomes(passed=2)


def test_a_module_mark_applies_to_every_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        pytestmark = pytest.mark.{MARKER}("outage")

        def test_one(apixo_mock):
            assert apixo_mock.service.rules.active.name == "outage"
        """
    )

    pytester.runpytest().assert_outcomes(passed=1)


def test_the_marker_needs_exactly_one_argument(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.{MARKER}()
        def test_x(apixo_mock):
            pass
        """
    )

    result = pytester.runpytest()

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*{MARKER} takes one argument*"])


@pytest.mark.parametrize("how", ["option", "ini"])
def test_a_default_scenario_for_every_test_and_the_mark_wins(
    pytester: pytest.Pytester, how: str
) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        def test_default(apixo_mock):
            assert apixo_mock.service.rules.active.name == "rate-limited"

        @pytest.mark.{MARKER}("outage")
        def test_marked(apixo_mock):
            assert apixo_mock.service.rules.active.name == "outage"
        """
    )
    args = ["--apixo-mock-scenario=rate-limited"] if how == "option" else []
    if how == "ini":
        pytester.makeini("[pytest]\napixo_mock_scenario = rate-limited\n")

    pytester.runpytest(*args, "--apixo-mock-scope=session").assert_outcomes(passed=2)


def test_options_fixture_configures_the_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture(scope="session")
        def apixo_mock_options():
            return {"api_key": "sk-mine", "keys": ["sk-mine"], "seed": 3, "profile": "instant"}

        def test_configured(apixo_mock):
            assert apixo_mock.api_key == "sk-mine"
            assert apixo_mock.service.seed == 3
            assert apixo_mock.settings.profile == "instant"
            assert apixo_mock.service.keys.strict
        """
    )

    pytester.runpytest().assert_outcomes(passed=1)


def test_the_callback_receiver_fixture_records_posts(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import urllib.request

        def test_receives(apixo_callback_receiver):
            request = urllib.request.Request(
                apixo_callback_receiver.url + "/hook", data=b'{"a": 1}', method="POST"
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                assert response.status == 200
            [received] = apixo_callback_receiver.deliveries()
            assert (received.path, received.json) == ("/hook", {"a": 1})
        """
    )

    pytester.runpytest().assert_outcomes(passed=1)


def test_the_options_are_listed_in_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")

    result.stdout.fnmatch_lines(["*--apixo-mock-scope*", "*--apixo-mock-scenario*"])


def test_loading_the_plugin_imports_no_server() -> None:
    code = (
        "import sys, mock_server.testing.pytest_plugin\n"
        "heavy = ('flask', 'werkzeug', 'PIL', 'waitress', 'mock_server.testing.server',\n"
        "         'mock_server.core')\n"
        "print(sorted(name for name in heavy if name in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )

    assert result.stdout.strip() == "[]"


def test_a_run_that_uses_no_fixture_imports_no_server(pytester: pytest.Pytester) -> None:
    # Other installed plugins are switched off: what they import is not ours to judge.
    pytester.makepyfile(
        """
        import sys

        def test_nothing_heavy_loaded(pytestconfig):
            assert pytestconfig.pluginmanager.has_plugin("apixo_mock")
            assert "flask" not in sys.modules and "PIL" not in sys.modules
            assert "mock_server.testing.server" not in sys.modules
        """
    )
    others = ["-p", "no:schemathesis", "-p", "no:hypothesispytest", "-p", "no:anyio"]

    pytester.runpytest_subprocess(*others).assert_outcomes(passed=1)
