"""What a request costs beyond the bare app: work done once per app, not once per request."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import flask.app
import pytest

from mock_server.settings import Settings
from mock_server.web.app import create_app
from tests.conftest import AUTH


def test_handlers_are_inspected_once_per_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """Flask asks "is this a coroutine?" of each view and hook once, not on every request."""
    asked: list[Callable[..., Any]] = []

    def counting(func: Callable[..., Any]) -> bool:
        asked.append(func)
        return False

    monkeypatch.setattr(flask.app, "iscoroutinefunction", counting)
    client = create_app(Settings()).test_client()
    for _ in range(3):
        answer = client.get("/api/v1/apikeys/current-balance", headers=AUTH)
        assert answer.status_code == 200
    assert asked
    assert len(asked) == len(set(asked))


def test_access_lines_are_logged_without_a_stack_walk(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The access line is the same record, but logging never searches the stack for its caller."""

    # Refused on this thread only: another test's threads may still be logging.
    this, find_caller = threading.get_ident(), logging.Logger.findCaller

    def refuse(self: logging.Logger, *args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() == this:
            raise AssertionError("findCaller on the request path")
        return find_caller(self, *args, **kwargs)

    monkeypatch.setattr(logging.Logger, "findCaller", refuse)
    client = create_app(Settings()).test_client()
    with caplog.at_level(logging.INFO, logger="apixo_mock.access"):
        client.get("/api/v1/apikeys/current-balance", headers=AUTH)
    records = [r for r in caplog.records if r.name == "apixo_mock.access"]
    assert len(records) == 1
    assert (
        records[0].getMessage().startswith('127.0.0.1 "GET /api/v1/apikeys/current-balance" 200 ')
    )
    assert records[0].levelno == logging.INFO
    assert records[0].funcName == "_record"
