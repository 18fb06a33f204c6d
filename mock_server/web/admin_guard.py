"""Who may drive the admin API: the token, the loopback rule, the Host check, the write rule.

A browser is the adversary here: any web page the developer visits can send
requests to 127.0.0.1. Without a token, three checks keep such a page out:

- the server must be bound to loopback (bound elsewhere, the admin API is off);
- the Host header must name a loopback address or a configured public name,
  so a DNS-rebound name (`evil.example` resolving to 127.0.0.1) is refused;
- a write (POST, PUT, PATCH, DELETE) must carry a JSON content type or the
  token header: a cross-site form or a no-preflight fetch can send neither.

With a token none of this is needed to keep a page out (it cannot know the
token), so only the token is checked and the admin API works wherever it listens.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from flask import request

from ..core.errors import ApiError, Forbidden, NotFound, Unauthorized
from ..settings import Settings, is_loopback
from .context import service

TOKEN_HEADER = "X-Apixo-Mock-Admin-Token"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
JSON_TYPES = ("application/json",)


class NotJson(ApiError):
    """An admin write without a JSON content type or the token header."""

    status = 415
    message = "Unsupported media type"


def guard() -> None:
    """Admin calls need the token when one is set, else loopback, a known Host and JSON writes."""
    settings = service().base_settings
    token = settings.admin_token
    if token is not None:
        given = request.headers.get(TOKEN_HEADER, "")
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise Unauthorized(f"Admin token missing or wrong: send {TOKEN_HEADER}")
        return
    if not is_loopback(settings.host):
        raise NotFound()
    _check_host(settings)
    _check_write()


def _check_host(settings: Settings) -> None:
    name = host_name(request.host)
    if is_loopback(name) or name in allowed_hosts(settings):
        return
    raise Forbidden(
        f"Host {name!r} is not loopback: add it to --admin-hosts to use the admin API by that name"
    )


def _check_write() -> None:
    if request.method in READ_METHODS or TOKEN_HEADER in request.headers:
        return
    mimetype = request.mimetype
    if mimetype in JSON_TYPES or mimetype.endswith("+json"):
        return
    raise NotJson(
        f"Admin writes need Content-Type: application/json (or the {TOKEN_HEADER} header)"
    )


def host_name(host: str) -> str:
    """The name in a Host header, lower-cased, without port or IPv6 brackets."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host[1:]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def allowed_hosts(settings: Settings) -> frozenset[str]:
    """The public names the admin API answers to: `admin_hosts` and `public_url`'s host."""
    names = {host_name(name) for name in settings.admin_hosts}
    if settings.public_url:
        public = urlsplit(settings.public_url).hostname
        if public:
            names.add(public.lower())
    return frozenset(names)
