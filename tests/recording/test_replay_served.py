"""`serve --replay DIR`: the setting wires the replay middleware into every app the mock serves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests

from mock_server import MockServer
from mock_server.recording.replay import ReplayIndex
from mock_server.settings import Settings

from .conftest import EXAMPLE, documents

AUTH = {"Authorization": "Bearer replay-key"}


def test_a_served_mock_replays_a_recorded_task_and_serves_the_rest() -> None:
    submit = documents(EXAMPLE)[0]
    task, body = str(submit["taskId"]), submit["request"]["body"]
    sequence = ReplayIndex.load(EXAMPLE).sequence(task)
    settings = Settings(
        host="127.0.0.1", port=0, frozen=True, access_log=False, replay=str(EXAMPLE)
    )
    with MockServer(settings) as mock:
        base = mock.base_url
        answer = requests.post(f"{base}/api/v1/generateTask/gpt-image-1", json=body, headers=AUTH)
        assert answer.json()["data"]["taskId"] == task
        mock.advance(sequence[-1].offset_ms / 1000)
        final = requests.get(
            f"{base}/api/v1/statusTask/gpt-image-1", params={"taskId": task}, headers=AUTH
        )
        assert final.json() == sequence[-1].body
        fresh = {"input": {"mode": "gpt-image-1", "prompt": "not in the recording"}}
        own = requests.post(f"{base}/api/v1/generateTask/gpt-image-1", json=fresh, headers=AUTH)
        assert own.status_code == 200
        assert own.json()["data"]["taskId"] != task
        # Replayed answers are journaled like any other: two submits and the read.
        assert len(mock.journal(path="/api/v1/")) == 3


def test_a_replay_folder_that_is_not_a_recording_stops_serve_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mock_server", "serve", "--port", "0", "--replay", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    output = result.stdout + result.stderr
    assert output.count("\n") == 1, output
    assert output.startswith("apixo-mock: error: command line: replay: "), output
