"""Times every request and writes it to the journal and the access log.

A WSGI middleware rather than Flask hooks: it runs once around the whole
request, which costs less than a before- and an after-request hook on the
hottest path, and it sees the final status of every answer, errors included.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from ..core.auth import redact
from ..core.journal import Entry
from ..core.service import MockService
from ..logs import direct_access_handler
from .context import FACT_PREFIX

access_log = logging.getLogger("apixo_mock.access")

ACCOUNT_PATH = "/__admin/accounts/"
# C0 and C1 controls, DEL, the quote that delimits the request and the escape character.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f"\\]')
_KEY_ARG = re.compile(r"((?:\A|&)key=)([^&]*)")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class RequestRecorder:
    """Wraps a WSGI app; records method, path, status, latency, key (redacted), task and rule."""

    def __init__(self, app: WSGIApp, service: MockService) -> None:
        self._app = app
        self._service = service

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        started = time.perf_counter()
        seen: list[str] = []

        def remember_status(status: str, headers: Any, exc_info: Any = None) -> Any:
            seen.append(status)
            return start_response(status, headers, exc_info)

        # One reading of the clock's state for the whole request: on a shared
        # store each reading is a round trip, and a request tells the time often.
        with self._service.one_reading():
            result = self._app(environ, remember_status)
            status = int(seen[-1][:3]) if seen else 500
            self._record(environ, status, (time.perf_counter() - started) * 1000)
        return result

    def _record(self, environ: dict[str, Any], status: int, latency_ms: float) -> None:
        svc = self._service
        path = environ.get("PATH_INFO", "")
        key = environ.get(FACT_PREFIX + "key")
        entry = svc.record_request(
            environ.get("REQUEST_METHOD", ""),
            path,
            status,
            round(latency_ms, 3),
            redact(key) if key else None,
            environ.get(FACT_PREFIX + "task_id"),
            environ.get(FACT_PREFIX + "reason"),
            keep=not path.startswith("/__admin"),
        )
        if svc.base_settings.access_log and access_log.isEnabledFor(logging.INFO):
            _log_access(_line(entry, environ, svc.base_settings.log_format))


def _log_access(line: str) -> None:
    direct = direct_access_handler(access_log)
    if direct is not None:  # serve's configuration: no LogRecord down the logger tree
        direct.emit_line(line)
        return
    # `Logger.info` walks the stack for the caller's file and line on every
    # request; the caller is always this module, so the record names it directly.
    record = access_log.makeRecord(
        access_log.name, logging.INFO, __file__, 0, line, (), None, "_record"
    )
    access_log.handle(record)


def _line(entry: Entry, environ: dict[str, Any], log_format: str) -> str:
    target = masked_target(entry.path, environ.get("QUERY_STRING", ""))
    remote = environ.get("REMOTE_ADDR", "-")
    if log_format == "json":
        fields = {"remote": remote, "method": entry.method, "path": target, "status": entry.status}
        fields |= {
            "latencyMs": round(entry.latency_ms, 2),
            "key": entry.key,
            "taskId": entry.task_id,
        }
        return json.dumps(fields)
    method, target, remote = escaped(entry.method), escaped(target), escaped(remote)
    return f'{remote} "{method} {target}" {entry.status} {entry.latency_ms:.1f}ms'


def escaped(text: str) -> str:
    """`text` with control characters, quotes and backslashes as escapes: one log line stays one."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return text  # the usual case, without the regex
    return _UNSAFE.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def masked_target(path: str, query: str) -> str:
    """Path and query as logs show them: an API key in an admin URL masked like the journal's."""
    if path.startswith(ACCOUNT_PATH) and len(path) > len(ACCOUNT_PATH):
        path = ACCOUNT_PATH + redact(path[len(ACCOUNT_PATH) :])
    if query:
        query = _KEY_ARG.sub(lambda match: match.group(1) + redact(match.group(2)), query)
    return path + ("?" + query if query else "")
