"""`apixo-mock serve` defaults: one slow answer (a latency rule) never holds up the others."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from tests.e2e.test_serve_process import DEADLINE_S, SERVERS, served

BALANCE = "/api/v1/apikeys/current-balance"
AUTH = {"Authorization": "Bearer test-key-1234"}
SLOW_MS = 120_000  # far longer than the test: the slow answer is cut off when the server stops


def wait_until_decided(base: str) -> None:
    """Until the one-shot slow rule has fired, i.e. the slow request is sleeping in the server."""
    tick = threading.Event()
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        known = requests.get(base + "/__admin/scenarios", timeout=DEADLINE_S).json()
        if known["data"]["active"]["rules"][0]["remaining"] == 0:
            return
        tick.wait(0.05)
    raise AssertionError("the slow request never reached the server")


@pytest.mark.parametrize("server_name", SERVERS)
def test_a_slow_answer_does_not_stall_a_fast_one(server_name: str) -> None:
    """With the default threads, a request answered while another sleeps in a latency rule."""
    slow_done = threading.Event()
    with served(server_name) as server:
        rule = {
            "name": "slow-once",
            "times": 1,
            "when": {"endpoint": "balance"},
            "then": {"latency_ms": SLOW_MS},
        }
        added = requests.post(
            server.base + "/__admin/scenarios/active/rules", json={"rule": rule}, timeout=DEADLINE_S
        )
        assert added.status_code == 200

        def slow() -> None:
            try:
                requests.get(server.base + BALANCE, headers=AUTH, timeout=SLOW_MS / 1000)
            except requests.RequestException:
                pass  # cut off when the server stops
            finally:
                slow_done.set()

        thread = threading.Thread(target=slow, daemon=True)
        thread.start()
        wait_until_decided(server.base)
        fast = requests.get(server.base + BALANCE, headers=AUTH, timeout=DEADLINE_S)
        assert fast.status_code == 200
        assert not slow_done.is_set()  # answered while the slow one still waits
    thread.join(timeout=DEADLINE_S)
    assert slow_done.is_set()
