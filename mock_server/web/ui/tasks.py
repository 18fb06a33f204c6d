"""Dashboard pages about tasks: the list, one task, and the callbacks sent for them."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from flask import Response, redirect, render_template, request, url_for

from ...core.callbacks import DELIVERY_STATES
from ...core.dashboard import PAGE_SIZES, SCAN_LIMIT, STATES, TaskFilter
from ...core.errors import InvalidRequest, TaskNotFound
from ...core.views import AttemptView
from ..context import service
from .present import pretty, result_media

DELIVERY_ROWS = 100  # the newest deliveries a page shows
TASK_PARTS = MappingProxyType(
    {"1": "task_live.html", "media": "task_media.html", "body": "task_body.html"}
)


def page(template: str, parts: Mapping[str, str], **context: Any) -> str:
    """The whole page, or the fragment of one live region when `?partial=<name>` names it.

    `parts` maps each live region's name to its template ("1" for a page's only one).
    """
    wanted = request.args.get("partial")
    if wanted is not None and wanted in parts:
        return render_template(parts[wanted], **context)
    return render_template(template, parts=parts, **context)


def _arg(name: str) -> str | None:
    value = request.args.get(name, "").strip()
    return value or None


def _int_arg(name: str, default: int | None = None) -> int | None:
    value = _arg(name)
    if value is None:
        return default
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise InvalidRequest(f"{name}: must be a non-negative integer")
    return int(value)


def task_list() -> str:
    """Tasks, newest first: filters by state, model, key and text; paged; live."""
    svc = service()
    where = TaskFilter(_arg("state"), _arg("model"), _arg("key"), _arg("q"))
    before = _int_arg("before")
    size = _int_arg("size", 50) or 50
    result = svc.task_page(where, before=before, size=size)
    filters = {k: v for k, v in request.args.items() if k in ("state", "model", "key", "q", "size")}
    return page(
        "tasks.html",
        {"1": "tasks_rows.html"},
        result=result,
        where=where,
        before=before,
        size=size,
        filters=filters,
        states=STATES,
        sizes=PAGE_SIZES,
        scan_limit=SCAN_LIMIT,
        models=[m["id"] for m in svc.model_summaries()],
        now=svc.now_ms(),
    )


def task_detail(task_id: str) -> str:
    """One task: request, timeline, status body, rule, results and callback attempts."""
    svc = service()
    view = svc.task_view(task_id)
    body = svc.task_status_body(task_id)
    return page(
        "task.html",
        TASK_PARTS,
        task=view,
        body=body.decode("utf-8", "replace"),
        body_pretty=pretty(body),
        media=result_media(view.status),
        attempts=_attempts(task_id),
        deliveries=svc.deliveries(task_id=task_id),
        now=svc.now_ms(),
    )


def _attempts(task_id: str) -> list[AttemptView]:
    try:
        return service().attempts(task_id)
    except TaskNotFound:  # no callback was asked for
        return []


def callbacks() -> str:
    """Callback deliveries (newest first) with outcome, attempts, last status and latency."""
    svc = service()
    outcome = _arg("outcome")
    rows = svc.deliveries(outcome=outcome)[-DELIVERY_ROWS:][::-1]
    latency = {row.task_id: _last_latency(row.task_id) for row in rows}
    return page(
        "callbacks.html",
        {"1": "callbacks_rows.html"},
        rows=rows,
        latency=latency,
        outcome=outcome,
        outcomes=DELIVERY_STATES,
        now=svc.now_ms(),
    )


def _last_latency(task_id: str) -> float | None:
    attempts = _attempts(task_id)
    return attempts[-1].latency_ms if attempts else None


def redeliver(task_id: str) -> Response:
    """Send a task's callback again now, then back to where the button was."""
    service().redeliver(task_id)
    back = request.form.get("back") or ""
    target = (
        url_for("ui.task_detail", task_id=task_id) if back == "task" else url_for("ui.callbacks")
    )
    return redirect(target, code=303)  # type: ignore[return-value]


ROUTES: tuple[tuple[str, Any, tuple[str, ...]], ...] = (
    ("", task_list, ("GET",)),
    ("/tasks/<task_id>", task_detail, ("GET",)),
    ("/callbacks", callbacks, ("GET",)),
    ("/callbacks/<task_id>/redeliver", redeliver, ("POST",)),
)
