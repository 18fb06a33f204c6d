"""Timing profiles and the per-task random source: ranges, determinism, taskIds."""

from __future__ import annotations

import re
import statistics

import pytest

from mock_server.core.lifecycle import Timeline
from mock_server.core.timing import PROFILES, Timing, task_id, task_rng

CREATED = 1_700_000_000_000
SEED = 42
DRAWS = 300


def timelines(profile: str, *, pending_state: bool = True) -> list[Timeline]:
    timing = PROFILES[profile]
    return [
        timing.timeline(CREATED, task_rng(SEED, n), pending_state=pending_state)
        for n in range(1, DRAWS + 1)
    ]


@pytest.mark.parametrize(
    ("profile", "pending_ms", "processing_min_ms", "processing_max_ms"),
    [
        ("instant", 20, 50, 200),
        ("quick", 500, 2_000, 5_000),
        ("realistic", 2_000, 20_000, 40_000),
    ],
)
def test_profile_draws_stay_in_its_ranges(
    profile: str, pending_ms: int, processing_min_ms: int, processing_max_ms: int
) -> None:
    jitter = PROFILES[profile].jitter
    for timeline in timelines(profile):
        pending = timeline.processing_at - timeline.created_at
        assert pending_ms * (1 - jitter) - 1 <= pending <= pending_ms * (1 + jitter) + 1
        assert timeline.done_at is not None
        processing = timeline.done_at - timeline.processing_at
        assert processing_min_ms <= processing <= processing_max_ms


@pytest.mark.parametrize(
    ("profile", "pending_ms"), [("instant", 20), ("quick", 500), ("realistic", 2_000)]
)
def test_profile_pending_time_averages_its_nominal_value(profile: str, pending_ms: int) -> None:
    mean = statistics.mean(t.processing_at - t.created_at for t in timelines(profile))
    assert mean == pytest.approx(pending_ms, rel=0.05)


def test_realistic_generation_takes_about_thirty_seconds_on_average() -> None:
    durations = [t.done_at - t.processing_at for t in timelines("realistic") if t.done_at]
    assert statistics.mean(durations) == pytest.approx(30_000, rel=0.1)


def test_timeline_starts_at_the_creation_time() -> None:
    assert all(t.created_at == CREATED for t in timelines("quick"))


def test_same_seed_and_sequence_give_the_same_timeline_and_task_id() -> None:
    timing = PROFILES["quick"]
    first, second = task_rng(SEED, 7), task_rng(SEED, 7)
    assert timing.timeline(CREATED, first, pending_state=True) == timing.timeline(
        CREATED, second, pending_state=True
    )
    assert task_id(first) == task_id(second)


def test_different_sequences_give_different_task_ids() -> None:
    ids = {task_id(task_rng(SEED, n)) for n in range(1, 1_001)}
    assert len(ids) == 1_000


def test_different_seeds_give_different_task_ids() -> None:
    assert task_id(task_rng(1, 1)) != task_id(task_rng(2, 1))


def test_task_id_is_task_and_sixteen_hex_digits() -> None:
    assert re.fullmatch(r"task_[0-9a-f]{16}", task_id(task_rng(SEED, 1)))


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_without_pending_state_processing_starts_at_creation(profile: str) -> None:
    for timeline in timelines(profile, pending_state=False)[:50]:
        assert timeline.processing_at == timeline.created_at
        assert timeline.done_at is not None
        assert timeline.done_at > timeline.created_at


def test_zero_pending_time_stays_zero_whatever_the_jitter() -> None:
    timing = Timing(pending_ms=0, processing_min_ms=10, processing_max_ms=10, jitter=0.5)
    assert timing.timeline(CREATED, task_rng(SEED, 1), pending_state=True) == Timeline(
        CREATED, CREATED, CREATED + 10
    )


def test_timing_rejects_a_maximum_below_the_minimum() -> None:
    with pytest.raises(ValueError, match="processing_max_ms"):
        Timing(pending_ms=0, processing_min_ms=100, processing_max_ms=99)


@pytest.mark.parametrize(
    ("pending_ms", "processing_min_ms"), [(-1, 0), (0, -1)], ids=["pending", "processing"]
)
def test_timing_rejects_negative_durations(pending_ms: int, processing_min_ms: int) -> None:
    with pytest.raises(ValueError, match="negative"):
        Timing(pending_ms=pending_ms, processing_min_ms=processing_min_ms, processing_max_ms=10)
