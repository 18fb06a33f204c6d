"""A scripted client session through the recording proxy, against a MockServer upstream.

The shipped example recording (fixtures/recordings/mock-example) is this
session; regenerate it with `python -m tests.recording.session DIR`. The mock's
clock is frozen and stamps the recording, so its timings are the mock's
`realistic` profile, with no real waiting.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from mock_server.recording.proxy import Recorder
from mock_server.testing.receiver import CallbackReceiver
from mock_server.testing.server import MockServer

SUBMIT = "/api/v1/generateTask/gpt-image-1"
STATUS = "/api/v1/statusTask/gpt-image-1"
BALANCE = "/api/v1/apikeys/current-balance"
EXAMPLE_KEY = "example-key-0001"
# A client that reads every 0.5 s while a task is pending, then every 3 s as the
# docs advise: the pending time is then known to within a quarter of a second.
PENDING_POLL_S = 0.5
POLL_S = 3.0
MAX_POLLS = 60  # minutes of mock time: far past the realistic profile's 42 s


@dataclass
class Session:
    """The three parts of a recording session, all running."""

    mock: MockServer
    recorder: Recorder
    receiver: CallbackReceiver

    def submit(self, prompt: str, **extra: object) -> str:
        """Submit through the proxy; returns the taskId."""
        body = {"input": {"mode": "gpt-image-1", "prompt": prompt}, **extra}
        answer = requests.post(self.url(SUBMIT), json=body, headers=self.mock.headers, timeout=10)
        answer.raise_for_status()
        return str(answer.json()["data"]["taskId"])

    def status(self, task_id: str) -> str:
        """Read a task's status through the proxy; returns its state (or the HTTP status)."""
        answer = requests.get(
            self.url(STATUS), params={"taskId": task_id}, headers=self.mock.headers, timeout=10
        )
        body = answer.json()
        return str(body["data"]["state"]) if answer.status_code == 200 else str(body["code"])

    def poll(self, task_id: str) -> str:
        """Read on the mock clock until the task ends; returns its final state."""
        for _ in range(MAX_POLLS):
            state = self.status(task_id)
            if state in ("success", "failed"):
                return state
            self.mock.advance(PENDING_POLL_S if state == "pending" else POLL_S)
        raise AssertionError(f"{task_id} did not finish within {MAX_POLLS} polls")

    def url(self, path: str) -> str:
        """A path on the proxy."""
        return self.recorder.base_url + path


@contextmanager
def session(
    out: Path, *, secrets: tuple[str, ...] = (), download_results: bool = False
) -> Iterator[Session]:
    """A seeded realistic mock, a receiver and a recorder writing to `out`, all stopped after."""
    with (
        MockServer(api_key=EXAMPLE_KEY, profile="realistic", seed=11) as mock,
        CallbackReceiver() as receiver,
        Recorder(
            mock.base_url, out, secrets=secrets, clock=mock.service.clock.now_ms,
            download_results=download_results,
        ) as recorder,
    ):  # fmt: skip
        yield Session(mock, recorder, receiver)


def example(session: Session) -> None:
    """The example: a task read through its states, a failure, a 404, a 401, balance, a callback."""
    task = session.submit("a lighthouse at dawn, watercolour")
    assert session.poll(task) == "success"
    session.status(task)  # a terminal body reads the same again
    failing = session.submit("mock:fail:CONTENT_VIOLATION a forbidden picture")
    assert session.poll(failing) == "failed"
    assert session.status("task_0000000000000000") == "404"
    requests.get(session.url(BALANCE), timeout=10)  # no key: 401
    requests.get(session.url(BALANCE), headers=session.mock.headers, timeout=10)
    hook = session.receiver.url + "/hooks/apixo"
    called = session.submit("a red bicycle", request_type="callback", callback_url=hook)
    session.mock.wait_for(called, "success")  # settles the callback: proxy, then receiver
    assert session.receiver.wait_for(1, timeout_s=10)
    session.status(called)


def main(argv: list[str]) -> int:
    """Regenerate a recording of `example` into the directory given."""
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("[0-9]*-*.json"):
        stale.unlink()
    with session(out) as running:
        example(running)
    print(f"{len(list(out.glob('*.json')))} exchanges written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
