"""Faults a scenario can inject into a response: latency, a dropped connection, a bad body.

Real sleeping is the point of the latency effect: the client is meant to feel it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from flask import Response

from ..core.scenarios import Effect

DROP_HOOK = "apixo_mock.drop_connection"
MALFORMED_BODY = b'{"code": 200, "message": "succ'


def delay(effect: Effect) -> None:
    """Wait the rule's latency before answering."""
    if effect.latency_ms > 0:
        time.sleep(effect.latency_ms / 1000)


def faulty_response(effect: Effect, environ: dict[str, Any]) -> Response | None:
    """The broken response a `fault` effect asks for, or None."""
    if effect.fault == "malformed":
        return Response(MALFORMED_BODY, status=200, mimetype="application/json")
    if effect.fault == "drop":
        return dropped(environ)
    return None


def dropped(environ: dict[str, Any]) -> Response:
    """Close the connection: with no bytes where the server allows it, else mid-body."""
    hook: Callable[[], None] | None = environ.get(DROP_HOOK)
    if hook is not None:
        hook()
        return Response(b"", status=200)
    # Servers without the hook (granian) answer a pre-header exception with a
    # clean 500, so break the body after the headers instead.
    response = Response(_broken_body(), status=200, mimetype="application/json")
    response.headers["Content-Length"] = "256"
    return response


def _broken_body() -> Iterator[bytes]:
    yield b'{"code": 200, '
    raise ConnectionAbortedError("apixo-mock: connection dropped by scenario")
