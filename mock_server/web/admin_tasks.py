"""Admin endpoints for what the mock holds: the journal, tasks and accounts.

Nested in the `admin` blueprint (`admin.create_blueprint`), so its guard
applies here too. Every view is: parse -> one `MockService` call -> envelope.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from ..core.auth import redact
from ..core.errors import InvalidRequest
from ..core.lifecycle import Failure
from ..core.views import AccountView, TaskView
from .admin import int_arg, ok, payload
from .context import service


def create_blueprint() -> Blueprint:
    """A fresh `admin_tasks` blueprint (built per app: nothing at import time)."""
    blueprint = Blueprint("admin_tasks", __name__)
    blueprint.add_url_rule("/journal", view_func=journal, methods=["GET"])
    blueprint.add_url_rule("/tasks", view_func=tasks, methods=["GET"])
    blueprint.add_url_rule("/tasks/<task_id>", view_func=task, methods=["GET"])
    blueprint.add_url_rule("/tasks/<task_id>/state", view_func=task_force, methods=["POST"])
    blueprint.add_url_rule("/tasks/<task_id>/complete", view_func=task_complete, methods=["POST"])
    blueprint.add_url_rule("/tasks/<task_id>/fail", view_func=task_fail, methods=["POST"])
    blueprint.add_url_rule("/accounts", view_func=accounts, methods=["GET"])
    blueprint.add_url_rule("/accounts/<path:key>", view_func=account, methods=["GET"])
    blueprint.add_url_rule(
        "/accounts/<path:key>", view_func=account_update, methods=["PATCH", "PUT"]
    )
    return blueprint


# -- journal -----------------------------------------------------------------


def journal() -> Response:
    """Recent requests, filtered by path prefix, status and taskId."""
    args = request.args
    entries = service().journal_entries(
        path=args.get("path"),
        status=int_arg("status"),
        task_id=args.get("taskId"),
        limit=int_arg("limit"),
    )
    return ok([entry.to_json() for entry in entries])


# -- tasks -------------------------------------------------------------------


def task_json(view: TaskView) -> dict[str, Any]:
    """A task as the admin API shows it: state, timeline, rule, request and status data.

    The status data is what a status read answers now (fetch-mode verdicts included).
    """
    return view.to_json() | {"key": redact(view.key)}


def tasks() -> Response:
    """Tasks, filtered by key and state, newest last."""
    views = service().task_views(
        key=request.args.get("key"), state=request.args.get("state"), limit=int_arg("limit")
    )
    return ok([task_json(view) for view in views])


def task(task_id: str) -> Response:
    """One task with its timeline and the rule that decided it."""
    return ok(task_json(service().task_view(task_id)))


def task_force(task_id: str) -> Response:
    """Move an unfinished task on: processing, success or failed (now)."""
    document = payload("admin-task-force")
    failure = None
    if document["state"] == "failed":
        failure = Failure.of(document.get("failCode", "GENERATION_FAILED"), document.get("failMsg"))
    elif "failCode" in document or "failMsg" in document:
        raise InvalidRequest("failCode: only allowed with state failed")
    return ok(task_json(service().force_view(task_id, document["state"], failure)))


def task_complete(task_id: str) -> Response:
    """End a task successfully now."""
    return ok(task_json(service().force_view(task_id, "success")))


def task_fail(task_id: str) -> Response:
    """End a task failed now (body: optional failCode and failMsg)."""
    document = payload("admin-task-fail")
    failure = Failure.of(document.get("failCode", "GENERATION_FAILED"), document.get("failMsg"))
    return ok(task_json(service().force_view(task_id, "failed", failure)))


# -- accounts ------------------------------------------------------------------


def accounts() -> Response:
    """Every key with an account (it spent, or had balance or caps set): balance and caps."""
    return ok([masked(view) for view in service().account_views()])


def account(key: str) -> Response:
    """One key's balance, caps and unfinished-task count."""
    return ok(masked(service().account_view(key)))


def masked(view: AccountView) -> dict[str, Any]:
    """An account as answers show it: the key masked; it is addressed by its full key."""
    return view.to_json() | {"key": redact(view.key)}


def account_update(key: str) -> Response:
    """Set a key's balance and/or caps."""
    document = payload("admin-account-update")
    try:
        updated = service().change_account(
            key,
            balance=document.get("balance"),
            rpm=document.get("rpm"),
            max_unfinished=document.get("maxUnfinished"),
        )
    except ValueError as exc:
        raise InvalidRequest(f"balance: {exc}") from None
    return ok(masked(updated))
