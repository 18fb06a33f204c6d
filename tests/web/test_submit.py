"""POST /api/v1/generateTask/gpt-image-1 through the Flask test client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from mock_server.core.schemas import validator
from tests.conftest import AUTH, SUBMIT, submit_body

EXAMPLES = Path(__file__).parents[2] / "fixtures" / "examples"


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.request.json")))
def test_docs_request_examples_are_accepted(client: FlaskClient, name: str) -> None:
    response = client.post(
        SUBMIT,
        data=(EXAMPLES / name).read_bytes(),
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status_code == 200
    body = response.get_json()
    assert list(validator("submit-response").iter_errors(body)) == []
    assert body["data"]["taskId"].startswith("task_")


INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("missing-input", {}, "input"),
    ("missing-prompt", {"input": {"mode": "gpt-image-1"}}, "input.prompt"),
    ("missing-mode", {"input": {"prompt": "x"}}, "input.mode"),
    ("wrong-mode", submit_body(mode="dall-e"), "input.mode"),
    ("empty-prompt", submit_body(prompt=""), "input.prompt"),
    ("long-prompt", submit_body(prompt="x" * 10001), "input.prompt"),
    ("prompt-not-string", submit_body(prompt=5), "input.prompt"),
    ("num-images-3", submit_body(num_images=3), "input.num_images"),
    ("num-images-string", submit_body(num_images="2"), "input.num_images"),
    ("bad-aspect", submit_body(aspect_ratio="16:9"), "input.aspect_ratio"),
    ("six-urls", submit_body(image_urls=["https://a.example/x.png"] * 6), "input.image_urls"),
    ("ftp-url", submit_body(image_urls=["ftp://a.example/x.png"]), "input.image_urls[0]"),
    ("relative-url", submit_body(image_urls=["/x.png"]), "input.image_urls[0]"),
    ("urls-not-array", submit_body(image_urls="https://a.example/x.png"), "input.image_urls"),
    ("bad-provider", {**submit_body(), "provider": "cheap"}, "provider"),
    ("bad-request-type", {**submit_body(), "request_type": "sync"}, "request_type"),
    ("callback-without-url", {**submit_body(), "request_type": "callback"}, "callback_url"),
    (
        "callback-url-not-http",
        {**submit_body(), "request_type": "callback", "callback_url": "mailto:x@y.z"},
        "callback_url",
    ),
    ("is-enhance-string", submit_body(isEnhance="yes"), "input.isEnhance"),
    ("nvariants-disagrees", submit_body(num_images=2, nVariants=4), "input.nVariants"),
    ("input-not-object", {"input": "draw"}, "input"),
]


@pytest.mark.parametrize(
    ("body", "field"), [(b, f) for _, b, f in INVALID], ids=[i for i, _, _ in INVALID]
)
def test_invalid_body_is_400_naming_the_field(
    client: FlaskClient, body: dict[str, Any], field: str
) -> None:
    response = client.post(SUBMIT, json=body, headers=AUTH)
    assert response.status_code == 400
    envelope = response.get_json()
    assert envelope["code"] == 400
    assert envelope["message"] == "Invalid request"
    assert envelope["data"]["error"].startswith(field + ":")
    assert len(envelope["data"]["error"]) < 300


@pytest.mark.parametrize(
    ("data", "content_type", "says"),
    [
        (b"{not json", "application/json", "not valid JSON"),
        (b"[1, 2]", "application/json", "must be a JSON object"),
        (b'"text"', "application/json", "must be a JSON object"),
        (json.dumps(submit_body()).encode(), "text/plain", "Content-Type"),
        (json.dumps(submit_body()).encode(), None, "Content-Type"),
        (b"", "application/json", "not valid JSON"),
    ],
    ids=["malformed", "array", "string", "text-plain", "no-content-type", "empty"],
)
def test_unusable_body_is_400(
    client: FlaskClient, data: bytes, content_type: str | None, says: str
) -> None:
    headers = {**AUTH, **({"Content-Type": content_type} if content_type else {})}
    response = client.post(SUBMIT, data=data, headers=headers)
    assert response.status_code == 400
    assert says in response.get_json()["data"]["error"]


def test_json_with_charset_is_accepted(client: FlaskClient) -> None:
    response = client.post(
        SUBMIT,
        data=json.dumps(submit_body()),
        headers={**AUTH, "Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200


def test_nvariants_alias_and_is_enhance_are_accepted(client: FlaskClient) -> None:
    response = client.post(SUBMIT, json=submit_body(nVariants=4, isEnhance=True), headers=AUTH)
    assert response.status_code == 200
    task_id = response.get_json()["data"]["taskId"]
    task = client.application.extensions["apixo_mock"].tasks.get(task_id)
    assert task.request.num_images == 4


def test_unknown_fields_are_ignored_by_default(client: FlaskClient) -> None:
    body = {**submit_body(seed=3), "webhook": "x"}
    assert client.post(SUBMIT, json=body, headers=AUTH).status_code == 200


def test_defaults_are_applied(client: FlaskClient) -> None:
    task_id = client.post(SUBMIT, json=submit_body(), headers=AUTH).get_json()["data"]["taskId"]
    request = client.application.extensions["apixo_mock"].tasks.get(task_id).request
    assert (request.aspect_ratio, request.num_images, request.provider, request.request_type) == (
        "1:1",
        1,
        "auto",
        "async",
    )
