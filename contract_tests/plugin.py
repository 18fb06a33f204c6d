"""The suite's pytest plugin: options, markers, the rule report and the end-of-run summary.

Loaded by contract_tests/conftest.py when the suite runs from a checkout, or
with `-p contract_tests.plugin` by the installed runner. Its hooks only act
on tests that declare contract rules, so it is harmless to other tests in
the same session. Fixtures live in conftest.py (scoped to the suite's folder).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import pytest

from .checks import ContractViolation
from .options import OPTIONS
from .report import RuleReport
from .rules import rule_ids

NAME = "contract_tests.plugin"
REPORT = pytest.StashKey[RuleReport]()
WORKER_REPORT = "apixo_contract_rules"  # the key of a worker's report in its workeroutput
MARKERS = (
    "rule(*ids): the docs/contract.md rules a test checks (ids from contract_tests/rules.py)",
    "billable(images=N): spends credits on the target (capped by --apixo-max-images)",
    "mock_only: needs the mock's admin API; skipped against other targets",
    "model_specific(*ids): a rule of these models' own inputs; other models skip it",
    "pack_driven: a rule's form read from a model's pack; gpt-image-1 checks it by its tables",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Every option as `--apixo-NAME`, each with its APIXO_* environment variable."""
    group = parser.getgroup("apixo", "apixo contract suite")
    for option in OPTIONS:
        if option.flag_only:
            group.addoption(
                option.flag,
                dest=option.dest,
                action="store_const",
                const=True,
                default=None,
                help=f"{option.help} (env {option.env})",
            )
            continue
        group.addoption(
            option.flag,
            dest=option.dest,
            default=None,
            type=option.kind,
            help=f"{option.help} (env {option.env})",
        )


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers and start an empty report."""
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    config.stash[REPORT] = RuleReport()


def report_of(config: pytest.Config) -> RuleReport:
    """The session's rule report."""
    return config.stash[REPORT]


def declared_rules(item: pytest.Item) -> list[str]:
    """The rule ids a test declares with `@pytest.mark.rule(...)`, checked against the table."""
    known = set(rule_ids())
    found = [str(arg) for marker in item.iter_markers("rule") for arg in marker.args]
    unknown = [rule_id for rule_id in found if rule_id not in known]
    if unknown:
        raise pytest.UsageError(f"{item.nodeid}: unknown contract rule(s) {unknown}")
    return found


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put each test's rules into JUnit XML as a property, for CI dashboards."""
    for item in items:
        rules = declared_rules(item)
        if rules:
            item.user_properties.append(("contract_rules", " ".join(rules)))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Turn each test outcome into rule outcomes."""
    report = yield
    _record(report_of(item.config), item, call, report)
    return report


def _record(
    rules: RuleReport, item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport
) -> None:
    declared = declared_rules(item)
    error = call.excinfo.value if call.excinfo is not None else None
    if report.failed and isinstance(error, ContractViolation):
        rules.failed(error.rule, item.nodeid, str(error))
        rules.not_reached([rule for rule in declared if rule != error.rule], item.nodeid)
    elif report.failed:
        message = f"{type(error).__name__}: {error}" if error is not None else report.longreprtext
        for rule in declared:
            rules.failed(rule, item.nodeid, f"could not be judged, {message}")
    elif report.skipped:
        rules.skipped(declared, _skip_reason(report))
    elif report.when == "call":
        rules.checked(declared, item.nodeid)


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return "skipped"


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On a pytest-xdist worker: hand the worker's rule report to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[WORKER_REPORT] = report_of(session.config).to_data()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """On the pytest-xdist controller: add each worker's rule report to the session's."""
    data = getattr(node, "workeroutput", {}).get(WORKER_REPORT)
    if data is not None:
        report_of(node.config).merge(data)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """List every rule of docs/contract.md: checked, failed, skipped (why) or not run."""
    rules = config.stash.get(REPORT, None)
    if rules is None or not rules.used:
        return
    terminalreporter.section("apixo contract rules")
    for line in rules.lines(brief=config.get_verbosity() < 0):
        terminalreporter.write_line(line)


def progress_writer(config: pytest.Config) -> Callable[[str], None]:
    """Writes a progress line to the terminal even while pytest captures output."""

    def write(line: str) -> None:
        terminal = config.pluginmanager.get_plugin("terminalreporter")
        if terminal is None:
            return
        with _uncaptured(config):
            terminal.write_line(f"apixo: {line}")

    return write


def _uncaptured(config: pytest.Config) -> AbstractContextManager[Any]:
    capture = config.pluginmanager.get_plugin("capturemanager")
    if capture is None:
        return nullcontext()
    context: AbstractContextManager[Any] = capture.global_and_fixture_disabled()
    return context


def register(pluginmanager: pytest.PytestPluginManager, plugin: object) -> None:
    """Register this plugin once, however the suite was started."""
    if not pluginmanager.has_plugin(NAME) and not pluginmanager.is_registered(plugin):
        pluginmanager.register(plugin, NAME)
