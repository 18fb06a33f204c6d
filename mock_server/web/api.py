"""The public API: submit, status and balance, in docs/contract.md's "Which error wins" order.

Every view: authenticate -> count the request -> check the model -> check the
method -> call the service -> send what `wire` made. Routes accept every
method so that a wrong one is a 405 *after* authentication, as the contract orders.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from ..core.errors import MethodNotAllowed, NotFound
from ..core.scenarios import Decision
from ..core.service import MockService
from ..core.wire import dumps, envelope
from .context import body, note, service
from .faults import delay, faulty_response

MODEL = "gpt-image-1"
ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
SCENARIO_HEADER = "X-Apixo-Mock-Scenario"
READ_METHODS = ("GET", "HEAD")
SUBMIT_METHODS = ("POST",)

bp = Blueprint("api", __name__)


@bp.route("/api/v1/generateTask/<model>", methods=ALL_METHODS, provide_automatic_options=False)
def generate_task(model: str) -> Response:
    """POST: submit a task."""
    svc = service()
    key = _authorized(svc)
    _require(model, SUBMIT_METHODS)
    submitted = svc.submit(
        key,
        body(),
        request.content_type,
        request.host_url.rstrip("/"),
        request.headers.get(SCENARIO_HEADER),
        model=model,
    )
    note("task_id", submitted.task.task_id)
    note("reason", submitted.decision.reason)
    return _answer(envelope({"taskId": submitted.task.task_id}), submitted.decision)


@bp.route("/api/v1/statusTask/<model>", methods=ALL_METHODS, provide_automatic_options=False)
def status_task(model: str) -> Response:
    """GET ?taskId=: a task's state and result."""
    svc = service()
    key = _authorized(svc)
    _require(model, READ_METHODS)
    task_id = request.args.get("taskId", "")
    note("task_id", task_id or None)
    task, body = svc.status(key, task_id, model)
    return _answer(body, svc.decide("status", key, task))


@bp.route("/api/v1/apikeys/current-balance", methods=ALL_METHODS, provide_automatic_options=False)
def current_balance() -> Response:
    """GET: the key's balance in USD, a bare number."""
    svc = service()
    key = _authorized(svc)
    _require(MODEL, READ_METHODS)
    decision = svc.decide("balance", key)
    return _answer(envelope(svc.balance(key)), decision)


def _authorized(svc: MockService) -> str:
    key = svc.authenticate(request.headers.get("Authorization"))
    note("key", key)
    svc.admit(key)
    return key


def _require(model: str, methods: tuple[str, ...]) -> None:
    if model != MODEL and not service().serves(model):
        raise NotFound(f"Model not found: {model}")
    if request.method not in methods:
        raise MethodNotAllowed(list(methods))


def _answer(document: object, decision: Decision) -> Response:
    delay(decision.effect)
    broken = faulty_response(decision.effect)
    if broken is not None:
        return broken
    body = document if isinstance(document, bytes) else dumps(document)
    return Response(body, status=200, mimetype="application/json")
