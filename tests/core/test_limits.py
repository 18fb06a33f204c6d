"""Per-key throttles on the mock clock: the one-minute window and the unfinished-task cap."""

from __future__ import annotations

import pytest

from mock_server.core.errors import RateLimited
from mock_server.core.limits import (
    WINDOW_MS,
    Limits,
    RequestWindow,
    TaskFinished,
    UnfinishedTasks,
)

T0 = 1_700_000_000_000
KEY, OTHER = "key-a", "key-b"


def refused(window: RequestWindow, key: str, now: int, rpm: int) -> RateLimited:
    with pytest.raises(RateLimited) as caught:
        window.admit(key, now, rpm)
    return caught.value


# -- RequestWindow -----------------------------------------------------------------


def test_window_admits_rpm_requests_then_refuses_with_429() -> None:
    window = RequestWindow()
    for n in range(3):
        window.admit(KEY, T0 + n * 1_000, rpm=3)
    error = refused(window, KEY, T0 + 2_500, rpm=3)
    assert error.status == 429
    assert "Retry-After" in error.headers


def test_retry_after_counts_down_to_the_oldest_request_leaving_the_window() -> None:
    window = RequestWindow()
    for n in range(3):
        window.admit(KEY, T0 + n * 1_000, rpm=3)
    assert refused(window, KEY, T0 + 2_500, rpm=3).headers["Retry-After"] == "58"
    assert refused(window, KEY, T0 + 30_000, rpm=3).headers["Retry-After"] == "30"
    last = refused(window, KEY, T0 + WINDOW_MS - 1, rpm=3)
    assert last.headers["Retry-After"] == "1"
    assert last.retry_after_s == 1


def test_refused_requests_do_not_count() -> None:
    window = RequestWindow()
    window.admit(KEY, T0, rpm=1)
    for n in range(1, 10):
        refused(window, KEY, T0 + n, rpm=1)
    window.admit(KEY, T0 + WINDOW_MS, rpm=1)


def test_window_admits_again_once_sixty_seconds_have_passed() -> None:
    window = RequestWindow()
    for _ in range(3):
        window.admit(KEY, T0, rpm=3)
    refused(window, KEY, T0 + WINDOW_MS - 1, rpm=3)
    window.admit(KEY, T0 + WINDOW_MS, rpm=3)


def test_window_slides_rather_than_resetting_each_minute() -> None:
    window = RequestWindow()
    window.admit(KEY, T0, rpm=2)
    window.admit(KEY, T0 + 40_000, rpm=2)
    window.admit(KEY, T0 + 60_000, rpm=2)  # the first has left
    error = refused(window, KEY, T0 + 70_000, rpm=2)  # the second leaves at T0 + 100 s
    assert error.headers["Retry-After"] == "30"


def test_keys_have_independent_windows() -> None:
    window = RequestWindow()
    window.admit(KEY, T0, rpm=1)
    window.admit(OTHER, T0, rpm=1)
    refused(window, KEY, T0, rpm=1)
    refused(window, OTHER, T0, rpm=1)


def test_lowering_rpm_waits_for_enough_requests_to_leave() -> None:
    window = RequestWindow()
    for n in range(5):
        window.admit(KEY, T0 + n * 10_000, rpm=10)
    # rpm 2: four of the five must leave before one more fits; the fourth leaves at T0 + 90 s.
    assert refused(window, KEY, T0 + 45_000, rpm=2).headers["Retry-After"] == "45"


def test_clear_forgets_every_request() -> None:
    window = RequestWindow()
    window.admit(KEY, T0, rpm=1)
    window.clear()
    window.admit(KEY, T0, rpm=1)


def test_default_limits_are_the_documented_caps() -> None:
    assert Limits() == Limits(rpm=10_000, max_unfinished=1_000)


# -- UnfinishedTasks ---------------------------------------------------------------


def ended_by_schedule(ends: dict[str, int | None]) -> TaskFinished:
    """An `is_finished` callback from a fixed table of end times."""

    def is_finished(task_id: str, now: int) -> bool:
        end = ends[task_id]
        return end is not None and now >= end

    return is_finished


