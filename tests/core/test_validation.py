"""Submit validation: defaults, one precise 400 per mistake, dialects, and the docs' examples."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server.core.errors import InvalidRequest
from mock_server.core.validation import Dialect, SubmitRequest, SubmitValidator

JSON = "application/json"
VALID_INPUT: Mapping[str, Any] = MappingProxyType({"mode": "gpt-image-1", "prompt": "a red fox"})
DEFAULT_DIALECT = Dialect()
FAST = settings(max_examples=25, derandomize=True, deadline=None, database=None)


def document(top: dict[str, Any] | None = None, **input_fields: Any) -> dict[str, Any]:
    """A valid submit document with some input fields changed (None removes one)."""
    given_input = {**VALID_INPUT, **input_fields}
    return {**(top or {}), "input": {k: v for k, v in given_input.items() if v is not None}}


def encode(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def parse(
    doc: Any, dialect: Dialect = DEFAULT_DIALECT, content_type: str | None = JSON
) -> SubmitRequest:
    return SubmitValidator(dialect).parse(encode(doc), content_type)


def refusal(doc: Any, dialect: Dialect = DEFAULT_DIALECT) -> InvalidRequest:
    return body_refusal(SubmitValidator(dialect), encode(doc))


def body_refusal(
    validator: SubmitValidator, body: bytes, content_type: str | None = JSON
) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        validator.parse(body, content_type)
    assert caught.value.status == 400
    return caught.value


# -- what is accepted --------------------------------------------------------------


def test_minimal_body_gets_the_contract_defaults() -> None:
    assert parse(document()) == SubmitRequest(
        prompt="a red fox",
        aspect_ratio="1:1",
        num_images=1,
        image_urls=(),
        request_type="async",
        callback_url=None,
        provider="auto",
        mode="gpt-image-1",
        is_enhance=False,
    )


def test_text_to_image_docs_example_parses(
    repo_root: Path, submit_validator: SubmitValidator
) -> None:
    path = repo_root / "fixtures/examples/submit-text-to-image.request.json"
    request = submit_validator.parse(path.read_bytes(), JSON)
    assert request == SubmitRequest(
        prompt="a cozy cyberpunk cafe with neon lights", aspect_ratio="3:2", num_images=2
    )


def test_reference_guided_docs_example_parses(
    repo_root: Path, submit_validator: SubmitValidator
) -> None:
    path = repo_root / "fixtures/examples/submit-reference-guided.request.json"
    request = submit_validator.parse(path.read_bytes(), JSON)
    assert request == SubmitRequest(
        prompt="a futuristic cityscape at sunset",
        aspect_ratio="3:2",
        num_images=4,
        image_urls=("https://example.com/ref1.jpg", "https://example.com/ref2.jpg"),
        provider="official",
    )


def test_callback_request_keeps_its_url() -> None:
    top = {"request_type": "callback", "callback_url": "http://127.0.0.1:9000/hook"}
    request = parse(document(top))
    assert request.request_type == "callback"
    assert request.callback_url == "http://127.0.0.1:9000/hook"


def test_prompt_of_exactly_10000_characters_is_accepted() -> None:
    assert len(parse(document(prompt="x" * 10_000)).prompt) == 10_000


def test_five_image_urls_are_accepted() -> None:
    urls = [f"https://example.com/{n}.png" for n in range(5)]
    assert parse(document(image_urls=urls)).image_urls == tuple(urls)


@pytest.mark.parametrize(
    "content_type", [JSON, "application/json; charset=utf-8", "Application/JSON"]
)
def test_json_content_types_are_accepted(content_type: str) -> None:
    assert parse(document(), content_type=content_type).prompt == "a red fox"


@given(prompt=st.text(min_size=1, max_size=10_000))
@FAST
def test_any_prompt_of_1_to_10000_characters_is_accepted(prompt: str) -> None:
    assert parse(document(prompt=prompt)).prompt == prompt


@pytest.mark.parametrize("count", [1, 2, 4])
def test_each_allowed_image_count_is_accepted(count: int) -> None:
    assert parse(document(num_images=count)).num_images == count


@pytest.mark.parametrize("ratio", ["1:1", "3:2", "2:3"])
def test_each_aspect_ratio_is_accepted(ratio: str) -> None:
    assert parse(document(aspect_ratio=ratio)).aspect_ratio == ratio


# -- one mistake, one precise refusal ----------------------------------------------

MISTAKES: tuple[tuple[str, dict[str, Any], str], ...] = (
    ("missing-input", {"provider": "auto"}, "input: "),
    ("input-not-object", {"input": "draw a fox"}, "input: "),
    ("missing-prompt", document(prompt=None), "input.prompt: "),
    ("empty-prompt", document(prompt=""), "input.prompt: "),
    ("prompt-too-long", document(prompt="x" * 10_001), "input.prompt: "),
    ("prompt-not-string", document(prompt=42), "input.prompt: "),
    ("missing-mode", document(mode=None), "input.mode: "),
    ("unknown-mode", document(mode="dall-e-3"), "input.mode: "),
    ("six-image-urls", document(image_urls=["https://e.com/a.png"] * 6), "input.image_urls: "),
    ("ftp-image-url", document(image_urls=["ftp://e.com/a.png"]), "input.image_urls[0]: "),
    ("relative-image-url", document(image_urls=["/a.png"]), "input.image_urls[0]: "),
    ("second-url-bad", document(image_urls=["https://e.com/a.png", "x"]), "input.image_urls[1]: "),
    ("num-images-3", document(num_images=3), "input.num_images: "),
    ("num-images-string", document(num_images="2"), "input.num_images: "),
    ("num-images-true", document(num_images=True), "input.num_images: "),
    ("unknown-aspect-ratio", document(aspect_ratio="16:9"), "input.aspect_ratio: "),
    ("unknown-provider", document({"provider": "cheapest"}), "provider: "),
    ("unknown-request-type", document({"request_type": "sync"}), "request_type: "),
    ("callback-without-url", document({"request_type": "callback"}), "callback_url: "),
    ("callback-url-not-http", document({"callback_url": "mailto:a@b.c"}), "callback_url: "),
    ("is-enhance-not-boolean", document(isEnhance="yes"), "input.isEnhance: "),
    ("nvariants-not-allowed", document(nVariants=3), "input.nVariants: "),
)


@pytest.mark.parametrize(("doc", "prefix"), [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_single_mistake_is_a_400_naming_the_field(doc: dict[str, Any], prefix: str) -> None:
    error = refusal(doc)
    assert error.error.startswith(prefix), error.error
    assert error.data == {"error": error.error}
    assert error.message == "Invalid request"


def test_num_images_error_reads_as_in_the_contract() -> None:
    assert refusal(document(num_images=3)).error == "input.num_images: 3 is not one of [1, 2, 4]"


def test_missing_prompt_says_it_is_required() -> None:
    assert refusal(document(prompt=None)).error == "input.prompt: is required"


def test_callback_without_url_says_when_it_is_required() -> None:
    error = refusal(document({"request_type": "callback"})).error
    assert error == "callback_url: is required when request_type is callback"


def test_too_long_prompt_is_not_echoed_back() -> None:
    error = refusal(document(prompt="x" * 10_001)).error
    assert len(error) < 200
    assert "10001" in error


def test_long_unknown_enum_value_is_shortened() -> None:
    error = refusal(document(aspect_ratio="9" * 5_000)).error
    assert error.startswith("input.aspect_ratio: ")
    assert len(error) < 200


@given(
    count=st.one_of(st.integers(), st.floats(allow_nan=False)).filter(lambda n: n not in (1, 2, 4))
)
@FAST
def test_any_image_count_outside_1_2_4_is_refused(count: float) -> None:
    assert refusal(document(num_images=count)).error.startswith("input.num_images: ")


# -- the body itself ---------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"", b"\xff\xfe\x00", b'{"input": '],
    ids=["garbage", "empty", "bad-encoding", "truncated"],
)
def test_body_that_is_not_json_is_a_400(body: bytes, submit_validator: SubmitValidator) -> None:
    assert body_refusal(submit_validator, body).error.startswith("body: not valid JSON")


@pytest.mark.parametrize(
    ("body", "kind"),
    [(b"[1, 2]", "array"), (b'"text"', "string"), (b"null", "null"), (b"3", "integer")],
)
def test_body_that_is_not_an_object_is_a_400(
    body: bytes, kind: str, submit_validator: SubmitValidator
) -> None:
    error = body_refusal(submit_validator, body).error
    assert error == f"body: must be a JSON object, not {kind}"


def test_deeply_nested_body_is_a_400(submit_validator: SubmitValidator) -> None:
    with pytest.raises(InvalidRequest):
        submit_validator.parse(b"[" * 100_000 + b"]" * 100_000, JSON)


@pytest.mark.parametrize(
    ("content_type", "named"),
    [("text/plain", "text/plain"), (None, "none"), ("", "none"), ("multipart/form-data", None)],
    ids=["text-plain", "no-header", "empty-header", "form"],
)
def test_non_json_content_type_is_a_400(
    content_type: str | None, named: str | None, submit_validator: SubmitValidator
) -> None:
    error = body_refusal(submit_validator, encode(document()), content_type).error
    assert error.startswith("Content-Type must be application/json")
    if named is not None:
        assert error.endswith(f"not {named}")


# -- docs versions that disagree ---------------------------------------------------


def test_nvariants_alone_sets_the_image_count() -> None:
    assert parse(document(nVariants=4)).num_images == 4


def test_nvariants_equal_to_num_images_is_accepted() -> None:
    assert parse(document(nVariants=2, num_images=2)).num_images == 2


def test_nvariants_disagreeing_with_num_images_is_a_400() -> None:
    error = refusal(document(nVariants=2, num_images=4)).error
    assert error.startswith("input.nVariants: ")
    assert "num_images" in error


def test_nvariants_is_ignored_when_the_dialect_does_not_accept_it() -> None:
    no_alias = Dialect(accept_nvariants=False)
    assert parse(document(nVariants=4), no_alias).num_images == 1
    assert parse(document(nVariants="junk", num_images=2), no_alias).num_images == 2


@pytest.mark.parametrize("flag", [True, False])
def test_boolean_is_enhance_is_accepted(flag: bool) -> None:
    assert parse(document(isEnhance=flag)).is_enhance is flag


# -- unknown fields ----------------------------------------------------------------


def test_unknown_fields_are_ignored_by_default() -> None:
    doc = document({"webhook": "x", "extra": {"a": 1}}, style="vivid")
    assert parse(doc).prompt == "a red fox"


@pytest.mark.parametrize(
    ("doc", "field"),
    [(document({"webhook": "x"}), "webhook"), (document(style="vivid"), "input.style")],
    ids=["top-level", "in-input"],
)
def test_strict_dialect_rejects_an_unknown_field_by_name(doc: dict[str, Any], field: str) -> None:
    error = refusal(doc, Dialect(strict_fields=True)).error
    assert error == f"{field}: unknown field"


def test_strict_dialect_accepts_every_documented_field() -> None:
    doc = document(
        {"request_type": "callback", "callback_url": "https://e.com/h", "provider": "value"},
        aspect_ratio="2:3",
        num_images=2,
        nVariants=2,
        isEnhance=True,
        image_urls=["https://e.com/a.webp"],
    )
    assert parse(doc, Dialect(strict_fields=True)).num_images == 2


def test_strict_dialect_without_the_alias_rejects_nvariants() -> None:
    error = refusal(document(nVariants=2), Dialect(accept_nvariants=False, strict_fields=True))
    assert error.error == "input.nVariants: unknown field"
