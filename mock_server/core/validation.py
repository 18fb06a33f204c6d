"""Turns a submit body into a `SubmitRequest`, or an `InvalidRequest` naming the field.

The rules live in schemas/submit-request.schema.json; this module only adds
what JSON Schema cannot say (the nVariants alias agreeing with num_images,
strict mode's list of known fields taken from the schema itself) and turns
the first schema error into a message such as
`input.num_images: 3 is not one of [1, 2, 4]`. The admin API and scenario
files use the same wording, with every error in document order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import jsonschema_rs
import orjson
from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator

from .errors import InvalidRequest
from .schemas import schema, validator

if TYPE_CHECKING:
    from .models.outputs import OutputFile

GPT_IMAGE_1 = "gpt-image-1"
_NO_INPUT: Mapping[str, Any] = MappingProxyType({})
# Past this many brackets a body may nest deeper than `json` can read (it raises
# RecursionError where orjson may not): such a body takes the `json` path.
_FAST_BRACKETS = 200


@dataclass(frozen=True, slots=True)
class SubmitRequest:
    """A valid submit, with the contract's defaults filled in."""

    prompt: str
    aspect_ratio: str = "1:1"
    num_images: int = 1
    image_urls: tuple[str, ...] = ()
    request_type: str = "async"
    callback_url: str | None = None
    provider: str = "auto"
    mode: str = "gpt-image-1"
    is_enhance: bool = False
    # Every other model (core/models/submission.py): the path's model, its
    # resolution, the raw input and the files a success produces (empty for
    # gpt-image-1, whose result URLs and images are today's).
    model: str = GPT_IMAGE_1
    resolution: str | None = None
    input: Mapping[str, Any] = field(default_factory=lambda: _NO_INPUT)  # shared: no dict per task
    outputs: tuple[OutputFile, ...] = ()


@dataclass(frozen=True, slots=True)
class Dialect:
    """Where the public docs disagree, which reading the mock follows (docs/contract.md)."""

    accept_nvariants: bool = True
    strict_fields: bool = False


class SubmitValidator:
    """Compiled once per server; `parse` is safe to call from many threads."""

    def __init__(self, dialect: Dialect = Dialect()) -> None:
        self._dialect = dialect
        self._validator = validator("submit-request")
        request_schema = schema("submit-request")
        # The request schema has no $ref, so the fast validator needs no registry.
        self._fast = jsonschema_rs.validator_for(request_schema)
        self._top_fields = frozenset(request_schema["properties"])
        input_fields = set(request_schema["properties"]["input"]["properties"])
        if not dialect.accept_nvariants:
            input_fields.discard("nVariants")
        self._input_fields = frozenset(input_fields)

    def parse(self, body: bytes, content_type: str | None) -> SubmitRequest:
        """Validate a raw body; raises `InvalidRequest` with a field-precise message."""
        _media_checked(body, content_type)
        fast = _fast_object(body)
        given = document = fast if fast is not None else _json_object(body)
        if not self._dialect.accept_nvariants:
            document = _without_input_field(document, "nVariants")
        # jsonschema-rs counts 2.0 as an integer, as JSON Schema does; the mock's
        # validator does not (core/schemas.py), so it judges any body holding a float
        # (the fast reader returns only bodies without one).
        if not self._fast.is_valid(document) or (fast is None and _holds_float(document)):
            self._check_strictly(document)
        if self._dialect.strict_fields:
            self._reject_unknown_fields(given)
        return _build(document)

    def _check_strictly(self, document: dict[str, Any]) -> None:
        error = best_match(self._validator.iter_errors(document))
        if error is not None:
            raise InvalidRequest(describe(error))
        if not self._fast.is_valid(document):
            # jsonschema let it through where ECMA-262 regexes (the schema's own
            # dialect) do not, e.g. Python's `$` before a trailing newline.
            fast_error = next(iter(self._fast.iter_errors(document)))
            raise InvalidRequest(f"{_path(fast_error.instance_path) or 'body'}: is not valid")

    def _reject_unknown_fields(self, document: dict[str, Any]) -> None:
        unknown = _unknown(document, self._top_fields, "")
        unknown += _unknown(document["input"], self._input_fields, "input.")
        if unknown:
            raise InvalidRequest(f"{unknown[0]}: unknown field")


def parse_json_object(body: bytes, content_type: str | None) -> dict[str, Any]:
    """The body as a JSON object, or `InvalidRequest` saying what is wrong with it."""
    _media_checked(body, content_type)
    fast = _fast_object(body)
    return fast if fast is not None else _json_object(body)


def _media_checked(body: bytes, content_type: str | None) -> None:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise InvalidRequest(f"Content-Type must be application/json, not {media_type or 'none'}")


