"""The public API: submit, status and balance, in docs/contract.md's "Which error wins" order.

Every view runs its route's steps in `hot` (the fast dispatcher in `fast`
runs the same ones without Flask) and sends what `wire` made. Routes accept
every method so that a wrong one is a 405 *after* authentication, as the
contract orders.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from ..core.scenarios import Decision
from . import hot
from .context import body, service
from .faults import delay, faulty_response

MODEL = hot.MODEL
ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
SCENARIO_HEADER = "X-Apixo-Mock-Scenario"
READ_METHODS = hot.READ_METHODS
SUBMIT_METHODS = hot.SUBMIT_METHODS

bp = Blueprint("api", __name__)


@bp.route("/api/v1/generateTask/<model>", methods=ALL_METHODS, provide_automatic_options=False)
def generate_task(model: str) -> Response:
    """POST: submit a task."""
    origin = request.host_url.rstrip("/")
    answer = hot.submit(service(), request.environ, model, request.method, body, origin)
    return _answer(*answer)


@bp.route("/api/v1/statusTask/<model>", methods=ALL_METHODS, provide_automatic_options=False)
def status_task(model: str) -> Response:
    """GET ?taskId=: a task's state and result."""
    task_id = request.args.get("taskId", "")
    return _answer(*hot.status(service(), request.environ, model, request.method, task_id))


@bp.route("/api/v1/apikeys/current-balance", methods=ALL_METHODS, provide_automatic_options=False)
def current_balance() -> Response:
    """GET: the key's balance in USD, a bare number."""
    return _answer(*hot.balance(service(), request.environ, request.method))


def _answer(document: bytes, decision: Decision) -> Response:
    delay(decision.effect)
    broken = faulty_response(decision.effect, request.environ)
    if broken is not None:
        return broken
    return Response(document, status=200, mimetype="application/json")
