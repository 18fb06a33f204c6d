"""The recording proxy with a MockServer upstream: answers passed through, exchanges written."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from mock_server.cli import main
from mock_server.recording.proxy import Recorder

from .conftest import documents
from .session import BALANCE, EXAMPLE_KEY, SUBMIT, example, session


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The example session recorded once for this module, with what the parts saw."""
    out = tmp_path_factory.mktemp("recording")
    with session(out) as running:
        example(running)
        seen = {
            "callbacks": running.mock.callbacks(),
            "received": running.receiver.deliveries(),
            "public": running.recorder.public_url,
        }
    return out, seen


def by_label(out: Path, label: str) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(out.glob(f"*-{label}.json"))]


def test_every_exchange_is_written_in_order(recorded: tuple[Path, dict[str, Any]]) -> None:
    out, _ = recorded
    labels = [path.name.split("-", 1)[1] for path in sorted(out.glob("*.json"))]
    assert labels[0] == "submit.json"
    assert labels.count("submit.json") == 3
    assert labels.count("balance.json") == 2
    assert labels.count("callback.json") == 1
    first = documents(out)[0]
    assert first["version"] == 1
    assert first["kind"] == "api"
    assert first["model"] == "gpt-image-1"
    assert first["taskId"] == first["response"]["body"]["data"]["taskId"]
    assert first["request"]["body"]["input"]["prompt"] == "a lighthouse at dawn, watercolour"
    assert first["elapsedMs"] >= 0


def test_status_reads_record_each_state(recorded: tuple[Path, dict[str, Any]]) -> None:
    out, _ = recorded
    states = [doc["response"]["body"]["data"]["state"] for doc in by_label(out, "status")
              if doc["response"]["status"] == 200]  # fmt: skip
    assert {"pending", "processing", "success", "failed"} <= set(states)
    missing = [doc for doc in by_label(out, "status") if doc["response"]["status"] == 404]
    assert missing[0]["request"]["query"] == {"taskId": "task_0000000000000000"}
    assert missing[0]["response"]["body"]["code"] == 404


def test_balance_reads_record_401_and_200(recorded: tuple[Path, dict[str, Any]]) -> None:
    out, _ = recorded
    statuses = [doc["response"]["status"] for doc in by_label(out, "balance")]
    assert statuses == [401, 200]
    assert isinstance(by_label(out, "balance")[1]["response"]["body"]["data"], (int, float))


def test_a_callback_goes_through_the_proxy_and_is_recorded(
    recorded: tuple[Path, dict[str, Any]],
) -> None:
    out, seen = recorded
    submit = next(doc for doc in by_label(out, "submit") if "callback" in doc)
    original = submit["request"]["body"]["callback_url"]
    assert original.endswith("/hooks/apixo")
    assert submit["callback"]["forwarded"].startswith(seen["public"] + "/__record/callback/")
    # The upstream was given the proxy's URL, not the client's.
    assert [cb.url for cb in seen["callbacks"]] == [submit["callback"]["forwarded"]]
    assert seen["callbacks"][0].state == "delivered"
    (callback,) = by_label(out, "callback")
    assert callback["kind"] == "callback"
    assert callback["taskId"] == submit["taskId"]
    assert callback["request"]["url"] == original
    assert callback["request"]["path"] == "/hooks/apixo"
    assert callback["response"]["status"] == 200
    (delivery,) = seen["received"]
    assert delivery.path == "/hooks/apixo"
    assert delivery.json == callback["request"]["body"]
    assert delivery.json["data"]["state"] == "success"


def test_the_api_key_is_in_no_file(recorded: tuple[Path, dict[str, Any]]) -> None:
    out, _ = recorded
    for path in out.glob("*.json"):
        text = path.read_text(encoding="utf-8")
        assert EXAMPLE_KEY not in text, path.name
    assert by_label(out, "submit")[0]["request"]["headers"]["Authorization"] == "REDACTED"


