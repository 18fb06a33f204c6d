"""The fast dispatcher answers the hot routes exactly as the Flask views do.

Two apps built alike on frozen clocks receive the same requests in the same
order, one with the fast path and one with it switched off: every answer
(status line, headers, body), journal entry and access-log line must match
byte for byte, latency aside. The requests mix the shapes the fast path takes
with the unusual ones it hands to Flask.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder

from mock_server.core.clock import MockClock
from mock_server.core.service import MockService
from mock_server.settings import Settings
from mock_server.web import fast
from mock_server.web.app import create_app
from mock_server.web.recorder import access_log
from tests.conftest import BALANCE, STATUS, SUBMIT, FakeWall, RecordingSender, submit_body

KEY = "Bearer test-key-1234"
ORIGIN = "https://app.example"
NANO_STATUS = "/api/v1/statusTask/nano-banana-2"
NANO_SUBMIT = "/api/v1/generateTask/nano-banana-2"
NANO_BODY = {
    "input": {
        "mode": "text-to-image",
        "prompt": "an isometric city block",
        "aspect_ratio": "16:9",
        "resolution": "2k",
    }
}
TYPICAL_BODY = {
    "request_type": "async",
    "provider": "auto",
    "input": {
        "mode": "gpt-image-1",
        "prompt": "A lighthouse at dusk",
        "aspect_ratio": "3:2",
        "num_images": 2,
        "image_urls": ["https://example.com/one.png"],
    },
}
LATENCY = re.compile(r"\d+\.\d+ms$")

# Settings variants: defaults, CORS for one origin or any, a small body cap and rpm, fixed keys.
VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "cors-origin": {"cors": ORIGIN, "log_format": "json"},
    "cors-any": {"cors": "*", "max_body_bytes": 200},
    "limits": {"rpm": 6, "keys": ("test-key-1234",), "balance": 1},
}
# Scenario rules some examples add to both apps through the admin API.
RULES: dict[str, dict[str, Any]] = {
    "malformed-status": {"when": {"endpoint": "status"}, "then": {"fault": "malformed"}},
    "drop-balance": {"when": {"endpoint": "balance"}, "then": {"fault": "drop"}},
    "reject-every-2nd": {"when": {"every_nth": 2}, "then": {"reject": {"status": 429}}},
    "fail-submits": {"then": {"fail": {"code": "GENERATION_FAILED"}}},
    "slow-any": {"when": {"endpoint": "any"}, "then": {"latency_ms": 1}},
}


@dataclass(frozen=True)
class Call:
    """One request as the test describes it; "{task}" in a query is the last task submitted."""

    method: str
    path: str
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None


@dataclass
class Twin:
    """An app with the fast path and one without, built alike."""

    fast: Flask
    flask: Flask

    def apps(self) -> tuple[Flask, Flask]:
        return self.fast, self.flask


def build(variant: dict[str, Any]) -> Flask:
    """An app on a frozen clock with a seeded service and the access log on."""
    config = Settings(seed=3, access_log=True, profile="quick").replace(**variant).core_config()
    clock = MockClock(wall=FakeWall(), frozen=True)
    service = MockService(config, sender=RecordingSender(), clock=clock)
    return create_app(service=service)


@pytest.fixture(scope="module")
def twins() -> Iterator[dict[str, Twin]]:
    """One twin per settings variant, shared by the examples (each resets them)."""
    built = {name: Twin(build(variant), build(variant)) for name, variant in VARIANTS.items()}
    for twin in built.values():
        twin.flask.extensions[fast.EXTENSION].enabled = False
    yield built
    for twin in built.values():
        for app in twin.apps():
            app.extensions["apixo_mock"].close()


@pytest.fixture(autouse=True)
def no_real_latency(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Latency rules sleep for real; here they only record what they would wait."""
    slept: list[float] = []
    monkeypatch.setattr("mock_server.web.faults.time.sleep", slept.append)
    return slept


class Lines(logging.Handler):
    """Collects access-log lines."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def lines() -> Iterator[Lines]:
    """Access-log lines of the requests in the test."""
    handler = Lines()
    access_log.addHandler(handler)
    level = access_log.level
    access_log.setLevel(logging.INFO)
    yield handler
    access_log.removeHandler(handler)
    access_log.setLevel(level)


def send(app: Flask, call: Call, task_id: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """The raw WSGI answer: status line, header list and body (up to a dropped connection)."""
    builder = EnvironBuilder(
        path=call.path,
        method=call.method,
        query_string=call.query.replace("{task}", task_id),
        headers=list(call.headers),
        data=call.body,
    )
    environ = builder.get_environ()
    seen: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen.append((status, list(headers)))
        return lambda data: None

    chunks: list[bytes] = []
    try:
        for chunk in app(environ, start_response):
            chunks.append(chunk)
    except ConnectionAbortedError:
        chunks.append(b"<dropped>")
    return seen[-1][0], seen[-1][1], b"".join(chunks)


def journal(app: Flask) -> list[dict[str, Any]]:
    """The app's journal without latencies (wall time differs between any two requests)."""
    entries = [entry.to_json() for entry in app.extensions["apixo_mock"].journal.entries()]
    return [{k: v for k, v in entry.items() if k != "latencyMs"} for entry in entries]


