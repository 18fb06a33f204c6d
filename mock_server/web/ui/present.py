"""How the dashboard shows values: mock times, masked keys, result media, JSON bodies."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from ...core.auth import redact

MEDIA_KINDS = MappingProxyType(
    {
        "png": "image",
        "jpg": "image",
        "jpeg": "image",
        "webp": "image",
        "mp4": "video",
        "mp3": "audio",
    }
)


def when(ms: int | None) -> str:
    """A mock-clock time (Unix ms) as UTC text, to the millisecond."""
    if ms is None:
        return "never"
    moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d}Z"


def relative(ms: int | None, now: int) -> str:
    """How far `ms` is from the mock's `now`: "in 4.0 s", "2.5 s ago", "now"."""
    if ms is None:
        return ""
    delta = (ms - now) / 1000
    if delta == 0:
        return "now"
    text = _duration(abs(delta))
    return f"in {text}" if delta > 0 else f"{text} ago"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.1f} days"


def masked(key: str) -> str:
    """A key as the dashboard shows it: its last four characters."""
    return redact(key)


def key_ref(key: str) -> str:
    """A key's handle in forms and URLs, so that pages never carry a full key."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Media:
    """One result file: its path on this server and how to show it."""

    path: str
    kind: str  # image, video or audio
    index: int


def result_media(status: Mapping[str, Any]) -> list[Media]:
    """The result files a status lists, as paths on this server (whatever host made them)."""
    raw = status.get("resultJson")
    if not isinstance(raw, str):
        return []
    try:
        urls = json.loads(raw).get("resultUrls") or []
    except (ValueError, AttributeError):
        return []
    found = []
    for index, url in enumerate(urls):
        path = urlsplit(str(url)).path
        extension = path.rsplit(".", 1)[-1].lower()
        found.append(Media(path, MEDIA_KINDS.get(extension, "file"), index))
    return found


def pretty(body: bytes) -> str:
    """A JSON body indented for reading (the exact bytes stay available beside it)."""
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body.decode("utf-8", "replace")
