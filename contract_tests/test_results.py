"""Result files: every URL downloads as a file of the kind, format, size and duration promised.

gpt-image-1's sizes are its table (checks.IMAGE_SIZES); another model's files
are what its pack's output rule gives for the request, opened with a real
decoder (media.py: Pillow for images, PyAV for MP4 and MP3).
"""

from __future__ import annotations

import pytest

from contract_tests.checks import (
    ContractViolation,
    check_image,
    check_result_count,
    result_urls,
)
from contract_tests.client import ApiClient
from contract_tests.fleet import Fleet
from contract_tests.media import check_output
from contract_tests.models import ModelCase
from contract_tests.target import Target

SUCCESSFUL = ("default", "extras", "alias")
PACK_SUCCESSFUL = ("default", "extras", "callback")


@pytest.mark.model_specific("gpt-image-1")
@pytest.mark.billable
@pytest.mark.rule("results.downloadable", "results.size", "status.result-json-string")
@pytest.mark.parametrize("name", SUCCESSFUL)
def test_result_urls_download_as_images_of_the_right_size(
    api: ApiClient, fleet: Fleet, target: Target, name: str
) -> None:
    """1:1 is 1024x1024, 3:2 is 1536x1024, 2:3 is 1024x1536."""
    member = fleet[name]
    data = member.final()
    if data["state"] != "success":
        pytest.skip(f"the {name} task ended {data['state']} ({data.get('failCode')})")
    # The alias task's count is the nVariants test's business off a mock: a dialect there.
    dialect = name == "alias" and target.speaks_dialects
    urls = result_urls(data) if dialect else check_result_count(data, member.images)
    for url in urls:
        reply = api.download(url)
        if reply.status_code != 200:
            raise ContractViolation(
                "results.downloadable", f"GET {url} answered HTTP {reply.status_code}"
            )
        check_image(reply.content, member.aspect_ratio, url)


@pytest.mark.pack_driven
@pytest.mark.billable
@pytest.mark.rule(
    "results.downloadable",
    "results.size",
    "results.format",
    "results.duration",
    "status.result-json-string",
    "status.result-count",
)
@pytest.mark.parametrize("name", PACK_SUCCESSFUL)
def test_result_files_are_what_the_pack_declares(
    api: ApiClient, fleet: Fleet, model: ModelCase, target: Target, name: str
) -> None:
    """Each URL downloads, a real decoder opens it, and its kind, format, size and duration
    are the ones the pack gives for the request (off a mock: the documented ones)."""
    member = fleet[name]
    data = member.final()
    if data["state"] != "success":
        pytest.skip(f"the {name} task ended {data['state']} ({data.get('failCode')})")
    urls = check_result_count(data, len(member.outputs))
    for url, expected in zip(urls, member.outputs, strict=True):
        reply = api.download(url)
        if reply.status_code != 200:
            raise ContractViolation(
                "results.downloadable", f"GET {url} answered HTTP {reply.status_code}"
            )
        content_type = reply.headers.get("Content-Type", "")
        check_output(reply.content, content_type, expected, url, target.judges(model))
