"""A task's life as a pure function of its timeline and the clock.

No timer or thread runs per task: `state_at(timeline, now)` derives the state
on every read, so a status read is O(1) and advancing the clock moves every
task at once.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

FAIL_MESSAGES: Mapping[str, str] = MappingProxyType(
    {
        "CONTENT_VIOLATION": "Content does not meet safety guidelines",
        "INVALID_IMAGE_URL": "Cannot access provided image URL",
        "NSFW_DETECTED": "NSFW content detected",
        "PROMPT_TOO_LONG": "Prompt exceeds the maximum length",
        "INVALID_PROMPT": "Prompt is invalid",
        "IMAGE_TOO_LARGE": "Reference image exceeds 10 MB",
        "UNSUPPORTED_FORMAT": "Reference image format is not supported (use JPG, PNG or WebP)",
        "IMAGE_DOWNLOAD_FAILED": "Failed to download reference image",
        "PROCESSING_TIMEOUT": "Processing timed out",
        "MODEL_UNAVAILABLE": "Model temporarily unavailable",
        "GENERATION_FAILED": "Image generation failed",
        "INSUFFICIENT_CREDITS": "Insufficient credits",
        "INVALID_LORA_URL": "Cannot download LoRA model",
    }
)


class State(str, enum.Enum):
    """The four states a task reports; they only move forward."""

    PENDING = "pending"
    PROCESSING = "processing"
    SUCCESS = "success"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        """Whether the state never changes again."""
        return self in (State.SUCCESS, State.FAILED)


class FailCode(str, enum.Enum):
    """Every documented failCode (docs/contract.md, "Failure codes")."""

    CONTENT_VIOLATION = "CONTENT_VIOLATION"
    INVALID_IMAGE_URL = "INVALID_IMAGE_URL"
    NSFW_DETECTED = "NSFW_DETECTED"
    PROMPT_TOO_LONG = "PROMPT_TOO_LONG"
    INVALID_PROMPT = "INVALID_PROMPT"
    IMAGE_TOO_LARGE = "IMAGE_TOO_LARGE"
    UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT"
    IMAGE_DOWNLOAD_FAILED = "IMAGE_DOWNLOAD_FAILED"
    PROCESSING_TIMEOUT = "PROCESSING_TIMEOUT"
    MODEL_UNAVAILABLE = "MODEL_UNAVAILABLE"
    GENERATION_FAILED = "GENERATION_FAILED"
    INSUFFICIENT_CREDITS = "INSUFFICIENT_CREDITS"
    INVALID_LORA_URL = "INVALID_LORA_URL"  # ltx-2-19b's LoRA modes

    @property
    def message(self) -> str:
        """The human text the docs give (or ours, where they give none)."""
        return FAIL_MESSAGES[self.value]


@dataclass(frozen=True, slots=True)
class Failure:
    """How a task ends when it fails."""

    code: str
    message: str

    @classmethod
    def of(cls, code: FailCode | str, message: str | None = None) -> Failure:
        """A failure with the documented message unless one is given."""
        code = FailCode(code)
        return cls(code.value, message or code.message)


@dataclass(frozen=True, slots=True)
class Timeline:
    """When a task was created, started processing and ended (`None`: never ends)."""

    created_at: int
    processing_at: int
    done_at: int | None

    def __post_init__(self) -> None:
        if self.processing_at < self.created_at:
            raise ValueError("a task cannot process before it exists")
        if self.done_at is not None and self.done_at < self.processing_at:
            raise ValueError("a task cannot end before it processes")

    def finished_by(self, now: int) -> bool:
        """Whether the task has reached its end at `now`."""
        return self.done_at is not None and now >= self.done_at


def state_at(timeline: Timeline, failure: Failure | None, now: int) -> State:
    """The state a task with this timeline and outcome reports at `now`."""
    if timeline.finished_by(now):
        return State.FAILED if failure is not None else State.SUCCESS
    if now >= timeline.processing_at:
        return State.PROCESSING
    return State.PENDING
