"""Dashboard pages that change the mock: scenarios, clock and keys; the models; the login.

Every form posts here with its CSRF token (`access.guard` checks it), makes
one `MockService` command and answers 303 back to its page, with a notice of
what was done in the query (`?done=`), shown in a status region.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from flask import Response, redirect, render_template, request, url_for

from ...core.errors import InvalidRequest, NotFound
from ...core.views import AccountView
from ..context import service
from . import access
from .present import key_ref

# The clock page's buttons: label -> milliseconds.
STEPS = MappingProxyType(
    {"1 s": 1_000, "30 s": 30_000, "5 min": 300_000, "15 days": 15 * 86_400_000}
)
JOURNAL_ROWS = 100


def _back(endpoint: str, done: str) -> Response:
    response: Response = redirect(url_for(endpoint, done=done), code=303)  # type: ignore[assignment]
    return response


def _field(name: str) -> str | None:
    value = request.form.get(name, "").strip()
    return value or None


# -- scenarios -------------------------------------------------------------------


def scenarios() -> str:
    """The active scenario's rules with their match counts; load a shipped one, or clear."""
    svc = service()
    return render_template(
        "scenarios.html",
        active=svc.scenario_view(),
        uses=svc.rule_uses(),
        names=svc.scenario_names(),
    )


def scenario_load() -> Response:
    """Activate a scenario known by name."""
    name = _field("name")
    if name is None:
        raise InvalidRequest("name: choose a scenario")
    service().load_scenario(name)
    return _back("ui.scenarios", f"Loaded scenario {name}")


def scenario_clear() -> Response:
    """No active rules, and the start-up settings again."""
    service().clear_scenario()
    return _back("ui.scenarios", "Cleared the scenario")


# -- clock -------------------------------------------------------------------------


def clock() -> str:
    """The mock's time, with buttons to move it on, freeze and unfreeze it."""
    view = service().clock_view()
    if request.args.get("partial") == "1":
        return render_template("clock_now.html", clock=view)
    return render_template("clock.html", clock=view, steps=STEPS)


def clock_advance() -> Response:
    """Move the mock's time on by one of the page's steps."""
    label = request.form.get("step", "")
    if label not in STEPS:
        raise InvalidRequest(f"step: must be one of {list(STEPS)}")
    service().advance_clock(STEPS[label])
    return _back("ui.clock", f"Advanced {label}")


def clock_freeze() -> Response:
    """Stop the mock's time."""
    service().freeze_clock()
    return _back("ui.clock", "Clock frozen")


def clock_unfreeze() -> Response:
    """Let the mock's time run again."""
    service().unfreeze_clock()
    return _back("ui.clock", "Clock running")


# -- keys ---------------------------------------------------------------------------


def keys() -> str:
    """Each key's balance, caps and unfinished tasks (editable), and the request journal."""
    svc = service()
    args = request.args
    status = args.get("status", "").strip()
    if status and not (status.isascii() and status.isdigit() and len(status) <= 3):
        raise InvalidRequest("status: must be an HTTP status code")
    entries = svc.journal_entries(
        path=args.get("path", "").strip() or None,
        status=int(status) if status else None,
        task_id=args.get("taskId", "").strip() or None,
        limit=JOURNAL_ROWS,
    )
    accounts = svc.account_views()
    return render_template(
        "keys.html",
        accounts=accounts,
        minute=svc.minute_usage(a.key for a in accounts),
        usage=svc.key_usage(),
        entries=entries[::-1],
        filters={k: args.get(k, "") for k in ("path", "status", "taskId")},
    )


def key_update(ref: str) -> Response:
    """Set one key's balance and caps (fields left empty stay as they are)."""
    account = _account(ref)
    balance = _field("balance")
    if balance is not None:
        try:
            Decimal(balance)
        except InvalidOperation:
            raise InvalidRequest("balance: must be a number of USD") from None
    try:
        service().change_account(
            account.key,
            balance=balance,
            rpm=_positive("rpm"),
            max_unfinished=_positive("maxUnfinished"),
        )
    except ValueError as exc:
        raise InvalidRequest(f"balance: {exc}") from None
    return _back("ui.keys", "Saved the key")


def key_open() -> Response:
    """Give a key that has no account yet a balance (it is typed in full, once)."""
    key = _field("key")
    if key is None:
        raise InvalidRequest("key: type the API key")
    try:
        service().change_account(key, balance=_field("balance") or "0")
    except ValueError as exc:
        raise InvalidRequest(f"balance: {exc}") from None
    return _back("ui.keys", "Saved the key")


def _account(ref: str) -> AccountView:
    for account in service().account_views():
        if key_ref(account.key) == ref:
            return account
    raise NotFound("No such key")


def _positive(name: str) -> int | None:
    value = _field(name)
    if value is None:
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 18) or int(value) < 1:
        raise InvalidRequest(f"{name}: must be a whole number of at least 1")
    return int(value)


# -- models and login -----------------------------------------------------------------


def models() -> str:
    """Every served model: category, modes and the price in force."""
    return render_template("models.html", models=service().model_summaries())


def login() -> Response | str:
    """The admin token, given once: kept in a cookie only the dashboard's requests carry."""
    if request.method == "GET":
        return render_template("login.html", status=200)
    if not access.token_matches(request.form.get("token", "")):
        raise access.TokenNeeded("That is not the admin token")
    response: Response = redirect(url_for("ui.task_list"), code=303)  # type: ignore[assignment]
    access.set_cookie(response, access.TOKEN_COOKIE, request.form["token"])
    return response


def logout() -> Response:
    """Forget the token cookie."""
    response: Response = redirect(url_for("ui.login"), code=303)  # type: ignore[assignment]
    response.delete_cookie(access.TOKEN_COOKIE, path=access.PATH)
    return response


ROUTES: tuple[tuple[str, Any, tuple[str, ...]], ...] = (
    ("/scenarios", scenarios, ("GET",)),
    ("/scenarios/load", scenario_load, ("POST",)),
    ("/scenarios/clear", scenario_clear, ("POST",)),
    ("/clock", clock, ("GET",)),
    ("/clock/advance", clock_advance, ("POST",)),
    ("/clock/freeze", clock_freeze, ("POST",)),
    ("/clock/unfreeze", clock_unfreeze, ("POST",)),
    ("/keys", keys, ("GET",)),
    ("/keys", key_open, ("POST",)),
    ("/keys/<ref>", key_update, ("POST",)),
    ("/models", models, ("GET",)),
    ("/login", login, ("GET", "POST")),
    ("/logout", logout, ("POST",)),
)
