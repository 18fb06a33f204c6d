"""No background thread dies quietly: errors show in /__admin/health, delivery goes on.

Plus the handle's `advance`, which must end with a whole retry chain done.
"""

from __future__ import annotations

from typing import cast

from flask.testing import FlaskClient

from mock_server.core.callbacks import CallbackEffect
from mock_server.core.clock import MockClock
from mock_server.core.service import MockService
from mock_server.outbound import HttpCallbackSender
from mock_server.settings import Settings
from mock_server.testing.handle import MockHandle
from mock_server.testing.receiver import CallbackReceiver
from tests.conftest import RecordingSender

WAIT_S = 5.0


def health(client: FlaskClient) -> dict[str, object]:
    body = client.get("/__admin/health").get_json()
    assert body["code"] == 200
    return cast(dict[str, object], body["data"])


def test_a_bad_effect_is_counted_in_health_and_later_callbacks_still_go_out(
    client: FlaskClient, service: MockService, clock: MockClock, sender: RecordingSender
) -> None:
    service.start()
    assert health(client)["backgroundErrors"] == 0
    now = clock.now_ms()
    # A float where an int belongs, put in past the schemas: it once killed the scheduler.
    bad = CallbackEffect(copies=cast(int, 2.0))
    service.callbacks.schedule("bad", "http://receiver.test/a", now + 10, lambda: b"{}", bad)
    clock.advance(10)
    assert service.callbacks.wait_idle(WAIT_S)
    assert health(client)["backgroundErrors"] == 1
    service.callbacks.schedule("good", "http://receiver.test/b", now + 20, lambda: b"{}")
    clock.advance(10)
    assert service.callbacks.wait_idle(WAIT_S)
    assert [url for url, _, _ in sender.calls] == ["http://receiver.test/b"]
    assert client.post("/__admin/reset", json={}).status_code == 200
    service.callbacks.schedule("after", "http://receiver.test/c", clock.now_ms(), lambda: b"{}")
    assert service.callbacks.wait_idle(WAIT_S)
    assert [url for url, _, _ in sender.calls][-1] == "http://receiver.test/c"


def test_one_handle_advance_delivers_every_retry_that_falls_due() -> None:
    settings = Settings(seed=7, frozen=True, access_log=False)
    with (
        CallbackReceiver() as receiver,
        MockService(settings.core_config(), sender=HttpCallbackSender()) as service,
    ):
        handle = MockHandle(service)
        receiver.respond_with(status=500, times=3)
        due = service.clock.now_ms() + 1000
        service.callbacks.schedule("t1", receiver.url + "/hook", due, lambda: b'{"code":200}')
        handle.advance(30)  # attempts at t, t+1 s, t+5 s, t+21 s (jitter: +-10 %)
        assert len(receiver.deliveries()) == 4
        attempts = service.callbacks.attempts("t1")
        assert [a["status"] for a in attempts] == [500, 500, 500, 200]
        assert service.callbacks.deliveries(task_id="t1")[0]["state"] == "delivered"