def test_cap_refuses_the_task_past_it_with_429() -> None:
    unfinished = UnfinishedTasks()
    unfinished.add(KEY, "t1", T0 + 100)
    unfinished.add(KEY, "t2", T0 + 200)
    unfinished.admit(KEY, cap=3, now=T0)
    with pytest.raises(RateLimited) as caught:
        unfinished.admit(KEY, cap=2, now=T0 - 6_500)
    assert caught.value.status == 429
    # The earliest of the two ends 6.6 s away: Retry-After rounds up to 7.
    assert caught.value.headers["Retry-After"] == "7"


def test_cap_counts_each_key_alone() -> None:
    unfinished = UnfinishedTasks()
    unfinished.add(KEY, "t1", T0 + 100)
    unfinished.admit(OTHER, cap=1)
    assert (unfinished.count(KEY), unfinished.count(OTHER)) == (1, 0)


def test_settle_removes_tasks_ended_by_now_and_reports_them() -> None:
    ends: dict[str, int | None] = {"t1": T0 + 100, "t2": T0 + 200, "t3": T0 + 300}
    unfinished = UnfinishedTasks()
    for task_id, end in ends.items():
        unfinished.add(KEY, task_id, end)
    is_finished = ended_by_schedule(ends)
    assert unfinished.settle(T0 + 99, is_finished) == []
    assert unfinished.settle(T0 + 200, is_finished) == [(KEY, "t1"), (KEY, "t2")]
    assert unfinished.count(KEY) == 1


def test_tasks_that_never_end_never_settle() -> None:
    unfinished = UnfinishedTasks()
    unfinished.add(KEY, "hang", None)
    assert unfinished.settle(T0 + 10**12, lambda _id, _now: True) == []
    assert unfinished.count(KEY) == 1
    assert unfinished.next_end(KEY) is None


def test_retime_lets_a_task_settle_at_its_new_end() -> None:
    ends: dict[str, int | None] = {"t1": T0 + 10_000}
    unfinished = UnfinishedTasks()
    unfinished.add(KEY, "t1", ends["t1"])
    ends["t1"] = T0 + 50
    unfinished.retime(KEY, "t1", T0 + 50)
    assert unfinished.settle(T0 + 50, ended_by_schedule(ends)) == [(KEY, "t1")]
    # The stale entry at the old end finds nothing left to settle.
    assert unfinished.settle(T0 + 10_000, ended_by_schedule(ends)) == []


def test_retime_ends_a_task_that_would_never_end() -> None:
    unfinished = UnfinishedTasks()
    unfinished.add(KEY, "hang", None)
    unfinished.retime(KEY, "hang", T0 + 5)
    assert unfinished.settle(T0 + 5, lambda _id, _now: True) == [(KEY, "hang")]
    assert unfinished.count(KEY) == 0


def test_settle_keeps_a_task_whose_end_was_pushed_back() -> None:
    unfinished = UnfinishedTasks()
    unfinished.add(KEY, "t1", T0 + 100)
    assert unfinished.settle(T0 + 100, lambda _id, _now: False) == []
    assert unfinished.count(KEY) == 1


def test_next_end_is_the_earliest_end_of_that_key() -> None:
    unfinished = UnfinishedTasks()
    unfinished.add(KEY, "t1", T0 + 300)
    unfinished.add(KEY, "t2", T0 + 100)
    unfinished.add(OTHER, "t3", T0 + 50)
    assert unfinished.next_end(KEY) == T0 + 100
    assert unfinished.next_end("nobody") is None


def test_next_end_ignores_tasks_that_have_already_settled() -> None:
    ends: dict[str, int | None] = {"early": T0 + 3_000, "late": T0 + 5_000}
    unfinished = UnfinishedTasks()
    for task_id, end in ends.items():
        unfinished.add(KEY, task_id, end)
    ends["early"] = T0 + 1_000  # forced to end sooner
    unfinished.retime(KEY, "early", T0 + 1_000)
    assert unfinished.settle(T0 + 1_000, ended_by_schedule(ends)) == [(KEY, "early")]
    assert unfinished.next_end(KEY) == T0 + 5_000


def test_clear_forgets_every_task() -> None:
    unfinished = UnfinishedTasks()
    unfinished.add(KEY, "t1", T0 + 100)
    unfinished.clear()
    assert unfinished.count(KEY) == 0
    assert unfinished.next_end(KEY) is None
