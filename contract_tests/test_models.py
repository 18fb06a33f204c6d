"""The docs' own example request of each model, run once per model --apixo-model selects.

One task per model (the docs' first example request) is submitted, charged,
polled to success, read under another model's path, and its result files
downloaded and opened with a real decoder. Bodies drawn from the model's
schema must be accepted, and bodies no pack takes refused. Costs count
against the image budget at --apixo-price per image (models.units).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given

from contract_tests import plugin
from contract_tests.budget import Budget
from contract_tests.checks import (
    ContractViolation,
    balance_amount,
    check_error,
    result_urls,
    submitted_task_id,
)
from contract_tests.client import AdminApi, ApiClient
from contract_tests.media import check_output
from contract_tests.models import MICROS_PER_USD, ModelCase, units
from contract_tests.polling import Poller, TaskRecord
from contract_tests.profiles import Profile
from contract_tests.strategies import CALLBACK_SINK
from contract_tests.target import Target

UNKNOWN_TASK = "task_0000000000000000"


@dataclass(frozen=True, slots=True)
class Run:
    """A model's example task, finished: what it cost and how it ended."""

    body: dict[str, Any]
    task_id: str
    charged: Decimal  # the balance before minus after the submit
    data: dict[str, Any]


@pytest.fixture(scope="session")
def runs() -> dict[str, Run]:
    """Each model's example run, made by the first test that needs it."""
    return {}


@pytest.fixture
def model_api(api: ApiClient, model: ModelCase) -> ApiClient:
    """The suite's client on the model's paths."""
    return api.with_model(model.id)


@pytest.fixture
def run(
    request: pytest.FixtureRequest,
    runs: dict[str, Run],
    model: ModelCase,
    model_api: ApiClient,
    target: Target,
    budget: Budget,
    admin: AdminApi | None,
) -> Run:
    """The model's example task, submitted once, charged and waited for."""
    if model.id in runs:
        return runs[model.id]
    if not model.examples():
        pytest.skip(f"{model.id} has no example request in its pack")
    body = model.examples()[0]
    cost = units(model.cost_micros(body), target.price)
    if not budget.take(cost):
        pytest.skip(budget.refusal(cost))
    before = balance_amount(model_api.balance())
    task_id = submitted_task_id(model_api.submit(body))
    charged = before - balance_amount(model_api.balance())
    record = TaskRecord(task_id)
    progress = plugin.progress_writer(request.config)
    Poller(model_api, target.poll, admin, progress).wait([record])
    runs[model.id] = Run(body, task_id, charged, record.final())
    return runs[model.id]


@pytest.mark.billable
@pytest.mark.rule("status.states-forward", "status.terminal-stable", "status.result-count")
def test_a_models_example_succeeds_with_one_url_per_output(model: ModelCase, run: Run) -> None:
    """The task ends in success with as many resultUrls as the model's outputs."""
    if run.data["state"] != "success":
        raise ContractViolation(
            "status.states-forward",
            f"{model.id} task {run.task_id} ended {run.data['state']} ({run.data.get('failCode')})",
        )
    expected = len(model.outputs(run.body))
    if len(result_urls(run.data)) != expected:
        raise ContractViolation(
            "status.result-count",
            f"{model.id}: expected {expected} URL(s), got {result_urls(run.data)}",
        )


@pytest.mark.billable
@pytest.mark.rule("balance.charge")
def test_a_models_example_costs_its_price(model: ModelCase, run: Run, target: Target) -> None:
    """The submit took exactly the model's price rule's amount from the balance."""
    if not target.is_mock and model.is_choice("price"):
        pytest.skip(f"the docs give no price for {model.id}: the charge cannot be known")
    expected = Decimal(model.cost_micros(run.body)) / MICROS_PER_USD
    if run.charged != expected:
        raise ContractViolation(
            "balance.charge", f"{model.id} example: charged {run.charged} USD, price {expected}"
        )


@pytest.mark.billable
@pytest.mark.rule("results.downloadable", "status.result-json-string")
def test_a_models_result_downloads_as_its_kind(
    model: ModelCase, model_api: ApiClient, run: Run, target: Target
) -> None:
    """Every result URL downloads as its kind and a real decoder opens it (Pillow, PyAV)."""
    urls = result_urls(run.data)
    if not urls:
        pytest.skip(f"{model.id} task {run.task_id} has no result URL")
    for url, expected in zip(urls, model.outputs(run.body), strict=False):
        reply = model_api.download(url)
        if reply.status_code != 200:
            raise ContractViolation(
                "results.downloadable", f"GET {url} answered HTTP {reply.status_code}"
            )
        content_type = reply.headers.get("Content-Type", "")
        check_output(reply.content, content_type, expected, url, target.judges(model))


@pytest.mark.billable
@pytest.mark.rule("status.other-model-404", "errors.envelope")
def test_a_models_task_is_404_under_another_models_path(
    model: ModelCase, model_api: ApiClient, run: Run
) -> None:
    """A task is read under its own model's path only: elsewhere the very 404 of an unknown
    task (the taskId itself aside, if the target echoes it)."""
    other = model_api.with_model(model.other_model())
    foreign = check_error(other.status(run.task_id), 404, "status.other-model-404")
    unknown = check_error(other.status(UNKNOWN_TASK), 404, "status.other-model-404")
    seen = json.dumps(foreign).replace(run.task_id, "<taskId>")
    expected = json.dumps(unknown).replace(UNKNOWN_TASK, "<taskId>")
    if seen != expected:
        raise ContractViolation(
            "status.other-model-404",
            f"{model.id}'s task under {model.other_model()}'s path answers {seen},"
            f" an unknown task {expected}: they must match",
        )


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        pytest.param(name, rule, marks=pytest.mark.rule(rule), id=name)
        for name, rule in (
            ("input-not-object", "submit.input-400"),
            ("unknown-mode", "submit.mode-400"),
        )
    ],
)
def test_a_body_no_model_takes_is_refused(
    model: ModelCase, model_api: ApiClient, budget: Budget, name: str, rule: str
) -> None:
    """400 in the error envelope, and nothing billed."""
    answer = model_api.submit(model.invalid_bodies()[name])
    if answer.status == 200:
        budget.charge(1)
    check_error(answer, 400, rule)


@pytest.mark.model_specific("gpt-image-1")
@pytest.mark.billable
@pytest.mark.rule("submit.accepts-valid")
def test_bodies_from_a_models_schema_are_accepted(
    model: ModelCase, model_api: ApiClient, target: Target, budget: Budget, profile: Profile
) -> None:
    """Valid bodies drawn from gpt-image-1's pack get 200 and a taskId (its own strategy
    draws the others; another model's drawn bodies are submitted and waited for by
    test_submit.py's pack-driven test)."""

    @profile.settings(profile.valid_examples, billable=True)
    @given(body=model.bodies())
    def accepted(body: dict[str, Any]) -> None:
        if "callback_url" in body:
            body["callback_url"] = CALLBACK_SINK  # never a drawn host
        cost = units(model.cost_micros(body), target.price)
        if not budget.take(cost):
            pytest.skip(budget.refusal(cost))
        submitted_task_id(model_api.submit(body))

    accepted()
