"""Round trips to Redis per hot request: counted, not timed, so load cannot skew them.

Each request to Redis is a round trip a worker waits on; the budget here is
what the store's throughput rests on (bench/store_commands.py prints the detail).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from mock_server.core.stores.redis import journal
from mock_server.core.stores.redis.coherence import Coherence
from mock_server.settings import Settings
from mock_server.web.app import create_app
from tests.redis.holding import Trips, hold_long, recorded_members

KEY = "key-trips-0001"
AUTH = {"Authorization": f"Bearer {KEY}"}
BODY = {"input": {"mode": "gpt-image-1", "prompt": "a fox"}}
SUBMIT = "/api/v1/generateTask/gpt-image-1"


class Web:
    """An app on the test's Redis, and the process's membership (what lets it hold reads)."""

    def __init__(self, client: FlaskClient, coherence: Coherence) -> None:
        self.client = client
        self.coherence = coherence

    def settled(self) -> None:
        """Every change Redis named so far is applied: a fence waits for this process too."""
        assert self.coherence.wait_serving(10)
        self.coherence.fence()


@pytest.fixture
def web(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Web]:
    # Entries wait for the next request to carry them: the flusher never runs here.
    monkeypatch.setattr(journal, "LINGER_S", 60.0)
    hold_long(monkeypatch)
    made = recorded_members(monkeypatch)
    app = create_app(Settings(store=redis_url, access_log=False, frozen=True))
    (coherence,) = made
    yield Web(app.test_client(), coherence)
    app.extensions["apixo_mock"].close()


def status_path(web: Web) -> str:
    answer = web.client.post(SUBMIT, json=BODY, headers=AUTH)
    return f"/api/v1/statusTask/gpt-image-1?taskId={answer.get_json()['data']['taskId']}"


def test_a_status_read_makes_one_round_trip_then_none_while_nothing_changes(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = status_path(web)
    web.settled()
    trips = Trips(monkeypatch)
    # Was 8, then 6: now the gate (clock, scenario version, cap, window, task,
    # and the journal's entries of the requests before) in one script.
    assert trips.of(lambda: web.client.get(path, headers=AUTH)) == 1
    # Then held: the clock's state, the version, the task and a grant of the window.
    for _ in range(3):
        assert trips.of(lambda: web.client.get(path, headers=AUTH)) == 0


def test_a_status_read_makes_one_round_trip_when_the_process_holds_nothing(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = status_path(web)
    web.settled()
    web.coherence.close()  # no longer told of changes: it may hold nothing
    trips = Trips(monkeypatch)
    for _ in range(3):
        assert trips.of(lambda: web.client.get(path, headers=AUTH)) == 1


def test_a_submit_makes_one_round_trip_with_a_grant_held_two_without(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = status_path(web)  # the account and the defaults exist, as on a running mock
    web.settled()
    web.client.get(path, headers=AUTH)  # a grant of the key's window is held from here
    trips = Trips(monkeypatch)
    # Was 16: now one commit (charge, task, unfinished count), built on the
    # last sequence this process saw; no lock, no look: the commit checks
    # nothing came between and what a look would. A charge changes no cap:
    # the grant stays held, and the gate needs no round trip.
    for _ in range(3):
        assert trips.of(lambda: web.client.post(SUBMIT, json=BODY, headers=AUTH)) == 1
    web.coherence.close()
    assert trips.of(lambda: web.client.post(SUBMIT, json=BODY, headers=AUTH)) == 2
