"""What a request's block keeps per thread, and when it lets it go."""

from __future__ import annotations

import threading

from mock_server.core.held import Held, ThreadBlocks


def test_values_put_in_a_block_are_held_until_the_outermost_block_ends() -> None:
    clock, version = Held[str](), Held[int]()
    both = ThreadBlocks(clock.block(), version.block())
    clock.put("outside")  # outside a block nothing is held
    assert clock.get() is None
    with both:
        clock.put("read")
        version.put(7)
        with both:  # blocks nest: the inner end drops nothing
            assert (clock.get(), version.get()) == ("read", 7)
        assert (clock.get(), version.get()) == ("read", 7)
    assert (clock.get(), version.get()) == (None, None)


def test_each_thread_holds_its_own_values() -> None:
    clock, version = Held[str](), Held[int]()
    block = ThreadBlocks(clock.block(), version.block())
    seen: list[int | None] = []

    def other() -> None:
        with block:
            seen.append(version.get())  # not this thread's: nothing
            version.put(2)
            seen.append(version.get())

    with block:
        version.put(1)
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(10)
        assert version.get() == 1
    assert seen == [None, 2]
