"""Valid submits are accepted, and the tasks they start finish in a valid state.

The fleet's tasks check the defaults, the aliases and unknown fields; the
property submits bodies drawn from the schema (billable: bounded by the budget).
gpt-image-1's tests read its rules from tables; another model's twins
(`pack_driven`) read them from its pack: its schema's bodies, its output
defaults, the prompt lengths it allows.
"""

from __future__ import annotations

from typing import Any

import hypothesis
import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract_tests.budget import Budget, largest_count
from contract_tests.checks import (
    ContractViolation,
    check_failed,
    check_image,
    check_result_count,
    result_urls,
    submitted_task_id,
)
from contract_tests.client import ApiClient
from contract_tests.dialects import speak
from contract_tests.fleet import Fleet, Member
from contract_tests.media import check_output
from contract_tests.models import ModelCase, units
from contract_tests.polling import Poller, TaskRecord
from contract_tests.profiles import Profile
from contract_tests.strategies import CALLBACK_SINK, aspect_ratio, image_count, valid_bodies
from contract_tests.target import Target

FINISHED_RULES = (
    "status.schema",
    "status.task-id-echo",
    "status.states-forward",
    "status.terminal-stable",
    "status.times",
    "status.cost-time",
)


def succeeded(data: dict[str, Any], rule: str) -> dict[str, Any]:
    """A plain request should succeed; if it failed, `rule` cannot be confirmed."""
    if data["state"] != "success":
        raise ContractViolation(
            rule,
            f"task {data['taskId']} ended {data['state']} ({data.get('failCode')}:"
            f" {data.get('failMsg')}), so the rule could not be confirmed",
        )
    return data


