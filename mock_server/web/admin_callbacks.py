"""Admin endpoints for callbacks: list deliveries, read a task's attempts, redeliver.

Nested in the `admin` blueprint (`admin.create_blueprint`), so its guard
applies here too. Every view is: parse -> one `MockService` call -> envelope.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from .admin import ok
from .context import service


def create_blueprint() -> Blueprint:
    """A fresh `admin_callbacks` blueprint (built per app: nothing at import time)."""
    blueprint = Blueprint("admin_callbacks", __name__)
    blueprint.add_url_rule("/callbacks", view_func=list_deliveries, methods=["GET"])
    blueprint.add_url_rule("/callbacks/<task_id>", view_func=task_attempts, methods=["GET"])
    blueprint.add_url_rule("/callbacks/<task_id>/redeliver", view_func=redeliver, methods=["POST"])
    return blueprint


def list_deliveries() -> Response:
    """GET /callbacks?taskId=&outcome=: delivery summaries in due order."""
    outcome = request.args.get("outcome") or None
    task_id = request.args.get("taskId") or None
    views = service().deliveries(task_id=task_id, outcome=outcome)
    return ok([view.to_json() for view in views])


def task_attempts(task_id: str) -> Response:
    """GET /callbacks/<task_id>: every logged attempt for that task's callback."""
    return ok([view.to_json() for view in service().attempts(task_id)])


def redeliver(task_id: str) -> Response:
    """POST /callbacks/<task_id>/redeliver: a fresh attempt chain now; answers the summary."""
    view = service().redeliver(task_id)
    return ok(view.to_json() if view is not None else None)  # None only if a reset raced us
