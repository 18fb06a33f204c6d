"""The Redis journal's entries travel with the next request's first step, or a flusher's."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest
import redis

from mock_server.core.config import CoreConfig
from mock_server.core.errors import Unavailable
from mock_server.core.journal import Entry
from mock_server.core.redis_url import connect
from mock_server.core.stores import Stores
from mock_server.core.stores.redis import journal
from mock_server.core.stores.redis.journal import RedisJournal
from mock_server.core.stores.redis.stores import redis_stores
from tests.redis.holding import recorded_members

START = 1_700_000_000_000
KEY = "key-journal-0001"
DEADLINE_S = 10.0


def entry(n: int) -> Entry:
    return Entry(START + n, "GET", "/api/v1/statusTask/gpt-image-1", 200, 0.5, "…0001")


def listed(url: str, prefix: str = "apixo-mock:") -> list[bytes]:
    """The journal as another process reads it: straight from Redis."""
    other = redis.Redis.from_url(url)
    try:
        return [
            bytes(raw) for raw in other.lrange(prefix + "journal", 0, -1) if isinstance(raw, bytes)
        ]
    finally:
        other.close()


@pytest.fixture
def stores(redis_url: str) -> Iterator[Stores]:
    bundle = redis_stores(CoreConfig(store=redis_url, journal_size=3))
    yield bundle
    assert bundle.close is not None
    bundle.close()


def test_the_next_request_carries_the_entries_kept(
    stores: Stores, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal, "LINGER_S", 60.0)  # no flusher: only a request carries them
    for n in range(5):
        stores.journal.record(entry(n))
    assert listed(redis_url) == []
    assert stores.gate is not None
    stores.gate.enter(KEY, stores.clock_state.reading, START, None)
    times = [Entry(*json.loads(raw)).time - START for raw in listed(redis_url)]
    assert times == [2, 3, 4]  # in order, the last journal_size=3 kept


def test_with_no_request_the_flusher_sends_them_soon(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One idle linger and the flusher ends: joining it waits for its send, no polling.
    monkeypatch.setattr(journal, "_IDLE_S", journal.LINGER_S)
    kept = RedisJournal(connect(redis_url), "apixo-mock:")
    kept.record(entry(1))
    flusher = kept._flusher
    assert flusher is not None
    flusher.join(timeout=DEADLINE_S)
    assert not flusher.is_alive()
    assert len(listed(redis_url)) == 1  # sent by the flusher, with no request to carry it
    kept.close()


def test_a_process_reads_what_it_answered_at_once(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal, "LINGER_S", 60.0)
    stores.journal.record(entry(1))
    assert [e.time for e in stores.journal.entries()] == [START + 1]


def test_closing_sends_what_is_kept_and_stops_the_flusher(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal, "LINGER_S", 60.0)
    kept = RedisJournal(connect(redis_url), "apixo-mock:")
    kept.record(entry(1))
    flusher = kept._flusher
    kept.close()
    assert flusher is not None
    assert not flusher.is_alive()
    assert len(listed(redis_url)) == 1


@contextmanager
def nobody_listening() -> Iterator[str]:
    """A Redis URL on a loopback port held open but not listening: connections are refused."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield f"redis://127.0.0.1:{held.getsockname()[1]}/0"


def test_entries_that_did_not_reach_redis_are_kept_for_later(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(journal, "LINGER_S", 60.0)
    with nobody_listening() as url:
        away = RedisJournal(connect(url), "apixo-mock:")
        away.record(entry(1))
        with pytest.raises(Unavailable):
            away.flush()
        kept = away.take()
        assert kept.entries == [orjson.dumps(entry(1).fields())]
        away.carried(kept, again=True)
        away.close()  # tries once more, logs, and stops the flusher


def test_the_flusher_says_once_that_redis_is_away_and_once_that_it_is_back(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(journal, "LINGER_S", 60.0)  # its tries are made below, by hand
    kept = RedisJournal(connect(redis_url), "apixo-mock:")
    outcomes = iter([Unavailable(), Unavailable(), Unavailable(), None, None])

    def flush() -> None:
        failure = next(outcomes)
        if failure is not None:
            raise failure

    monkeypatch.setattr(kept, "flush", flush)
    with caplog.at_level(logging.WARNING, logger="apixo_mock"):
        for _ in range(5):  # a try at every linger: three fail, then two pass
            kept._flush_logged()
    assert [r.getMessage() for r in caplog.records] == [
        "the journal could not reach Redis; retrying until it can",
        "the journal reached Redis again; what it kept is sent",
    ]


def test_requests_counted_later_are_one_member_each_in_their_keys_windows(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal, "LINGER_S", 60.0)  # sent by the flushes below only
    bundle = redis_stores(CoreConfig(store=redis_url))
    try:
        kept = bundle.journal
        assert isinstance(kept, RedisJournal)
        # Runs of one time, another key in between, a time that comes back: two flushes.
        for key, at in [(KEY, 1), (KEY, 1), ("other", 1), (KEY, 2), (KEY, 1)]:
            kept.count(key, START + at)
        kept.flush()
        kept.count(KEY, START + 2)
        kept.flush()
        window = "apixo-mock:window:"
        assert sorted(scores(redis_url, window + KEY).values()) == [1, 1, 1, 2, 2]
        assert list(scores(redis_url, window + "other").values()) == [1]
    finally:
        assert bundle.close is not None
        bundle.close()


def scores(url: str, name: str) -> dict[bytes, float]:
    """A window's members and their times (from START), as another process reads them."""
    other = redis.Redis.from_url(url)
    try:
        found: list[Any] = other.zrange(name, 0, -1, withscores=True)
        return {bytes(member): float(score) - START for member, score in found}
    finally:
        other.close()


def test_a_read_through_one_process_shows_what_another_answered_and_kept(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal, "LINGER_S", 60.0)  # no flusher: only the read's fence sends
    members = recorded_members(monkeypatch)
    answering = redis_stores(CoreConfig(store=redis_url))
    reading = redis_stores(CoreConfig(store=redis_url))
    try:
        assert members[0].serving() or members[0].wait_serving(DEADLINE_S)
        answered = answering.journal
        assert isinstance(answered, RedisJournal)
        answered.record(entry(1))
        answered.count(KEY, START + 1)
        assert listed(redis_url) == []  # kept in the answering process
        assert [found.time - START for found in reading.journal.entries()] == [1]
        assert list(scores(redis_url, "apixo-mock:window:" + KEY).values()) == [1]
    finally:
        for bundle in (answering, reading):
            assert bundle.close is not None
            bundle.close()


def test_a_sync_waits_for_a_script_already_carrying_entries(
    stores: Stores, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal, "LINGER_S", 60.0)
    kept = stores.journal
    assert isinstance(kept, RedisJournal)
    kept.record(entry(1))
    taken = kept.take()  # a request's script is carrying it, not answered yet
    synced = threading.Event()

    def sync() -> None:
        kept.sync()
        synced.set()

    syncing = threading.Thread(target=sync)
    syncing.start()
    try:
        assert not synced.wait(0.2)  # the entry is neither kept nor in Redis: it waits
        kept.carried(taken, again=True)  # the script failed: the sync sends it itself
    finally:
        syncing.join(DEADLINE_S)
    assert synced.is_set()
    assert [Entry(*json.loads(raw)).time - START for raw in listed(redis_url)] == [1]
