"""Tests of the sample client against the apixo-mock pytest plugin: no network, no sleeping.

The client's `sleep` is the mock's `advance`: when the client waits 20 s
before polling, the mock's frozen clock moves 20 s and the test goes on at once.
"""

from __future__ import annotations

import struct

import pytest
from image_client import (
    ApixoError,
    GenerationFailed,
    ImageClient,
    ResultExpired,
    parse_callback,
)

from mock_server import MockServer
from mock_server.testing.receiver import CallbackReceiver

FIFTEEN_DAYS_S = 15 * 24 * 3600


@pytest.fixture
def client(apixo_mock: MockServer) -> ImageClient:
    """The application's client, pointed at the mock, waiting on the mock's clock."""
    return ImageClient(apixo_mock.base_url, apixo_mock.api_key, sleep=apixo_mock.advance)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_generate_then_download_a_landscape_image(client: ImageClient) -> None:
    urls = client.generate("a lighthouse at dusk", aspect_ratio="3:2")

    assert len(urls) == 1
    assert png_size(client.download(urls[0])) == (1536, 1024)


def test_each_image_asked_for_is_billed(client: ImageClient) -> None:
    before = client.balance()

    urls = client.generate("four kittens", num_images=4)

    assert len(urls) == 4
    assert before - client.balance() == pytest.approx(4 * 0.35)


def test_content_violation_raises_generation_failed(client: ImageClient) -> None:
    # A built-in trigger: the prompt alone decides the outcome, no scenario needed.
    with pytest.raises(GenerationFailed) as failed:
        client.generate("mock:fail:CONTENT_VIOLATION")

    assert failed.value.code == "CONTENT_VIOLATION"


@pytest.mark.apixo_scenario(
    [
        {
            "name": "no-weapons",
            "when": {"prompt_contains": "sword"},
            "then": {"fail": {"code": "CONTENT_VIOLATION"}},
        }
    ]
)
def test_a_scenario_rule_decides_which_prompts_violate(client: ImageClient) -> None:
    assert client.generate("a shield")

    with pytest.raises(GenerationFailed, match="CONTENT_VIOLATION"):
        client.generate("a sword")


def test_a_429_is_retried_after_its_retry_after(
    apixo_mock: MockServer, client: ImageClient
) -> None:
    apixo_mock.set_limits(rpm=2)
    task_id = client.submit("a red bicycle")
    client.status(task_id)  # the second request this minute: the third will be refused

    urls = client.wait(task_id)  # meets a 429, sleeps its Retry-After on the mock clock

    assert urls
    reads = apixo_mock.journal(path="/api/v1/statusTask")
    assert [read.status for read in reads] == [200, 429, 200]
    assert reads[2].time - reads[1].time == 40_000  # Retry-After: the minute's window reopens


def test_a_429_is_raised_once_retries_are_spent(apixo_mock: MockServer) -> None:
    apixo_mock.use_scenario(
        [
            {
                "name": "throttled",
                "when": {"endpoint": "balance"},
                "then": {"reject": {"status": 429}},
            }
        ]
    )
    client = ImageClient(
        apixo_mock.base_url, apixo_mock.api_key, sleep=apixo_mock.advance, max_retries=2
    )

    with pytest.raises(ApixoError) as refused:
        client.balance()

    assert refused.value.status == 429
    assert len(apixo_mock.journal(status=429)) == 3  # the first try and two retries


def test_callback_mode_delivers_the_status_envelope(
    apixo_mock: MockServer, client: ImageClient, apixo_callback_receiver: CallbackReceiver
) -> None:
    task_id = client.submit("a paper boat", callback_url=apixo_callback_receiver.url + "/hooks")

    apixo_mock.wait_for(task_id, "success")  # moves the clock; the callback is sent meanwhile

    [delivery] = apixo_callback_receiver.deliveries()
    assert delivery.path == "/hooks"
    assert delivery.json == {"code": 200, "message": "success", "data": client.status(task_id)}
    assert parse_callback(delivery.body) == client.wait(task_id)


def test_a_result_url_expires_after_15_days(apixo_mock: MockServer, client: ImageClient) -> None:
    [url] = client.generate("a sandcastle")
    assert client.download(url)

    apixo_mock.advance(FIFTEEN_DAYS_S + 1)

    with pytest.raises(ResultExpired):
        client.download(url)