def _fast_object(body: bytes) -> dict[str, Any] | None:
    """The body read by orjson when that is what `json` would make of it, else None.

    orjson refuses whatever `json` reads differently (lone surrogates, NaN,
    a BOM, UTF-16, huge numbers as floats aside), so a refusal, a float
    (orjson reads an integer past 64 bits as one) or deep nesting leaves the
    body to `json`, which also words every error message.
    """
    if type(body) is not bytes or body.count(b"[") + body.count(b"{") > _FAST_BRACKETS:
        return None
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(document) is not dict or _holds_float(document):
        return None
    return document


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidRequest(f"body: not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise InvalidRequest(f"body: must be a JSON object, not {_json_type(document)}")
    try:
        # JSON may spell lone UTF-16 surrogates (\ud800) that no UTF-8 text can hold.
        json.dumps(document, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise InvalidRequest("body: contains an unpaired UTF-16 surrogate") from None
    return document


def errors_in_order(checker: Validator, document: Any) -> list[ValidationError]:
    """Every schema error of a document, in the order its fields appear there.

    A `oneOf`/`anyOf` error stands for its most relevant branch, as `best_match` picks it.
    """
    refined = (best_match([error]) for error in checker.iter_errors(document))
    found = [error for error in refined if error is not None]
    return sorted(found, key=lambda error: document_position(document, _at(error)))


def unexpected_keys(error: ValidationError) -> list[Any]:
    """The keys an `additionalProperties: false` error is about, in the document's order."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    given = error.instance if isinstance(error.instance, dict) else {}
    return [key for key in given if key not in schema.get("properties", {})]


def _at(error: ValidationError) -> list[Any]:
    """Where an error stands: an unknown key stands where it is, not at its object's start."""
    path = list(error.absolute_path)
    if error.validator == "additionalProperties":
        path += unexpected_keys(error)[:1]
    return path


def document_position(document: Any, path: Iterable[str | int]) -> tuple[int, ...]:
    """A sort key: where `path` lies in a parsed document (dicts keep JSON's and YAML's order).

    A path that leaves the document sorts at its last node that exists.
    """
    position: list[int] = []
    node = document
    for part in path:
        if isinstance(node, dict) and part in node:
            position.append(list(node).index(part))
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            position.append(part)
        else:
            break
        node = node[part]
    return tuple(position)


def describe(error: ValidationError) -> str:
    """`field.path: what is wrong`, naming the missing field for `required` errors."""
    path = _path(error.absolute_path)
    if error.validator == "required":
        missing = _missing_field(error)
        field = f"{path}.{missing}" if path else missing
        if "then" in error.schema_path:
            return f"{field}: is required when request_type is callback"
        return f"{field}: is required"
    field = path or "body"
    unknown = unexpected_keys(error) if error.validator == "additionalProperties" else []
    if unknown:
        return f"{_path([*error.absolute_path, unknown[0]])}: unknown field"
    if error.validator == "type":
        return f"{field}: must be of type {error.validator_value}, not {_json_type(error.instance)}"
    return f"{field}: {_explain(error)}"


def _explain(error: ValidationError) -> str:
    """What is wrong, without echoing a value that may be 10,000 characters long."""
    kind, limit = error.validator, error.validator_value
    value: Any = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    if "x-apixo-message" in schema:
        return str(schema["x-apixo-message"])
    if kind == "maxLength":
        return f"is {len(value)} characters long, at most {limit} allowed"
    if kind == "minLength":
        return f"must have at least {limit} character{'s' if limit != 1 else ''}"
    if kind == "maxItems":
        return f"has {len(value)} items, at most {limit} allowed"
    if kind == "pattern":
        return f"does not match {limit}"
    if kind == "format" and error.cause is not None:
        return f"is not a valid {limit} ({error.cause})"
    if kind in ("enum", "const"):
        allowed = limit if kind == "enum" else [limit]
        return f"{_short(value)} is not one of {allowed}"
    return str(error.message)


def _short(value: object) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _path(parts: Iterable[str | int]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _missing_field(error: ValidationError) -> str:
    instance = error.instance if isinstance(error.instance, dict) else {}
    required: list[str] = list(error.validator_value)  # type: ignore[arg-type]
    return next((name for name in required if name not in instance), required[0])


def _json_type(value: object) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}
    if value is None:
        return "null"
    return "object" if isinstance(value, dict) else names.get(type(value), type(value).__name__)


def _holds_float(document: Any) -> bool:
    """Whether a float sits anywhere in a document from `json.loads` (which makes exact types).

    Iterative, as the client chooses the depth; a few microseconds for a submit.
    """
    stack = [document]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is dict:
            stack.extend(node.values())
        elif kind is list:
            stack.extend(node)
        elif kind is float:
            return True
    return False


def _unknown(document: dict[str, Any], known: frozenset[str], prefix: str) -> list[str]:
    return [f"{prefix}{name}" for name in document if name not in known]


def _without_input_field(document: dict[str, Any], name: str) -> dict[str, Any]:
    given = document.get("input")
    if not isinstance(given, dict) or name not in given:
        return document
    return {**document, "input": {k: v for k, v in given.items() if k != name}}


def _build(document: dict[str, Any]) -> SubmitRequest:
    given = document["input"]
    # The schema has already made sure that nVariants agrees when both are given.
    num_images = given.get("num_images")
    count = num_images if num_images is not None else given.get("nVariants")
    return SubmitRequest(
        prompt=given["prompt"],
        aspect_ratio=given.get("aspect_ratio", "1:1"),
        num_images=int(count) if count is not None else 1,
        image_urls=tuple(given.get("image_urls", ())),
        request_type=document.get("request_type", "async"),
        callback_url=document.get("callback_url"),
        provider=document.get("provider", "auto"),
        mode=given["mode"],
        is_enhance=bool(given.get("isEnhance", False)),
    )
