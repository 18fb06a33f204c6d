"""Reference images: whether each `image_urls` entry can be used, as a failCode or None.

Offline mode decides by rule alone (a host under `.invalid` never resolves);
fetch mode downloads through an injected fetcher and judges what came back:
unreachable -> INVALID_IMAGE_URL, timeout or broken download ->
IMAGE_DOWNLOAD_FAILED, over 10 MB -> IMAGE_TOO_LARGE, bytes that are not JPG,
PNG or WebP -> UNSUPPORTED_FORMAT.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Protocol
from urllib.parse import urlsplit

from .lifecycle import FailCode, Failure

MAX_IMAGE_BYTES = 10 * 1024 * 1024


class Fetched(Protocol):
    """What a fetcher reports about one download."""

    @property
    def kind(self) -> str:
        """`ok`, `unreachable`, `timeout` or `too_large`."""
        ...

    @property
    def head(self) -> bytes:
        """The first bytes of the body."""
        ...


class Fetcher(Protocol):
    """Downloads one URL with a timeout and a size cap."""

    def fetch(self, url: str, *, timeout_s: float, max_bytes: int) -> Fetched:
        """Download `url`; never raises."""
        ...


_KIND_CODES: Mapping[str, FailCode] = MappingProxyType(
    {
        "unreachable": FailCode.INVALID_IMAGE_URL,
        "timeout": FailCode.IMAGE_DOWNLOAD_FAILED,
        "too_large": FailCode.IMAGE_TOO_LARGE,
    }
)


def sniff(head: bytes) -> str | None:
    """The image format by magic bytes: `jpeg`, `png`, `webp`, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def unresolvable(url: str) -> bool:
    """Whether the URL's host can never resolve: under `.invalid` (RFC 6761), or malformed."""
    try:
        host = (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:  # e.g. a bracketed host that is no IPv6 address
        return True
    return host in ("", "invalid") or host.endswith(".invalid")


def judge_offline(urls: Iterable[str], lora_urls: Iterable[str] = ()) -> Failure | None:
    """Offline mode's built-in judgement: only `.invalid` hosts fail.

    A LoRA model that cannot be downloaded is ltx-2-19b's own INVALID_LORA_URL,
    not an image's INVALID_IMAGE_URL, so those URLs are named apart.
    """
    loras = frozenset(lora_urls)
    for url in urls:
        if unresolvable(url):
            code = FailCode.INVALID_LORA_URL if url in loras else FailCode.INVALID_IMAGE_URL
            return Failure.of(code)
    return None


def judge_fetched(fetched: Fetched) -> Failure | None:
    """The failure a download's outcome implies, if any."""
    code = _KIND_CODES.get(fetched.kind)
    if code is not None:
        return Failure.of(code)
    if sniff(fetched.head) is None:
        return Failure.of(FailCode.UNSUPPORTED_FORMAT)
    return None


def check_by_fetching(urls: Iterable[str], fetcher: Fetcher, timeout_s: float) -> Failure | None:
    """Fetch each URL in turn; the first that fails decides."""
    for url in urls:
        if unresolvable(url):
            return Failure.of(FailCode.INVALID_IMAGE_URL)
        failure = judge_fetched(fetcher.fetch(url, timeout_s=timeout_s, max_bytes=MAX_IMAGE_BYTES))
        if failure is not None:
            return failure
    return None
