"""A WSGI dispatcher in front of Flask for the hot routes: submit, status and balance.

Flask's request context, routing and response objects cost more than the
mock's own work on a status read. `FastRoutes` recognises exactly the plain
shapes of the three hot requests and answers them through the same steps as
the Flask views (`hot`), with the same bytes: status, headers, body, CORS
labels, errors in the envelope, faults and latency, and the same facts for
the journal and the access log (the recorder wraps both paths). Anything
else (another method, an unknown model, an unusual query, a body without a
plain Content-Length or over the cap) goes to the Flask app unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response
from werkzeug.sansio.utils import get_current_url
from werkzeug.wsgi import get_host

from ..core.errors import ApiError
from ..core.service import MockService
from . import cors, errors, hot
from .faults import delay, faulty_response

EXTENSION = "apixo_mock.fast"
STATUS_PREFIX = "/api/v1/statusTask/"
SUBMIT_PREFIX = "/api/v1/generateTask/"
BALANCE_PATH = "/api/v1/apikeys/current-balance"
JSON_HEADER = ("Content-Type", "application/json")
# The hooks create_app installs (body cap, doubled slash, CORS), which this path reproduces.
OWN_HOOKS_MODULE = "mock_server.web.app"
ORIGINS_KEPT = 64
_TASK_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
StartResponse = Callable[..., Any]


class FastRoutes:
    """Answers the hot routes without Flask; everything else goes to `flask_app`."""

    def __init__(self, app: Flask, flask_app: WSGIApp, svc: MockService) -> None:
        self._flask = flask_app
        self._svc = svc
        self._cap: int = app.config["MAX_CONTENT_LENGTH"]
        self._cors: str | None = svc.base_settings.cors
        self._app = app
        self._origins: dict[tuple[Any, ...], str] = {}
        # Decided on the first request, once the app is set up: off if anything else
        # hooks every request (this path would skip it) or hosts are checked.
        self.enabled: bool | None = None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """One request: a hot route answered here, or the Flask app's answer."""
        if self.enabled is None:
            self.enabled = only_own_hooks(self._app) and not self._app.config.get("TRUSTED_HOSTS")
        if self.enabled and not environ.get("REQUEST_URI", "").startswith("//"):
            method = environ.get("REQUEST_METHOD")
            path: str = environ.get("PATH_INFO", "")
            if method == "GET" and environ.get("CONTENT_LENGTH") in (None, "", "0"):
                if path.startswith(STATUS_PREFIX):
                    task_id = _task_id(environ.get("QUERY_STRING", ""))
                    model = path[len(STATUS_PREFIX) :]
                    if task_id is not None and self._serves(model):
                        return self._run(environ, start_response, hot.status, model, "GET", task_id)
                elif path == BALANCE_PATH:
                    return self._run(environ, start_response, hot.balance, "GET")
            elif method == "POST" and path.startswith(SUBMIT_PREFIX):
                length = self._length(environ)
                model = path[len(SUBMIT_PREFIX) :]
                if length is not None and self._serves(model):
                    return self._submit(environ, start_response, model, length)
        return self._flask(environ, start_response)

    def _serves(self, model: str) -> bool:
        # An unknown model is a 404 after authentication: Flask's path answers it.
        return model == hot.MODEL or (model.isascii() and self._svc.serves(model))

    def _length(self, environ: dict[str, Any]) -> int | None:
        """A plain Content-Length within the cap; else None (Flask decides)."""
        declared = environ.get("CONTENT_LENGTH")
        if not declared or "HTTP_TRANSFER_ENCODING" in environ:
            return None
        if not (declared.isascii() and declared.isdigit()) or len(declared) > 18:
            return None
        length = int(declared)
        return length if length <= self._cap else None

    def _submit(
        self, environ: dict[str, Any], start_response: StartResponse, model: str, length: int
    ) -> Iterable[bytes]:
        origin = self._origin(environ)

        def read_body() -> bytes:
            data: bytes = environ["wsgi.input"].read(length) if length else b""
            if len(data) < length and "wsgi.input_terminated" not in environ:
                # Werkzeug's answer when the client sent less than it declared.
                raise ApiError("Bad Request", status=400)
            return data

        return self._run(environ, start_response, hot.submit, model, "POST", read_body, origin)

    def _origin(self, environ: dict[str, Any]) -> str:
        """`request.host_url` without its slash, worked out once per host (it decodes IDNA)."""
        scheme = environ.get("wsgi.url_scheme", "http")
        host = (
            scheme,
            environ.get("HTTP_HOST"),
            environ.get("SERVER_NAME"),
            environ.get("SERVER_PORT"),
        )
        found = self._origins.get(host)
        if found is None:
            if len(self._origins) >= ORIGINS_KEPT:  # Host is the client's to choose
                self._origins.clear()
            found = self._origins[host] = get_current_url(scheme, get_host(environ)).rstrip("/")
        return found

    def _run(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        step: Callable[..., hot.Answer],
        *args: Any,
    ) -> Iterable[bytes]:
        """Run a route's steps; send the answer, or the error as the Flask app would."""
        try:
            document, decision = step(self._svc, environ, *args)
        except ApiError as error:
            return self._send(errors.error_response(error), environ, start_response)
        except Exception as error:  # as Flask's catch-all handler (errors.unexpected) does
            return self._send(errors.unexpected(error), environ, start_response)
        delay(decision.effect)
        broken = faulty_response(decision.effect, environ)
        if broken is not None:
            return self._send(broken, environ, start_response)
        headers = [JSON_HEADER, ("Content-Length", str(len(document)))]
        if self._cors:
            headers += cors.labels(self._cors, environ.get("HTTP_ORIGIN"))
        start_response("200 OK", headers)
        return [document]

    def _send(
        self, response: Response, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        if self._cors:
            cors.label(response, self._cors, environ.get("HTTP_ORIGIN"))
        return response(environ, start_response)


def _task_id(query: str) -> str | None:
    """The taskId of a query that is exactly `taskId=<plain id>` (or empty); else None."""
    if not query:
        return ""
    if not query.startswith("taskId="):
        return None
    task_id = query[7:]
    return task_id if _TASK_ID_CHARS.issuperset(task_id) else None


def only_own_hooks(app: Flask) -> bool:
    """Whether every request hook on the API's routes is one `create_app` installed."""
    hooks = (
        app.before_request_funcs,
        app.after_request_funcs,
        app.teardown_request_funcs,
        app.url_value_preprocessors,
    )
    return all(
        getattr(func, "__module__", None) == OWN_HOOKS_MODULE
        for table in hooks
        for scope in (None, "api")
        for func in table.get(scope, ())
    )
