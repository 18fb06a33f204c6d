"""Reads a process answers from what it holds, on a shared store: never older than a change made.

Two apps on one Redis, as two processes would be. One (`reader`) holds a
task's status read (checked: its reads make no round trip); the other
(`writer`) changes what that read rests on through the admin API, and the
very next read through the reader shows the change. A writer answers only
once every live process has dropped what the change made stale (the fence,
coherence.py), so no test here waits or retries.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from mock_server.core.redis_url import connect
from mock_server.core.stores.redis import coherence as coherence_module
from mock_server.core.stores.redis import gate as gate_module
from mock_server.core.stores.redis.coherence import Coherence
from mock_server.settings import Settings
from mock_server.web.app import create_app
from tests.redis.holding import Trips, hold_long, recorded_members

KEY = "key-held-0001"
AUTH = {"Authorization": f"Bearer {KEY}"}
BODY = {"input": {"mode": "gpt-image-1", "prompt": "a fox"}}
SUBMIT = "/api/v1/generateTask/gpt-image-1"
ADMIN = "/__admin"


class App:
    """A mock app on the test's Redis and its membership (what lets it hold reads)."""

    def __init__(self, client: FlaskClient, coherence: Coherence) -> None:
        self.client = client
        self.coherence = coherence

    def submit(self) -> str:
        answer = self.client.post(SUBMIT, json=BODY, headers=AUTH)
        assert answer.status_code == 200, answer.data
        return str(answer.get_json()["data"]["taskId"])

    def status(self, task_id: str) -> Any:
        return self.client.get(f"/api/v1/statusTask/gpt-image-1?taskId={task_id}", headers=AUTH)

    def state(self, task_id: str) -> str:
        answer = self.status(task_id)
        assert answer.status_code == 200, answer.data
        return str(answer.get_json()["data"]["state"])

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        answer = self.client.open(ADMIN + path, method=method, json=body if body else {})
        assert answer.status_code == 200, answer.data
        return answer.get_json()["data"]


@pytest.fixture
def apps(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[App]]:
    """Two apps on one Redis, both live members."""
    hold_long(monkeypatch)
    made = recorded_members(monkeypatch)
    flask_apps = [
        create_app(Settings(store=redis_url, access_log=False, frozen=True)) for _ in range(2)
    ]
    both = [App(app.test_client(), c) for app, c in zip(flask_apps, made, strict=True)]
    for app in both:
        app.client.get("/api/v1/apikeys/current-balance", headers=AUTH)  # membership starts
        assert app.coherence.wait_serving(10)
    yield both
    for flask_app in flask_apps:
        flask_app.extensions["apixo_mock"].close()


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Trips:
    return Trips(monkeypatch)


def held(app: App, task_id: str, sent: Trips) -> str:
    """Read until the task is held (a read with no round trip); its state then."""
    app.coherence.fence()  # every change named so far applied: nothing drops what is read now
    app.state(task_id)
    before = sent.count
    state = app.state(task_id)
    assert sent.count == before, "the read went to Redis: nothing is held"
    return state


def test_a_clock_moved_through_one_shows_at_once_in_the_others_held_read(
    apps: list[App], sent: Trips
) -> None:
    writer, reader = apps
    for _ in range(5):
        task_id = writer.submit()
        assert held(reader, task_id, sent) == "pending"
        writer.admin("POST", "/clock/advance", {"ms": 60_000})
        assert reader.state(task_id) == "success"


def test_a_task_forced_through_one_shows_at_once_in_the_others_held_read(
    apps: list[App], sent: Trips
) -> None:
    writer, reader = apps
    for state in ("processing", "failed", "success"):
        task_id = writer.submit()
        assert held(reader, task_id, sent) == "pending"
        writer.admin("POST", f"/tasks/{task_id}/state", {"state": state})
        assert reader.state(task_id) == state


