"""`apixo-mock drift`: the shipped example passes; each injected drift is named and fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner, Result

from mock_server.cli import main
from mock_server.settings import load_settings

from .conftest import EXAMPLE, mutate_tasks


def drift(*args: str) -> Result:
    return CliRunner().invoke(main, ["drift", *args])


def test_the_shipped_example_holds_the_contract() -> None:
    result = drift(str(EXAMPLE))
    assert result.exit_code == 0, result.output
    assert "contract OK" in result.output
    for rule in ("status.states-forward", "status.cost-time", "callbacks.same-envelope"):
        assert rule in result.output
    assert "GET /api/v1/statusTask/gpt-image-1: 200 x" in result.output
    assert "404 x1" in result.output


def rename_cost_time(data: dict[str, Any]) -> None:
    if "costTime" in data:
        data["costTimeMs"] = data.pop("costTime")


def drop_cost_time(data: dict[str, Any]) -> None:
    data.pop("costTime", None)


def queued_state(data: dict[str, Any]) -> None:
    if data["state"] == "pending":
        data["state"] = "queued"


def new_fail_code(data: dict[str, Any]) -> None:
    if data.get("failCode") == "CONTENT_VIOLATION":
        data["failCode"] = "POLICY_BLOCKED"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        pytest.param(
            rename_cost_time, ["data.costTime is missing", "data.costTimeMs"], id="renamed"
        ),
        pytest.param(
            drop_cost_time, ["data.costTime is missing", "status.times"], id="no-costTime"
        ),
        pytest.param(queued_state, ["'queued' is not a known state", "status.schema"], id="state"),
        pytest.param(new_fail_code, ["'POLICY_BLOCKED' is not a documented code"], id="failCode"),
    ],
)
def test_injected_drift_breaks_the_contract(
    example_copy: Path, change: Any, named: list[str]
) -> None:
    mutate_tasks(example_copy, change)
    result = drift(str(example_copy))
    assert result.exit_code == 1, result.output
    assert "contract BROKEN" in result.output
    for text in named:
        assert text in result.output


def test_a_new_optional_field_is_only_a_warning(example_copy: Path) -> None:
    mutate_tasks(example_copy, lambda data: data.setdefault("queuePosition", 0))
    result = drift(str(example_copy))
    assert result.exit_code == 0, result.output
    assert "New fields the schemas do not declare (warnings)" in result.output
    assert "data.queuePosition is not declared" in result.output


def test_json_output_parses_and_carries_the_verdict(example_copy: Path) -> None:
    mutate_tasks(example_copy, new_fail_code)
    result = drift(str(example_copy), "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ok"] is False
    assert report["newEnumValues"][0]["detail"].startswith("data.failCode")
    assert report["rulesBroken"][0]["rule"] == "status.failed-fields"
    assert report["timing"]["gpt-image-1"]["tasks"] == 3
    assert report["realisticProfile"]["pending_ms"] == 2000


def test_junit_output_parses_with_one_failure_per_broken_thing(
    example_copy: Path, tmp_path: Path
) -> None:
    mutate_tasks(example_copy, drop_cost_time)
    junit = tmp_path / "drift.xml"
    assert drift(str(example_copy), "--junit", str(junit)).exit_code == 1
    suite = ElementTree.parse(junit).getroot()
    failed = {
        case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None
    }
    assert {"status.times", "Missing required fields"} <= failed
    assert int(suite.get("failures", "0")) == len(failed)
    assert int(suite.get("tests", "0")) > len(failed)


def test_the_emitted_profile_loads_as_settings(tmp_path: Path) -> None:
    profile = tmp_path / "timing.yaml"
    assert drift(str(EXAMPLE), "--emit-profile", str(profile)).exit_code == 0
    settings = load_settings(config=profile)
    assert settings.pending_ms is not None
    assert settings.processing_min_ms is not None
    assert settings.processing_max_ms is not None
    # The example ran the realistic profile: what the recording implies lies inside it.
    assert 1_500 <= settings.pending_ms <= 2_500
    assert 20_000 <= settings.processing_min_ms <= settings.processing_max_ms <= 40_000


def test_a_directory_without_exchanges_is_a_usage_error(tmp_path: Path) -> None:
    result = drift(str(tmp_path))
    assert result.exit_code == 2
    assert "no recorded exchanges" in result.output


def test_a_callback_that_differs_from_the_final_read_breaks_the_contract(
    example_copy: Path,
) -> None:
    (path,) = example_copy.glob("*-callback.json")
    document = json.loads(path.read_text())
    document["request"]["body"]["message"] = "done"
    path.write_text(json.dumps(document))
    result = drift(str(example_copy))
    assert result.exit_code == 1, result.output
    assert f"{path.name}: callbacks.same-envelope" in result.output
