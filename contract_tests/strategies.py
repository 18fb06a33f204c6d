"""Hypothesis strategies for submit bodies: valid ones from the schema, invalid ones by mutation.

Valid bodies come from schemas/submit-request.schema.json through
hypothesis-jsonschema (fed the draft-07 copy), then get what a schema cannot
say: no num_images/nVariants conflict, reference and callback URLs that are
plainly valid (a regex-valid host such as `http://%` is not a URL every
implementation must take), no mock trigger words in the prompt, and a
num_images the budget can pay for.

Invalid bodies are a valid body with exactly one `Mutation` (mutations.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from .budget import largest_count
from .mutations import BAD_URLS, FIELDS, IMAGE_COUNTS, PROMPT_MAX, Field, Mutation, conflict
from .schemas import draft07

# Where callbacks go when the suite has no receiver: .invalid never resolves (RFC 2606).
CALLBACK_SINK = "https://callback.invalid/apixo-contract"
TRIGGER = "mock:"
_KNOWN_ROOT = frozenset({"request_type", "callback_url", "provider", "input"})
_KNOWN_INPUT = frozenset(
    {"mode", "prompt", "aspect_ratio", "num_images", "nVariants", "isEnhance", "image_urls"}
)


def image_count(body: Mapping[str, Any]) -> int:
    """How many images a valid body asks for (num_images, its alias, or the default 1)."""
    given = body.get("input", {})
    return int(given.get("num_images", given.get("nVariants", 1)))


def aspect_ratio(body: Mapping[str, Any]) -> str:
    """The aspect ratio a valid body asks for (default 1:1)."""
    return str(body.get("input", {}).get("aspect_ratio", "1:1"))


def reference_urls() -> st.SearchStrategy[str]:
    """Plainly valid absolute http(s) URLs of JPG, PNG or WebP images."""
    return st.builds(
        "{}://{}/{}.{}".format,
        st.sampled_from(("http", "https")),
        st.sampled_from(("example.com", "images.example.org", "cdn.example.net")),
        st.from_regex(r"[a-z0-9][a-z0-9-]{0,11}", fullmatch=True),
        st.sampled_from(("png", "jpg", "jpeg", "webp")),
    )


@cache
def schema_bodies() -> st.SearchStrategy[Any]:
    """Bodies as the schema admits them (built once: compiling the schema is slow).

    The schema's num_images/nVariants agreement (an `allOf` of if/then under
    `input`) makes hypothesis-jsonschema generate by rejection, ten times
    slower; `_settle_count` makes the two agree instead, and tests/suite
    checks every generated body against the full 2020-12 schema.
    """
    schema = draft07("submit-request")
    schema["properties"]["input"].pop("allOf", None)
    return from_schema(schema)


@st.composite
def valid_bodies(
    draw: st.DrawFn,
    *,
    max_images: int = 4,
    callback_url: str = CALLBACK_SINK,
    extras: bool = True,
    reference_images: bool = True,
    alias: bool = True,
) -> dict[str, Any]:
    """A submit body the contract says must be accepted.

    `alias=False` spells the count `num_images` only: a target that may speak
    the nVariants dialect (dialects.py) is asked about the alias by one test.
    """
    drawn = draw(schema_bodies())
    assert isinstance(drawn, dict), "the schema only admits objects"
    body: dict[str, Any] = drawn
    given: dict[str, Any] = body["input"]
    given["prompt"] = given["prompt"].replace(TRIGGER, "mock-")
    _settle_count(given, max_images)
    if not alias and "nVariants" in given:
        given.setdefault("num_images", given["nVariants"])
        del given["nVariants"]
    if "image_urls" in given:
        given["image_urls"] = draw(st.lists(reference_urls(), max_size=5))
    if "image_urls" in given and not reference_images:
        del given["image_urls"]
    if body.get("request_type") == "callback" or "callback_url" in body:
        body["callback_url"] = callback_url
    if not extras:
        _drop_unknown(body)
    return body


def _settle_count(given: dict[str, Any], max_images: int) -> None:
    """One image count: the alias agrees with num_images and the budget can pay."""
    if "num_images" in given and "nVariants" in given:
        given["nVariants"] = given["num_images"]
    cap = largest_count(max_images)
    for name in ("num_images", "nVariants"):
        if name in given and given[name] > cap:
            given[name] = cap


def _drop_unknown(body: dict[str, Any]) -> None:
    for name in set(body) - _KNOWN_ROOT:
        del body[name]
    for name in set(body["input"]) - _KNOWN_INPUT:
        del body["input"][name]


def invalid_bodies(alias: bool = True) -> st.SearchStrategy[tuple[Mutation, dict[str, Any]]]:
    """A valid async body with exactly one thing broken, and the mutation that broke it
    (`alias=False`: no mutation of nVariants, which a target may not know)."""
    # One image at most: a lenient target bills what it wrongly accepts.
    base = valid_bodies(max_images=1, extras=False, reference_images=False).map(_plain)
    return st.tuples(mutations(alias), base).map(lambda pair: (pair[0], pair[0].apply(pair[1])))


def _plain(body: dict[str, Any]) -> dict[str, Any]:
    """An async body without the alias or the flag, so one mutation is the only fault."""
    body.pop("callback_url", None)
    body["request_type"] = "async"
    for name in ("nVariants", "isEnhance"):
        body["input"].pop(name, None)
    return body


def mutations(alias: bool = True) -> st.SearchStrategy[Mutation]:
    """Any single mutation of any field, with drawn values (of nVariants too if `alias`)."""
    fields = [item for item in FIELDS if alias or not item.is_alias]
    per_field = [_field_mutations(item) for item in fields]
    if not alias:
        return st.one_of(*per_field)
    conflicts = st.tuples(st.sampled_from(IMAGE_COUNTS), st.sampled_from(IMAGE_COUNTS))
    pairs = conflicts.filter(lambda pair: pair[0] != pair[1])
    return st.one_of(*per_field, pairs.map(lambda pair: conflict(*pair)))


def _field_mutations(item: Field) -> st.SearchStrategy[Mutation]:
    """Every way `item` can be wrong: missing (if required), wrong type, out of range."""
    options = [_wrong_types(item).map(lambda value: item.set_to("of a wrong type", value))]
    if item.required:
        options.append(st.just(item.removed()))
    if item.enum:
        options.append(_outside(item).map(lambda value: item.set_to("out of range", value)))
    special = _special(item)
    if special is not None:
        options.append(special.map(lambda value: item.set_to("out of range", value)))
    return st.one_of(*options)


def _wrong_types(item: Field) -> st.SearchStrategy[Any]:
    """JSON values of any type but the field's (null only where the field is required)."""
    by_kind: dict[str, st.SearchStrategy[Any]] = {
        "string": st.text(max_size=8),
        "integer": st.integers(-1000, 1000),
        # A fraction is never an integer; an integral float (2.0) is one in JSON Schema.
        "fraction": st.floats(-1000, 1000).filter(lambda x: not x.is_integer()),
        "boolean": st.booleans(),
        "array": st.lists(st.integers(), max_size=2),
        "object": st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    }
    others = [strategy for kind, strategy in by_kind.items() if kind != item.kind]
    if item.required:
        others.append(st.none())
    return st.one_of(*others)


