"""Redis going away while the mock runs: a 503 in the API's envelope, never a 500 or a hang."""

from __future__ import annotations

from pathlib import Path

import pytest

from mock_server.settings import Settings
from mock_server.testing.redis_server import RedisUnavailable, redis_server
from mock_server.web.app import create_app

AUTH = {"Authorization": "Bearer key-outage-0001"}
BODY = {"input": {"mode": "gpt-image-1", "prompt": "a fox"}}


def test_a_lost_redis_is_a_503_in_the_envelope(tmp_path: Path) -> None:
    try:
        server = redis_server(tmp_path)
        running = server.__enter__()
    except RedisUnavailable as error:
        pytest.skip(str(error))
    app = create_app(Settings(store=running.url, access_log=False))
    client = app.test_client()
    submitted = client.post("/api/v1/generateTask/gpt-image-1", json=BODY, headers=AUTH)
    assert submitted.status_code == 200
    server.__exit__(None, None, None)  # Redis stops; the mock does not
    task_id = submitted.get_json()["data"]["taskId"]
    answer = client.get(f"/api/v1/statusTask/gpt-image-1?taskId={task_id}", headers=AUTH)
    assert answer.status_code == 503
    assert answer.get_json() == {
        "code": 503,
        "message": "The mock's shared store (Redis) is unreachable",
        "data": None,
    }
