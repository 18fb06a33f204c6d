"""What a submit costs in the core: work that cannot change the answer is skipped."""

from __future__ import annotations

import re

import pytest

from mock_server.core import scenarios
from mock_server.core.scenarios import trigger_decision
from mock_server.core.timing import task_id
from mock_server.core.validation import SubmitRequest


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
