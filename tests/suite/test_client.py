"""The client honours 429: Retry-After when given, else exponential backoff; it hides nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from contract_tests.client import ApiClient, ApiResponse, RetryPolicy, Transport


@dataclass
class FakeSession:
    """Answers from a script, records what was asked."""

    script: list[tuple[int, dict[str, str]]]
    calls: list[dict[str, Any]] = field(default_factory=list)

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self.calls.append({"method": method, "url": url, **kwargs})
        status, headers = self.script.pop(0)
        reply = requests.Response()
        reply.status_code, reply.url = status, url
        reply.headers.update(headers)
        reply._content = b'{"code": %d, "message": "m", "data": null}' % status
        return reply


def client(
    script: list[tuple[int, dict[str, str]]],
) -> tuple[ApiClient, FakeSession, list[float], list[str]]:
    """A client on a fake session, recording sleeps and notes."""
    session, sleeps, notes = FakeSession(script), list[float](), list[str]()
    transport = Transport(
        session=session,  # type: ignore[arg-type]
        retry=RetryPolicy(attempts=4, base_delay_s=1.0, max_delay_s=5.0),
        note=lambda rule, text: notes.append(f"{rule}: {text}"),
        sleep=sleeps.append,
    )
    return ApiClient("http://api.test/", "k1", transport), session, sleeps, notes


def test_retry_after_is_honoured_then_backoff() -> None:
    """Retry-After 2, then no header: waits 2 s, then 2 s of backoff (attempt 2)."""
    api, session, sleeps, notes = client([(429, {"Retry-After": "2"}), (429, {}), (200, {})])
    assert api.balance().status == 200
    assert sleeps == [2.0, 2.0]
    assert len(session.calls) == 3
    assert any("no Retry-After" in note for note in notes)


def test_gives_up_after_the_last_attempt_and_returns_the_429() -> None:
    """The caller sees the final 429; backoff is capped."""
    api, _, sleeps, _ = client([(429, {})] * 4)
    assert api.balance().status == 429
    assert sleeps == [1.0, 2.0, 4.0]


def test_no_retry_when_the_test_wants_the_429() -> None:
    """retry_429=False returns the first answer."""
    api, session, sleeps, _ = client([(429, {"Retry-After": "1"})])
    assert api.balance(retry_429=False).status == 429
    assert sleeps == []
    assert len(session.calls) == 1


def test_key_and_body_are_sent_and_observers_see_every_answer() -> None:
    """Bearer key, JSON body, and each answer passed to the observers."""
    seen: list[ApiResponse] = []
    api, session, _, _ = client([(200, {})])
    api = ApiClient(api.base_url, "k2", Transport(session=session, observers=(seen.append,)))  # type: ignore[arg-type]
    api.submit({"input": {}})
    call = session.calls[0]
    assert call["headers"]["Authorization"] == "Bearer k2"
    assert call["data"] == b'{"input": {}}'
    assert [answer.status for answer in seen] == [200]
