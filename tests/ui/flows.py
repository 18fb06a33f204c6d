"""What the dashboard tests do to the served mock through its API, as a client would."""

from __future__ import annotations

from typing import Any

import requests

from mock_server.testing.server import MockServer

KEY = "ui-test-key-7c41"
AUTH = {"Authorization": f"Bearer {KEY}"}


def submit(mock: MockServer, prompt: str, images: int = 1, **fields: Any) -> requests.Response:
    """POST a gpt-image-1 task for `images` images through the API (`fields`: top level)."""
    given = {"mode": "gpt-image-1", "prompt": prompt, "num_images": images}
    body: dict[str, Any] = {"input": given, **fields}
    return requests.post(
        f"{mock.base_url}/api/v1/generateTask/gpt-image-1", json=body, headers=AUTH, timeout=10
    )


def created(mock: MockServer, prompt: str, images: int = 1, **fields: Any) -> str:
    """Submit a task that must be accepted; its id."""
    answer = submit(mock, prompt, images, **fields)
    assert answer.status_code == 200, answer.text
    task_id: str = answer.json()["data"]["taskId"]
    return task_id


def ui(mock: MockServer, path: str = "") -> str:
    """A dashboard URL on the served mock."""
    return f"{mock.base_url}/__admin/ui{path}"
