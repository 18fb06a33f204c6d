"""The one place a task becomes API JSON: status data, envelopes and resultJson.

Status reads and callbacks both call `status_envelope`, so a callback body is
byte for byte what a status read at the same moment returns.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from .lifecycle import State
from .tasks import Task

SUCCESS_MESSAGE = "success"


def envelope(data: Any, code: int = 200, message: str = SUCCESS_MESSAGE) -> dict[str, Any]:
    """`{"code", "message", "data"}` with `code` equal to the HTTP status."""
    return {"code": code, "message": message, "data": data}


def dumps(document: Any) -> bytes:
    """Compact JSON bytes, as the API sends them."""
    if _plain(document):
        return _plain_dumps(document)
    return _json_dumps(document)


def _plain_dumps(document: Any) -> bytes:
    """`dumps` of a document known to hold only the types `_plain` admits."""
    try:
        # Byte for byte what `json` writes for these types, several times faster.
        return orjson.dumps(document)
    except orjson.JSONEncodeError:  # an integer past 64 bits, a lone surrogate
        return _json_dumps(document)


def _json_dumps(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _plain(document: Any) -> bool:
    """Whether `document` holds only what orjson writes exactly as `json` does.

    Strings, integers, booleans and null in dicts with string keys and lists;
    a float (orjson writes 1e-05 as 0.00001), a subclass or any other type
    takes the `json` path.
    """
    stack = [document]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is dict:
            for key in node:
                if type(key) is not str:
                    return False
            stack.extend(node.values())
        elif kind is list:
            stack.extend(node)
        elif kind is not str and kind is not int and kind is not bool and node is not None:
            return False
    return True


def result_path(task_id: str, index: int, extension: str = "png") -> str:
    """Where the mock serves a task's `index`-th file, relative to its origin."""
    return f"/results/{task_id}/{index}.{extension}"


def result_urls(task: Task) -> list[str]:
    """One absolute URL per file, on the host the task was submitted to (gpt-image-1: PNGs)."""
    outputs = task.request.outputs
    if outputs:
        return [
            task.origin + result_path(task.task_id, i, output.extension)
            for i, output in enumerate(outputs)
        ]
    return [task.origin + result_path(task.task_id, i) for i in range(task.request.num_images)]


def result_json(task: Task) -> str:
    """The resultJson *string*: `{"resultUrls": [...]}` encoded as JSON text."""
    return json.dumps({"resultUrls": result_urls(task)}, separators=(",", ":"))


def status_data(task: Task, now: int, state: State | None = None) -> dict[str, Any]:
    """The `data` of a status response for `task` at `now`, in the docs' field order.

    `state` is the task's state at `now` when the caller has it already.
    """
    if state is None:
        state = task.state(now)
    data: dict[str, Any] = {"taskId": task.task_id, "state": state.value}
    if state is State.SUCCESS:
        data["resultJson"] = result_json(task)
    elif state is State.FAILED and task.failure is not None:
        data["failCode"] = task.failure.code
        data["failMsg"] = task.failure.message
    data["createTime"] = task.timeline.created_at
    done_at = task.timeline.done_at
    if state.terminal and done_at is not None:
        data["completeTime"] = done_at
        data["costTime"] = done_at - task.timeline.created_at
    return data


def status_envelope(task: Task, now: int, state: State | None = None) -> bytes:
    """The full status response body for `task` at `now` (in `state`, if the caller knows it)."""
    # Built above of strings and integers only: no walk over it for other types.
    return _plain_dumps(envelope(status_data(task, now, state)))
