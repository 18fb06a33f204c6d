"""Timing profiles: how long tasks stay pending and processing.

Durations are drawn from a `Draw`, a seeded source of randomness derived per
task, so the same seed and the same sequence of submits give the same
timelines and taskIds on every run.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .clock import MAX_MS
from .lifecycle import Timeline


@dataclass(frozen=True, slots=True)
class Timing:
    """Pending time (with jitter) and a processing range, in milliseconds."""

    pending_ms: int
    processing_min_ms: int
    processing_max_ms: int
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if min(self.pending_ms, self.processing_min_ms) < 0:
            raise ValueError("durations cannot be negative")
        if self.processing_max_ms < self.processing_min_ms:
            raise ValueError("processing_max_ms is below processing_min_ms")

    def timeline(self, created_at: int, rng: random.Random, *, pending_state: bool) -> Timeline:
        """A timeline starting at `created_at`; `pending_state=False` skips pending."""
        pending = 0
        if pending_state:
            spread = self.pending_ms * self.jitter
            pending = max(0, round(self.pending_ms + rng.uniform(-spread, spread)))
        processing = rng.randint(self.processing_min_ms, self.processing_max_ms)
        start = created_at + pending
        return Timeline(created_at, start, start + processing)


PROFILES: Mapping[str, Timing] = MappingProxyType(
    {
        "quick": Timing(pending_ms=500, processing_min_ms=2_000, processing_max_ms=5_000),
        "realistic": Timing(pending_ms=2_000, processing_min_ms=20_000, processing_max_ms=40_000),
        "instant": Timing(pending_ms=20, processing_min_ms=50, processing_max_ms=200),
    }
)


def task_rng(seed: int, sequence: int) -> random.Random:
    """The random source for the `sequence`-th task of a server seeded with `seed`."""
    digest = hashlib.blake2b(f"{seed}:{sequence}".encode(), digest_size=16).digest()
    return random.Random(int.from_bytes(digest, "big"))


def task_id(rng: random.Random | None) -> str:
    """A taskId in the docs' style (`task_` and hex).

    Drawn from the task's own seeded source (`--seed`: reproducible), or with
    `rng=None` from the operating system's cryptographic source: an unseeded
    mock's ids cannot be guessed from one another, and result images are
    reached by taskId alone.
    """
    if rng is None:
        # The 8 bytes secrets.randbits(64) reads, in the same 16 hex digits, without its calls.
        return "task_" + os.urandom(8).hex()
    return f"task_{rng.getrandbits(64):016x}"


def within_clock(timeline: Timeline) -> Timeline:
    """The timeline with no moment past `MAX_MS`, so every timestamp stays exact in JSON.

    A task submitted near the clock's end finishes at the end instead of past it.
    """
    done_at = timeline.done_at
    if timeline.processing_at <= MAX_MS and (done_at is None or done_at <= MAX_MS):
        return timeline
    return Timeline(
        timeline.created_at,
        min(timeline.processing_at, MAX_MS),
        None if done_at is None else min(done_at, MAX_MS),
    )