def test_a_scenario_changed_through_one_decides_the_others_next_read(
    apps: list[App], sent: Trips
) -> None:
    writer, reader = apps
    task_id = writer.submit()
    held(reader, task_id, sent)
    rule = {"name": "down", "when": {"endpoint": "status"}, "then": {"reject": {"status": 503}}}
    writer.admin("POST", "/scenarios/active/rules", {"rule": rule})
    assert reader.status(task_id).status_code == 503
    writer.admin("DELETE", "/scenarios/active")
    assert reader.status(task_id).status_code == 200


def test_a_cap_lowered_through_one_throttles_the_others_next_read(
    apps: list[App], sent: Trips
) -> None:
    writer, reader = apps
    task_id = writer.submit()
    held(reader, task_id, sent)  # the reader holds a grant of the key's window
    writer.admin("PATCH", f"/accounts/{KEY}", {"rpm": 3})
    assert reader.status(task_id).status_code == 429


def test_a_reset_through_one_forgets_the_task_the_other_held(apps: list[App], sent: Trips) -> None:
    writer, reader = apps
    task_id = writer.submit()
    held(reader, task_id, sent)
    writer.admin("POST", "/reset")
    assert reader.status(task_id).status_code == 404


def test_requests_answered_from_what_is_held_are_counted_exactly(
    apps: list[App], monkeypatch: pytest.MonkeyPatch, sent: Trips
) -> None:
    # Grants of 64 from a room of 600 up (the floor is 4 x 64 x 2 members = 512): a cap
    # of 700 gives the reader grants for its first reads, then none near the cap.
    monkeypatch.setattr(gate_module, "GRANT", 64)
    monkeypatch.setattr(gate_module, "GRANT_MARGIN", 600)
    writer, reader = apps
    writer.admin("PATCH", f"/accounts/{KEY}", {"rpm": 700})
    task_id = writer.submit()
    held(reader, task_id, sent)  # the second read answered from what is held
    answered = 5  # both apps' first balance reads (the fixture), the submit, two reads
    for turn in range(2000):
        app = apps[turn % 2]
        if app.status(task_id).status_code != 200:
            break
        answered += 1
    assert answered == 700  # the cap: every read was counted, held or not
    assert reader.status(task_id).status_code == 429
    assert writer.status(task_id).status_code == 429


def test_a_lost_tracking_connection_drops_what_was_held_and_comes_back(
    apps: list[App], redis_url: str, sent: Trips
) -> None:
    writer, reader = apps
    task_id = writer.submit()
    held(reader, task_id, sent)
    admin = redis.Redis.from_url(redis_url)
    try:
        killed = admin.client_kill_filter(_type="pubsub")
    finally:
        admin.close()
    assert killed == 2  # each app's tracking connection
    # The writer's fence waits for the reader to come back: it acknowledges only
    # once it has dropped everything it held.
    writer.admin("POST", "/clock/advance", {"ms": 60_000})
    assert reader.state(task_id) == "success"
    assert reader.coherence.wait_serving(10)
    assert held(reader, task_id, sent) == "success"


def test_a_fence_waits_for_a_silent_member_only_until_its_lease_ends(
    apps: list[App], redis_url: str
) -> None:
    writer, _ = apps
    admin = redis.Redis.from_url(redis_url)
    try:
        seconds, micros = admin.time()
        start_ms = seconds * 1000 + micros // 1000
        # A process that joined and then stopped answering (killed): 300 ms of lease left.
        admin.zadd(writer.coherence.members_key, {"gone": start_ms + 300})
        writer.coherence.fence()  # returns: a silent member is not waited for for ever
        seconds, micros = admin.time()
    finally:
        admin.close()
    assert seconds * 1000 + micros // 1000 >= start_ms + 300  # but until its lease ended


