"""SendQueue: an origin's share of senders, and the plain-HTTP origins one sender serves alone."""

from __future__ import annotations

from mock_server.core.callbacks.queue import SendQueue
from mock_server.core.callbacks.records import Send, Work


def works(origin: str, count: int) -> list[tuple[str, Work]]:
    return [
        (origin, Work(f"{origin}#{i}", origin, (Send(f"t{i}", origin + "/cb", 0, 1, 0),)))
        for i in range(count)
    ]


def takers(queue: SendQueue, limit: int) -> list[str]:
    """The origins of what senders take while none is done, until nothing is takeable."""
    taken: list[str] = []
    while True:
        with queue._cond:  # a take that would wait: stop instead
            if not queue._runnable:
                return taken
        got = queue.take(limit)
        assert got is not None
        taken.append(got[0])


def test_an_origin_gets_at_most_its_share_of_senders_at_once() -> None:
    queue = SendQueue(3)
    queue.put(works("https://a.test", 12) + works("http://b.test", 12))
    assert sorted(takers(queue, 1)) == ["http://b.test"] * 3 + ["https://a.test"] * 3


def test_an_origin_served_alone_gets_one_sender_and_the_others_their_share() -> None:
    queue = SendQueue(3, alone=lambda origin: origin.startswith("http://"))
    queue.put(works("https://a.test", 12) + works("http://b.test", 12))
    assert sorted(takers(queue, 1)) == ["http://b.test"] + ["https://a.test"] * 3
    queue.done("http://b.test")  # its one sender is back: the origin may be taken again
    assert takers(queue, 1) == ["http://b.test"]


def test_one_sender_alone_takes_up_to_its_limit_of_the_backlog() -> None:
    queue = SendQueue(4, alone=lambda origin: True)
    queue.put(works("http://b.test", 100))
    got = queue.take(64)
    assert got is not None
    assert (got[0], len(got[1])) == ("http://b.test", 64)
