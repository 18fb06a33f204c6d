"""The per-model part of the OpenAPI document: one typed submit and one status operation per pack.

Each pack's request schema becomes a component (`nano-banana-2` ->
`NanoBanana2Request`) so that code generators give every model its own
typed input. Pack schemas point at the shared schema files by absolute
`$id`; a `$ref` to a whole shared file becomes a component `$ref`, and one
into a file (`...submit-request.schema.json#/properties/provider`) is
inlined, because generators follow only `#/components/schemas/<Name>`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urldefrag, urljoin

from referencing import Registry

from .schemas import SCHEMA_BASE

if TYPE_CHECKING:
    from referencing._core import Resolver

    from .models import ModelPack

_SEPARATORS = re.compile(r"[^A-Za-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SHARED_FILE = re.compile(r"^([a-z0-9-]+\.schema\.json)$")


def words(model_id: str) -> list[str]:
    """`happyHorse` -> [happy, horse]; `seedance-2-0-fast` -> [seedance, 2, 0, fast]."""
    return [w.lower() for w in _SEPARATORS.split(_CAMEL.sub("-", model_id)) if w]


def operation_suffix(model_id: str, taken: Iterable[str] = ()) -> str:
    """`nano-banana-2` -> `nano_banana_2`, for operationIds `submit_<suffix>`/`status_<suffix>`.

    Ids that read the same (`nano-banana`, `nano_banana`) get `_2`, `_3`...
    so that no operationId in `taken` is used twice.
    """
    used = set(taken)
    stem = "_".join(words(model_id))
    suffix, number = stem, 1
    while f"submit_{suffix}" in used or f"status_{suffix}" in used:
        number += 1
        suffix = f"{stem}_{number}"
    return suffix


def request_component(model_id: str, taken: Iterable[str]) -> str:
    """A component name for the model's request, a valid identifier not in `taken`.

    `nano-banana-2` -> `NanoBanana2Request`. An id that starts with a digit
    gets a `Model` prefix; a clash (a pack called `submit` would take
    `SubmitRequest`) gets `Model` before `Request`, then a number.
    """
    stem = "".join(w.capitalize() for w in words(model_id))
    if not stem[:1].isalpha():
        stem = f"Model{stem}"
    used = set(taken)
    for candidate in (f"{stem}Request", f"{stem}ModelRequest"):
        if candidate not in used:
            return candidate
    number = 2
    while f"{stem}ModelRequest{number}" in used:
        number += 1
    return f"{stem}ModelRequest{number}"


def pack_schema(
    document: Mapping[str, Any],
    registry: Registry[Any],
    component_of: Callable[[str], str | None],
) -> dict[str, Any]:
    """A pack's request schema as a component: markers dropped, `$ref`s made local.

    `registry` resolves every `$ref` of the pack offline (the model
    registry's); `component_of` names the component of a whole shared
    schema file (`submit-request.schema.json` -> `SubmitRequest`), or None.
    """
    resolver = registry.resolver(base_uri=str(document["$id"]))
    copied: dict[str, Any] = _localize(document, str(document["$id"]), resolver, component_of)
    return copied


def _localize(
    node: Any, base: str, resolver: Resolver[Any], component_of: Callable[[str], str | None]
) -> Any:
    if isinstance(node, list):
        return [_localize(item, base, resolver, component_of) for item in node]
    if not isinstance(node, Mapping):
        return node
    copied = {
        key: _localize(value, base, resolver, component_of)
        for key, value in node.items()
        if key not in ("$id", "$schema")
    }
    reference = copied.pop("$ref", None)
    if not isinstance(reference, str):
        return copied
    target, fragment = urldefrag(urljoin(base, reference))
    shared = _SHARED_FILE.match(target.removeprefix(SCHEMA_BASE))
    component = component_of(shared.group(1)) if shared and not fragment else None
    if component is not None:
        return {"$ref": f"#/components/schemas/{component}", **copied}
    resolved = resolver.lookup(reference)
    inlined = _localize(resolved.contents, target, resolved.resolver, component_of)
    return {**inlined, **copied}


def model_operations(
    pack: ModelPack,
    request_refs: list[str],
    shared: tuple[Mapping[str, Any], Mapping[str, Any]],
    taken: Iterable[str],
) -> dict[str, dict[str, Any]]:
    """The two paths of one model, built on the shared submit and status operations.

    `shared` holds gpt-image-1's submit and status operations; the copies
    share their responses and differ in operationId (none in `taken`),
    summary and request body.
    """
    submit, status = shared
    suffix = operation_suffix(pack.id, taken)
    body = {"$ref": request_refs[0]} if len(request_refs) == 1 else {"oneOf": _refs(request_refs)}
    modes = ", ".join(pack.modes)
    post = {
        **submit,
        "operationId": f"submit_{suffix}",
        "summary": f"Submit a {pack.name} task",
        "description": f"Modes: {modes}. APIXO's page: {pack.docs_url}",
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
    }
    get = {
        **status,
        "operationId": f"status_{suffix}",
        "summary": f"A {pack.name} task's state and, once finished, its result",
    }
    return {
        f"/api/v1/generateTask/{pack.id}": {"post": post},
        f"/api/v1/statusTask/{pack.id}": {"get": get},
    }


def _refs(targets: list[str]) -> list[dict[str, str]]:
    return [{"$ref": target} for target in targets]
