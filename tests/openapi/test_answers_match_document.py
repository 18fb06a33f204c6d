"""openapi-core checks real answers of every public operation the mock serves against the spec."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from mock_server.core.models import ModelRegistry
from mock_server.testing.server import MockServer
from tests.conftest import BALANCE, STATUS, SUBMIT
from tests.openapi.conftest import API_KEY, BROKE_KEY

AUTH = {"Authorization": f"Bearer {API_KEY}"}
GPT_IMAGE_1 = {"input": {"mode": "gpt-image-1", "prompt": "a red kite over dunes"}}
TIMEOUT_S = 30


@pytest.fixture(scope="module")
def openapi(served_document: dict[str, Any]) -> OpenAPI:
    return OpenAPI.from_dict(served_document)


def checked(openapi: OpenAPI, answer: requests.Response, status: int) -> Any:
    """The answer's JSON once openapi-core has found it to match its operation's response."""
    assert answer.status_code == status, answer.text
    openapi.validate_response(
        RequestsOpenAPIRequest(answer.request), RequestsOpenAPIResponse(answer)
    )
    return answer.json() if answer.headers["Content-Type"].startswith("application/json") else None


def submit(served: MockServer, body: Any, headers: dict[str, str] = AUTH) -> requests.Response:
    return requests.post(
        f"{served.base_url}{SUBMIT}", json=body, headers=headers, timeout=TIMEOUT_S
    )


def status(served: MockServer, task_id: str, path: str = STATUS) -> requests.Response:
    url = f"{served.base_url}{path}"
    return requests.get(url, params={"taskId": task_id}, headers=AUTH, timeout=TIMEOUT_S)


def test_submit_and_status_in_every_state_match(openapi: OpenAPI, served: MockServer) -> None:
    accepted = submit(served, GPT_IMAGE_1)
    openapi.validate_request(RequestsOpenAPIRequest(accepted.request))
    task_id = checked(openapi, accepted, 200)["data"]["taskId"]
    assert checked(openapi, status(served, task_id), 200)["data"]["state"] == "pending"
    served.wait_for(task_id, "processing")
    assert checked(openapi, status(served, task_id), 200)["data"]["state"] == "processing"
    served.wait_for(task_id, "success")
    done = checked(openapi, status(served, task_id), 200)["data"]
    assert done["state"] == "success"
    url = json.loads(done["resultJson"])["resultUrls"][0]
    checked(openapi, requests.get(url, timeout=TIMEOUT_S), 200)


def test_a_failed_task_matches(openapi: OpenAPI, served: MockServer) -> None:
    task_id = submit(served, GPT_IMAGE_1).json()["data"]["taskId"]
    url = f"{served.base_url}/__admin/tasks/{task_id}/fail"
    failed = requests.post(url, json={}, timeout=TIMEOUT_S)  # admin writes send JSON
    assert failed.status_code == 200, failed.text
    answer = checked(openapi, status(served, task_id), 200)["data"]
    assert answer["state"] == "failed"
    assert answer["failCode"]


def test_balance_matches(openapi: OpenAPI, served: MockServer) -> None:
    answer = requests.get(f"{served.base_url}{BALANCE}", headers=AUTH, timeout=TIMEOUT_S)
    assert isinstance(checked(openapi, answer, 200)["data"], (int, float))


ERRORS: dict[str, tuple[Callable[[MockServer], requests.Response], int]] = {
    "submit without a prompt": (lambda s: submit(s, {"input": {"mode": "gpt-image-1"}}), 400),
    "submit without a key": (lambda s: submit(s, GPT_IMAGE_1, headers={}), 401),
    # APIXO answers 400 "Insufficient credits" (a scenario can make it 402).
    "submit with no money": (
        lambda s: submit(s, GPT_IMAGE_1, headers={"Authorization": f"Bearer {BROKE_KEY}"}),
        400,
    ),
    "status of no task": (lambda s: status(s, "no-such-task"), 404),
    "status without a taskId": (
        lambda s: requests.get(f"{s.base_url}{STATUS}", headers=AUTH, timeout=TIMEOUT_S),
        400,
    ),
    "balance without a key": (
        lambda s: requests.get(f"{s.base_url}{BALANCE}", timeout=TIMEOUT_S),
        401,
    ),
    "result of no task": (
        lambda s: requests.get(f"{s.base_url}/results/no-such-task/0.png", timeout=TIMEOUT_S),
        404,
    ),
}


@pytest.mark.parametrize("case", ERRORS)
def test_error_answers_match(openapi: OpenAPI, served: MockServer, case: str) -> None:
    call, code = ERRORS[case]
    answer = checked(openapi, call(served), code)
    assert answer["code"] == code


def model_ids() -> list[str]:
    return [model_id for model_id in ModelRegistry.load().ids() if model_id != "gpt-image-1"]


@pytest.mark.parametrize("model_id", model_ids())
def test_each_models_answers_match(
    openapi: OpenAPI, served: MockServer, model_registry: ModelRegistry, model_id: str
) -> None:
    folder = model_registry.get(model_id).folder
    example = sorted((folder / "examples").glob("*.request.json"))[0]
    url = f"{served.base_url}/api/v1/generateTask/{model_id}"
    body = json.loads(example.read_text(encoding="utf-8"))
    accepted = requests.post(url, json=body, headers=AUTH, timeout=TIMEOUT_S)
    openapi.validate_request(RequestsOpenAPIRequest(accepted.request))
    task_id = checked(openapi, accepted, 200)["data"]["taskId"]
    path = f"/api/v1/statusTask/{model_id}"
    assert checked(openapi, status(served, task_id, path), 200)["data"]["state"] == "pending"
    served.wait_for(task_id, "success")
    assert checked(openapi, status(served, task_id, path), 200)["data"]["state"] == "success"
