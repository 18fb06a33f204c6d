"""Checks: named functions that take what the target answered and raise `ContractViolation`.

Like Schemathesis checks, each one looks at one thing and, when the target
breaks the contract, raises an error whose message starts with the id of the
broken rule (see rules.py). Rules that live in schemas/ are checked by
validating against those files, not restated here.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from itertools import pairwise
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from jsonschema.exceptions import ValidationError

from . import rules
from .client import ApiResponse
from .drift import unknown_fields
from .schemas import describe, first_error

STATE_SCHEMAS = MappingProxyType(
    {
        "pending": "task-pending",
        "processing": "task-processing",
        "success": "task-success",
        "failed": "task-failed",
    }
)
TERMINAL = frozenset({"success", "failed"})
_RANK = MappingProxyType({"pending": 0, "processing": 1, "success": 2, "failed": 2})
IMAGE_SIZES = MappingProxyType({"1:1": (1024, 1024), "3:2": (1536, 1024), "2:3": (1024, 1536)})
_MAGIC = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"))
# Which rule a schema error in a status `data` breaks, by the field it is about.
_FIELD_RULES = MappingProxyType(
    {
        "resultJson": "status.result-json-string",
        "createTime": "status.times",
        "completeTime": "status.times",
        "costTime": "status.times",
        "failCode": "status.failed-fields",
        "failMsg": "status.failed-fields",
    }
)


class ContractViolation(AssertionError):
    """The target broke a rule; the message starts with the rule's id."""

    def __init__(self, rule: str, detail: str) -> None:
        rules.get(rule)  # a typo in a rule id is a bug in the suite: fail loudly
        self.rule = rule
        self.detail = detail
        super().__init__(f"{rule}: {detail}")


def parsed(text: str | bytes, schema: str, rule: str, what: str) -> Any:
    """JSON `text` that matches `schema`, or a ContractViolation of `rule` about `what`."""
    try:
        document = json.loads(text)
    except ValueError:
        shown = text[:200] if len(text) > 200 else text
        raise ContractViolation(rule, f"{what} is not JSON: {shown!r}") from None
    error = first_error(schema, document)
    if error is not None:
        raise ContractViolation(rule, f"{what}: {describe(error)}")
    return document


def check_envelope(response: ApiResponse) -> dict[str, Any]:
    """Every API answer: a JSON envelope whose `code` equals the HTTP status."""
    body: dict[str, Any] = parsed(response.text, "envelope", "envelope.json", response.brief())
    if body["code"] != response.status:
        raise ContractViolation(
            "envelope.code-equals-status",
            f"{response.brief()}: code is {body['code']} but the HTTP status is {response.status}",
        )
    return dict(body)


