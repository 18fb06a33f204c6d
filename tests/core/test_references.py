"""Reference images: magic bytes, `.invalid` hosts, and judging what a download came to."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from mock_server.core.lifecycle import FailCode, Failure
from mock_server.core.references import (
    MAX_IMAGE_BYTES,
    check_by_fetching,
    judge_fetched,
    judge_offline,
    sniff,
    unresolvable,
)

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 "
GIF = b"GIF89a\x01\x00\x01\x00"


@dataclass(frozen=True)
class Download:
    """What a fake fetcher reports: a kind and the first bytes."""

    kind: str
    head: bytes = b""


@dataclass
class FakeFetcher:
    """Answers each URL from a table (default: a PNG) and records every call."""

    answers: dict[str, Download] = field(default_factory=dict)
    calls: list[tuple[str, float, int]] = field(default_factory=list)

    def fetch(self, url: str, *, timeout_s: float, max_bytes: int) -> Download:
        self.calls.append((url, timeout_s, max_bytes))
        return self.answers.get(url, Download("ok", PNG))


# -- sniff -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (JPEG, "jpeg"),
        (PNG, "png"),
        (WEBP, "webp"),
        (GIF, None),
        (b"", None),
        (b"RIFFxxxxAVI ", None),
    ],
    ids=["jpeg", "png", "webp", "gif", "empty", "riff-not-webp"],
)
def test_sniff_recognises_only_jpeg_png_and_webp(head: bytes, kind: str | None) -> None:
    assert sniff(head) == kind


# -- offline judgement -------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["https://images.invalid/a.png", "http://INVALID/a.png", "https://cdn.example.invalid./x.jpg"],
    ids=["subdomain", "bare-upper-case", "trailing-dot"],
)
def test_invalid_hosts_never_resolve(url: str) -> None:
    assert unresolvable(url)


@pytest.mark.parametrize(
    "url", ["http:///a.png", "http://[not-ipv6]/a.png"], ids=["no-host", "bad-brackets"]
)
def test_malformed_hosts_never_resolve(url: str) -> None:
    assert unresolvable(url)


@pytest.mark.parametrize(
    "url",
    ["https://example.com/a.png", "https://invalid.example.com/a.png", "http://notinvalid/a.png"],
    ids=["ordinary", "invalid-as-a-label", "invalid-as-a-suffix-of-a-label"],
)
def test_ordinary_hosts_may_resolve(url: str) -> None:
    assert not unresolvable(url)


def test_judge_offline_fails_the_first_invalid_host() -> None:
    urls = ["https://example.com/a.png", "https://x.invalid/b.png"]
    assert judge_offline(urls) == Failure.of(FailCode.INVALID_IMAGE_URL)


def test_judge_offline_passes_reachable_looking_urls() -> None:
    assert judge_offline(["https://example.com/a.gif", "http://127.0.0.1/b"]) is None
    assert judge_offline([]) is None


# -- judging a download ------------------------------------------------------------


@pytest.mark.parametrize(
    ("download", "code"),
    [
        (Download("unreachable"), FailCode.INVALID_IMAGE_URL),
        (Download("timeout", JPEG), FailCode.IMAGE_DOWNLOAD_FAILED),
        (Download("too_large", PNG), FailCode.IMAGE_TOO_LARGE),
        (Download("ok", GIF), FailCode.UNSUPPORTED_FORMAT),
        (Download("ok", b""), FailCode.UNSUPPORTED_FORMAT),
    ],
    ids=["unreachable", "timeout", "too-large", "gif", "empty-body"],
)
def test_failed_download_implies_its_fail_code(download: Download, code: FailCode) -> None:
    assert judge_fetched(download) == Failure.of(code)


@pytest.mark.parametrize("head", [JPEG, PNG, WEBP], ids=["jpeg", "png", "webp"])
def test_complete_download_of_a_supported_image_passes(head: bytes) -> None:
    assert judge_fetched(Download("ok", head)) is None


# -- fetching in turn --------------------------------------------------------------


def test_check_by_fetching_passes_when_every_image_is_usable() -> None:
    fetcher = FakeFetcher()
    urls = ["https://a.example/1.png", "https://b.example/2.png"]
    assert check_by_fetching(urls, fetcher, timeout_s=2.5) is None
    assert fetcher.calls == [(url, 2.5, MAX_IMAGE_BYTES) for url in urls]


def test_check_by_fetching_stops_at_the_first_failure() -> None:
    fetcher = FakeFetcher({"https://b.example/2.gif": Download("ok", GIF)})
    urls = ["https://a.example/1.png", "https://b.example/2.gif", "https://c.example/3.png"]
    assert check_by_fetching(urls, fetcher, 1.0) == Failure.of(FailCode.UNSUPPORTED_FORMAT)
    assert [url for url, _, _ in fetcher.calls] == urls[:2]


def test_check_by_fetching_fails_an_invalid_host_without_fetching_it() -> None:
    fetcher = FakeFetcher()
    urls = ["https://x.invalid/1.png", "https://a.example/2.png"]
    assert check_by_fetching(urls, fetcher, 1.0) == Failure.of(FailCode.INVALID_IMAGE_URL)
    assert fetcher.calls == []


def test_ten_megabytes_is_the_size_cap() -> None:
    assert MAX_IMAGE_BYTES == 10 * 1024 * 1024
