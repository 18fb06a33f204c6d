"""The bundled OpenAPI document at /openapi.json, built from schemas/ for the host that asked."""

from __future__ import annotations

from flask import Blueprint, Response, request

from .context import service

bp = Blueprint("openapi", __name__)


@bp.get("/openapi.json")
def openapi() -> Response:
    """The bundled OpenAPI document, its server set to the host that asked."""
    from ..core.openapi import bundled_document
    from ..core.wire import dumps

    settings = service().base_settings
    registry = service().model_registry()
    document = bundled_document(
        request.host_url.rstrip("/"), admin=settings.admin, registry=registry
    )
    return Response(dumps(document), status=200, mimetype="application/json")
