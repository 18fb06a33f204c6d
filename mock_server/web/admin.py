"""The admin API under /__admin: health, reset, clock, scenarios, journal, tasks, accounts.

Payloads are checked against the admin-*.schema.json files. Who may call is
`admin_guard`'s business; API keys are shown masked (`redact`) in every answer.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from flask import Blueprint, Response, request

from ..core.auth import redact
from ..core.errors import ConfigError, InvalidRequest, TaskNotFound
from ..core.lifecycle import Failure
from ..core.money import usd_number
from ..core.scenario_files import rule_from_document, scenario_from_document, shipped_scenarios
from ..core.scenario_problems import ScenarioInvalid
from ..core.scenarios import Scenario
from ..core.schemas import validator
from ..core.tasks import Task
from ..core.validation import describe, errors_in_order, parse_json_object
from ..core.wire import dumps, envelope
from ..version import __version__
from .admin_guard import guard
from .context import body, service
from .index import admin_index

# 18 digits are plenty for any count; int() refuses strings of more than 4300.
_UINT = re.compile(r"[0-9]{1,18}")

bp = Blueprint("admin", __name__)


bp.before_request(guard)
bp.add_url_rule("", view_func=admin_index, methods=["GET"])


def ok(data: Any = None) -> Response:
    """A success envelope."""
    return Response(dumps(envelope(data)), status=200, mimetype="application/json")


def payload(schema_name: str) -> dict[str, Any]:
    """The JSON body, checked against an admin schema; a 400 lists every error in body order."""
    raw = body() or b"{}"
    document = parse_json_object(raw, request.content_type or "application/json")
    errors = errors_in_order(validator(schema_name), document)
    if errors:
        raise refusal([describe(error) for error in errors])
    return document


def refusal(errors: list[str]) -> InvalidRequest:
    """A 400 whose `data.error` is the first problem and `data.errors` all of them."""
    refused = InvalidRequest(errors[0])
    refused.data["errors"] = errors
    return refused


# -- health and reset -------------------------------------------------------


@bp.get("/health")
def health() -> Response:
    """Up, with the version and what the server runs on."""
    svc = service()
    s = svc.settings
    summary = {
        "profile": s.profile,
        "seed": svc.seed,
        "keys": "strict" if svc.keys.strict else "any",
        "imageMode": s.image_mode,
        "triggers": s.triggers,
        "rpm": s.rpm,
        "maxUnfinished": s.max_unfinished,
        "pricePerImage": float(s.price_per_image),
        "scenario": svc.rules.active.name,
        "pendingState": s.pending_state,
        "insufficientCreditsStatus": s.insufficient_credits_status,
    }
    return ok(
        {
            "status": "ok",
            "version": __version__,
            "settings": summary,
            "tasks": len(svc.tasks),
            # Errors the background threads caught and survived (see docs/callbacks.md).
            "backgroundErrors": svc.callbacks.background_errors,
        }
    )


@bp.post("/reset")
def reset() -> Response:
    """Back to the start-up state."""
    service().reset()
    return ok()


# -- clock -----------------------------------------------------------------


def _clock_json() -> dict[str, Any]:
    clock = service().clock
    return {"now": clock.now_ms(), "frozen": clock.frozen, "offsetMs": clock.offset_ms}


@bp.get("/clock")
def clock() -> Response:
    """The mock's current time."""
    return ok(_clock_json())


@bp.post("/clock/advance")
def clock_advance() -> Response:
    """Move time forward by `ms`."""
    service().clock.advance(payload("admin-clock-change")["ms"])
    return ok(_clock_json())


@bp.post("/clock/set")
def clock_set() -> Response:
    """Jump to the absolute time `ms`, never back: tasks derive their state from it."""
    ms = payload("admin-clock-change")["ms"]
    clock = service().clock
    if ms < clock.now_ms():
        raise InvalidRequest(
            f"ms: {ms} is before the mock's time {clock.now_ms()}; it only moves on"
        )
    clock.set(ms)
    return ok(_clock_json())


@bp.post("/clock/freeze")
def clock_freeze() -> Response:
    """Stop time."""
    service().clock.freeze()
    return ok(_clock_json())


