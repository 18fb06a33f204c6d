"""The CORS labels an answer to a browser gets (`--cors ORIGIN`), for the app and the fast path."""

from __future__ import annotations

from flask import Response

ALLOW_HEADERS = "Authorization, Content-Type, X-Apixo-Mock-Scenario"


def labels(origin: str, request_origin: str | None) -> list[tuple[str, str]]:
    """The headers for a request from `request_origin`: none unless it is allowed."""
    allowed = origin
    if origin != "*":
        allowed = origin if request_origin == origin else ""
    if not allowed:
        return []
    return [
        ("Access-Control-Allow-Origin", allowed),
        ("Access-Control-Allow-Headers", ALLOW_HEADERS),
        ("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
        ("Access-Control-Max-Age", "600"),
        ("Vary", "Origin"),
    ]


def label(response: Response, origin: str, request_origin: str | None) -> Response:
    """`response` with the labels set (replacing any header of the same name)."""
    for name, value in labels(origin, request_origin):
        response.headers[name] = value
    return response
