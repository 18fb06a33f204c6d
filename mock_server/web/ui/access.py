"""Who may see the dashboard, and the CSRF check on every form it posts.

The dashboard sits under exactly the admin API's protection (`admin_guard`):
with an admin token, only the token opens it; without one, only a server bound
to loopback, reached by a loopback or configured Host name.

A browser cannot send the token header on a link, so the token may also come
from a cookie that the login form sets: HttpOnly, SameSite=Strict and scoped
to the dashboard's path, so no other page of the server (nor any script) sees
it. Forms are urlencoded (the admin API's JSON-only write rule cannot apply),
so every POST instead carries a CSRF token that must equal the one in a second
cookie of the same kind: a cross-site page can neither read nor send it.
"""

from __future__ import annotations

import hmac
import secrets
from types import MappingProxyType
from urllib.parse import urlsplit

from flask import Response, g, request

from ...core.errors import ApiError, Forbidden, NotFound
from ...settings import is_loopback
from ..admin_guard import TOKEN_HEADER, allowed_hosts, host_name
from ..context import service

PATH = "/__admin/ui"
TOKEN_COOKIE = "apixo_mock_ui_token"
CSRF_COOKIE = "apixo_mock_ui_csrf"
CSRF_FIELD = "csrf"
# Pages, partials and forms alike: none may be framed, and nothing loads from elsewhere.
SECURITY_HEADERS = MappingProxyType(
    {
        "Content-Security-Policy": (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
            "base-uri 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }
)


class TokenNeeded(ApiError):
    """The admin token is set and this request brought neither the header nor the cookie."""

    status = 401
    message = "Admin token needed"


def guard() -> None:
    """Before every dashboard request: the admin API's rule, then CSRF on writes."""
    token = service().base_settings.admin_token
    if token is not None:
        if not _has_token(token) and request.endpoint != "ui.login":
            raise TokenNeeded("Give the admin token to open the dashboard")
    else:
        _check_loopback()
    if request.method == "POST":
        check_csrf()


def _has_token(token: str) -> bool:
    given = request.headers.get(TOKEN_HEADER) or request.cookies.get(TOKEN_COOKIE) or ""
    return hmac.compare_digest(given.encode(), token.encode())


def token_matches(given: str) -> bool:
    """Whether `given` is the admin token (for the login form)."""
    token = service().base_settings.admin_token or ""
    return bool(token) and hmac.compare_digest(given.encode(), token.encode())


def _check_loopback() -> None:
    settings = service().base_settings
    if not is_loopback(settings.host):
        raise NotFound()
    name = host_name(request.host)
    if not (is_loopback(name) or name in allowed_hosts(settings)):
        raise Forbidden(f"Host {name!r} is not loopback: add it to --admin-hosts")


def check_csrf() -> None:
    """A POST must come from this origin and carry the CSRF cookie's value in its form."""
    origin = request.headers.get("Origin")
    if origin and urlsplit(origin).netloc != request.host:
        raise Forbidden("Cross-origin form refused")
    cookie = request.cookies.get(CSRF_COOKIE, "")
    given = request.form.get(CSRF_FIELD, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), given.encode()):
        raise Forbidden("Form expired or not from this dashboard: reload the page and try again")


def csrf_token() -> str:
    """The CSRF token for this browser's forms (a new one if it has none yet)."""
    token = request.cookies.get(CSRF_COOKIE) or g.get("new_csrf")
    if not token:
        token = g.new_csrf = secrets.token_urlsafe(32)
    return str(token)


def finish(response: Response) -> Response:
    """After every dashboard response: the security headers, and a new CSRF cookie if made."""
    response.headers.update(SECURITY_HEADERS)
    new = g.get("new_csrf")
    if new:
        set_cookie(response, CSRF_COOKIE, new)
    return response


def set_cookie(response: Response, name: str, value: str) -> None:
    """A cookie only the dashboard's own requests carry, that no script reads."""
    response.set_cookie(name, value, path=PATH, httponly=True, samesite="Strict")