@bp.post("/clock/unfreeze")
def clock_unfreeze() -> Response:
    """Let time run again."""
    service().clock.unfreeze()
    return ok(_clock_json())


# -- scenarios ---------------------------------------------------------------


def _scenario_json(name: str) -> dict[str, Any]:
    svc = service()
    scenario = svc.rules.active if name == svc.rules.active.name else svc.rules.named(name)
    rules = [
        {"name": r.name, "times": r.times, "remaining": svc.rules.remaining(scenario.name, r)}
        for r in scenario.rules
    ]
    return {
        "name": scenario.name,
        "description": scenario.description,
        "source": scenario.source,
        "settings": dict(scenario.settings),
        "rules": rules,
    }


@bp.get("/scenarios")
def scenarios() -> Response:
    """The active scenario and every scenario known by name."""
    active = service().rules.active.name
    return ok({"active": _scenario_json(active), "available": _available()})


def _available() -> list[str]:
    return sorted(set(shipped_scenarios()) | set(service().rules.library()))


@bp.put("/scenarios/active")
def scenario_load() -> Response:
    """Activate a scenario by name, or from a whole document."""
    document = payload("admin-scenario-load")
    try:
        if "name" in document:
            scenario = _known_scenario(document["name"])
        else:
            scenario = scenario_from_document(document["scenario"])
        service().use_scenario(scenario)  # its settings are checked here
    except ScenarioInvalid as exc:
        raise _refused(exc, "scenario.") from None
    except (ConfigError, ValueError) as exc:
        raise InvalidRequest(str(exc)) from None
    return ok(_scenario_json(scenario.name))


def _known_scenario(name: str) -> Scenario:
    """A scenario known by name; else a 400 that lists the known names, as the CLI does."""
    try:
        return service().rules.named(name)
    except InvalidRequest:
        known = ", ".join(_available()) or "none"
        raise InvalidRequest(f"name: no such scenario {name!r} (known: {known})") from None


def _refused(exc: ScenarioInvalid, prefix: str) -> InvalidRequest:
    """Every problem of a scenario or rule document, named by its field in the body."""
    return refusal([f"{prefix}{problem.field}: {problem.why}" for problem in exc.problems])


@bp.delete("/scenarios/active")
def scenario_clear() -> Response:
    """No active rules."""
    service().clear_scenario()
    return ok(_scenario_json(service().rules.active.name))


@bp.post("/scenarios/active/rules")
def rule_add() -> Response:
    """Add a rule to the active scenario."""
    document = payload("admin-rule-add")
    try:
        rule = rule_from_document(document["rule"])
    except ScenarioInvalid as exc:
        raise _refused(exc, "") from None
    index = document.get("index")
    # Past the end means last, as list.insert has it; past sys.maxsize it would raise.
    service().rules.add_rule(rule, None if index is None else min(index, sys.maxsize))
    return ok(_scenario_json(service().rules.active.name))


@bp.delete("/scenarios/active/rules/<name>")
def rule_remove(name: str) -> Response:
    """Remove a rule from the active scenario."""
    service().rules.remove_rule(name)
    return ok(_scenario_json(service().rules.active.name))


# -- journal -----------------------------------------------------------------


@bp.get("/journal")
def journal() -> Response:
    """Recent requests, filtered by path prefix, status and taskId."""
    args = request.args
    entries = service().journal.entries(
        path=args.get("path"),
        status=_int_arg("status"),
        task_id=args.get("taskId"),
        limit=_int_arg("limit"),
    )
    return ok([entry.to_json() for entry in entries])


def _int_arg(name: str) -> int | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    # ASCII digits only: str.isdigit() is also true of "²" (which int() refuses) and of
    # other scripts' digits (which int() reads).
    if _UINT.fullmatch(value) is None:
        raise InvalidRequest(f"{name}: must be a non-negative integer")
    return int(value)


# -- tasks -------------------------------------------------------------------


