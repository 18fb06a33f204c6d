"""A clone is self-contained: it owns its contract, licence and history, and points nowhere else."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mock_server import __version__

ROOT = Path(__file__).resolve().parents[2]
# Paths of the workspace this project was written in; a clone has none of them.
OUTSIDE = re.compile(
    r"\.\./shared|/work/shared|shared/api|\b(CONTRACT|DESIGN|STYLE|PLATFORM|INDEX)\.md\b"
)


def tracked_files() -> list[Path]:
    """Every file git tracks in this checkout."""
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listing = subprocess.run(
        [git, "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    return [ROOT / name for name in listing.decode().split("\0") if name]


def test_no_tracked_file_refers_to_a_path_outside_the_repository() -> None:
    """The contract lives in docs/contract.md, not in a file beside the checkout."""
    this = Path(__file__).resolve()
    found = []
    for path in tracked_files():
        if path == this or not path.is_file():
            continue  # this file names the patterns; a deleted file is no reference
        text = path.read_bytes().decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


def test_licence_matches_the_package_metadata() -> None:
    """pyproject says MIT; the LICENSE file is the MIT licence."""
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^license = "MIT"$', pyproject, re.M)
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert "WITHOUT WARRANTY OF ANY KIND" in text


def test_changelog_has_an_entry_for_this_version() -> None:
    """The version the package reports is the newest heading of CHANGELOG.md."""
    headings = re.findall(r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), re.M)
    assert headings[0] == __version__
    assert "0.1.0" in headings


def documents() -> dict[str, str]:
    """The README, the changelog and every page of docs/, by path."""
    paths = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
    return {str(path.relative_to(ROOT)): path.read_text(encoding="utf-8") for path in paths}


def test_no_document_installs_from_a_registry() -> None:
    """apixo-mock is on no registry: `pip install apixo-mock` would fetch someone else's."""
    registry = re.compile(r"pip install (-\S+ )*['\"]?apixo-mock\b(?! @)")
    found = [
        (name, m.group(0)) for name, text in documents().items() for m in registry.finditer(text)
    ]
    assert found == []


def test_built_files_named_in_the_documents_are_this_version() -> None:
    """`make dist` writes apixo_mock-VERSION files; the install samples name the current ones."""
    named = {
        (name, version)
        for name, text in documents().items()
        for version in re.findall(r"apixo_mock-(\d[\w.]*?)(?:-py3|\.tar)", text)
    }
    assert named, "no document shows how to install a built wheel"
    assert {version for _, version in named} == {__version__}, named
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^dist: .*\n(\t.*\n)*\t.*-m build --no-isolation", makefile, re.M)
