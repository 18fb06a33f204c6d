"""`create_app(settings)`: the Flask app around one `MockService`; nothing is built at import."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flask import Flask, Response, current_app, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import NotFound, RequestEntityTooLarge

from ..core.service import MockService
from ..settings import Settings
from . import admin, api, cors, errors, fast, files, index, openapi, ui
from .context import EXTENSION
from .recorder import RequestRecorder


class NumberJSONProvider(DefaultJSONProvider):
    """Writes `Decimal` as a JSON number (Flask's default writes a string)."""

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, Decimal):
            return int(o) if o == o.to_integral_value() else float(o)
        return DefaultJSONProvider.default(o)


class MockFlask(Flask):
    """Flask, minus a per-call coroutine check on the three handlers of every request."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Flask's answer for `func`, computed once: it inspects `func` on every call otherwise."""
        found = self._sync.get(func)
        if found is None:
            found = self._sync[func] = super().ensure_sync(func)
        return found

    def inspect_handlers(self) -> None:
        """Ask about every view, hook and error handler now, once, rather than on first use."""
        handlers: list[Callable[..., Any]] = list(self.view_functions.values())
        for hooks in (self.before_request_funcs, self.after_request_funcs):
            handlers.extend(f for funcs in hooks.values() for f in funcs)
        for by_code in self.error_handler_spec.values():
            handlers.extend(f for by_class in by_code.values() for f in by_class.values())
        for handler in handlers:
            self.ensure_sync(handler)


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
    app = MockFlask("apixo_mock", static_folder=None)  # no /static route: every answer is JSON
    app.json = NumberJSONProvider(app)
    _json_only_routing(app)
    app.config["MAX_CONTENT_LENGTH"] = svc.base_settings.max_body_bytes
    app.before_request(_refuse_declared_overflow)
    app.extensions[EXTENSION] = svc
    errors.register(app)
    app.register_blueprint(index.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(files.bp)
    app.register_blueprint(openapi.bp)
    if svc.base_settings.admin:
        app.register_blueprint(admin.create_blueprint(), url_prefix=index.ADMIN_PREFIX)
        app.register_blueprint(ui.create_blueprint(), url_prefix=ui.PREFIX)  # the dashboard
    if svc.base_settings.cors:
        _enable_cors(app, svc.base_settings.cors)
    app.inspect_handlers()
    # The hot routes skip Flask (same answers); replays and the journal wrap them too.
    app.wsgi_app = app.extensions[fast.EXTENSION] = fast.FastRoutes(app, app.wsgi_app, svc)  # type: ignore[method-assign]
    if svc.base_settings.replay:
        app.wsgi_app = _replaying(app.wsgi_app, svc)  # type: ignore[method-assign]
    app.wsgi_app = RequestRecorder(app.wsgi_app, svc)  # type: ignore[method-assign]
    return app


def _replaying(wsgi_app: Any, svc: MockService) -> Any:
    """Recorded answers first (`--replay DIR`), inside the journal so replays are journaled."""
    from ..core.errors import ConfigError
    from ..recording.exchange import RecordingError
    from ..recording.replay import ReplayIndex, ReplayMiddleware

    folder = svc.base_settings.replay or ""
    try:
        index = ReplayIndex.load(folder)
    except (OSError, RecordingError) as exc:
        raise ConfigError("settings", "replay", str(exc)) from None
    return ReplayMiddleware(wsgi_app, index, svc.now_ms)


def _refuse_declared_overflow() -> None:
    """A declared Content-Length over the cap is a 413, unread, on routes that read no body too."""
    length = request.content_length
    if length is not None and length > current_app.config["MAX_CONTENT_LENGTH"]:
        raise RequestEntityTooLarge()


def _json_only_routing(app: Flask) -> None:
    """Routing that never answers by itself: Werkzeug's and Flask's own answers are HTML.

    A doubled slash (a base URL ending in `/`) would get an HTML 308 to the
    merged path, and an OPTIONS an empty text/html 200. Instead the first is
    an unknown path and the second a 405 for routes without OPTIONS, both
    rendered as envelopes by `errors`. (Strict slashes stay: no rule ends in
    `/` but the root, so a trailing slash is an unknown path, never a redirect.)
    """
    app.url_map.merge_slashes = False
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False

    @app.before_request
    def leading_doubled_slash() -> None:
        # Routing (and waitress, in PATH_INFO) strips leading slashes, so `//api/...`
        # would be served as `/api/...`; waitress keeps the raw path in REQUEST_URI.
        if any(request.environ.get(k, "").startswith("//") for k in ("PATH_INFO", "REQUEST_URI")):
            raise NotFound()


def _enable_cors(app: Flask, origin: str) -> None:
    """Answer browser preflights and label responses for `origin`; never on admin routes.

    The admin API lists accounts and rewrites state: no other origin may read
    or drive it, whatever `--cors` says.
    """

    @app.before_request
    def preflight() -> Response | None:
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            return None if _is_admin() else Response(status=204)
        return None

    @app.after_request
    def label(response: Response) -> Response:
        if _is_admin():
            return response
        return cors.label(response, origin, request.headers.get("Origin"))


def _is_admin() -> bool:
    return request.path == index.ADMIN_PREFIX or request.path.startswith(index.ADMIN_PREFIX + "/")
