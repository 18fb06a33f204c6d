"""Renders every error as the API's envelope; Flask never answers with HTML."""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app
from werkzeug.exceptions import HTTPException

from ..core.errors import ApiError
from ..core.wire import dumps, envelope

log = logging.getLogger("apixo_mock")


def error_response(error: ApiError) -> Response:
    """The envelope for an `ApiError`, with its headers (Allow, Retry-After)."""
    body = dumps(envelope(error.data, error.status, error.message))
    response = Response(body, status=error.status, mimetype="application/json")
    response.headers.update(error.headers)
    return response


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    message = "Not found" if status == 404 else (error.name or "Error")
    if status == 413:
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        message = f"Request body too large: at most {limit} bytes"
    api_error = ApiError(message, status=status)
    allowed = getattr(error, "valid_methods", None)
    if status == 405 and allowed:
        api_error.headers["Allow"] = ", ".join(allowed)
    return error_response(api_error)


def unexpected(error: Exception) -> Response:
    """A 500 envelope for an error no handler expected, logged with its traceback."""
    log.exception("unexpected error", exc_info=error)
    return error_response(ApiError("Internal server error", status=500))


def register(app: Flask) -> None:
    """Install the handlers on an app."""
    app.register_error_handler(ApiError, error_response)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, unexpected)