def _outside(item: Field) -> st.SearchStrategy[Any]:
    """Values of the field's type that its enum does not list."""
    if item.kind == "integer":
        # Small: a target that wrongly accepts a count bills that many images.
        return st.integers(-3, 8).filter(lambda n: n not in item.enum)
    return st.text(max_size=12).filter(lambda text: text not in item.enum)


def _special(item: Field) -> st.SearchStrategy[Any] | None:
    """Field-specific bad values: prompt length, URL lists and URLs."""
    name = item.dotted
    if name == "input.prompt":
        too_long = st.integers(PROMPT_MAX + 1, PROMPT_MAX + 200).map(lambda n: "x" * n)
        return st.one_of(st.just(""), too_long)
    if name == "input.image_urls":
        too_many = st.lists(reference_urls(), min_size=6, max_size=8)
        one_bad = st.lists(_bad_urls(), min_size=1, max_size=1)
        good = st.lists(reference_urls(), max_size=4)
        return st.one_of(too_many, st.tuples(good, one_bad).map(lambda pair: pair[0] + pair[1]))
    if name == "callback_url":
        return _bad_urls()
    return None


def _bad_urls() -> st.SearchStrategy[str]:
    """Strings that are plainly not absolute http(s) URLs."""
    drawn = st.text(max_size=20).filter(
        lambda text: not text.strip().lower().startswith(("http://", "https://"))
    )
    return st.one_of(st.sampled_from(BAD_URLS), drawn)
