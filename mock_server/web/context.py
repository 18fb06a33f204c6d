"""How views reach the service that `create_app` built for their app, and the request body."""

from __future__ import annotations

from typing import cast

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from ..core.service import MockService

EXTENSION = "apixo_mock"
FACT_PREFIX = "apixo_mock."


def service() -> MockService:
    """The `MockService` of the app handling the current request."""
    return cast(MockService, current_app.extensions[EXTENSION])


def note(name: str, value: object) -> None:
    """Remember a fact about this request (key, task, rule) for the journal and access log."""
    request.environ[FACT_PREFIX + name] = value


def body() -> bytes:
    """The request body, or a 413 once it passes `max_body_bytes`; never read past the cap.

    Werkzeug refuses a declared Content-Length over the cap unread, but cuts a
    body without one (chunked) at the cap silently; one more byte tells a body
    that fits from one that does not.
    """
    data = request.get_data(cache=False)
    at_cap = len(data) >= current_app.config["MAX_CONTENT_LENGTH"]
    if at_cap and request.content_length is None and request.environ["wsgi.input"].read(1):
        raise RequestEntityTooLarge()
    return data
