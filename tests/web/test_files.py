"""Result images served by the mock: real PNGs of the right size, gone after the TTL."""

from __future__ import annotations

import io
import json

import pytest
from flask.testing import FlaskClient
from PIL import Image

from mock_server.core.clock import MockClock
from tests.conftest import AUTH, STATUS, SUBMIT, submit_body


def finished_urls(client: FlaskClient, clock: MockClock, **fields: object) -> list[str]:
    task_id = client.post(SUBMIT, json=submit_body(**fields), headers=AUTH).get_json()["data"][
        "taskId"
    ]
    clock.advance(60_000)
    data = client.get(STATUS, query_string={"taskId": task_id}, headers=AUTH).get_json()["data"]
    return list(json.loads(data["resultJson"])["resultUrls"])


@pytest.mark.parametrize(
    ("ratio", "size"), [("1:1", (1024, 1024)), ("3:2", (1536, 1024)), ("2:3", (1024, 1536))]
)
def test_result_is_png_of_the_ratio_size(
    client: FlaskClient, clock: MockClock, ratio: str, size: tuple[int, int]
) -> None:
    (url,) = finished_urls(client, clock, aspect_ratio=ratio)
    response = client.get(url)
    assert response.status_code == 200
    assert response.content_type == "image/png"
    image = Image.open(io.BytesIO(response.data))
    assert (image.format, image.size) == ("PNG", size)


def test_each_image_of_a_task_differs_and_repeats(client: FlaskClient, clock: MockClock) -> None:
    urls = finished_urls(client, clock, num_images=2)
    first, second = (client.get(url).data for url in urls)
    assert first != second
    assert client.get(urls[0]).data == first


def test_result_expires_after_fifteen_days(client: FlaskClient, clock: MockClock) -> None:
    (url,) = finished_urls(client, clock)
    clock.advance(15 * 86_400_000 - 60_000)
    assert client.get(url).status_code == 200
    clock.advance(60_000)
    gone = client.get(url)
    assert gone.status_code == 404
    assert gone.get_json()["code"] == 404


def test_no_image_before_success_or_past_num_images(client: FlaskClient, clock: MockClock) -> None:
    task_id = client.post(SUBMIT, json=submit_body(), headers=AUTH).get_json()["data"]["taskId"]
    assert client.get(f"/results/{task_id}/0.png").status_code == 404
    clock.advance(60_000)
    assert client.get(f"/results/{task_id}/0.png").status_code == 200
    assert client.get(f"/results/{task_id}/1.png").status_code == 404
