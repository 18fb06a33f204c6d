"""A body over `max_body_bytes` is a 413 envelope, and is never read whole."""

from __future__ import annotations

import io
import json

import pytest
from flask.testing import FlaskClient

from mock_server.core.clock import MockClock
from mock_server.core.service import MockService
from mock_server.settings import Settings
from mock_server.web.app import create_app
from tests.conftest import AUTH, SUBMIT, RecordingSender, submit_body

CAP = 4096


class CountingStream(io.RawIOBase):
    """`size` bytes of JSON-ish filler that counts how much of it was read."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.left)
        buffer[:n] = b" " * n
        self.left -= n
        self.read_bytes += n
        return n


def capped(clock: MockClock, sender: RecordingSender) -> FlaskClient:
    settings = Settings(seed=1, access_log=False, max_body_bytes=CAP)
    return create_app(service=MockService(settings, sender=sender, clock=clock)).test_client()


def assert_413(response: object) -> None:
    assert response.status_code == 413  # type: ignore[attr-defined]
    assert response.get_json() == {  # type: ignore[attr-defined]
        "code": 413,
        "message": f"Request body too large: at most {CAP} bytes",
        "data": None,
    }


TARGETS = [
    ("POST", SUBMIT, AUTH),
    ("POST", "/__admin/clock/advance", {}),
    ("PATCH", "/__admin/accounts/test-key-1234", {}),
    ("PUT", "/__admin/scenarios/active", {}),
]
IDS = ["submit", "admin-clock", "admin-account", "admin-scenario"]


@pytest.mark.parametrize(("method", "path", "auth"), TARGETS, ids=IDS)
def test_a_declared_length_over_the_cap_is_refused_unread(
    clock: MockClock, sender: RecordingSender, method: str, path: str, auth: dict[str, str]
) -> None:
    stream = CountingStream(CAP + 1)
    response = capped(clock, sender).open(
        path,
        method=method,
        headers={**auth, "Content-Type": "application/json"},
        environ_overrides={"wsgi.input": stream, "CONTENT_LENGTH": str(CAP + 1)},
    )
    assert_413(response)
    assert stream.read_bytes == 0


@pytest.mark.parametrize(("method", "path", "auth"), TARGETS, ids=IDS)
def test_a_chunked_body_is_cut_at_the_cap(
    clock: MockClock, sender: RecordingSender, method: str, path: str, auth: dict[str, str]
) -> None:
    # No Content-Length: the server (granian) says it terminates the stream itself.
    stream = CountingStream(100 * CAP)
    response = capped(clock, sender).open(
        path,
        method=method,
        headers={**auth, "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input": stream, "wsgi.input_terminated": True},
    )
    assert_413(response)
    assert stream.read_bytes <= 2 * CAP


@pytest.mark.parametrize("chunked", [False, True], ids=["with-length", "chunked"])
def test_a_body_at_the_cap_is_judged_as_usual(
    clock: MockClock, sender: RecordingSender, chunked: bool
) -> None:
    raw = json.dumps(submit_body()).encode()
    padded = raw + b" " * (CAP - len(raw))
    environ: dict[str, object] = {"wsgi.input": io.BytesIO(padded)}
    environ |= {"wsgi.input_terminated": True} if chunked else {"CONTENT_LENGTH": str(CAP)}
    response = capped(clock, sender).post(
        SUBMIT, headers={**AUTH, "Content-Type": "application/json"}, environ_overrides=environ
    )
    assert response.status_code == 200


def test_the_default_cap_is_one_mebibyte(client: FlaskClient) -> None:
    headers = {**AUTH, "Content-Type": "application/json"}
    response = client.post(SUBMIT, data=b" " * (1024 * 1024 + 1), headers=headers)
    assert response.status_code == 413
    assert Settings().max_body_bytes == 1024 * 1024


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/__admin/reset"), ("POST", "/__admin/clock/freeze"), ("GET", "/__admin/health")],
    ids=["reset", "freeze", "health"],
)
def test_a_route_that_reads_no_body_refuses_a_declared_length_over_the_cap(
    clock: MockClock, sender: RecordingSender, method: str, path: str
) -> None:
    stream = CountingStream(CAP + 1)
    response = capped(clock, sender).open(
        path,
        method=method,
        headers={"Content-Type": "application/json"},
        environ_overrides={"wsgi.input": stream, "CONTENT_LENGTH": str(CAP + 1)},
    )
    assert_413(response)
    assert stream.read_bytes == 0
