"""The admin API under /__admin: health, reset, clock and scenarios; the blueprint's frame.

`create_blueprint()` builds the one `admin` blueprint per app, with the
guard and the index, and nests the subjects' blueprints (`admin_tasks`:
journal, tasks, accounts; `admin_callbacks`) so the guard covers them all.
Every view is: parse -> one `MockService` call -> envelope; it reads the
service's typed views (core.views), never its stores.

Payloads are checked against the admin-*.schema.json files. Who may call is
`admin_guard`'s business; API keys are shown masked (`redact`) in every answer.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, request

from ..core.errors import ConfigError, InvalidRequest
from ..core.scenario_files import rule_from_document, scenario_from_document
from ..core.scenario_problems import ScenarioInvalid
from ..core.schemas import validator
from ..core.validation import describe, errors_in_order, parse_json_object
from ..core.wire import dumps, envelope
from .admin_guard import guard
from .context import body, service
from .index import admin_index

# 18 digits are plenty for any count; int() refuses strings of more than 4300.
_UINT = re.compile(r"[0-9]{1,18}")


def create_blueprint() -> Blueprint:
    """A fresh `admin` blueprint with every admin route (built per app: nothing at import)."""
    from . import admin_callbacks, admin_models, admin_tasks  # they build on this module's helpers

    bp = Blueprint("admin", __name__)
    bp.before_request(guard)
    bp.add_url_rule("", view_func=admin_index, methods=["GET"])
    for rule, view, methods in ROUTES:
        bp.add_url_rule(rule, view_func=view, methods=methods)
    # Nested: the parent's guard runs before every child's view.
    bp.register_blueprint(admin_tasks.create_blueprint())
    bp.register_blueprint(admin_callbacks.create_blueprint())
    bp.register_blueprint(admin_models.create_blueprint())
    return bp


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


def int_arg(name: str) -> int | None:
    """A non-negative integer query argument, None if absent or empty; else a 400."""
    value = request.args.get(name)
    if value is None or value == "":
        return None
    # ASCII digits only: str.isdigit() is also true of "²" (which int() refuses) and of
    # other scripts' digits (which int() reads).
    if _UINT.fullmatch(value) is None:
        raise InvalidRequest(f"{name}: must be a non-negative integer")
    return int(value)


# -- health and reset -------------------------------------------------------


def health() -> Response:
    """Up, with the version and what the server runs on."""
    return ok(service().health().to_json())


def reset() -> Response:
    """Back to the start-up state."""
    service().reset()
    return ok()


# -- clock -----------------------------------------------------------------


def clock() -> Response:
    """The mock's current time."""
    return ok(service().clock_view().to_json())


def clock_advance() -> Response:
    """Move time forward by `ms`."""
    ms = payload("admin-clock-change")["ms"]
    return ok(service().advance_clock(ms).to_json())


def clock_set() -> Response:
    """Jump to the absolute time `ms`, never back: tasks derive their state from it."""
    ms = payload("admin-clock-change")["ms"]
    return ok(service().set_clock(ms).to_json())


def clock_freeze() -> Response:
    """Stop time."""
    return ok(service().freeze_clock().to_json())


def clock_unfreeze() -> Response:
    """Let time run again."""
    return ok(service().unfreeze_clock().to_json())


# -- scenarios ---------------------------------------------------------------


def scenarios() -> Response:
    """The active scenario and every scenario known by name."""
    svc = service()
    return ok({"active": svc.scenario_view().to_json(), "available": svc.scenario_names()})


def scenario_load() -> Response:
    """Activate a scenario by name, or from a whole document."""
    document = payload("admin-scenario-load")
    svc = service()
    try:
        if "name" in document:
            view = svc.load_scenario(document["name"])
        else:
            scenario = scenario_from_document(document["scenario"])
            svc.use_scenario(scenario)  # its settings are checked here
            view = svc.scenario_view(scenario.name)
    except ScenarioInvalid as exc:
        raise _refused(exc, "scenario.") from None
    except (ConfigError, ValueError) as exc:
        raise InvalidRequest(str(exc)) from None
    return ok(view.to_json())


def _refused(exc: ScenarioInvalid, prefix: str) -> InvalidRequest:
    """Every problem of a scenario or rule document, named by its field in the body."""
    return refusal([f"{prefix}{problem.field}: {problem.why}" for problem in exc.problems])


def scenario_clear() -> Response:
    """No active rules."""
    svc = service()
    svc.clear_scenario()
    return ok(svc.scenario_view().to_json())


def rule_add() -> Response:
    """Add a rule to the active scenario."""
    document = payload("admin-rule-add")
    try:
        rule = rule_from_document(document["rule"])
    except ScenarioInvalid as exc:
        raise _refused(exc, "") from None
    return ok(service().add_rule(rule, document.get("index")).to_json())


def rule_remove(name: str) -> Response:
    """Remove a rule from the active scenario."""
    return ok(service().remove_rule(name).to_json())


ROUTES: tuple[tuple[str, Any, tuple[str, ...]], ...] = (
    ("/health", health, ("GET",)),
    ("/reset", reset, ("POST",)),
    ("/clock", clock, ("GET",)),
    ("/clock/advance", clock_advance, ("POST",)),
    ("/clock/set", clock_set, ("POST",)),
    ("/clock/freeze", clock_freeze, ("POST",)),
    ("/clock/unfreeze", clock_unfreeze, ("POST",)),
    ("/scenarios", scenarios, ("GET",)),
    ("/scenarios/active", scenario_load, ("PUT",)),
    ("/scenarios/active", scenario_clear, ("DELETE",)),
    ("/scenarios/active/rules", rule_add, ("POST",)),
    ("/scenarios/active/rules/<name>", rule_remove, ("DELETE",)),
)
