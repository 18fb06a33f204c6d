"""--cors answers browser preflights; the access log writes one line per request."""

from __future__ import annotations

import json
import logging

import pytest
from flask.testing import FlaskClient

from mock_server.core.clock import MockClock
from mock_server.core.service import MockService
from mock_server.settings import Settings
from mock_server.web.app import create_app
from tests.conftest import AUTH, BALANCE, SUBMIT, RecordingSender


def app_with(clock: MockClock, sender: RecordingSender, **settings: object) -> FlaskClient:
    service = MockService(
        Settings(seed=1).replace(**settings).core_config(), sender=sender, clock=clock
    )
    return create_app(service=service).test_client()


def test_preflight_is_answered_before_auth(clock: MockClock, sender: RecordingSender) -> None:
    client = app_with(clock, sender, cors="https://app.example")
    preflight = client.options(
        SUBMIT,
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]


def test_cors_labels_answers_only_for_the_allowed_origin(
    clock: MockClock, sender: RecordingSender
) -> None:
    client = app_with(clock, sender, cors="https://app.example")
    allowed = client.get(BALANCE, headers={**AUTH, "Origin": "https://app.example"})
    other = client.get(BALANCE, headers={**AUTH, "Origin": "https://evil.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "Access-Control-Allow-Origin" not in other.headers


def test_without_cors_there_are_no_cors_headers(clock: MockClock, sender: RecordingSender) -> None:
    client = app_with(clock, sender)
    response = client.get(BALANCE, headers={**AUTH, "Origin": "https://app.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_access_log_one_line_per_request(
    clock: MockClock, sender: RecordingSender, caplog: pytest.LogCaptureFixture, log_format: str
) -> None:
    client = app_with(clock, sender, access_log=True, log_format=log_format)
    with caplog.at_level(logging.INFO, logger="apixo_mock.access"):
        client.get(BALANCE, headers=AUTH)
        client.get("/nowhere")
    lines = [r.getMessage() for r in caplog.records if r.name == "apixo_mock.access"]
    assert len(lines) == 2
    if log_format == "json":
        first = json.loads(lines[0])
        assert (first["path"], first["status"], first["key"]) == (BALANCE, 200, "...1234")
    else:
        assert f'"GET {BALANCE}" 200' in lines[0]
        assert "test-key-1234" not in lines[0]


def test_access_log_can_be_switched_off(
    clock: MockClock, sender: RecordingSender, caplog: pytest.LogCaptureFixture
) -> None:
    client = app_with(clock, sender, access_log=False)
    with caplog.at_level(logging.INFO, logger="apixo_mock.access"):
        client.get(BALANCE, headers=AUTH)
    assert [r for r in caplog.records if r.name == "apixo_mock.access"] == []


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_control_characters_cannot_forge_a_log_line(
    clock: MockClock, sender: RecordingSender, caplog: pytest.LogCaptureFixture, log_format: str
) -> None:
    client = app_with(clock, sender, access_log=True, log_format=log_format)
    forged = '127.0.0.1 "GET /__admin/reset" 200 0.1ms'
    with caplog.at_level(logging.INFO, logger="apixo_mock.access"):
        client.get("/x%0d%0a" + forged.replace(" ", "%20").replace('"', "%22") + "%1b[31m%c2%85")
    lines = [r.getMessage() for r in caplog.records if r.name == "apixo_mock.access"]
    assert len(lines) == 1
    assert not any(c in lines[0] for c in "\r\n\x1b\x85")
    if log_format == "text":
        assert '"GET /x\\x0d\\x0a127.0.0.1 \\x22GET /__admin/reset\\x22 200 0.1ms' in lines[0]
        assert '\\x1b[31m\xc2\\x85" 404 ' in lines[0]  # WSGI paths are latin-1: C1 too
