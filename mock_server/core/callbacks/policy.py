"""Callback delivery's value types: the policy, a scenario's effect, results, signing.

Kept apart from the dispatcher so that scenarios, the service and adapters can
use them without the machinery (see dispatcher.py).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple, Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

from ..host_rules import HostRules

DELIVERY_STATES: Final = ("scheduled", "delivering", "delivered", "failed", "dropped")
TIMESTAMP_HEADER: Final = "X-Apixo-Mock-Timestamp"
SIGNATURE_HEADER: Final = "X-Apixo-Mock-Signature"


@dataclass(frozen=True, slots=True)
class CallbackPolicy:
    """How callbacks are delivered; one per dispatcher, built from the settings."""

    timeout_s: float = 30.0
    retries: int = 3
    backoff_s: tuple[float, ...] = (1.0, 4.0, 16.0)
    jitter: float = 0.1
    secret: str | None = None
    senders: int = 8
    allow_hosts: tuple[str, ...] = ()
    deny_hosts: tuple[str, ...] = ()
    reorder_window_ms: int = 1000
    user_agent: str = "apixo-mock"
    rules: HostRules = field(init=False, repr=False, compare=False)  # the two lists, parsed

    def __post_init__(self) -> None:
        # Frozen: set once here; a bad entry is a ValueError at start-up, not at send time.
        object.__setattr__(self, "rules", HostRules.of(self.allow_hosts, self.deny_hosts))
        problems = [
            ("timeout_s", self.timeout_s > 0, "must be positive"),
            ("retries", self.retries >= 0, "must not be negative"),
            ("backoff_s", bool(self.backoff_s) and min(self.backoff_s) >= 0, "needs delays >= 0"),
            ("jitter", 0 <= self.jitter < 1, "must be in [0, 1)"),
            ("senders", self.senders >= 1, "must be at least 1"),
            ("reorder_window_ms", self.reorder_window_ms >= 0, "must not be negative"),
        ]
        for name, ok, why in problems:
            if not ok:
                raise ValueError(f"callback policy: {name} {why}")

    def backoff_ms(self, retry: int, spread: float) -> int:
        """Delay before retry number `retry` (1-based); `spread` in [-1, 1) scales the jitter."""
        base = self.backoff_s[min(retry, len(self.backoff_s)) - 1]
        return round(base * 1000 * (1 + self.jitter * spread))


@dataclass(frozen=True, slots=True)
class CallbackEffect:
    """What a scenario rule does to one task's callback; the default is a normal delivery."""

    drop: bool = False
    copies: int = 1
    delay_ms: int = 0
    reorder: bool = False

    def __post_init__(self) -> None:
        if self.copies < 1 or self.delay_ms < 0:
            raise ValueError("callback effect: copies must be >= 1 and delay_ms >= 0")

    def to_json(self) -> dict[str, Any]:
        """The effect as admin JSON."""
        return {
            "drop": self.drop,
            "copies": self.copies,
            "delayMs": self.delay_ms,
            "reorder": self.reorder,
        }


# Results and attempts are NamedTuples, not frozen dataclasses: several are made per
# callback, and a frozen dataclass sets each field through object.__setattr__.
class SendResult(NamedTuple):
    """What one POST came to: an HTTP status, or an error that prevented one."""

    status: int | None
    error: str | None
    latency_ms: float

    @property
    def ok(self) -> bool:
        """Whether the receiver acknowledged the callback (any 2xx)."""
        return self.error is None and self.status is not None and 200 <= self.status < 300


class CallbackSender(Protocol):
    """Performs one POST; never raises, maps every failure to `SendResult.error`."""

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> SendResult:
        """POST `body` to `url`, giving the receiver `timeout_s` seconds to answer."""
        ...


Request = tuple[str, bytes, Mapping[str, str]]  # a POST's URL, body and headers


@runtime_checkable
class Multiplexing(Protocol):
    """A sender that can keep several POSTs in flight from one thread (see `post_all`)."""

    def post_all(
        self,
        requests: Sequence[Callable[[], Request]],
        timeout_s: float,
        done: Callable[[int, SendResult], None],
        width: int,
        flush: Callable[[], None] = ...,
    ) -> None:
        """POST every request (each made just before it is sent; one that raises fails), up
        to `width` at once; `done(index, result)` as each ends, and `flush()` after the
        results of one wait, before any further request is sent."""
        ...


@runtime_checkable
class Abortable(Protocol):
    """A sender that can break off its requests in flight, so close() stays bounded."""

    def abort(self) -> None:
        """Fail every request in flight and every later one."""
        ...


class Attempt(NamedTuple):
    """One POST of one callback, as logged."""

    task_id: str
    url: str
    attempt: int
    due_ms: int  # when the attempt was due; a retry's due time counts from it
    time_ms: int
    status: int | None
    error: str | None
    latency_ms: float
    outcome: str  # "delivered", "retrying" or "failed"

    def to_json(self) -> dict[str, Any]:
        """The attempt as admin JSON."""
        return {
            "taskId": self.task_id,
            "url": self.url,
            "attempt": self.attempt,
            "dueTime": self.due_ms,
            "time": self.time_ms,
            "status": self.status,
            "error": self.error,
            "latencyMs": round(self.latency_ms, 3),
            "outcome": self.outcome,
        }


def spread(seed: int, task_id: str, retry: int) -> float:
    """A number in [-1, 1) fixed by (seed, task, retry): jitter that no thread order can change."""
    digest = hashlib.blake2b(f"{seed}:{task_id}:{retry}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**63 - 1


def redact_url(url: str) -> str:
    """`url` fit for a log line: its query string and any user info hidden.

    A receiver's URL often carries a token in its query string, and a log is
    read by more people than the admin API.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    netloc = parts.netloc.rpartition("@")[2]
    netloc = f"***@{netloc}" if "@" in parts.netloc else netloc
    return urlunsplit((parts.scheme, netloc, parts.path, "***" if parts.query else "", ""))


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value: `sha256=` + hex HMAC-SHA256 of `"{timestamp}." + body`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def check_callback_url(url: str, policy: CallbackPolicy) -> str | None:
    """None if `url` may receive callbacks, else a message naming the field and why.

    The URL must be absolute http(s) with a host, and the policy's host rules
    must not refuse it (see host_rules.py). A host name's addresses are checked
    later, when the sender connects; a literal address is checked here.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check: it raises on a bad one
    except ValueError:
        return "callback_url: not a valid URL"
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return "callback_url: must be an absolute http or https URL"
    problem = policy.rules.refuse_host(host)
    return None if problem is None else f"callback_url: {problem}"
