"""Replay: a recording indexed so that a request finds its recorded answer.

A request is matched on method, path, the `taskId` parameter and its JSON body
(canonical: key order does not matter). A task's status reads form a
sequence timed from its submit, so a replayed task moves through its
recorded states as the mock clock moves: `status_at(task, elapsed_ms)` is the
last read recorded at or before that moment.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .exchange import Exchange, load_recording

Key = tuple[str, str, str, str]


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
