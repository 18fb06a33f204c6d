"""A small APIXO gpt-image-1 client, as an application team might write one.

It submits a task, waits for it the way the docs advise (20 s, then every
3 s), downloads the result, retries a 429 after its Retry-After, and parses
callbacks. examples/test_image_client.py tests it against the apixo-mock
pytest plugin. `sleep` is injected: production passes `time.sleep`, the
tests pass the mock's `advance`, so waiting costs no real time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import requests

MODEL_PATH = "gpt-image-1"


class ApixoError(Exception):
    """The API answered with an error envelope."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


class GenerationFailed(Exception):
    """The task ended in state `failed`."""

    def __init__(self, task_id: str, code: str, message: str) -> None:
        super().__init__(f"task {task_id} failed with {code}: {message}")
        self.task_id = task_id
        self.code = code


class ResultExpired(Exception):
    """The result URL is gone (results are kept for 15 days)."""


class ImageClient:
    """Submit, wait, download; honours 429 Retry-After up to `max_retries` times."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        max_retries: int = 3,
        first_poll_s: float = 20.0,
        poll_every_s: float = 3.0,
        max_wait_s: float = 600.0,
        timeout_s: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.sleep = sleep
        self.max_retries = max_retries
        self.first_poll_s = first_poll_s
        self.poll_every_s = poll_every_s
        self.max_wait_s = max_wait_s
        self.timeout_s = timeout_s
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {api_key}"

    def submit(
        self,
        prompt: str,
        *,
        aspect_ratio: str = "1:1",
        num_images: int = 1,
        image_urls: Sequence[str] = (),
        callback_url: str | None = None,
    ) -> str:
        """Submit a task; returns its taskId."""
        body: dict[str, Any] = {
            "input": {
                "mode": MODEL_PATH,
                "prompt": prompt,
                "aspect_ratio": aspect_ratio,
                "num_images": num_images,
            }
        }
        if image_urls:
            body["input"]["image_urls"] = list(image_urls)
        if callback_url is not None:
            body.update(request_type="callback", callback_url=callback_url)
        data = self._call("POST", f"/api/v1/generateTask/{MODEL_PATH}", json=body)
        return str(data["taskId"])

    def status(self, task_id: str) -> dict[str, Any]:
        """The task's status data: taskId, state, and resultJson or failCode."""
        path = f"/api/v1/statusTask/{MODEL_PATH}"
        data: dict[str, Any] = self._call("GET", path, params={"taskId": task_id})
        return data

    def wait(self, task_id: str) -> list[str]:
        """Poll until the task ends; its result URLs, or `GenerationFailed`."""
        waited = self.first_poll_s
        self.sleep(self.first_poll_s)
        while True:
            data = self.status(task_id)
            if data["state"] in ("success", "failed"):
                return result_urls(data)
            if waited >= self.max_wait_s:
                raise TimeoutError(f"task {task_id} still {data['state']} after {waited:g} s")
            self.sleep(self.poll_every_s)
            waited += self.poll_every_s

    def generate(self, prompt: str, **options: Any) -> list[str]:
        """Submit and wait: the result URLs."""
        return self.wait(self.submit(prompt, **options))

    def download(self, url: str) -> bytes:
        """The bytes of a result image; `ResultExpired` once it is gone."""
        response = self.session.get(url, timeout=self.timeout_s)
        if response.status_code == 404:
            raise ResultExpired(url)
        response.raise_for_status()
        return response.content

    def balance(self) -> float:
        """The key's balance in USD."""
        return float(self._call("GET", "/api/v1/apikeys/current-balance"))

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call, retried after 429s; the envelope's `data`, or `ApixoError`."""
        for attempt in range(self.max_retries + 1):
            response = self.session.request(
                method, self.base_url + path, timeout=self.timeout_s, **kwargs
            )
            if response.status_code != 429 or attempt == self.max_retries:
                break
            self.sleep(float(response.headers.get("Retry-After", "1")))
        document = response.json()
        if response.status_code != 200:
            raise ApixoError(response.status_code, str(document.get("message")))
        return document["data"]


def parse_callback(body: bytes) -> list[str]:
    """A callback's result URLs, or `GenerationFailed`: the body is a status envelope."""
    return result_urls(json.loads(body)["data"])


def result_urls(data: dict[str, Any]) -> list[str]:
    """The URLs of a finished task's status data, or `GenerationFailed`."""
    if data["state"] == "failed":
        raise GenerationFailed(data["taskId"], data["failCode"], data["failMsg"])
    urls: list[str] = json.loads(data["resultJson"])["resultUrls"]
    return urls