def task_json(task: Task, now: int) -> dict[str, Any]:
    """A task as the admin API shows it: state, timeline, rule, request and status data.

    The status data is the very envelope the API answers with (fetch-mode
    verdicts and cached terminal bodies included), not a second rendering.
    """
    status = json.loads(service().status_body(task))["data"]
    request_fields = {
        "prompt": task.request.prompt,
        "aspect_ratio": task.request.aspect_ratio,
        "num_images": task.request.num_images,
        "image_urls": list(task.request.image_urls),
        "request_type": task.request.request_type,
        "callback_url": task.request.callback_url,
        "provider": task.request.provider,
    }
    failure = task.failure
    return {
        "taskId": task.task_id,
        "key": redact(task.key),
        "state": status["state"],
        "reason": task.reason,
        "scenario": task.scenario,
        "charge": usd_number(task.charge_micros),
        "timeline": {
            "createdAt": task.timeline.created_at,
            "processingAt": task.timeline.processing_at,
            "doneAt": task.timeline.done_at,
        },
        "failure": {"failCode": failure.code, "failMsg": failure.message} if failure else None,
        "request": request_fields,
        "status": status,
    }


@bp.get("/tasks")
def tasks() -> Response:
    """Tasks, filtered by key and state, newest last."""
    svc = service()
    now = svc.clock.now_ms()
    key, state = request.args.get("key"), request.args.get("state")
    found = [
        task_json(t, now)
        for t in svc.tasks.all()
        if (key is None or t.key == key) and (state is None or t.state(now).value == state)
    ]
    limit = _int_arg("limit")
    return ok(found[-limit:] if limit else found)


@bp.get("/tasks/<task_id>")
def task(task_id: str) -> Response:
    """One task with its timeline and the rule that decided it."""
    svc = service()
    found = svc.tasks.get(task_id)
    if found is None:
        raise TaskNotFound()
    return ok(task_json(found, svc.clock.now_ms()))


@bp.post("/tasks/<task_id>/state")
def task_force(task_id: str) -> Response:
    """Move an unfinished task on: processing, success or failed (now)."""
    document = payload("admin-task-force")
    failure = None
    if document["state"] == "failed":
        failure = Failure.of(document.get("failCode", "GENERATION_FAILED"), document.get("failMsg"))
    elif "failCode" in document or "failMsg" in document:
        raise InvalidRequest("failCode: only allowed with state failed")
    svc = service()
    updated = svc.force(task_id, document["state"], failure)
    return ok(task_json(updated, svc.clock.now_ms()))


@bp.post("/tasks/<task_id>/complete")
def task_complete(task_id: str) -> Response:
    """End a task successfully now."""
    svc = service()
    return ok(task_json(svc.force(task_id, "success"), svc.clock.now_ms()))


@bp.post("/tasks/<task_id>/fail")
def task_fail(task_id: str) -> Response:
    """End a task failed now (body: optional failCode and failMsg)."""
    document = payload("admin-task-fail")
    failure = Failure.of(document.get("failCode", "GENERATION_FAILED"), document.get("failMsg"))
    svc = service()
    return ok(task_json(svc.force(task_id, "failed", failure), svc.clock.now_ms()))


# -- accounts ------------------------------------------------------------------


@bp.get("/accounts")
def accounts() -> Response:
    """Every key with an account (it spent, or had balance or caps set): balance and caps."""
    return ok([masked(account) for account in service().accounts().values()])


@bp.get("/accounts/<path:key>")
def account(key: str) -> Response:
    """One key's balance, caps and unfinished-task count."""
    return ok(masked(service().account(key)))


def masked(account: dict[str, Any]) -> dict[str, Any]:
    """An account as answers show it: the key masked; it is addressed by its full key."""
    return account | {"key": redact(account["key"])}


@bp.route("/accounts/<path:key>", methods=["PATCH", "PUT"])
def account_update(key: str) -> Response:
    """Set a key's balance and/or caps."""
    document = payload("admin-account-update")
    try:
        updated = service().update_account(
            key,
            balance=document.get("balance"),
            rpm=document.get("rpm"),
            max_unfinished=document.get("maxUnfinished"),
        )
    except ValueError as exc:
        raise InvalidRequest(f"balance: {exc}") from None
    return ok(masked(updated))
