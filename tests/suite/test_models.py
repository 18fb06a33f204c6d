"""--apixo-model: which packs the suite checks, their budget units, and a run over every pack.

`make test` runs the whole suite for every pack but gpt-image-1 (whose run is
the suite's own, under `testpaths`) against one mock served with the instant
profile: every rule the contract states for every model must be checked for
each of them, and none may fail.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from contract_tests.client import DEFAULT_MODEL
from contract_tests.media import check_output
from contract_tests.model_bodies import unreachable_reference
from contract_tests.models import case, selected, shipped, units
from contract_tests.plugin import declared_rules
from contract_tests.report import Outcome
from contract_tests.rule_index import GPT_IMAGE_1, scope
from contract_tests.rules import RULES
from contract_tests.target import Admin, read_options, resolve
from mock_server.core.models import default_root
from mock_server.server import MockServer
from tests.suite.harness import KEYS, SUITE, Outcomes, served_settings

OTHER_MODELS = tuple(model for model in selected("all") if model != DEFAULT_MODEL)
# Every rule but gpt-image-1's own: each must be checked for each other model.
EVERY_MODEL_RULES = frozenset(rule.id for rule in RULES if scope(rule.id) != GPT_IMAGE_1)
IMAGE_URL_RULES = ("failures.invalid-image-url", "submit.image-urls-accepted")


def test_the_default_is_gpt_image_1_and_all_is_every_shipped_pack() -> None:
    assert selected(None) == ("gpt-image-1",)
    assert selected("sora-2") == ("sora-2",)
    assert selected("sora-2, suno,sora-2") == ("sora-2", "suno")
    assert selected("all") == shipped().ids()
    assert len(selected("all")) == len(shipped()) > 1


def test_a_model_reports_the_platforms_fail_codes_and_its_own_only() -> None:
    """INVALID_LORA_URL is ltx-2-19b's (its manifest's fail_codes): no other model reports it."""
    assert "INVALID_LORA_URL" in case("ltx-2-19b").fail_codes()
    assert "INVALID_LORA_URL" not in case("gpt-image-1").fail_codes()
    assert "CONTENT_VIOLATION" in case("suno").fail_codes()


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
    """A pytest plugin that keeps the nested run's passed tests and the rules each model
    passed (a test's rules count for the model its id names)."""

    ids: list[str] = field(default_factory=list)
    rules: dict[str, set[str]] = field(default_factory=dict)
    _declared: dict[str, tuple[str, list[str]]] = field(default_factory=dict)

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Remember each test's model and rules."""
        for item in items:
            callspec = getattr(item, "callspec", None)
            model = callspec.params.get("apixo_model", "") if callspec is not None else ""
            self._declared[item.nodeid] = (str(model), declared_rules(item))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Keep every passed test's id, and its rules under its model."""
        if report.passed and report.when == "call":
            self.ids.append(report.nodeid)
            model, rules = self._declared.get(report.nodeid, ("", []))
            self.rules.setdefault(model, set()).update(rules)


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


def test_every_pack_passes_the_whole_suite(
    instant_mock: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The suite once per pack but gpt-image-1: nothing fails, and every rule the contract
    states for every model is checked for each of them (the `model` Hypothesis profile)."""
    monkeypatch.delenv("APIXO_HYPOTHESIS_PROFILE", raising=False)
    outcomes, passed = Outcomes(), Passed()
    argv = [str(SUITE), "-q", "-p", "no:cacheprovider", "--apixo-base-url", instant_mock]
    argv += ["--apixo-api-key", KEYS[0], "--apixo-other-api-key", KEYS[1]]
    code = pytest.main([*argv, "--apixo-model", ",".join(OTHER_MODELS)], [outcomes, passed])
    assert code == 0, "\n\n".join(outcomes.failures)
    assert outcomes.report is not None
    unchecked = {
        model: tuple(sorted(EVERY_MODEL_RULES - passed.rules.get(model, set())))
        for model in OTHER_MODELS
    }
    assert unchecked == {model: _without_inputs_for(model) for model in OTHER_MODELS}
    gpt_only = {rule.id for rule in RULES if scope(rule.id) == GPT_IMAGE_1}
    assert all(not rules & gpt_only for rules in passed.rules.values())


def _without_inputs_for(model: str) -> tuple[str, ...]:
    """The rules a model has no input for: reference images, for a model that takes none."""
    if unreachable_reference(case(model)) is None:
        return IMAGE_URL_RULES
    return ()


EXAMPLES = sorted(default_root().glob("*/examples/*.request.json"))


@pytest.mark.parametrize(
    "path", EXAMPLES, ids=lambda path: f"{path.parent.parent.name}/{path.name.split('.')[0]}"
)
def test_a_served_mock_answers_every_packs_example_request(
    instant_server: MockServer, path: Path
) -> None:
    """Over HTTP (the handle's submit): 200, then success with one URL per output; the
    first file opens with a real decoder (Pillow, PyAV) as the kind, format, size and
    duration the pack gives."""
    model = path.parent.parent.name
    body = json.loads(path.read_text(encoding="utf-8"))
    task = instant_server.wait_for(instant_server.submit(model, body), "success")
    outputs = case(model).outputs(body)
    assert len(task.result_urls) == len(outputs)
    reply = requests.get(task.result_urls[0], timeout=30)
    assert reply.status_code == 200
    check_output(reply.content, reply.headers["Content-Type"], outputs[0], task.result_urls[0])


def test_gpt_image_1_rules_skip_for_another_model_saying_why(instant_mock: str) -> None:
    """`--apixo-model nano-banana`: gpt-image-1's own rules skip with the reason, nothing
    fails, and its pack's form of them runs."""
    outcomes = Outcomes()
    argv = [str(SUITE), "-q", "-p", "no:cacheprovider", "--apixo-base-url", instant_mock]
    argv += ["--apixo-api-key", KEYS[0], "--apixo-model", "nano-banana", "-k", "test_validation"]
    assert pytest.main(argv, [outcomes]) == 0, "\n\n".join(outcomes.failures)
    assert outcomes.report is not None
    state = outcomes.report.states["submit.num-images-400"]
    assert state.outcome is Outcome.SKIPPED
    assert any("a rule of gpt-image-1's own inputs" in detail for detail in state.details)
    assert outcomes.report.states["submit.schema-400"].outcome is Outcome.CHECKED


def test_pack_driven_rules_skip_for_gpt_image_1_which_has_its_tables(instant_mock: str) -> None:
    """The default run keeps its written-out tables; the pack's form of them skips, saying so."""
    outcomes = Outcomes()
    argv = [str(SUITE), "-q", "-p", "no:cacheprovider", "--apixo-base-url", instant_mock]
    argv += ["--apixo-api-key", KEYS[0], "-k", "test_every_constraint"]
    assert pytest.main(argv, [outcomes]) == 0, "\n\n".join(outcomes.failures)
    assert outcomes.report is not None
    state = outcomes.report.states["submit.schema-400"]
    assert state.outcome is Outcome.SKIPPED
    assert any("checks this rule with its own tables" in detail for detail in state.details)


def test_a_model_of_unknown_price_is_billed_off_a_mock_only_when_allowed() -> None:
    """nano-banana-2's price is its pack's guess: off a mock its billable tests skip unless
    --apixo-allow-unpriced; gpt-image-1's is documented; a mock bills every pack."""
    options = {**read_options(lambda dest: None, env={}), "api-key": "k"}
    real = resolve(options, "https://api.example", Admin.ABSENT, in_process=False)
    assert case("nano-banana-2").is_choice("price")
    assert not case("gpt-image-1").is_choice("price")
    reason = real.unpriced_skip_reason("nano-banana-2", price_is_a_guess=True)
    assert reason is not None
    assert "--apixo-allow-unpriced" in reason
    assert real.unpriced_skip_reason("gpt-image-1", price_is_a_guess=False) is None
    allowed = resolve({**options, "allow-unpriced": True}, "https://x", Admin.ABSENT, False)
    assert allowed.unpriced_skip_reason("nano-banana-2", price_is_a_guess=True) is None
    mock = resolve(options, "http://127.0.0.1:1", Admin.PRESENT, in_process=False)
    assert mock.unpriced_skip_reason("nano-banana-2", price_is_a_guess=True) is None
