"""Where to go from the start-up line's links: `GET /` and `GET /__admin`, both JSON.

The admin index is read from the app's url_map, so it lists exactly the
routes this app serves (callback routes included) and cannot drift from them.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request

from ..core.wire import dumps, envelope
from ..version import __version__
from .context import service

ADMIN_PREFIX = "/__admin"
DOCS = "README.md and docs/ of the apixo-mock package (docs/admin-api.md for the admin API)"
IMPLIED_METHODS = frozenset({"HEAD", "OPTIONS"})

bp = Blueprint("index", __name__)


def _ok(data: Any) -> Response:
    return Response(dumps(envelope(data)), status=200, mimetype="application/json")


@bp.get("/")
def root() -> Response:
    """What this server is, and where its description, docs and admin API are."""
    base = request.host_url.rstrip("/")
    admin = service().base_settings.admin
    return _ok(
        {
            "name": "apixo-mock",
            "version": __version__,
            "openapi": f"{base}/openapi.json",
            "admin": f"{base}{ADMIN_PREFIX}" if admin else None,
            "docs": DOCS,
        }
    )


def admin_index() -> Response:
    """Every admin endpoint: path, methods and what it does."""
    endpoints = []
    for rule in current_app.url_map.iter_rules():
        if rule.rule == ADMIN_PREFIX or not rule.rule.startswith(ADMIN_PREFIX + "/"):
            continue
        view = current_app.view_functions[rule.endpoint]
        summary = (view.__doc__ or "").strip().splitlines()
        methods = sorted(set(rule.methods or ()) - IMPLIED_METHODS)
        endpoints.append(
            {"path": rule.rule, "methods": methods, "summary": summary[0] if summary else ""}
        )
    endpoints.sort(key=lambda endpoint: (endpoint["path"], endpoint["methods"]))
    return _ok({"endpoints": endpoints, "openapi": "/openapi.json (tag admin)", "docs": DOCS})