def check_content_type(response: ApiResponse) -> None:
    """Every API answer is labelled JSON: a client that trusts the header must be right to."""
    said = response.header("Content-Type")
    media_type = (said or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise ContractViolation(
            "envelope.content-type",
            f"{response.brief()[:120]}: Content-Type is {said!r}, not application/json",
        )


def check_drift(response: ApiResponse, strict: bool, note: Callable[[str, str], None]) -> None:
    """Fields the schemas do not declare: noted as drift, a failure when `strict`."""
    extra = unknown_fields(response)
    if not extra:
        return
    path = urlsplit(response.url).path
    detail = f"{response.method} {path} -> {response.status} has undeclared {', '.join(extra)}"
    if strict:
        raise ContractViolation("drift.unknown-fields", detail)
    note("drift.unknown-fields", detail)


def expect_status(response: ApiResponse, status: int, rule: str) -> None:
    """The answer has this HTTP status, or `rule` is broken."""
    if response.status != status:
        raise ContractViolation(rule, f"expected HTTP {status}, got {response.brief()}")


def check_error(response: ApiResponse, status: int, rule: str) -> dict[str, Any]:
    """An error answer: this status (else `rule`), and the error envelope."""
    expect_status(response, status, rule)
    body = check_envelope(response)
    error = first_error("error-envelope", body)
    if error is not None:
        raise ContractViolation("errors.envelope", f"{response.brief()}: {describe(error)}")
    return body


def check_success(response: ApiResponse, schema: str, rule: str) -> dict[str, Any]:
    """A success answer: HTTP 200 (else `rule`), message 'success', and `schema`."""
    expect_status(response, 200, rule)
    body = check_envelope(response)
    if body["message"] != "success":
        raise ContractViolation(
            "envelope.success-200", f"{response.brief()}: message is not 'success'"
        )
    error = first_error(schema, body)
    if error is not None:
        raise ContractViolation(rule, f"{response.brief()}: {describe(error)}")
    return body


def submitted_task_id(response: ApiResponse) -> str:
    """A valid submit's answer: 200 with data.taskId; returns the id."""
    body = check_success(response, "submit-response", "submit.accepts-valid")
    return str(body["data"]["taskId"])


def status_data(response: ApiResponse, task_id: str) -> dict[str, Any]:
    """A status read of `task_id`: its state's shape, the id echoed, times that add up."""
    expect_status(response, 200, "status.schema")
    body = check_envelope(response)
    if body["message"] != "success":
        raise ContractViolation("envelope.success-200", f"{response.brief()}: message")
    data = body["data"]
    check_task_data(data, where=response.brief())
    if data["taskId"] != task_id:
        raise ContractViolation(
            "status.task-id-echo", f"asked for {task_id!r}, got data.taskId {data['taskId']!r}"
        )
    return dict(data)


def check_task_data(data: Any, *, where: str) -> None:
    """A task as the status endpoint (or a callback) shows it."""
    state = data.get("state") if isinstance(data, dict) else None
    if not isinstance(state, str) or state not in STATE_SCHEMAS:
        raise ContractViolation("status.schema", f"{where}: data.state is {state!r}")
    error = first_error(STATE_SCHEMAS[state], data)
    if error is not None:
        rule = _FIELD_RULES.get(_field_of(error), "status.schema")
        raise ContractViolation(rule, f"{where}: {state} task {describe(error)}")
    check_cost_time(data)
    if state == "success":
        result_urls(data)


def _field_of(error: ValidationError) -> str:
    """The top-level field a schema error is about ('' if it is about the whole object)."""
    if error.absolute_path:
        return str(error.absolute_path[0])
    required = error.validator_value
    instance = error.instance
    if error.validator == "required" and isinstance(required, list) and isinstance(instance, dict):
        missing = [name for name in required if name not in instance]
        return str(missing[0]) if missing else ""
    return ""


def check_cost_time(data: dict[str, Any]) -> None:
    """costTime == completeTime - createTime wherever all three appear."""
    create, complete, cost = (data.get(name) for name in ("createTime", "completeTime", "costTime"))
    if not (isinstance(create, int) and isinstance(complete, int) and isinstance(cost, int)):
        return
    if cost != complete - create or cost < 0:
        raise ContractViolation(
            "status.cost-time",
            f"task {data.get('taskId')}: costTime {cost} but completeTime - createTime"
            f" = {complete} - {create} = {complete - create}",
        )


def result_urls(data: dict[str, Any]) -> list[str]:
    """The URLs in a successful task's resultJson, which must be a JSON string."""
    raw = data.get("resultJson")
    if not isinstance(raw, str):
        raise ContractViolation(
            "status.result-json-string",
            f"task {data.get('taskId')}: resultJson is a {type(raw).__name__}, not a JSON string",
        )
    result = parsed(raw, "result-json", "status.result-json-string", "resultJson")
    return [str(url) for url in result["resultUrls"]]


def check_result_count(data: dict[str, Any], images: int) -> list[str]:
    """Exactly `images` URLs; returns them."""
    urls = result_urls(data)
    if len(urls) != images:
        raise ContractViolation(
            "status.result-count",
            f"task {data['taskId']}: asked for {images} image(s), got {len(urls)} URL(s)",
        )
    return urls


def check_history(bodies: Sequence[dict[str, Any]]) -> None:
    """Consecutive reads of one task: states never go back, a terminal body never changes."""
    for before, after in pairwise(bodies):
        was, now = before["data"]["state"], after["data"]["state"]
        task = before["data"]["taskId"]
        if was in TERMINAL and after != before:
            raise ContractViolation(
                "status.terminal-stable",
                f"task {task} was {was}, then read differently: {_diff(before, after)}",
            )
        if _RANK[now] < _RANK[was]:
            raise ContractViolation(
                "status.states-forward", f"task {task} went back from {was} to {now}"
            )
        created = before["data"].get("createTime"), after["data"].get("createTime")
        if None not in created and created[0] != created[1]:
            raise ContractViolation(
                "status.times", f"task {task}: createTime changed from {created[0]} to {created[1]}"
            )


def _diff(before: dict[str, Any], after: dict[str, Any]) -> str:
    """The fields that differ between two envelopes, for a readable message."""
    old, new = before.get("data") or {}, after.get("data") or {}
    keys = sorted(set(old) | set(new), key=str)
    changed = [
        f"{key}: {old.get(key)!r} -> {new.get(key)!r}"
        for key in keys
        if old.get(key) != new.get(key)
    ]
    return "; ".join(changed) or "the envelope around data changed"


def check_failed(data: dict[str, Any], fail_code: str | None, rule: str) -> None:
    """The task ended failed (with `fail_code` if given), else `rule` is broken."""
    if data["state"] != "failed" or (fail_code and data.get("failCode") != fail_code):
        raise ContractViolation(
            rule,
            f"task {data['taskId']} ended {data['state']} with failCode {data.get('failCode')!r},"
            f" expected failed with {fail_code or 'any documented code'}",
        )


def check_image(content: bytes, aspect_ratio: str, url: str) -> None:
    """A result file: JPG, PNG or WebP bytes of the size its aspect ratio gives."""
    kind = image_kind(content)
    if kind is None:
        raise ContractViolation(
            "results.downloadable", f"{url} is not a JPG, PNG or WebP image: {content[:16]!r}"
        )
    size = image_size(content)
    if size != IMAGE_SIZES[aspect_ratio]:
        width, height = IMAGE_SIZES[aspect_ratio]
        raise ContractViolation(
            "results.size",
            f"{url}: a {aspect_ratio} image should be {width}x{height}, it is {size[0]}x{size[1]}",
        )


def image_kind(content: bytes) -> str | None:
    """'PNG', 'JPEG' or 'WEBP' by magic bytes, or None."""
    for magic, kind in _MAGIC:
        if content.startswith(magic):
            return kind
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "WEBP"
    return None


def image_size(content: bytes) -> tuple[int, int]:
    """Width and height of an image (Pillow reads only the header)."""
    from PIL import Image  # imported here: only result downloads need Pillow

    with Image.open(io.BytesIO(content)) as image:
        return int(image.size[0]), int(image.size[1])


def balance_amount(response: ApiResponse) -> Decimal:
    """A balance answer: 200, a bare JSON number; returns it exactly (no float drift)."""
    check_success(response, "balance-response", "balance.bare-number")
    exact = json.loads(response.text, parse_float=Decimal, parse_int=Decimal)
    return Decimal(exact["data"])


def check_charge(before: Decimal, after: Decimal, images: int, price: Decimal) -> None:
    """A submit of `images` images took exactly `images` x `price` from the balance."""
    expected = before - images * price
    if after != expected:
        raise ContractViolation(
            "balance.charge",
            f"balance went from {before} to {after} after a submit of {images} image(s);"
            f" expected {expected} ({images} x {price} USD)",
        )


def check_refusal_free(before: Decimal, after: Decimal, tasks: int, price: Decimal) -> None:
    """After `tasks` accepted 1-image submits and a refused one, at most their charge is gone.

    Refunds of tasks that failed meanwhile can only raise the balance, so a
    lower one means the refused submit was charged.
    """
    floor = before - tasks * price
    if after < floor:
        raise ContractViolation(
            "limits.refusal-free",
            f"balance went from {before} to {after} after {tasks} accepted submit(s) of 1 image"
            f" and one refused with 429; a refusal must cost nothing (expected at least {floor})",
        )


def check_names_field(response: ApiResponse, names: Iterable[str]) -> None:
    """A 400 says which field is wrong: one of `names` appears in its message or data."""
    body = response.json()
    said = _squash(f"{body.get('message')} {json.dumps(body.get('data'))}")
    wanted = list(names)
    if wanted and not any(_squash(name) in said for name in wanted):
        raise ContractViolation(
            "submit.error-names-field",
            f"the 400 does not name {' or '.join(wanted)}: {response.brief()}",
        )


def _squash(text: str) -> str:
    """Lowercase letters and digits only, so num_images, numImages and 'num images' all match."""
    return "".join(char for char in text.lower() if char.isalnum())


def check_allow(response: ApiResponse, method: str) -> None:
    """A 405 carries an Allow header that lists the method the path wants."""
    allow = response.header("Allow")
    allowed = {item.strip().upper() for item in (allow or "").split(",")}
    if method not in allowed:
        raise ContractViolation(
            "routing.wrong-method-405",
            f"{response.brief()}: Allow header is {allow!r}, it should list {method}",
        )
