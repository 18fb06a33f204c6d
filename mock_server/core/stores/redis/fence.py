"""The fence a write of shared state makes before it returns (coherence.py)."""

from __future__ import annotations

from collections.abc import Callable

# Returns once no process answers from what it held before the write.
Fence = Callable[[], None]


def no_fence() -> None:
    """No process holds reads: nothing to wait for."""
