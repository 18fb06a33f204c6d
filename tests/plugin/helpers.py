"""Small HTTP helpers for the plugin's tests: the mock is reached over real loopback HTTP."""

from __future__ import annotations

from typing import Any

import requests

from mock_server.testing.handle import MockHandle

SUBMIT = "/api/v1/generateTask/gpt-image-1"
STATUS = "/api/v1/statusTask/gpt-image-1"
BALANCE = "/api/v1/apikeys/current-balance"


def post_submit(mock: MockHandle, prompt: str = "a cozy cafe", **fields: Any) -> requests.Response:
    """POST a submit with `prompt`; top-level `fields` (e.g. callback_url) are added."""
    body = {"input": {"mode": "gpt-image-1", "prompt": prompt}, **fields}
    return requests.post(mock.base_url + SUBMIT, json=body, headers=mock.headers, timeout=10)


def submit(mock: MockHandle, prompt: str = "a cozy cafe", **fields: Any) -> str:
    """Submit a task that must be accepted; its taskId."""
    response = post_submit(mock, prompt, **fields)
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["taskId"])


def status(mock: MockHandle, task_id: str) -> dict[str, Any]:
    """The whole status envelope of a task, read over HTTP."""
    response = requests.get(
        mock.base_url + STATUS, params={"taskId": task_id}, headers=mock.headers, timeout=10
    )
    assert response.status_code == 200, response.text
    envelope: dict[str, Any] = response.json()
    return envelope


def callback_submit(mock: MockHandle, url: str, prompt: str = "a cozy cafe") -> str:
    """Submit a task in callback mode."""
    return submit(mock, prompt, request_type="callback", callback_url=url)
