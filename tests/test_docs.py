"""The README's samples work: its shell blocks run against a live mock, its YAML loads."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from contract_tests.runner import translate
from contract_tests.target import OPTIONS
from mock_server.core.scenario_files import scenario_from_document
from mock_server.settings import Settings, load_settings
from mock_server.testing.server import MockServer

ROOT = Path(__file__).parents[1]
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)
ERROR_ENVELOPE = re.compile(r'"code": ?[45]\d\d')


def blocks(path: Path, language: str) -> list[str]:
    return [
        body for lang, body in BLOCK.findall(path.read_text(encoding="utf-8")) if lang == language
    ]


@pytest.fixture
def live() -> Iterator[MockServer]:
    with MockServer(Settings(host="127.0.0.1", port=0, access_log=False, seed=1)) as mock:
        yield mock


SHELL_DOCS = ("README.md", "docs/admin-api.md")
SHELL_SAMPLES = [(doc, i) for doc in SHELL_DOCS for i in range(len(blocks(ROOT / doc, "sh")))]


@pytest.mark.skipif(shutil.which("curl") is None, reason="the samples use curl")
@pytest.mark.parametrize(
    ("doc", "index"), SHELL_SAMPLES, ids=[f"{d}#{i}" for d, i in SHELL_SAMPLES]
)
def test_shell_samples_run(live: MockServer, tmp_path: Path, doc: str, index: int) -> None:
    script = blocks(ROOT / doc, "sh")[index].replace("http://127.0.0.1:8000", live.base_url)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert '"code":200' in result.stdout
    assert not ERROR_ENVELOPE.findall(result.stdout), "a sample call was refused"
    if "200 200 429" in script:
        assert "200 200 429" in result.stdout


def test_readme_yaml_blocks_load(tmp_path: Path) -> None:
    documents = [yaml.safe_load(body) for body in blocks(ROOT / "README.md", "yaml")]
    scenarios = [d for d in documents if "rules" in d]
    settings_files = [d for d in documents if "profile" in d and "rules" not in d]
    assert scenarios
    assert settings_files
    for document in scenarios:
        assert scenario_from_document(document).rules
    for document in settings_files:
        path = tmp_path / "settings.yaml"
        path.write_text(yaml.safe_dump(document), encoding="utf-8")
        assert load_settings(config=path).profile == document["profile"]


def test_readme_starts_with_the_two_commands() -> None:
    head = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:12]
    assert any("make serve" in line for line in head)
    assert any("make test" in line for line in head)


def test_readme_workflow_uses_real_contract_options() -> None:
    workflows = [yaml.safe_load(b) for b in blocks(ROOT / "README.md", "yaml") if "jobs:" in b]
    assert workflows
    known = {option.flag for option in OPTIONS}
    for workflow in workflows:
        for job in workflow["jobs"].values():
            for step in job["steps"]:
                words = shlex.split(str(step.get("run", "")))
                if words[:2] != ["apixo-mock", "contract"]:
                    continue
                for word in translate(words[2:]):
                    name = word.split("=", 1)[0]
                    assert not name.startswith("--apixo-") or name in known, name


def test_secrets_samples_configure_the_mock_without_flags(tmp_path: Path) -> None:
    doc = ROOT / "docs" / "admin-api.md"
    (exports,) = [b for b in blocks(doc, "bash") if "APIXO_MOCK_ADMIN_TOKEN" in b]
    serve = [line for line in exports.splitlines() if line.startswith("apixo-mock serve")]
    assert serve
    assert not [arg for arg in shlex.split(serve[0]) if "token" in arg or "keys" in arg]
    script = "\n".join(line for line in exports.splitlines() if line.startswith("export "))
    printed = subprocess.run(
        ["bash", "-euc", script + "\nenv -0"], capture_output=True, check=True, timeout=30
    ).stdout.decode()
    env = dict(item.split("=", 1) for item in printed.split("\0") if "=" in item)
    from_env = load_settings(env=env)
    assert from_env.admin_token is not None
    assert len(from_env.admin_token) == 32
    assert from_env.keys == ("key-one", "key-two")
    (yaml_sample,) = [b for b in blocks(doc, "yaml") if "admin_token" in b]
    config = tmp_path / "mock.yaml"
    config.write_text(yaml_sample, encoding="utf-8")
    from_file = load_settings(config=config)
    assert from_file.admin_token == "a-long-random-token"
    assert from_file.keys == ("key-one", "key-two")
    assert from_file.callback_secret == "another-long-random-secret"