def without_latency(line: str) -> str:
    """An access line with its latency masked (text or JSON format)."""
    if line.startswith("{"):
        fields = json.loads(line)
        fields["latencyMs"] = 0
        return json.dumps(fields)
    return LATENCY.sub("-ms", line)


def run_both(twin: Twin, rules: list[str], calls: list[Call], lines: Lines) -> None:
    """Send `calls` to both apps in turn and compare everything they answered and recorded."""
    for app in twin.apps():
        app.extensions["apixo_mock"].reset()
        admin = app.test_client()
        for name in rules:
            rule = {"rule": {"name": name, **RULES[name]}}
            assert admin.post("/__admin/scenarios/active/rules", json=rule).status_code == 200
        app.extensions["apixo_mock"].journal.clear()
    tasks = ["task_missing", "task_missing"]
    for call in calls:
        answers = []
        for index, app in enumerate(twin.apps()):
            lines.lines.clear()
            answer = send(app, call, tasks[index])
            answers.append((answer, [without_latency(line) for line in lines.lines]))
            found = re.search(rb'"taskId":"([^"]+)"', answer[2])
            if call.method == "POST" and answer[0].startswith("200") and found:
                tasks[index] = found.group(1).decode()
        assert answers[0] == answers[1], call
    assert journal(twin.fast) == journal(twin.flask)


def json_body(document: Any) -> bytes:
    return json.dumps(document).encode()


AUTH = (("Authorization", KEY),)
JSON = (("Content-Type", "application/json"),)
VALID = json_body(submit_body())


AUTHS = st.sampled_from(
    [(), (("Authorization", KEY),), (("Authorization", "Bearer"),), (("Authorization", "Basic x"),)]
)
EXTRA_HEADERS = st.lists(
    st.sampled_from(
        [
            ("Origin", ORIGIN),
            ("Origin", "https://other.example"),
            ("X-Apixo-Mock-Scenario", "flaky"),
            ("X-Apixo-Mock-Scenario", "no-such-scenario"),
            ("Content-Type", "text/plain"),
            ("Host", "mock.example:8080"),
            ("Host", "xn--bcher-kva.example"),
        ]
    ),
    max_size=2,
    unique=True,
)
QUERIES = st.sampled_from(
    [
        *("taskId={task}", "taskId={task}", "", "taskId=", "taskId=task_nope"),
        *("taskId={task}&x=1", "taskId=%74ask", "taskId=a+b", "x=1"),
    ]
)
READ_PATHS = st.sampled_from(
    [STATUS, STATUS, BALANCE, NANO_STATUS, "/api/v1/statusTask/no-such", STATUS + "/"]
)
BODIES = st.sampled_from(
    [
        json_body(submit_body()),
        json_body(TYPICAL_BODY),
        json_body(submit_body(prompt="mock:reject:503")),
        json_body(submit_body(prompt="x" * 300)),
        json_body({"input": {"mode": "gpt-image-1"}}),
        b"{not json",
        b"",
    ]
)


@st.composite
def calls(draw: st.DrawFn) -> Call:
    """A request to a hot route, in a usual or an unusual shape."""
    headers = draw(AUTHS) + tuple(draw(EXTRA_HEADERS))
    method = draw(st.sampled_from(["GET", "GET", "POST", "POST", "HEAD", "PUT", "OPTIONS", "tick"]))
    if method == "tick":  # time passes: tasks finish, results get URLs on their hosts
        return Call("POST", "/__admin/clock/advance", "", JSON, b'{"ms": 600000}')
    if method in ("POST", "PUT"):
        path = draw(st.sampled_from([SUBMIT, SUBMIT, NANO_SUBMIT, "/api/v1/generateTask/no"]))
        body = json_body(NANO_BODY) if path == NANO_SUBMIT else draw(BODIES)
        if not any(name == "Content-Type" for name, _ in headers):
            headers += (("Content-Type", "application/json"),)
        return Call(method, path, draw(st.sampled_from(["", "x=1"])), headers, body)
    return Call(method, draw(READ_PATHS), draw(QUERIES), headers)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    variant=st.sampled_from(sorted(VARIANTS)),
    rules=st.lists(st.sampled_from(sorted(RULES)), max_size=2, unique=True),
    requests=st.lists(calls(), min_size=1, max_size=8),
)
def test_fast_path_answers_as_flask_does(
    twins: dict[str, Twin], lines: Lines, variant: str, rules: list[str], requests: list[Call]
) -> None:
    """Any mix of requests: same answers, journal and access log with and without the fast path."""
    submit = Call("POST", SUBMIT, "", (("Authorization", KEY),), json_body(submit_body()))
    run_both(twins[variant], rules, [submit, *requests], lines)


