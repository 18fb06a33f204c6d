"""Callback host rules through the app: a literal address is refused at submit, a name
that resolves to a denied address fails at delivery; loopback works by default."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mock_server.core.service import MockService
from mock_server.settings import Settings
from mock_server.testing.receiver import CallbackReceiver
from mock_server.web.app import build_service, create_app

AUTH = {"Authorization": "Bearer test-key-1234"}
SUBMIT = "/api/v1/generateTask/gpt-image-1"
WAIT_S = 5.0


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    with CallbackReceiver() as running:
        yield running


def started(**settings: object) -> MockService:
    service = build_service(Settings(seed=3, frozen=True, access_log=False, **settings))  # type: ignore[arg-type]
    service.start()
    return service


def submit(service: MockService, url: str) -> dict[str, object]:
    client = create_app(service=service).test_client()
    body = {"input": {"mode": "gpt-image-1", "prompt": "hi"}, "request_type": "callback",
            "callback_url": url}  # fmt: skip
    answer = client.post(SUBMIT, json=body, headers=AUTH)
    return dict(answer.get_json())


@pytest.mark.parametrize(
    ("host", "address"),
    [("127.1", "127.0.0.1"), ("2130706433", "127.0.0.1"), ("0x7f000001", "127.0.0.1"),
     ("017700000001", "127.0.0.1"), ("0", "0.0.0.0")],
)  # fmt: skip
def test_a_denied_address_in_any_spelling_is_a_400_at_submit(host: str, address: str) -> None:
    service = started(callback_deny_hosts=("127.0.0.0/8",))
    try:
        answer = submit(service, f"http://{host}:9/hook")
    finally:
        service.close()
    assert answer["code"] == 400
    assert answer["data"] == {"error": f"callback_url: host {host} ({address}) is not allowed"}


def test_a_name_resolving_to_a_denied_address_fails_at_delivery(
    receiver: CallbackReceiver,
) -> None:
    service = started(callback_deny_hosts=("127.0.0.0/8",), callback_retries=0)
    try:
        port = receiver.url.rsplit(":", 1)[1]
        answer = submit(service, f"http://localhost:{port}/hook")
        assert answer["code"] == 200
        service.clock.advance(3_600_000)
        assert service.callbacks.wait_idle(WAIT_S)
        [row] = service.callbacks.deliveries()
    finally:
        service.close()
    assert row["state"] == "failed"
    assert str(row["lastError"]).startswith("blocked: host localhost (127.0.0.1)")
    assert receiver.deliveries() == []


def test_by_default_a_loopback_receiver_gets_its_callback(receiver: CallbackReceiver) -> None:
    service = started()
    try:
        assert submit(service, receiver.url + "/hook?token=t")["code"] == 200
        service.clock.advance(3_600_000)
        assert service.callbacks.wait_idle(WAIT_S)
    finally:
        service.close()
    assert len(receiver.deliveries()) == 1
