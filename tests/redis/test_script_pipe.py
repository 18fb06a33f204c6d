"""ScriptPipe: scripts sent now, their answers read later, several at a time, each its own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

import pytest
import redis

from mock_server.core.stores.redis.script_pipe import ScriptPipe

ECHO = "redis.call('RPUSH', 'ran', ARGV[1]) return ARGV[1]"
FAIL = "return redis.error_reply('no: ' .. ARGV[1])"


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    connection.script_load(ECHO)  # as the store's first use of a script loads it
    yield connection
    connection.close()


def ran(client: redis.Redis) -> list[bytes]:
    return cast("list[bytes]", client.lrange("ran", 0, -1))


def test_answers_read_in_any_order_are_each_their_own(client: redis.Redis) -> None:
    pipe, echo = ScriptPipe(client), client.register_script(ECHO)
    answers = [pipe.send(echo, [word]) for word in ("a", "b", "c", "d")]
    assert [answers[i]() for i in (2, 0, 3, 1)] == [b"c", b"a", b"d", b"b"]
    assert answers[2]() == b"c"  # read once, kept
    assert ran(client) == [b"a", b"b", b"c", b"d"]


def test_an_error_answer_is_raised_by_its_own_call_only(client: redis.Redis) -> None:
    pipe = ScriptPipe(client)
    echo, fail = client.register_script(ECHO), client.register_script(FAIL)
    client.script_load(FAIL)
    first, failing, last = pipe.send(echo, ["a"]), pipe.send(fail, ["b"]), pipe.send(echo, ["c"])
    assert last() == b"c"  # reads the two before it on the way
    assert first() == b"a"
    with pytest.raises(redis.exceptions.ResponseError, match="no: b"):
        failing()
    assert pipe.send(echo, ["d"])() == b"d"  # the connection is still in step


def test_scripts_redis_did_not_have_are_run_again_each_once(client: redis.Redis) -> None:
    pipe, echo = ScriptPipe(client), client.register_script(ECHO)
    assert pipe.send(echo, ["warm"])() == b"warm"
    client.script_flush()  # as a restarted Redis has none
    answers = [pipe.send(echo, [word]) for word in ("a", "b", "c")]
    assert [answer() for answer in answers] == [b"a", b"b", b"c"]
    assert ran(client) == [b"warm", b"a", b"b", b"c"]


def test_answers_lost_with_the_connection_are_had_by_running_again(
    client: redis.Redis, redis_url: str
) -> None:
    pipe, echo = ScriptPipe(client), client.register_script(ECHO)
    assert pipe.send(echo, ["warm"])() == b"warm"
    sent = [pipe.send(echo, [word]) for word in ("a", "b")]
    killer = redis.Redis.from_url(redis_url)
    assert killer.client_kill_filter(_type="normal", skipme=True) >= 1  # as a restart does
    sent += [pipe.send(echo, [word]) for word in ("c", "d")]
    assert [answer() for answer in sent] == [b"a", b"b", b"c", b"d"]
    # Each ran at least once; one the connection took along may have run before it went.
    assert set(ran(killer)) == {b"warm", b"a", b"b", b"c", b"d"}
    killer.close()


def test_a_reply_that_cannot_be_read_starts_the_connection_afresh(
    client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipe, echo = ScriptPipe(client), client.register_script(ECHO)
    sent = [pipe.send(echo, [word]) for word in ("a", "b")]
    connection = pipe._connection  # the test breaks its reading once
    read = connection.read_response
    calls: list[int] = []

    def garbled(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise redis.exceptions.InvalidResponse("garbled")
        return read(*args, **kwargs)

    monkeypatch.setattr(connection, "read_response", garbled)
    assert [answer() for answer in sent] == [b"a", b"b"]  # each had by running it again
    assert pipe.send(echo, ["c"])() == b"c"  # in step on the fresh connection
    assert ran(client)[-1] == b"c"
