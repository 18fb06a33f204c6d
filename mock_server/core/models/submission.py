"""Submits to every model but gpt-image-1: the pack's schema decides, the core gets a SubmitRequest.

gpt-image-1 keeps its own validator (core/validation.py: the nVariants alias,
the dialects, strict fields). Any other model's body is checked against its
pack's request schema, with the same message style (`input.field: why`), and
becomes the general request record the rest of the core reads: the prompt,
every URL of the input (reference checks and triggers look at them), the
aspect ratio and resolution, the output count, and the raw input with the
files a success produces. Price and timing come from the pack too.

The registry is read on first use (about 0.3 s for the shipped packs), so a
service that only ever serves gpt-image-1 never pays for it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jsonschema.exceptions import ValidationError, best_match
from jsonschema.protocols import Validator

from ..errors import InvalidRequest
from ..schemas import StrictValidator
from ..timing import Timing
from ..validation import GPT_IMAGE_1, SubmitRequest, describe, parse_json_object
from .manifest import ModelPack, OutputSpec
from .outputs import outputs_for
from .pricing import Prices, price_micros
from .registry import ModelRegistry

_URL_SCHEMES = ("http://", "https://")


class ServedModels:
    """The model packs one service serves, and what a submit needs from them."""

    def __init__(self, load: Callable[[], ModelRegistry]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._registry: ModelRegistry | None = None
        self._validators: Mapping[tuple[str, str], Validator] = MappingProxyType({})

    @classmethod
    def of(cls, folders: Sequence[str], registry: ModelRegistry | None = None) -> ServedModels:
        """`registry` if given, else the shipped packs plus those under `folders`, read lazily."""
        if registry is not None:
            given = registry
            return cls(lambda: given)
        extra = [Path(folder) for folder in folders]
        return cls(lambda: ModelRegistry.load(extra=extra))

    @property
    def registry(self) -> ModelRegistry:
        """Every pack, loaded (and checked) on first use."""
        registry = self._registry
        if registry is None:
            with self._lock:
                if self._registry is None:
                    loaded = self._load()
                    self._validators = _strict_validators(loaded)
                    self._registry = loaded
                registry = self._registry
        return registry

    def __contains__(self, model_id: object) -> bool:
        return model_id in self.registry

    def __iter__(self) -> Iterator[ModelPack]:
        return iter(self.registry)

    def parse(self, model_id: str, body: bytes, content_type: str | None) -> SubmitRequest:
        """Validate a raw body for `model_id`; raises `InvalidRequest` naming the field."""
        pack = self.registry.get(model_id)
        document = parse_json_object(body, content_type)
        _check_mode(pack, document)
        validator = self._validator(pack, document)
        error = best_match(validator.iter_errors(document))
        if error is not None:
            raise InvalidRequest(explain(error, validator.schema))
        return build_request(pack, document)

    def price_micros(self, request: SubmitRequest, prices: Prices | None = None) -> int:
        """What a request to a model other than gpt-image-1 costs, by its pack's price rule."""
        return price_micros(self.registry.get(request.model), {"input": request.input}, prices)

    def timing(self, model_id: str, profile: str) -> Timing:
        """The model's timing under the server's profile."""
        return self.registry.get(model_id).timing.profile(profile)

    def _validator(self, pack: ModelPack, document: Mapping[str, Any]) -> Validator:
        """The mode's validator (the first mode's while `input` is not an object)."""
        given = document.get("input")
        mode = given.get("mode") if isinstance(given, dict) else None
        name = mode if isinstance(mode, str) and mode in pack.modes else next(iter(pack.modes))
        return self._validators[(pack.id, pack.modes[name].request)]


def _check_mode(pack: ModelPack, document: Mapping[str, Any]) -> None:
    """The mode is named first: every other rule of the input depends on it."""
    given = document.get("input")
    if not isinstance(given, dict):
        return  # the schema says what is wrong with `input` itself
    if "mode" not in given:
        raise InvalidRequest("input.mode: is required")
    mode = given["mode"]
    if not isinstance(mode, str) or mode not in pack.modes:
        raise InvalidRequest(f"input.mode: {_short(mode)} is not one of {list(pack.modes)}")


