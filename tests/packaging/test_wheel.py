"""The wheel works on its own: installed into a fresh venv, its command, plugin and suite run.

Built as `make dist` builds it (sdist, then the wheel from the sdist), and
installed without dependencies into a new virtual environment; the
dependencies come from this environment's site-packages through a .pth file
written after the install, so the test needs no network and no registry. A
.pth line only appends a directory: this environment's editable install of
apixo-mock is not activated there, so every import below is the wheel's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from mock_server import __version__
from tests.suite.harness import served_mock

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 120
PLUGIN_TEST = """
import requests


def test_a_task_succeeds(apixo_mock):
    response = requests.post(
        apixo_mock.base_url + "/api/v1/generateTask/gpt-image-1",
        json={"input": {"mode": "gpt-image-1", "prompt": "a lighthouse"}},
        headers=apixo_mock.headers,
    )
    task = apixo_mock.wait_for(response.json()["data"]["taskId"], "success")
    assert len(task.result_urls) == 1
"""


@dataclass(frozen=True, slots=True)
class Venv:
    """A virtual environment with the wheel installed; commands run from `work`."""

    root: Path
    work: Path

    def bin(self, name: str) -> str:
        """An executable of the venv."""
        return str(self.root / "bin" / name)

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """Run a command in `work`, outside the checkout, with no APIXO_* settings."""
        env = {"PATH": str(self.root / "bin"), "HOME": str(self.work)}
        return subprocess.run(
            argv, cwd=self.work, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
        )


def build(outdir: Path) -> list[str]:
    """Build the sdist and the wheel as `make dist` does; the names of what it made."""
    command = [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(outdir), str(ROOT)]
    subprocess.run(command, check=True, capture_output=True, timeout=TIMEOUT_S)
    return sorted(path.name for path in outdir.iterdir())


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A fresh venv holding only the wheel; this environment lends it the dependencies."""
    base = tmp_path_factory.mktemp("wheel")
    wheel = f"apixo_mock-{__version__}-py3-none-any.whl"
    assert build(base / "dist") == [wheel, f"apixo_mock-{__version__}.tar.gz"]
    root = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    install = [sys.executable, "-m", "pip", "--python", str(root / "bin" / "python")]
    install += ["install", "--quiet", "--no-deps", "--no-index", str(base / "dist" / wheel)]
    subprocess.run(install, check=True, capture_output=True, timeout=TIMEOUT_S)
    site = subprocess.run(
        [
            str(root / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = base / "work"
    work.mkdir()
    return Venv(root, work)


def test_the_package_imported_is_the_wheel(venv: Venv) -> None:
    """mock_server, its data and contract_tests come from the venv, at this version."""
    probe = (
        "import json, mock_server, contract_tests, mock_server.core.schemas as s;"
        "print(json.dumps([mock_server.__version__, mock_server.__file__,"
        " contract_tests.__file__, str(s._PACKAGE)]))"
    )
    result = venv.run(venv.bin("python"), "-c", probe)
    assert result.returncode == 0, result.stderr
    version, *paths = json.loads(result.stdout)
    assert version == __version__
    assert all(Path(path).is_relative_to(venv.root) for path in paths), paths
    assert venv.run(venv.bin("apixo-mock"), "--version").stdout.strip().endswith(__version__)


def test_serve_answers_a_submit(venv: Venv) -> None:
    """`apixo-mock serve` from the wheel validates with its shipped schemas."""
    with served_mock("--no-access-log", command=venv.bin("apixo-mock")) as base_url:
        health = requests.get(base_url + "/__admin/health", timeout=10).json()
        answer = requests.post(
            base_url + "/api/v1/generateTask/gpt-image-1",
            json={"input": {"mode": "gpt-image-1", "prompt": "a lighthouse", "num_images": 3}},
            headers={"Authorization": "Bearer k"},
            timeout=10,
        )
    assert health["data"]["version"] == __version__
    assert answer.status_code == 400
    assert "num_images" in answer.text


def test_the_plugin_fixture_works(venv: Venv) -> None:
    """The pytest11 entry point gives a project's tests the apixo_mock fixture."""
    (venv.work / "test_client.py").write_text(PLUGIN_TEST, encoding="utf-8")
    result = venv.run(venv.bin("python"), "-m", "pytest", "-q", "-p", "no:cacheprovider")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_the_contract_command_runs_the_suite(venv: Venv) -> None:
    """`apixo-mock contract` runs the installed suite against an in-process mock."""
    result = venv.run(venv.bin("apixo-mock"), "contract", "-q", "-k", "bare_number or auth")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "contract rules" in result.stdout