@pytest.mark.model_specific("gpt-image-1")
@pytest.mark.billable
@pytest.mark.rule(
    "submit.accepts-valid",
    "submit.extra-fields-ignored",
    "submit.image-urls-accepted",
    "status.result-count",
    "status.failed-fields",
    *FINISHED_RULES,
)
def test_valid_bodies_are_accepted_and_finish(
    api: ApiClient,
    poller: Poller,
    budget: Budget,
    profile: Profile,
    callback_base: str | None,
    target: Target,
) -> None:
    """Bodies drawn from the schema: 200 with a taskId, then a valid terminal state
    (nVariants only on a mock or when strict: elsewhere one test asks about that dialect)."""
    examples = min(profile.valid_examples, budget.remaining)
    if examples == 0:
        pytest.skip(budget.refusal(1))
    per_example = largest_count(budget.remaining // examples)
    sink = CALLBACK_SINK if callback_base is None else callback_base + "/apixo-contract/drawn"
    settings = profile.settings(examples, billable=True)
    alias = not target.speaks_dialects
    drawn = valid_bodies(max_images=per_example, callback_url=sink, alias=alias)
    records = _submit_drawn(api, budget, settings, drawn)
    if not records:
        pytest.skip(budget.refusal(1))
    poller.wait(records)
    for record in records:
        data = record.final()
        if data["state"] == "success":
            check_result_count(data, record.images)


def _submit_drawn(
    api: ApiClient,
    budget: Budget,
    settings: hypothesis.settings,
    bodies: st.SearchStrategy[dict[str, Any]],
) -> list[TaskRecord]:
    """Submit drawn bodies while the budget pays; the first violation is raised after the run.

    Violations are kept, not raised inside the property: Hypothesis would replay
    the failing example, billing again, and with the budget spent by then the
    replay would skip and hide the failure.
    """
    records: list[TaskRecord] = []
    found: list[ContractViolation] = []

    @settings
    @given(bodies)
    def submit(body: dict[str, Any]) -> None:
        images = image_count(body)
        if found or not budget.take(images):
            return
        try:
            task_id = submitted_task_id(api.submit(body))
        except ContractViolation as violation:
            found.append(violation)
            return
        records.append(TaskRecord(task_id, images, aspect_ratio(body)))

    submit()
    if found:
        raise found[0]
    return records


@pytest.mark.pack_driven
@pytest.mark.billable
@pytest.mark.rule("submit.accepts-valid", "status.result-count", *FINISHED_RULES)
def test_bodies_drawn_from_the_models_schema_are_accepted_and_finish(
    api: ApiClient,
    poller: Poller,
    budget: Budget,
    profile: Profile,
    model: ModelCase,
    callback_base: str | None,
    target: Target,
) -> None:
    """Bodies drawn from the model's request schemas (every mode): 200 with a taskId, then a
    valid terminal state with one URL per output file the pack gives for the body."""
    sink = CALLBACK_SINK if callback_base is None else callback_base + "/apixo-contract/drawn"
    records: list[TaskRecord] = []
    found: list[ContractViolation] = []

    @profile.settings(profile.valid_examples, billable=True)
    @given(model.bodies())
    def submit(body: dict[str, Any]) -> None:
        if "callback_url" in body:
            body["callback_url"] = sink  # never a drawn host
        if found or not budget.take(units(model.cost_micros(body), target.price)):
            return
        try:
            task_id = submitted_task_id(api.submit(body))
        except ContractViolation as violation:
            found.append(violation)
            return
        records.append(TaskRecord(task_id, len(model.outputs(body)), ""))

    submit()
    if found:
        raise found[0]
    if not records:
        pytest.skip(budget.refusal(1))
    poller.wait(records)
    for record in records:
        data = record.final()
        if data["state"] == "success":
            check_result_count(data, record.images)


@pytest.mark.model_specific("gpt-image-1")
@pytest.mark.billable
@pytest.mark.rule("submit.defaults", "submit.accepts-valid")
def test_omitted_fields_take_their_defaults(api: ApiClient, fleet: Fleet) -> None:
    """`{"input": {mode, prompt}}` alone: polled (async), one image, 1:1 (1024x1024)."""
    data = succeeded(fleet["default"].final(), "submit.defaults")
    urls = result_urls(data)
    if len(urls) != 1:
        raise ContractViolation(
            "submit.defaults", f"num_images defaults to 1, got {len(urls)} URL(s)"
        )
    reply = api.download(urls[0])
    try:
        check_image(reply.content, "1:1", urls[0])
    except ContractViolation as error:
        if error.rule != "results.size":
            raise
        raise ContractViolation(
            "submit.defaults", f"aspect_ratio defaults to 1:1: {error}"
        ) from None


@pytest.mark.pack_driven
@pytest.mark.billable
@pytest.mark.rule("submit.defaults", "submit.accepts-valid", "status.result-count")
def test_omitted_fields_take_the_packs_defaults(
    api: ApiClient, fleet: Fleet, model: ModelCase, target: Target
) -> None:
    """The smallest valid body (every optional field left out): async, and the files the
    pack's output defaults give (count, kind, format, size, duration)."""
    member = fleet["default"]
    urls = _urls_of(member, "submit.defaults")
    judged = target.judges(model)
    for url, expected in zip(urls, member.outputs, strict=True):
        reply = api.download(url)
        content_type = reply.headers.get("Content-Type", "")
        try:
            check_output(reply.content, content_type, expected, url, judged)
        except ContractViolation as error:
            if error.rule == "results.downloadable":
                raise
            raise ContractViolation("submit.defaults", f"the defaults: {error}") from None


def _urls_of(member: Member, rule: str) -> list[str]:
    """A member's resultUrls, one per output its pack gives (else `rule` or the count rule)."""
    data = succeeded(member.final(), rule)
    return check_result_count(data, len(member.outputs))


@pytest.mark.pack_driven
@pytest.mark.billable
@pytest.mark.rule("submit.extra-fields-ignored", "submit.prompt-bounds", "status.result-count")
def test_unknown_fields_are_ignored_and_the_prompt_bounds_taken(fleet: Fleet) -> None:
    """Unknown fields (top level and in input) with the longest prompt the schema allows, and
    (the callback task) the shortest: both succeed with one URL per output."""
    _urls_of(fleet["extras"], "submit.extra-fields-ignored")
    callback = fleet[fleet.callback_member]
    if "prompt" in callback.body.get("input", {}):
        _urls_of(callback, "submit.prompt-bounds")


@pytest.mark.model_specific("gpt-image-1")
@pytest.mark.billable
@pytest.mark.rule(
    "submit.extra-fields-ignored",
    "alias.is-enhance-accepted",
    "submit.prompt-bounds",
    "status.result-count",
)
def test_unknown_fields_and_is_enhance_are_ignored(fleet: Fleet) -> None:
    """Unknown fields (top level and in input), isEnhance, a 10000-character prompt."""
    data = succeeded(fleet["extras"].final(), "submit.extra-fields-ignored")
    check_result_count(data, 2)


@pytest.mark.model_specific("gpt-image-1")
@pytest.mark.billable
@pytest.mark.rule("alias.nvariants", "submit.prompt-bounds")
def test_nvariants_is_an_alias_of_num_images(
    request: pytest.FixtureRequest, fleet: Fleet, target: Target
) -> None:
    """nVariants 2 (and a 1-character prompt) gives two images.

    A target that refuses or ignores nVariants follows the docs version
    without it: a dialect, reported (a failure only with --apixo-strict)
    unless the target is a mock.
    """
    try:
        data = succeeded(fleet["alias"].final(), "alias.nvariants")
        urls = result_urls(data)
        if len(urls) != 2:
            raise ContractViolation(
                "alias.nvariants", f"nVariants 2 gave {len(urls)} URL(s), expected 2"
            )
    except ContractViolation as error:
        if error.rule != "alias.nvariants" or not target.speaks_dialects:
            raise
        pytest.skip(speak(request.node, "nvariants", "not an alias"))


@pytest.mark.billable
@pytest.mark.rule(
    "submit.image-urls-accepted", "failures.invalid-image-url", "status.failed-fields"
)
def test_unreachable_reference_image_fails_the_task_not_the_submit(fleet: Fleet) -> None:
    """A URL on an RFC 2606 `.invalid` host, which never resolves: accepted at submit, and
    the task ends failed with INVALID_IMAGE_URL."""
    data = fleet["reference"].final()
    check_failed(data, "INVALID_IMAGE_URL", "failures.invalid-image-url")
