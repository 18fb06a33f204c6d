"""How views reach the service that `create_app` built for their app."""

from __future__ import annotations

from typing import cast

from flask import current_app, request

from ..core.service import MockService

EXTENSION = "apixo_mock"
FACT_PREFIX = "apixo_mock."


def service() -> MockService:
    """The `MockService` of the app handling the current request."""
    return cast(MockService, current_app.extensions[EXTENSION])


def note(name: str, value: object) -> None:
    """Remember a fact about this request (key, task, rule) for the journal and access log."""
    request.environ[FACT_PREFIX + name] = value
