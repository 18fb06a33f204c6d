"""Single mutations of a valid submit body: each breaks exactly one rule and must get a 400.

A `Mutation` names the field it breaks, the rule, and the names an error
message may use for that field. `EXAMPLES` is the readable table the suite
runs as a parametrized test; strategies.py draws many more from `FIELDS`.
Values are kept as JSON text so the tables stay immutable.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MISSING = "<missing>"
MODE = "gpt-image-1"
ASPECT_RATIOS = ("1:1", "3:2", "2:3")
IMAGE_COUNTS = (1, 2, 4)
PROMPT_MAX = 10_000
ALIAS = "nVariants"  # another docs version's name for num_images (a dialect: see dialects.py)
BASE_BODY_JSON = (
    '{"request_type": "async", "provider": "auto", "input": {"mode": "gpt-image-1",'
    ' "prompt": "a lighthouse on a cliff at dusk, watercolour", "aspect_ratio": "1:1",'
    ' "num_images": 1}}'
)
Setting = tuple[tuple[str, ...], str]


def base_body() -> dict[str, Any]:
    """A fresh copy of a plain valid body (async, 1 image, 1:1)."""
    return dict(json.loads(BASE_BODY_JSON))


@dataclass(frozen=True, slots=True)
class Mutation:
    """One thing wrong with an otherwise valid body."""

    rule: str
    label: str
    path: tuple[str, ...]
    value_json: str = MISSING
    names: tuple[str, ...] = ()
    also: tuple[Setting, ...] = ()

    @property
    def is_alias(self) -> bool:
        """Whether it is about nVariants (a target speaking that dialect ignores it)."""
        return self.path[-1] == ALIAS

    def apply(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of `body` with this mutation (and the settings it needs) applied."""
        broken = copy.deepcopy(dict(body))
        for path, value_json in self.also:
            _put(broken, path, value_json)
        _put(broken, self.path, self.value_json)
        return broken

    @property
    def field_names(self) -> tuple[str, ...]:
        """The names an error message may use for the broken field."""
        return self.names or (self.path[-1],)


def _put(body: dict[str, Any], path: tuple[str, ...], value_json: str) -> None:
    """Set (or, for MISSING, remove) the value at `path`, creating `input` if needed."""
    parent = body
    for name in path[:-1]:
        if not isinstance(parent.get(name), dict):
            parent[name] = {}
        parent = parent[name]
    if value_json == MISSING:
        parent.pop(path[-1], None)
    else:
        parent[path[-1]] = json.loads(value_json)


@dataclass(frozen=True, slots=True)
class Field:
    """A field of the submit body and the rule its bad values break."""

    path: tuple[str, ...]
    rule: str
    kind: str  # object, string, integer, boolean or array
    required: bool = False
    enum: tuple[Any, ...] = ()
    also: tuple[Setting, ...] = ()

    @property
    def dotted(self) -> str:
        """`input.num_images`."""
        return ".".join(self.path)

    @property
    def is_alias(self) -> bool:
        """Whether this is nVariants, which a target speaking that dialect does not know."""
        return self.path[-1] == ALIAS

    def set_to(self, label: str, value: Any) -> Mutation:
        """This field set to `value`."""
        return Mutation(
            self.rule, f"{self.dotted} {label}", self.path, json.dumps(value), (), self.also
        )

    def removed(self) -> Mutation:
        """This (required) field left out."""
        return Mutation(self.rule, f"{self.dotted} missing", self.path, MISSING, (), self.also)