def test_configured_secrets_are_redacted_everywhere_but_sent_upstream(tmp_path: Path) -> None:
    secret = "team-secret-7f3a"
    with session(tmp_path, secrets=(secret,), download_results=True) as running:
        hook = f"{running.receiver.url}/hook?token={EXAMPLE_KEY}&s={secret}"
        task = running.submit(
            f"a poster saying {secret}", request_type="callback", callback_url=hook
        )
        running.mock.wait_for(task, "success")
        assert running.receiver.wait_for(1, timeout_s=10)
        running.status(task)
        # The wire kept both: the upstream saw the key, the receiver the secret in its URL.
        assert running.mock.task(task).key == EXAMPLE_KEY
        assert secret in running.mock.task(task).request.prompt
        assert running.receiver.deliveries()[0].path.endswith(f"s={secret}")
    texts = {path.name: path.read_text(encoding="utf-8") for path in tmp_path.glob("*.json")}
    assert len(texts) == 3
    for name, text in texts.items():
        assert EXAMPLE_KEY not in text, name
        assert secret not in text, name
    assert "a poster saying REDACTED" in "".join(texts.values())
    assert (tmp_path / "results" / f"{task}-1.png").read_bytes().startswith(b"\x89PNG")


def test_paths_pass_through_verbatim(tmp_path: Path) -> None:
    with session(tmp_path) as running:
        answer = requests.get(running.url("/api/v1//generateTask/gpt-image-1"), timeout=10)
        direct = requests.get(
            running.mock.base_url + "/api/v1//generateTask/gpt-image-1", timeout=10
        )
    assert (answer.status_code, answer.json()) == (direct.status_code, direct.json())
    assert answer.headers["Content-Type"].startswith("application/json")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_upstream_is_a_502_envelope(tmp_path: Path) -> None:
    with Recorder(f"http://127.0.0.1:{free_port()}", tmp_path) as recorder:
        answer = requests.get(recorder.base_url + BALANCE, timeout=10)
    assert answer.status_code == 502
    assert answer.json()["code"] == 502
    (document,) = documents(tmp_path)
    assert document["response"]["status"] == 502
    assert "upstream failed" in document["proxyError"]


def test_record_help_lists_its_options() -> None:
    result = CliRunner().invoke(main, ["record", "--help"])
    assert result.exit_code == 0
    for option in ("--upstream", "--out", "--public-url", "--redact", "--download-results"):
        assert option in result.output


@pytest.mark.parametrize("url", ["not a URL", "ftp://hooks.example/cb"])
def test_a_callback_url_the_api_must_refuse_reaches_it_unchanged(tmp_path: Path, url: str) -> None:
    body = {"input": {"mode": "gpt-image-1", "prompt": "x"}, "request_type": "callback",
            "callback_url": url}  # fmt: skip
    with session(tmp_path) as running:
        answer = requests.post(
            running.url(SUBMIT), json=body, headers=running.mock.headers, timeout=10
        )
    assert answer.status_code == 400
    (document,) = documents(tmp_path)
    assert "callback" not in document
    assert document["request"]["body"]["callback_url"] == url


def test_the_upstream_gets_the_receivers_answer_and_each_attempt_is_recorded(
    tmp_path: Path,
) -> None:
    with session(tmp_path) as running:
        running.receiver.respond_with(status=500, times=1)
        hook = running.receiver.url + "/hook"
        task = running.submit("a kite", request_type="callback", callback_url=hook)
        running.mock.wait_for(task, "success")  # the first delivery: the receiver says 500
        running.mock.advance(1.1)  # the first retry: 1 s of backoff, at most 10% jitter
        (delivery,) = running.mock.callbacks(task)
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("delivered", 2, 200)
    statuses = [doc["response"]["status"] for doc in by_label(tmp_path, "callback")]
    assert statuses == [500, 200]
