"""Admin endpoints for the served models: the catalogue and each pack's manifest.

Registered under the admin prefix (`/__admin`) with the admin guard, like the
callback endpoints. Every view is: service -> catalogue -> envelope.
"""

from __future__ import annotations

from flask import Blueprint, Response

from ..core.errors import NotFound
from ..core.models.catalogue import manifest, summary
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
    return ok([summary(pack) for pack in service().models])


def show_model(model_id: str) -> Response:
    """GET /models/<id>: the model's manifest, as its pack states it."""
    models = service().models
    if model_id not in models:
        raise NotFound(f"Model not found: {model_id}")
    return ok(manifest(models.registry.get(model_id)))