def test_submits_and_charges_through_one_leave_what_the_other_holds(
    apps: list[App], sent: Trips
) -> None:
    writer, reader = apps
    task_id = writer.submit()
    held(reader, task_id, sent)
    for _ in range(3):
        writer.submit()  # a new task and a charge: neither changes what the reader holds
    reader.coherence.fence()  # what Redis named of them is applied
    before = sent.count
    assert reader.state(task_id) == "pending"
    assert sent.count == before


def test_a_redis_that_refuses_client_tracking_is_read_through(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, sent: Trips, caplog: pytest.LogCaptureFixture
) -> None:
    admin = redis.Redis.from_url(redis_url)
    # As on Redis before 6, or under an ACL that leaves CLIENT out.
    admin.acl_setuser("no-tracking", enabled=True, passwords=["+pw"], keys=["*"], channels=["*"],
                      commands=["+@all", "-client"])  # fmt: skip
    made = recorded_members(monkeypatch)
    url = redis_url.replace("redis://", "redis://no-tracking:pw@")
    app = create_app(Settings(store=url, access_log=False, frozen=True))
    try:
        web = App(app.test_client(), made[0])
        task_id = web.submit()
        assert not web.coherence.wait_serving(0.5)
        for _ in range(3):
            before = sent.count
            assert web.state(task_id) == "pending"
            assert sent.count == before + 1  # every read through Redis, and answered
    finally:
        app.extensions["apixo_mock"].close()  # joins the tracking thread: its log is in
        admin.acl_deluser("no-tracking")
        admin.close()
    refusals = [r for r in caplog.records if "refused client tracking" in r.getMessage()]
    assert len(refusals) == 1  # said once, then no more tries


def test_a_tracking_connection_gone_silent_stops_local_answers_while_the_lease_runs(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Renewals every 0.2 s; a PONG lets the process answer locally 0.3 s past its PING.
    monkeypatch.setattr(coherence_module, "LEASE_S", 0.8)
    made = recorded_members(monkeypatch)
    app = create_app(Settings(store=redis_url, access_log=False, frozen=True))
    try:
        web = App(app.test_client(), made[0])
        web.client.get("/api/v1/apikeys/current-balance", headers=AUTH)
        assert web.coherence.wait_serving(10)

        renew = Coherence._renew_lease

        class Mute:
            """The tracking connection, dead without a reset: what is sent on it is lost."""

            def send_command(self, *args: Any) -> None:
                pass

        def silent(self: Coherence, conn: Any, pings: Any) -> None:
            renew(self, Mute(), pings)  # the lease is renewed in Redis all the same

        monkeypatch.setattr(Coherence, "_renew_lease", silent)
        pause = threading.Event()
        for _ in range(1000):  # bounded: 10 s
            if not web.coherence.serving():
                break
            pause.wait(0.01)
        assert not web.coherence.serving()
        admin = redis.Redis.from_url(redis_url)
        try:  # still a member by its lease: writers wait for it, and it answers nothing stale
            assert admin.zscore(web.coherence.members_key, web.coherence._member) is not None
        finally:
            admin.close()
    finally:
        app.extensions["apixo_mock"].close()


def test_a_forked_child_starts_a_membership_of_its_own(redis_url: str) -> None:
    parent = Coherence(connect(redis_url), "apixo-mock:", tracked=list)
    try:
        assert parent.wait_serving(10.0)
        reading, writing = os.pipe()
        child = os.fork()
        if child == 0:  # the child: only os calls and an exit that runs no cleanup
            try:
                fresh = not parent.serving()  # the parent's lease is not the child's
                joined = parent.wait_serving(10.0)
                os.write(writing, f"{fresh} {joined} {parent.member}".encode())
            finally:
                os._exit(0)
        os.close(writing)
        with os.fdopen(reading) as answer:
            said = answer.read().split()
        os.waitpid(child, 0)
        assert said[:2] == ["True", "True"]
        assert said[2] != parent.member  # its own member id, so its own window members
        assert parent.serving()  # the parent's membership is untouched
    finally:
        parent.close()
