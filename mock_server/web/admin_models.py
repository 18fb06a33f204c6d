"""Admin endpoints for the served models: the catalogue and each pack's manifest.

Nested in the admin blueprint, so its guard applies. Every view is: service -> envelope.
"""

from __future__ import annotations

from flask import Blueprint, Response

from .admin import ok
from .context import service


def create_blueprint() -> Blueprint:
    """A fresh `admin_models` blueprint (built per app: nothing at import time)."""
    blueprint = Blueprint("admin_models", __name__)
    blueprint.add_url_rule("/models", view_func=list_models, methods=["GET"])
    blueprint.add_url_rule("/models/<model_id>", view_func=show_model, methods=["GET"])
    return blueprint


def list_models() -> Response:
    """GET /models: every served model's id, category, modes and price rule."""
    return ok(service().model_summaries())


def show_model(model_id: str) -> Response:
    """GET /models/<id>: the model's manifest, as its pack states it."""
    return ok(service().model_manifest(model_id))
