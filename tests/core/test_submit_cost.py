"""The core skips work that cannot change an answer, on submits and status reads."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from mock_server.core import lifecycle, scenarios
from mock_server.core.callbacks import SendResult
from mock_server.core.clock import MockClock
from mock_server.core.lifecycle import Failure, State, Timeline
from mock_server.core.scenarios import trigger_decision
from mock_server.core.service import MockService
from mock_server.core.timing import task_id
from mock_server.core.validation import SubmitRequest
from mock_server.settings import Settings


class NoSearch:
    def finditer(self, text: str) -> object:
        raise AssertionError("trigger regex searched")


def test_a_submit_without_a_trigger_runs_no_trigger_regex(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scenarios, "_REJECT_TRIGGER", NoSearch())
    monkeypatch.setattr(scenarios, "_FAIL_TRIGGER", NoSearch())
    request = SubmitRequest(
        prompt="a mock of a lighthouse: moody", image_urls=("https://a.example/mock.png",)
    )
    assert trigger_decision(request) is None


@pytest.mark.parametrize(
    ("prompt", "url", "reason"),
    [
        ("mock:reject:500 please", "https://a.example/x.png", "trigger mock:reject:500"),
        (
            "a cat",
            "https://a.example/mock%3Afail%3AIMAGE_DOWNLOAD_FAILED.png",
            "trigger mock:fail:IMAGE_DOWNLOAD_FAILED",
        ),
        ("a cat", "https://a.example/mock%3Ahang.png", "trigger mock:hang"),
        ("MOCK:HANG", "https://a.example/x.png", None),
    ],
)
def test_triggers_behind_escapes_still_fire(prompt: str, url: str, reason: str | None) -> None:
    decision = trigger_decision(SubmitRequest(prompt=prompt, image_urls=(url,)))
    assert (decision.reason if decision is not None else None) == reason


def test_unseeded_task_ids_are_16_random_hex_digits() -> None:
    ids = {task_id(None) for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"task_[0-9a-f]{16}", found) for found in ids)


class NullSender:
    def post(self, url: str, body: bytes, headers: Any, timeout_s: float) -> SendResult:
        return SendResult(200, None, 1.0)


def test_a_status_read_works_out_the_state_once(monkeypatch: pytest.MonkeyPatch) -> None:
    service = MockService(
        Settings(frozen=True, access_log=False).core_config(),
        sender=NullSender(),
        clock=MockClock(wall=lambda: 1_700_000_000_000),
    )
    body = json.dumps({"input": {"mode": "gpt-image-1", "prompt": "a fox"}}).encode()
    task = service.submit("key-1", body, "application/json", "http://mock").task
    asked: list[int] = []
    real = lifecycle.state_at

    def counting(timeline: Timeline, failure: Failure | None, now: int) -> State:
        asked.append(now)
        return real(timeline, failure, now)

    monkeypatch.setattr("mock_server.core.tasks.state_at", counting)
    _, answer = service.status("key-1", task.task_id)
    assert json.loads(answer)["data"]["state"] == "pending"
    assert len(asked) == 1
    service.close()
