"""Running the contract suite from a test: against a served mock, or a mock broken on purpose.

`run_suite` runs contract_tests in this process with `pytest.main` and hands
back what happened to each rule. `broken_mock` serves the real mock behind a
WSGI middleware that rewrites one thing, so a test can check that the suite
fails and names the rule that the rewrite breaks, without touching mock_server.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import requests

from contract_tests.plugin import report_of
from contract_tests.report import Outcome, RuleReport
from mock_server.settings import Settings
from mock_server.testing.server import MockServer

SUITE = Path(__file__).resolve().parents[2] / "contract_tests"
KEYS = ("K1", "K2")
StartResponse = Callable[..., Any]
Wsgi = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass
class Outcomes:
    """A pytest plugin that keeps the rule report and the failures of a nested run."""

    report: RuleReport | None = None
    failures: list[str] = field(default_factory=list)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Keep every failure's text."""
        if report.failed:
            self.failures.append(report.longreprtext)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Keep the rule report."""
        self.report = report_of(session.config)

    def failed_rules(self) -> set[str]:
        """The rules the run found broken."""
        assert self.report is not None, "the nested run did not finish"
        states = self.report.states.items()
        return {rule for rule, state in states if state.outcome is Outcome.FAILED}


def run_suite(base_url: str, *args: str) -> tuple[int, Outcomes]:
    """Run contract_tests against `base_url` with keys K1 and K2; the exit code and outcomes."""
    outcomes = Outcomes()
    argv = [str(SUITE), "-q", "-p", "no:cacheprovider", "--apixo-base-url", base_url]
    argv += ["--apixo-api-key", KEYS[0], "--apixo-other-api-key", KEYS[1], *args]
    code = pytest.main(argv, plugins=[outcomes])
    return int(code), outcomes


@dataclass(frozen=True, slots=True)
class Answer:
    """A response the middleware may rewrite."""

    status: str
    headers: list[tuple[str, str]]
    body: bytes

    def json(self) -> Any:
        """The body as JSON (None if it is not)."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def with_json(self, document: Any) -> Answer:
        """The same answer with another JSON body (Content-Length follows)."""
        return replace(self, body=json.dumps(document).encode())


Rewrite = Callable[[dict[str, Any], Answer], Answer]
Before = Callable[[dict[str, Any]], None]


def _unchanged(environ: dict[str, Any], answer: Answer) -> Answer:
    return answer


@dataclass(frozen=True, slots=True)
class Rewriting:
    """WSGI middleware: maybe change the request, then maybe change the answer."""

    app: Wsgi
    rewrite: Rewrite
    before: Before | None = None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        if self.before is not None:
            self.before(environ)
        seen: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen.update(status=status, headers=headers)
            return lambda data: None

        chunks = self.app(environ, capture)
        try:
            body = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        answer = self.rewrite(environ, Answer(seen["status"], list(seen["headers"]), body))
        headers = [(k, v) for k, v in answer.headers if k.lower() != "content-length"]
        start_response(answer.status, [*headers, ("Content-Length", str(len(answer.body)))])
        return [answer.body]


def served_settings(**fields: Any) -> Settings:
    """A mock for the suite to drive: waitress on a free loopback port, quiet, keys K1 and K2."""
    base = Settings(host="127.0.0.1", port=0, server="waitress", threads=4, access_log=False)
    return base.replace(**{"keys": KEYS, **fields})


@contextmanager
def broken_mock(
    rewrite: Rewrite | None = None, before: Before | None = None, **dialect: Any
) -> Iterator[str]:
    """The mock (admin on, keys K1 and K2), with dialect settings and/or a rewriting
    middleware; yields its URL."""
    settings = served_settings(profile="quick", seed=7).replace(**dialect)
    server = MockServer(settings)
    if rewrite is not None or before is not None:
        middleware = Rewriting(server.app, rewrite or _unchanged, before)
        server.app = middleware  # type: ignore[assignment]
    with server:
        yield server.base_url


LIMIT_KEY, LOW_BALANCE_KEY = "K3", "K4"
MakeRewrite = Callable[[MockServer], Rewrite]


@contextmanager
def keyed_mock(
    make_rewrite: MakeRewrite | None = None,
    *,
    before: Before | None = None,
    limit_cap: int | None = 3,
    limit_rpm: int | None = 40,
    low_balance: str | None = "0.10",
    **overrides: Any,
) -> Iterator[str]:
    """The mock without admin API, keys K1 to K4: K3 with a lowered cap and rate, K4 with a
    balance below one image (set through the mock's own handle, before the suite starts).

    `overrides` are Settings fields (`rpm`, `max_unfinished` for every key).
    Tasks take 1.5 s of real time, long enough for the suite to fill K3's cap
    while they run and short enough to wait for. `make_rewrite` gets the
    server (to reach its handle) and gives the middleware's rewrite; `before` may
    change each request first. Yields its URL.
    """
    settings = served_settings(
        admin=False,
        keys=(*KEYS, LIMIT_KEY, LOW_BALANCE_KEY),
        pending_ms=0,
        processing_min_ms=1_500,
        processing_max_ms=1_500,
        seed=11,
    ).replace(**overrides)
    server = MockServer(settings)
    if limit_cap is not None or limit_rpm is not None:
        server.set_limits(rpm=limit_rpm, max_unfinished=limit_cap, key=LIMIT_KEY)
    if low_balance is not None:
        server.set_balance(low_balance, key=LOW_BALANCE_KEY)
    if make_rewrite is not None or before is not None:
        rewrite = make_rewrite(server) if make_rewrite is not None else _unchanged
        server.app = Rewriting(server.app, rewrite, before)  # type: ignore[assignment]
    with server:
        yield server.base_url


def free_port() -> int:
    """A port the OS says is free right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served_mock(*flags: str, timeout_s: float = 30.0, command: str | None = None) -> Iterator[str]:
    """`apixo-mock serve` in a child process on a free loopback port; yields its URL.

    `command` is the apixo-mock executable; by default the one beside this Python.
    """
    command = command or shutil.which("apixo-mock", path=str(Path(sys.executable).parent))
    assert command is not None, "the apixo-mock command is not installed"
    port = free_port()
    argv = [command, "serve", "--host", "127.0.0.1", "--port", str(port), *flags]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(base_url, process, timeout_s)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()


def _wait_until_serving(base_url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Poll the balance endpoint until it answers, with a deadline."""
    deadline = time.monotonic() + timeout_s
    retry = threading.Event()  # never set: a bounded pause between probes of another process
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"apixo-mock serve exited with {process.returncode}")
        try:
            requests.get(base_url + "/api/v1/apikeys/current-balance", timeout=1)
            return
        except requests.ConnectionError:
            retry.wait(0.05)
    raise RuntimeError(f"apixo-mock serve did not answer on {base_url} within {timeout_s} s")
