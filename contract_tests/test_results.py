"""Result files: every URL downloads as an image of the size its aspect ratio gives."""

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
from contract_tests.target import Target

SUCCESSFUL = ("default", "extras", "alias")


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