_CALLBACK: tuple[Setting, ...] = ((("request_type",), '"callback"'),)
FIELDS: tuple[Field, ...] = (
    Field(("input",), "submit.input-400", "object", required=True),
    Field(("input", "mode"), "submit.mode-400", "string", required=True, enum=(MODE,)),
    Field(("input", "prompt"), "submit.prompt-400", "string", required=True),
    Field(("input", "aspect_ratio"), "submit.aspect-ratio-400", "string", enum=ASPECT_RATIOS),
    Field(("input", "num_images"), "submit.num-images-400", "integer", enum=IMAGE_COUNTS),
    Field(("input", "nVariants"), "submit.num-images-400", "integer", enum=IMAGE_COUNTS),
    Field(("input", "isEnhance"), "alias.is-enhance-type-400", "boolean"),
    Field(("input", "image_urls"), "submit.image-urls-400", "array"),
    Field(("request_type",), "submit.request-type-400", "string", enum=("async", "callback")),
    Field(("provider",), "submit.provider-400", "string", enum=("auto", "value", "official")),
    Field(("callback_url",), "submit.callback-url-400", "string", required=True, also=_CALLBACK),
)
# Strings that are plainly not absolute http(s) URLs.
BAD_URLS = (
    "",
    "/relative/ref.png",
    "example.com/ref.png",
    "ftp://example.com/ref.png",
    "file:///etc/passwd",
    "data:image/png;base64,iVBORw0KGgo=",
    "javascript:alert(1)",
    "http://",
)
GOOD_URL = "https://example.com/apixo-contract/ref.png"


def field(dotted: str) -> Field:
    """A field of FIELDS by dotted path, e.g. `field("input.num_images")`."""
    return next(item for item in FIELDS if item.dotted == dotted)


def conflict(num_images: int, n_variants: int) -> Mutation:
    """num_images and its alias nVariants both given and different."""
    return Mutation(
        "alias.nvariants-conflict-400",
        f"input.num_images {num_images} with nVariants {n_variants}",
        ("input", "nVariants"),
        json.dumps(n_variants),
        ("nVariants", "num_images"),
        ((("input", "num_images"), json.dumps(num_images)),),
    )


def _input_examples() -> tuple[Mutation, ...]:
    """Single mutations of `input` and its fields."""
    f = field
    return (
        f("input").removed(),
        f("input").set_to("a string", "a cat"),
        f("input").set_to("an array", []),
        f("input.mode").removed(),
        f("input.mode").set_to("unknown", "gpt-image-2"),
        f("input.mode").set_to("a number", 1),
        f("input.prompt").removed(),
        f("input.prompt").set_to("empty", ""),
        f("input.prompt").set_to(f"{PROMPT_MAX + 1} characters", "x" * (PROMPT_MAX + 1)),
        f("input.prompt").set_to("a number", 42),
        f("input.aspect_ratio").set_to("4:3", "4:3"),
        f("input.aspect_ratio").set_to("a number", 1.5),
        f("input.num_images").set_to("3", 3),
        f("input.num_images").set_to("0", 0),
        f("input.num_images").set_to("5", 5),
        f("input.num_images").set_to("a string", "2"),
        f("input.num_images").set_to("a fraction", 2.5),
        f("input.num_images").set_to("a boolean", True),
        f("input.nVariants").set_to("3", 3),
        f("input.nVariants").set_to("a string", "4"),
        conflict(1, 2),
        f("input.isEnhance").set_to("a string", "yes"),
        f("input.isEnhance").set_to("a number", 1),
        f("input.image_urls").set_to("6 URLs", [GOOD_URL] * 6),
        f("input.image_urls").set_to("a string", GOOD_URL),
        f("input.image_urls").set_to("a number item", [123]),
        f("input.image_urls").set_to("a relative URL", ["/relative/ref.png"]),
        f("input.image_urls").set_to("an ftp URL", ["ftp://example.com/ref.png"]),
    )


def _top_level_examples() -> tuple[Mutation, ...]:
    """Single mutations of request_type, provider and the callback combination."""
    f = field
    return (
        f("request_type").set_to("unknown", "sync"),
        f("request_type").set_to("a number", 1),
        f("provider").set_to("unknown", "cheapest"),
        f("provider").set_to("a boolean", True),
        f("callback_url").removed(),
        f("callback_url").set_to("not a URL", "not a url"),
        f("callback_url").set_to("an ftp URL", "ftp://example.com/callback"),
        f("callback_url").set_to("a number", 123),
    )


# The readable table of single mutations, one or more per way a field can be wrong.
EXAMPLES: tuple[Mutation, ...] = _input_examples() + _top_level_examples()
