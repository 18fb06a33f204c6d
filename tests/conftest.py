"""Fixtures that mirror the object graph: clock -> settings -> service -> app -> client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mock_server.core.callbacks import SendResult
from mock_server.core.clock import MockClock
from mock_server.core.service import MockService
from mock_server.settings import Settings
from mock_server.web.app import create_app

START_MS = 1_767_965_610_929  # the createTime of the docs' example
AUTH = {"Authorization": "Bearer test-key-1234"}
SUBMIT = "/api/v1/generateTask/gpt-image-1"
STATUS = "/api/v1/statusTask/gpt-image-1"
BALANCE = "/api/v1/apikeys/current-balance"


@dataclass
class RecordingSender:
    """A callback sender that records every POST and answers 200."""

    calls: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)

    def post(self, url: str, body: bytes, headers: Any, timeout_s: float) -> SendResult:
        self.calls.append((url, body, dict(headers)))
        return SendResult(status=200, error=None, latency_ms=0.1)


class FakeWall:
    """A wall clock that only moves when told to."""

    def __init__(self, start: int = START_MS) -> None:
        self.now = start

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> MockClock:
    """A frozen mock clock at the docs' example time."""
    return MockClock(wall=FakeWall(), frozen=True)


@pytest.fixture
def settings() -> Settings:
    """Settings for tests: seeded, instant-ish, no access log."""
    return Settings(seed=7, access_log=False, profile="quick")


@pytest.fixture
def sender() -> RecordingSender:
    """Records callback deliveries instead of sending them."""
    return RecordingSender()


@pytest.fixture
def service(settings: Settings, clock: MockClock, sender: RecordingSender) -> Iterator[MockService]:
    """A service on the frozen clock; background threads not started."""
    svc = MockService(settings.core_config(), sender=sender, clock=clock)
    yield svc
    svc.close()


@pytest.fixture
def app(service: MockService) -> Flask:
    """The Flask app around the service."""
    return create_app(service=service)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A Flask test client (no network)."""
    return app.test_client()


def submit_body(**input_fields: Any) -> dict[str, Any]:
    """A valid submit body, with `input` fields overridden."""
    return {"input": {"mode": "gpt-image-1", "prompt": "a cozy cafe", **input_fields}}