def explain(error: ValidationError, schema: Any) -> str:
    """`field: why` as core/validation.py words it; a conditional `required` names its condition."""
    condition = _condition(error, schema) if error.validator == "required" else None
    if condition is None:
        return describe(error)
    field = describe(error).split(": ", 1)[0]
    return f"{field}: is required when {condition}"


def _condition(error: ValidationError, schema: Any) -> str | None:
    """The `if` a `then: {required}` error hangs on, as `input.mode is image-to-video`."""
    path = list(error.schema_path)
    if "then" not in path:
        return None
    node = schema
    for part in path[: len(path) - 1 - path[::-1].index("then")]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    test = node.get("if") if isinstance(node, dict) else None
    if not isinstance(test, dict):
        return None
    prefix = "".join(f"{part}." for part in error.absolute_path)
    tests = [_one_test(prefix + name, rule) for name, rule in test.get("properties", {}).items()]
    return " and ".join(tests) or None


def _one_test(field: str, rule: Any) -> str:
    if isinstance(rule, dict) and "const" in rule:
        value = rule["const"]
        return f"{field} is {value if isinstance(value, str) else json.dumps(value)}"
    if isinstance(rule, dict) and "enum" in rule:
        return f"{field} is one of {rule['enum']}"
    return f"{field} fits {json.dumps(rule)}"


def _short(value: object) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _strict_validators(registry: ModelRegistry) -> Mapping[tuple[str, str], Validator]:
    # Strict as every validator of the mock: `integer` takes no 2.0 (core/schemas.py).
    return MappingProxyType(
        {
            (pack.id, name): StrictValidator(document, registry=registry.schema_registry)
            for pack in registry
            for name, document in pack.request_schemas.items()
        }
    )


def build_request(pack: ModelPack, body: Mapping[str, Any]) -> SubmitRequest:
    """The request record of a body that passed `pack`'s request schema."""
    given = body["input"]
    spec = pack.mode(given["mode"]).output
    outputs = outputs_for(pack, body)
    prompt = given.get("prompt")
    aspect_ratio, resolution = _shape(spec, given)
    return SubmitRequest(
        prompt=prompt if isinstance(prompt, str) else "",
        aspect_ratio=aspect_ratio,
        num_images=len(outputs),
        image_urls=tuple(_urls(given)),
        request_type=body.get("request_type", "async"),
        callback_url=body.get("callback_url"),
        provider=body.get("provider", pack.provider.default),
        mode=given["mode"],
        model=pack.id,
        resolution=resolution,
        input=MappingProxyType(dict(given)),
        outputs=outputs,
    )


def image_references(request: SubmitRequest) -> tuple[str, ...]:
    """The URLs a fetch-mode check downloads and judges as images.

    gpt-image-1's `image_urls`; for other models the URLs of image fields
    only, since a video, audio or LoRA URL is no image to judge by magic bytes.
    """
    if request.model == GPT_IMAGE_1:
        return request.image_urls
    images = {name: value for name, value in request.input.items() if "image" in name.lower()}
    return tuple(_urls(images))


def lora_references(request: SubmitRequest) -> tuple[str, ...]:
    """The URLs of LoRA models the input names (ltx-2-19b's `lora_url`)."""
    loras = {name: value for name, value in request.input.items() if "lora" in name.lower()}
    return tuple(_urls(loras))


def _shape(spec: OutputSpec, given: Mapping[str, Any]) -> tuple[str, str | None]:
    """The aspect ratio and resolution asked for (or the pack's defaults); audio has neither."""
    if spec.size is None:
        return "", None
    aspect = spec.size.aspect_ratio
    ratio = next((given[f] for f in aspect.fields if f in given), aspect.default)
    rule = spec.size.resolution
    if rule is None:
        return str(ratio), None
    resolution = next((given[f] for f in rule.fields if f in given), rule.default)
    return str(ratio), str(resolution)


def _urls(given: Mapping[str, Any]) -> Iterator[str]:
    """Every URL the input names (image_urls, video_urls, lora_url, ...), in field order."""
    for name, value in given.items():
        if "url" not in name.lower():
            continue
        for url in value if isinstance(value, list) else [value]:
            if isinstance(url, str) and url.startswith(_URL_SCHEMES):
                yield url
