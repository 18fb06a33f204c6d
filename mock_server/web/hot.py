"""The hot routes' steps (submit, status, balance), written once over the WSGI environ.

The Flask views in `api` and the fast dispatcher in `fast` both run these, so
the two paths make the same service calls in docs/contract.md's "Which error
wins" order: authenticate -> count the request -> check the model -> check
the method -> call the service. The facts a request leaves for the journal
and the access log (key, task, rule) go into the environ, as `context.note` does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.errors import MethodNotAllowed, NotFound
from ..core.scenarios import Decision
from ..core.service import MockService
from ..core.validation import GPT_IMAGE_1
from ..core.wire import dumps, envelope
from .context import FACT_PREFIX

MODEL = GPT_IMAGE_1  # the reference model, served without a registry lookup
READ_METHODS = ("GET", "HEAD")
SUBMIT_METHODS = ("POST",)
KEY_FACT = FACT_PREFIX + "key"
TASK_FACT = FACT_PREFIX + "task_id"
REASON_FACT = FACT_PREFIX + "reason"

Environ = dict[str, Any]
# A body and the rule that decides how it is sent (latency, faults).
Answer = tuple[bytes, Decision]


def authorized(svc: MockService, environ: Environ) -> str:
    """The request's key, counted against its per-minute limit."""
    key = svc.authenticate(environ.get("HTTP_AUTHORIZATION"))
    environ[KEY_FACT] = key
    svc.admit(key)
    return key


def require(svc: MockService, model: str, method: str, methods: tuple[str, ...]) -> None:
    """A 404 for a model this mock does not serve, then a 405 for a method the route refuses."""
    if model != MODEL and not svc.serves(model):
        raise NotFound(f"Model not found: {model}")
    if method not in methods:
        raise MethodNotAllowed(list(methods))


def submit(
    svc: MockService,
    environ: Environ,
    model: str,
    method: str,
    read_body: Callable[[], bytes],
    origin: str,
) -> Answer:
    """POST generateTask/{model}: a task accepted, or the `ApiError` that wins."""
    key = authorized(svc, environ)
    require(svc, model, method, SUBMIT_METHODS)
    submitted = svc.submit(
        key,
        read_body(),
        environ.get("CONTENT_TYPE"),
        origin,
        environ.get("HTTP_X_APIXO_MOCK_SCENARIO"),
        model=model,
    )
    environ[TASK_FACT] = submitted.task.task_id
    environ[REASON_FACT] = submitted.decision.reason
    return dumps(envelope({"taskId": submitted.task.task_id})), submitted.decision


def status(svc: MockService, environ: Environ, model: str, method: str, task_id: str) -> Answer:
    """GET statusTask/{model}?taskId=: a task's state and result."""
    key = svc.authenticate(environ.get("HTTP_AUTHORIZATION"))
    environ[KEY_FACT] = key
    read = svc.admit(key, task_id or None)  # counted, and the task read in the same step
    require(svc, model, method, READ_METHODS)
    environ[TASK_FACT] = task_id or None
    task, body = svc.status(key, task_id, model, read)
    return body, svc.decide("status", key, task)


def balance(svc: MockService, environ: Environ, method: str) -> Answer:
    """GET apikeys/current-balance: the key's balance in USD, a bare number."""
    key = authorized(svc, environ)
    require(svc, MODEL, method, READ_METHODS)
    decision = svc.decide("balance", key)
    return dumps(envelope(svc.balance(key))), decision
