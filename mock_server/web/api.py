"""The public API: submit, status and balance, in the order CONTRACT.md's "Which error wins" gives.

Every view: authenticate -> count the request -> check the model -> check the
method -> call the service -> send what `wire` made. Routes accept every
method so that a wrong one is a 405 *after* authentication, as the contract orders.
"""

from __future__ import annotations

from flask import Blueprint, Response, g, request

from ..core.errors import MethodNotAllowed, NotFound
from ..core.scenarios import Decision
from ..core.wire import dumps, envelope
from .context import service
from .faults import delay, faulty_response

MODEL = "gpt-image-1"
ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
SCENARIO_HEADER = "X-Apixo-Mock-Scenario"

bp = Blueprint("api", __name__)


@bp.route("/api/v1/generateTask/<model>", methods=ALL_METHODS, provide_automatic_options=False)
def generate_task(model: str) -> Response:
    """POST: submit a task."""
    key = _authorized()
    _require(model, ["POST"])
    submitted = service().submit(
        key,
        request.get_data(cache=False),
        request.content_type,
        request.host_url.rstrip("/"),
        request.headers.get(SCENARIO_HEADER),
    )
    g.task_id = submitted.task.task_id
    g.reason = submitted.decision.reason
    return _answer(envelope({"taskId": submitted.task.task_id}), submitted.decision)


@bp.route("/api/v1/statusTask/<model>", methods=ALL_METHODS, provide_automatic_options=False)
def status_task(model: str) -> Response:
    """GET ?taskId=: a task's state and result."""
    key = _authorized()
    _require(model, ["GET", "HEAD"])
    task_id = request.args.get("taskId", "")
    g.task_id = task_id or None
    task, body = service().status(key, task_id)
    decision = service().decide("status", key, task)
    return _answer(body, decision)


@bp.route("/api/v1/apikeys/current-balance", methods=ALL_METHODS, provide_automatic_options=False)
def current_balance() -> Response:
    """GET: the key's balance in USD, a bare number."""
    key = _authorized()
    _require(MODEL, ["GET", "HEAD"])
    decision = service().decide("balance", key)
    return _answer(envelope(service().balance(key)), decision)


def _authorized() -> str:
    key = service().authenticate(request.headers.get("Authorization"))
    g.key = key
    service().admit(key)
    return key


def _require(model: str, methods: list[str]) -> None:
    if model != MODEL:
        raise NotFound(f"Model not found: {model}")
    if request.method not in methods:
        raise MethodNotAllowed(methods)


def _answer(document: object, decision: Decision) -> Response:
    delay(decision.effect)
    broken = faulty_response(decision.effect)
    if broken is not None:
        return broken
    body = document if isinstance(document, bytes) else dumps(document)
    return Response(body, status=200, mimetype="application/json")
