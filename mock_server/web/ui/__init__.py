"""The dashboard at /__admin/ui: server-rendered pages over the service's read models.

`create_blueprint()` builds it per app. Every view is: parse the query or
form -> one `MockService` read model or command -> a Jinja template. A
little vanilla JavaScript (static/ui.js) refreshes the regions marked
`data-live` from the same view's `?partial=1` rendering; nothing is built
and nothing is fetched from elsewhere (docs/dashboard.md).
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template

from ...core.errors import ApiError
from ..context import service
from . import access, controls, present, tasks

PREFIX = access.PATH


def create_blueprint() -> Blueprint:
    """A fresh `ui` blueprint with every dashboard route (built per app: nothing at import)."""
    bp = Blueprint(
        "ui",
        __name__,
        template_folder="templates",
        static_folder="static",
        static_url_path="/static",
    )
    bp.before_request(access.guard)
    bp.after_request(access.finish)
    bp.register_error_handler(ApiError, _error_page)
    bp.add_app_template_filter(present.when, "when")
    bp.context_processor(_globals)
    for rule, view, methods in (*tasks.ROUTES, *controls.ROUTES):
        bp.add_url_rule(rule, view_func=view, methods=methods)
    return bp


def _globals() -> dict[str, object]:
    return {
        "csrf_token": access.csrf_token,
        "csrf_field": access.CSRF_FIELD,
        "masked": present.masked,
        "relative": present.relative,
        "key_ref": present.key_ref,
        "mock_clock": lambda: service().clock_view(),
    }


def _error_page(error: ApiError) -> Response:
    """An error as a page (the admin API answers envelopes; a person reads this)."""
    template = "login.html" if isinstance(error, access.TokenNeeded) else "error.html"
    html = render_template(template, error=error, status=error.status)
    return Response(html, status=error.status, mimetype="text/html")
