"""The mock's Redis client: one kept connection per thread, given back when its thread ends."""

from __future__ import annotations

import threading
from collections.abc import Callable

import redis

from mock_server.core.redis_url import connect


def clients_seen(url: str) -> int:
    """Connections Redis has open now (this probe's own included)."""
    probe = redis.Redis.from_url(url)
    try:
        return len(probe.client_list())
    finally:
        probe.close()


def run_threads(count: int, work: Callable[[], object]) -> list[BaseException]:
    """Run `work` on `count` threads at once; the errors they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def one() -> None:
        try:
            start.wait(timeout=30)
            work()
        except BaseException as error:  # reported by the test, not lost with the thread
            errors.append(error)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return errors


def test_a_thread_keeps_one_connection_for_all_its_commands(redis_url: str) -> None:
    client = connect(redis_url)
    try:
        client.set("k", "v")
        before = clients_seen(redis_url)
        for _ in range(50):
            assert client.get("k") == b"v"
        assert clients_seen(redis_url) == before
    finally:
        client.close()


def test_more_threads_than_kept_connections_still_work(redis_url: str) -> None:
    client = connect(redis_url)
    try:
        # 120 threads at once: past the 64 kept, and past redis-py's pool of 100.
        errors = run_threads(120, lambda: [client.incr("n") for _ in range(5)])
        assert errors == []
        assert int(client.get("n") or 0) == 600
    finally:
        client.close()


def test_connections_of_ended_threads_go_back_to_the_pool(redis_url: str) -> None:
    others = clients_seen(redis_url)  # the probe's, and the fixture's if it keeps one
    client = connect(redis_url)
    try:
        for _ in range(5):  # 5 rounds of 20 short-lived threads: 100 threads in all
            assert run_threads(20, lambda: client.incr("n")) == []
        # Each round's threads reuse the connections the last round's gave back.
        assert clients_seen(redis_url) <= others + 20 + 1  # + this thread's own
        assert int(client.get("n") or 0) == 100
    finally:
        client.close()
    assert clients_seen(redis_url) == others  # closing the client closed every one


def test_a_kept_connection_closed_by_redis_is_opened_again(redis_url: str) -> None:
    client = connect(redis_url)
    try:
        client.set("k", "v")
        admin = redis.Redis.from_url(redis_url)
        admin.client_kill_filter(_type="normal", skipme=True)  # every other client is cut
        admin.close()
        assert client.get("k") == b"v"  # one reconnect, no error
    finally:
        client.close()


def test_a_closed_client_used_again_checks_out_a_connection_afresh(redis_url: str) -> None:
    client = connect(redis_url)
    client.set("k", "v")
    client.close()
    assert client.get("k") == b"v"  # not the connection close() gave back to the pool
    pipe = client.pipeline()
    pipe.get("k")
    assert pipe.execute() == [b"v"]  # the pool's connection, used by nobody else
    client.close()
