"""orjson reads submit bodies and writes answers, and nothing changes by a byte.

The fast reader hands `json` every body it would read differently (lone
surrogates, NaN, a BOM, UTF-16, integers past 64 bits, deep nesting), and the
fast writer every document it would write differently (floats, other types).
The last test of each kind proves that the fast path is the one taken.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mock_server.core.errors import InvalidRequest
from mock_server.core.validation import SubmitValidator, parse_json_object
from mock_server.core.wire import dumps

JSON = "application/json"
TRICKY_BODIES = [
    b'{"a": 1, "a": 2, "b": 3}',
    b'{"a": 18446744073709551615, "b": -9223372036854775808}',
    b'{"a": 18446744073709551616}',  # orjson would read a float
    b'{"a": -18446744073709551617}',
    b'{"a": 1' + b"0" * 5000 + b"}",  # past Python's digit limit
    b'{"a": 1e400}',
    b'{"a": NaN, "b": -Infinity}',
    b'{"a": -0, "b": -0.0, "c": 2.5e-7, "d": 2.0}',
    b'{"a": "\\ud800"}',
    b'{"a": "\\udc00x"}',
    b'{"a": "\xed\xa0\x80"}',
    b"\xef\xbb\xbf{}",
    '{"a": "é"}'.encode("utf-16"),
    b'{"a": "\x01"}',
    b'{"a": "\x7f\\u0000\\/"}',
    b'{"a": "\xff"}',
    b" {} ",
    b"",
    b"[1, 2]",
    b"null",
    b'{"a": [' * 150 + b"]}" * 150,
    b'{"a": [' * 2000 + b"]}" * 2000,
    b'{"a": {}} x',
]


def _reference(body: bytes) -> Any:
    """What the body was read as before orjson: `json`'s object, or its error message."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        return f"error {type(exc).__name__}"


@pytest.mark.parametrize("body", TRICKY_BODIES, ids=lambda body: repr(body[:24]))
def test_tricky_bodies_read_as_json_reads_them(body: bytes) -> None:
    try:
        found: Any = parse_json_object(body, JSON)
    except InvalidRequest:
        reference = _reference(body)
        assert (
            isinstance(reference, str)
            or not isinstance(reference, dict)
            or (_has_surrogate(reference))
        )
        return
    expected = json.loads(body)
    assert found == expected
    assert json.dumps(found) == json.dumps(expected)  # same types: 2 stays 2, 2.0 stays 2.0


def _has_surrogate(document: Any) -> bool:
    return "\\ud" in json.dumps(document)


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(), _containers))
def test_any_object_reads_as_json_reads_it(value: Any) -> None:
    body = json.dumps({"value": value}, ensure_ascii=False).encode("utf-8", "surrogatepass")
    try:
        expected = json.loads(body)
        json.dumps(expected, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        with pytest.raises(InvalidRequest):
            parse_json_object(body, JSON)
        return
    found = parse_json_object(body, JSON)
    assert json.dumps(found) == json.dumps(expected)


def test_error_messages_are_jsons() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_json_object(b'{"a": }', JSON)
    assert "Expecting value: line 1 column 7 (char 6)" in str(caught.value.data)


def test_a_plain_submit_is_read_without_the_json_module(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("json module used")

    validator = SubmitValidator()  # reads its schema with json
    monkeypatch.setattr(json, "loads", refuse)
    monkeypatch.setattr(json, "dumps", refuse)
    request = validator.parse(
        b'{"input": {"mode": "gpt-image-1", "prompt": "a cat", "num_images": 2}}', JSON
    )
    assert (request.prompt, request.num_images) == ("a cat", 2)


def test_a_float_in_a_submit_is_still_judged_strictly() -> None:
    body = b'{"input": {"mode": "gpt-image-1", "prompt": "a", "num_images": 2.0}}'
    with pytest.raises(InvalidRequest) as caught:
        SubmitValidator().parse(body, JSON)
    assert caught.value.data == {"error": "input.num_images: must be of type integer, not number"}


def _json_bytes(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def test_every_character_is_written_as_json_writes_it() -> None:
    text = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    document = {"k": text, text[:300]: [text[::7]]}
    assert dumps(document) == _json_bytes(document)


@pytest.mark.parametrize(
    "document",
    [
        {"a": [1, -1, 2**53, 2**63 - 1, 2**64 - 1, -(2**63)], "b": [True, False, None]},
        {"big": 2**64, "neg": -(2**63) - 1},
        {"float": [0.1, 1e-05, 1e16, -0.0, 100.0, 5e-324]},
        {1: "int key", None: "null key", False: "bool key"},
        ("tuple", "stays", ["a", "list"]),
        [],
        "text",
        {"nested": {"deeper": [{"x": ""}]}},
    ],
    ids=repr,
)
def test_documents_are_written_as_json_writes_them(document: Any) -> None:
    assert dumps(document) == _json_bytes(document)


def test_a_lone_surrogate_fails_as_before() -> None:
    with pytest.raises(UnicodeEncodeError):
        dumps({"a": "\ud800"})


def test_a_plain_document_is_written_without_the_json_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("json module used")

    monkeypatch.setattr(json, "dumps", refuse)
    assert dumps({"code": 200, "message": "success", "data": {"taskId": "task_1"}}) == (
        b'{"code":200,"message":"success","data":{"taskId":"task_1"}}'
    )
