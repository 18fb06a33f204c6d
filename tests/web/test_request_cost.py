"""What a request costs beyond the bare app: work done once per app, not once per request."""

from __future__ import annotations

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