@pytest.mark.parametrize(
    ("variant", "rules", "requests"),
    [
        ("defaults", [], [Call("GET", STATUS, "taskId={task}", AUTH)]),
        ("defaults", [], [Call("GET", BALANCE, "", AUTH)]),
        *(
            (
                "defaults",
                [],
                [
                    Call("POST", SUBMIT, "", (*AUTH, *JSON, ("Host", host)), VALID),
                    Call("POST", "/__admin/clock/advance", "", JSON, b'{"ms": 600000}'),
                    Call("GET", STATUS, "taskId={task}", AUTH),  # result URLs on that host
                ],
            )
            for host in ("xn--bcher-kva.example", "a.example:81", "b.example")
        ),
        ("defaults", [], [Call("POST", SUBMIT, "", AUTH + JSON, json_body(TYPICAL_BODY))]),
        ("defaults", [], [Call("POST", NANO_SUBMIT, "", AUTH + JSON, json_body(NANO_BODY))]),
        ("defaults", [], [Call("GET", STATUS, "taskId=task_nope", AUTH)]),
        ("defaults", [], [Call("GET", STATUS, "", AUTH)]),
        ("defaults", [], [Call("GET", STATUS, "taskId={task}")]),
        ("defaults", [], [Call("POST", SUBMIT, "", AUTH + JSON, b"{")]),
        ("defaults", [], [Call("POST", SUBMIT, "", AUTH, json_body(submit_body()))]),
        ("defaults", ["malformed-status"], [Call("GET", STATUS, "taskId={task}", AUTH)]),
        ("defaults", ["drop-balance"], [Call("GET", BALANCE, "", AUTH)]),
        ("defaults", ["fail-submits"], [Call("GET", STATUS, "taskId={task}", AUTH)]),
        ("defaults", ["slow-any"], [Call("GET", BALANCE, "", AUTH)]),
        ("limits", [], [Call("GET", BALANCE, "", AUTH)] * 7),
        ("limits", [], [Call("POST", SUBMIT, "", AUTH + JSON, json_body(TYPICAL_BODY))]),
        ("limits", [], [Call("GET", BALANCE, "", (("Authorization", "Bearer other-key"),))]),
        ("cors-origin", [], [Call("GET", STATUS, "taskId={task}", (*AUTH, ("Origin", ORIGIN)))]),
        ("cors-origin", [], [Call("GET", STATUS, "taskId=x", (*AUTH, ("Origin", ORIGIN)))]),
        ("cors-any", [], [Call("POST", SUBMIT, "", AUTH + JSON, json_body(TYPICAL_BODY))]),
        ("cors-any", ["drop-balance"], [Call("GET", BALANCE, "", AUTH)]),
    ],
)
def test_fast_path_answers_as_flask_does_in_these_cases(
    twins: dict[str, Twin], lines: Lines, variant: str, rules: list[str], requests: list[Call]
) -> None:
    """The cases that matter most, always run: answers, errors, faults, limits and CORS."""
    submit = Call("POST", SUBMIT, "", AUTH + JSON, json_body(submit_body()))
    run_both(twins[variant], rules, [submit, *requests], lines)


def test_test_client_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Status, submit and balance through the Flask test client never reach Flask's dispatch."""
    dispatched: list[str] = []
    dispatch = Flask.full_dispatch_request

    def counting(self: Flask) -> Any:
        dispatched.append("flask")
        return dispatch(self)

    client = build({}).test_client()
    monkeypatch.setattr(Flask, "full_dispatch_request", counting)
    auth = {"Authorization": KEY}
    submitted = client.post(SUBMIT, json=submit_body(), headers=auth)
    assert submitted.status_code == 200
    task_id = submitted.get_json()["data"]["taskId"]
    assert client.get(STATUS, query_string={"taskId": task_id}, headers=auth).status_code == 200
    assert client.get(BALANCE, headers=auth).status_code == 200
    assert dispatched == []
    assert client.head(BALANCE, headers=auth).status_code == 200  # unusual: Flask answers
    assert dispatched == ["flask"]


def test_an_app_wide_hook_turns_the_fast_path_off() -> None:
    """A request hook create_app did not install would be skipped: Flask answers everything."""
    app = build({})
    called: list[str] = []
    app.before_request(lambda: called.append("hook"))
    answer = app.test_client().get(BALANCE, headers={"Authorization": KEY})
    assert answer.status_code == 200
    assert called == ["hook"]
    assert app.extensions[fast.EXTENSION].enabled is False
