"""Admin endpoints for callbacks: list deliveries, read a task's attempts, redeliver.

Registered under the admin prefix (`/__admin`), ideally nested in the admin
blueprint so its token and loopback checks apply here too. Every view is:
parse -> dispatcher call -> envelope.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from mock_server.core.callbacks import DELIVERY_STATES, CallbackDispatcher
from mock_server.core.errors import InvalidRequest, TaskNotFound

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
    if outcome is not None and outcome not in DELIVERY_STATES:
        raise InvalidRequest(f"outcome: {outcome!r} is not one of {list(DELIVERY_STATES)}")
    task_id = request.args.get("taskId") or None
    return ok(_dispatcher().deliveries(task_id=task_id, outcome=outcome))


def task_attempts(task_id: str) -> Response:
    """GET /callbacks/<task_id>: every logged attempt for that task's callback."""
    dispatcher = _dispatcher()
    if not dispatcher.deliveries(task_id=task_id):
        raise _no_callback(task_id)
    return ok(dispatcher.attempts(task_id))


def redeliver(task_id: str) -> Response:
    """POST /callbacks/<task_id>/redeliver: a fresh attempt chain now; answers the summary."""
    dispatcher = _dispatcher()
    try:
        dispatcher.redeliver(task_id)
    except KeyError:
        raise _no_callback(task_id) from None
    rows = dispatcher.deliveries(task_id=task_id)
    return ok(rows[0] if rows else None)  # None only if an admin reset raced us


def _dispatcher() -> CallbackDispatcher:
    return service().callbacks


def _no_callback(task_id: str) -> TaskNotFound:
    return TaskNotFound(data={"error": f"taskId: no callback was scheduled for {task_id}"})
