"""Replay: a recording indexed so that a request finds its recorded answer.

A request is matched on method, path, the `taskId` parameter and its JSON body
(canonical: key order does not matter). A task's status reads form a
sequence timed from its submit, so a replayed task moves through its
recorded states as the mock clock moves: `status_at(task, elapsed_ms)` is the
last read recorded at or before that moment.
"""

from __future__ import annotations

import io
import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from .exchange import Exchange, body_text, body_value, load_recording

Key = tuple[str, str, str, str]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# Headers of the recorded answer that the replaying server sets itself.
_RECOMPUTED = frozenset(
    {"content-length", "date", "server", "connection", "transfer-encoding", "keep-alive"}
)


@dataclass(frozen=True, slots=True)
class RecordedAnswer:
    """One recorded answer; `offset_ms` is its time since the task's submit (0 if none)."""

    status: int
    headers: Mapping[str, str]
    body: Any
    offset_ms: int = 0
    source: str = ""


@dataclass(slots=True)
class ReplayIndex:
    """Recorded answers by request, and each task's status sequence."""

    answers: dict[Key, list[RecordedAnswer]] = field(default_factory=dict)
    sequences: dict[str, list[RecordedAnswer]] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> ReplayIndex:
        """Index a recording directory."""
        return cls.build(load_recording(directory))

    @classmethod
    def build(cls, exchanges: Sequence[Exchange]) -> ReplayIndex:
        """Index recorded API exchanges (callbacks are the upstream's requests, not answers)."""
        index = cls()
        submitted: dict[str, int] = {}
        for exchange in exchanges:
            if exchange.kind != "api" or exchange.document.get("proxyError"):
                continue
            request = exchange.request
            key = request_key(
                str(request.get("method", "GET")),
                str(request.get("path", "/")),
                request.get("query") or {},
                request.get("body"),
            )
            task = exchange.task_id
            if task and "/generateTask/" in key[1]:
                submitted.setdefault(task, exchange.recorded_ms)
            start = submitted.get(task or "", exchange.recorded_ms)
            answer = _answer(exchange, exchange.recorded_ms - start)
            index.answers.setdefault(key, []).append(answer)
            if task and "/statusTask/" in key[1] and task in submitted:
                index.sequences.setdefault(task, []).append(answer)
        return index

    def lookup(
        self, method: str, path: str, query: Mapping[str, Any], body: Any
    ) -> RecordedAnswer | None:
        """The first answer recorded for this request, or None (normal behaviour applies)."""
        found = self.answers.get(request_key(method, path, query, body))
        return found[0] if found else None

    def sequence(self, task_id: str) -> list[RecordedAnswer]:
        """A task's recorded status answers, in order, with their times since its submit."""
        return list(self.sequences.get(task_id, []))

    def status_at(self, task_id: str, elapsed_ms: int) -> RecordedAnswer | None:
        """The status answer a read `elapsed_ms` after the submit gets (None: task unknown)."""
        reads = self.sequences.get(task_id)
        if not reads:
            return None
        current = reads[0]
        for read in reads:
            if read.offset_ms > elapsed_ms:
                break
            current = read
        return current


def request_key(method: str, path: str, query: Mapping[str, Any], body: Any) -> Key:
    """What a request is matched on: method, path, taskId and canonical JSON body."""
    task = query.get("taskId", "")
    shown = body if body not in (None, "", b"") else ""
    canonical = shown if isinstance(shown, str) else json.dumps(shown, sort_keys=True)
    return (method.upper(), path, str(task), canonical)


def _answer(exchange: Exchange, offset_ms: int) -> RecordedAnswer:
    response = exchange.response
    return RecordedAnswer(
        int(response.get("status", 0)),
        dict(response.get("headers") or {}),
        response.get("body"),
        offset_ms,
        exchange.name,
    )


class ReplayMiddleware:
    """WSGI middleware: requests that match a recording get the recorded answers.

    A replayed task's status reads move through its recorded sequence on the
    mock clock (`clock`, Unix ms), timed from its replayed submit (or its first
    read); everything that matches nothing goes to the wrapped app. Recorded
    answers are given as recorded: the key is not checked (a recording holds
    no key to check it against).
    """

    def __init__(self, app: WSGIApp, index: ReplayIndex, clock: Callable[[], int]) -> None:
        self._app = app
        self._index = index
        self._clock = clock
        self._lock = threading.Lock()
        self._started: dict[str, int] = {}  # taskId -> mock time its replay began

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        raw = _rewind(environ)
        request = Request(environ)
        answer = self._answer(request, body_value(raw))
        if answer is None:
            return self._app(environ, start_response)
        headers = [(k, v) for k, v in answer.headers.items() if k.lower() not in _RECOMPUTED]
        response = Response(body_text(answer.body), status=answer.status, headers=headers)
        return response(environ, start_response)

    def _answer(self, request: Request, body: Any) -> RecordedAnswer | None:
        query = request.args.to_dict()
        task = query.get("taskId", "")
        if (
            request.method == "GET"
            and "/statusTask/" in request.path
            and task in self._index.sequences
        ):
            return self._index.status_at(task, self._clock() - self._begin(task))
        answer = self._index.lookup(request.method, request.path, query, body)
        if answer is not None and "/generateTask/" in request.path and answer.status == 200:
            data = answer.body.get("data") if isinstance(answer.body, dict) else None
            if isinstance(data, dict) and isinstance(data.get("taskId"), str):
                with self._lock:
                    self._started[data["taskId"]] = self._clock()
        return answer

    def _begin(self, task: str) -> int:
        with self._lock:
            return self._started.setdefault(task, self._clock())


def _rewind(environ: dict[str, Any]) -> bytes:
    """Read the body, then give the wrapped app a fresh stream holding the same bytes."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw: bytes = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(raw)
    environ["CONTENT_LENGTH"] = str(len(raw))
    return raw
