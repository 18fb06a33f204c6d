"""`create_app(settings)`: the Flask app around one `MockService`; nothing is built at import."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Flask, Response, request
from flask.json.provider import DefaultJSONProvider

from ..core.service import MockService
from ..settings import Settings
from . import admin, admin_callbacks, api, errors, files
from .context import EXTENSION
from .recorder import RequestRecorder


class NumberJSONProvider(DefaultJSONProvider):
    """Writes `Decimal` as a JSON number (Flask's default writes a string)."""

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, Decimal):
            return int(o) if o == o.to_integral_value() else float(o)
        return DefaultJSONProvider.default(o)


def build_service(settings: Settings) -> MockService:
    """A service with the real outbound adapters (callback sender, image fetcher)."""
    from ..core.host_rules import HostRules
    from ..outbound import HttpCallbackSender, ImageFetcher

    # The host rules are checked again where connections are made (docs/callbacks.md).
    sender = HttpCallbackSender(
        rules=HostRules.of(settings.callback_allow_hosts, settings.callback_deny_hosts)
    )
    fetcher = ImageFetcher(
        rules=HostRules.of(settings.image_allow_hosts, settings.image_deny_hosts)
    )
    return MockService(settings.core_config(), sender=sender, fetcher=fetcher)


def create_app(settings: Settings | None = None, *, service: MockService | None = None) -> Flask:
    """A Flask app serving the mock API; every app owns its own service and state.

    The caller starts the service's background threads (`service.start()`),
    so that a server process can start them where it serves (granian: in its worker).
    """
    svc = service or build_service(settings or Settings())
    app = Flask("apixo_mock")
    app.json = NumberJSONProvider(app)
    app.extensions[EXTENSION] = svc
    errors.register(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(files.bp)
    if svc.base_settings.admin:
        app.register_blueprint(admin.bp, url_prefix="/__admin")
        callbacks = admin_callbacks.create_blueprint()
        callbacks.before_request(admin.guard)
        app.register_blueprint(callbacks, url_prefix="/__admin")
    app.wsgi_app = RequestRecorder(app.wsgi_app, svc)  # type: ignore[method-assign]
    if svc.base_settings.cors:
        _enable_cors(app, svc.base_settings.cors)
    return app


def _enable_cors(app: Flask, origin: str) -> None:
    """Answer browser preflights and label responses for `origin`."""

    @app.before_request
    def preflight() -> Response | None:
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            return Response(status=204)
        return None

    @app.after_request
    def label(response: Response) -> Response:
        allowed = origin
        if origin != "*":
            allowed = origin if request.headers.get("Origin") == origin else ""
        if allowed:
            response.headers["Access-Control-Allow-Origin"] = allowed
            response.headers["Access-Control-Allow-Headers"] = (
                "Authorization, Content-Type, X-Apixo-Mock-Scenario"
            )
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response.headers["Access-Control-Max-Age"] = "600"
            response.headers["Vary"] = "Origin"
        return response
