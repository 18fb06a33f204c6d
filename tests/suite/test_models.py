"""--apixo-model: which packs the suite checks, their budget units, and a run over every pack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest

from contract_tests.models import case, selected, shipped, units
from contract_tests.report import Outcome
from mock_server.core.models import default_root
from mock_server.server import MockServer
from tests.suite.harness import KEYS, SUITE, Outcomes, served_settings

MODEL_RULES = (
    "submit.accepts-valid",
    "status.states-forward",
    "status.result-count",
    "balance.charge",
    "results.downloadable",
    "status.unknown-task-404",
    "submit.input-400",
    "submit.mode-400",
)


def test_the_default_is_gpt_image_1_and_all_is_every_shipped_pack() -> None:
    assert selected(None) == ("gpt-image-1",)
    assert selected("sora-2") == ("sora-2",)
    assert selected("all") == shipped().ids()
    assert len(selected("all")) == len(shipped()) > 1


def test_an_unknown_model_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"no-such-model.*gpt-image-1"):
        selected("no-such-model")


def test_a_charge_counts_in_images_at_the_suites_price_rounded_up() -> None:
    price = Decimal("0.35")
    assert units(350_000, price) == 1
    assert units(700_000, price) == 2
    assert units(400_000, price) == 2  # 5 s of video at 0.08 USD a second
    assert units(30_000, price) == 1  # never less than one image


def test_every_pack_has_an_example_and_bodies_no_pack_takes() -> None:
    for model in shipped().ids():
        model_case = case(model)
        assert model_case.examples(), model
        assert model_case.other_model() != model
        refused = model_case.invalid_bodies()
        assert refused["input-not-object"]["input"] == "not an object"
        assert refused["unknown-mode"]["input"]["mode"] not in model_case.pack.modes


@dataclass
class Passed:
    """A pytest plugin that keeps the ids of the nested run's passed tests."""

    ids: list[str] = field(default_factory=list)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Keep every passed test's id."""
        if report.passed and report.when == "call":
            self.ids.append(report.nodeid)


@pytest.fixture(scope="module")
def instant_server() -> Iterator[MockServer]:
    """The mock with admin API (the suite moves its clock), instant profile, keys K1 and K2."""
    with MockServer(served_settings(profile="instant", seed=20_240_601)) as server:
        yield server


@pytest.fixture
def instant_mock(instant_server: MockServer) -> str:
    """The instant mock's URL, reset to its start-up state."""
    instant_server.reset()
    return instant_server.base_url


def test_every_pack_passes_the_model_rules_with_model_all(
    instant_mock: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--apixo-model all`: test_models.py once per shipped pack, every rule checked."""
    monkeypatch.setenv("APIXO_HYPOTHESIS_PROFILE", "small")
    outcomes, passed = Outcomes(), Passed()
    argv = [str(SUITE), "-q", "-p", "no:cacheprovider", "--apixo-base-url", instant_mock]
    argv += ["--apixo-api-key", KEYS[0], "--apixo-other-api-key", KEYS[1]]
    code = pytest.main([*argv, "--apixo-model", "all", "-k", "test_models"], [outcomes, passed])
    assert code == 0, "\n\n".join(outcomes.failures)
    assert outcomes.report is not None
    states = outcomes.report.states
    assert {rule: states[rule].outcome for rule in MODEL_RULES} == dict.fromkeys(
        MODEL_RULES, Outcome.CHECKED
    )
    per_model = {
        model: [i for i in passed.ids if i.endswith(f"[{model}]")] for model in selected("all")
    }
    # 5 tests a model, plus the two refused bodies (ids `[name-model]`).
    assert {model: len(ids) for model, ids in per_model.items()} == dict.fromkeys(per_model, 5)


EXAMPLES = sorted(default_root().glob("*/examples/*.request.json"))


@pytest.mark.parametrize(
    "path", EXAMPLES, ids=lambda path: f"{path.parent.parent.name}/{path.name.split('.')[0]}"
)
def test_a_served_mock_answers_every_packs_example_request(
    instant_server: MockServer, path: Path
) -> None:
    """Over HTTP (the handle's submit): 200, then success with one URL per output."""
    model = path.parent.parent.name
    body = json.loads(path.read_text(encoding="utf-8"))
    task = instant_server.wait_for(instant_server.submit(model, body), "success")
    assert len(task.result_urls) == len(case(model).outputs(body))


def test_gpt_image_1_rules_skip_for_another_model_saying_why(instant_mock: str) -> None:
    """`--apixo-model nano-banana`: the gpt-image-1 tests skip with the reason, nothing fails."""
    outcomes = Outcomes()
    argv = [str(SUITE), "-q", "-p", "no:cacheprovider", "--apixo-base-url", instant_mock]
    argv += ["--apixo-api-key", KEYS[0], "--apixo-model", "nano-banana", "-k", "test_envelope"]
    assert pytest.main(argv, [outcomes]) == 0, "\n\n".join(outcomes.failures)
    assert outcomes.report is not None
    state = outcomes.report.states["envelope.content-type"]
    assert state.outcome is Outcome.SKIPPED
    assert any("a gpt-image-1 rule" in detail for detail in state.details)
