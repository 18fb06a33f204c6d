"""Fixtures of the contract suite, mirroring the object graph.

target -> transport -> api / other_api / admin -> budget, poller -> receiver -> fleet.
The expensive ones are session-scoped: one target (or in-process mock), one
HTTP session, one fleet of billable tasks per model shared by the tests that
need one. Every test runs once per model --apixo-model selects: `api` speaks
on that model's paths, and the model's facts come from its pack (`model`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
import requests

from contract_tests import plugin
from contract_tests.budget import Budget
from contract_tests.checks import (
    ContractViolation,
    check_content_type,
    check_drift,
    check_envelope,
)
from contract_tests.client import DEFAULT_MODEL, AdminApi, ApiClient, ApiResponse, Transport
from contract_tests.fleet import CALLBACK_PATH, Fleet, launch, plan
from contract_tests.model_fleet import CALLBACK_MEMBER, model_plan
from contract_tests.models import ModelCase, case, selected
from contract_tests.options import read_options
from contract_tests.polling import Poller
from contract_tests.profiles import Profile, choose
from contract_tests.subject import Subject
from contract_tests.target import Admin, Target, open_target
from mock_server.testing.receiver import CallbackReceiver

# Checked on every answer by the transport, whichever test sent the request.
ENVELOPE_RULES = ("envelope.json", "envelope.code-equals-status", "envelope.content-type")


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """Load the plugin (options, markers, report) unless `-p contract_tests.plugin` did."""
    plugin.register(pluginmanager, plugin)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test once per model --apixo-model selects; the model is part of each test id."""
    if "apixo_model" not in metafunc.fixturenames:
        return
    options = read_options(lambda dest: metafunc.config.getoption(dest, default=None))
    try:
        models = selected(options["model"])
    except ValueError as error:
        raise pytest.UsageError(f"apixo contract suite: {error}") from None
    metafunc.parametrize("apixo_model", models, indirect=True, ids=models)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip a model's run of a test that is not for it, saying why.

    `model_specific(ID)`: a rule of that model's own inputs (gpt-image-1's
    aliases and tables). `pack_driven`: the form of a rule read from a pack,
    for models whose rules are not written out as gpt-image-1's are.
    """
    for item in items:
        callspec = getattr(item, "callspec", None)
        model = callspec.params.get("apixo_model") if callspec is not None else None
        reason = _not_for(item, model or DEFAULT_MODEL)
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))


def _not_for(item: pytest.Item, model: str) -> str | None:
    specific = item.get_closest_marker("model_specific")
    if specific is not None and model not in specific.args:
        return f"a rule of {', '.join(specific.args)}'s own inputs: not for {model}"
    if item.get_closest_marker("pack_driven") is not None and model == DEFAULT_MODEL:
        return f"{DEFAULT_MODEL} checks this rule with its own tables (the other tests of the file)"
    return None


@pytest.fixture(autouse=True)
def apixo_model(request: pytest.FixtureRequest) -> str:
    """The model this test runs for (parametrized from --apixo-model)."""
    return str(getattr(request, "param", DEFAULT_MODEL))


@pytest.fixture
def model(apixo_model: str) -> ModelCase:
    """The model under test, with its shipped pack."""
    return case(apixo_model)


@pytest.fixture
def subject(model: ModelCase, target: Target) -> Subject:
    """The model's plain and invalid bodies and prices, from its tables or its pack."""
    return Subject(model, target.price)


@pytest.fixture
def is_default(apixo_model: str) -> bool:
    """Whether the model is gpt-image-1, whose rules the suite writes out as tables."""
    return apixo_model == DEFAULT_MODEL


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Iterator[Target]:
    """The API under test; with no --apixo-base-url, a mock started in this process."""
    options = read_options(lambda dest: pytestconfig.getoption(dest, default=None))
    with ExitStack() as stack:
        session = stack.enter_context(requests.Session())
        try:
            found = stack.enter_context(open_target(options, session))
        except (RuntimeError, ValueError) as error:
            # One clear line beats the same error on every test.
            pytest.exit(f"apixo contract suite: {error}", returncode=pytest.ExitCode.USAGE_ERROR)
        plugin.report_of(pytestconfig).target_lines = found.describe()
        yield found


@pytest.fixture(scope="session")
def transport(pytestconfig: pytest.Config) -> Iterator[Transport]:
    """One HTTP session; every API answer goes through the envelope check."""
    report = plugin.report_of(pytestconfig)
    options = read_options(lambda dest: pytestconfig.getoption(dest, default=None))
    strict = bool(options["strict"])

    def inspect(answer: ApiResponse) -> None:
        check_envelope(answer)
        check_content_type(answer)
        report.checked(ENVELOPE_RULES, "")
        check_drift(answer, strict, report.note)
        report.checked(("drift.unknown-fields",), "")

    with requests.Session() as session:
        yield Transport(
            session=session, observers=(inspect,), note=report.note, unasked_429=unasked_429
        )


def unasked_429(client: ApiClient, answer: ApiResponse) -> None:
    """A 429 the suite did not provoke breaks the documented limits.

    The suite sends a few hundred requests and keeps a handful of tasks
    unfinished, far below 10000 requests a minute and 1000 unfinished tasks, so
    a 429 means the target throttles below what docs/contract.md documents (or
    another client shares the key: the docs ask for keys nothing else uses).
    Which limit: a 429 on a submit is the unfinished-task cap if a balance read
    right after it goes through, else (and anywhere else) the request rate.
    """
    on_submit = answer.method == "POST" and "/api/v1/generateTask/" in answer.url
    capped = on_submit and client.balance(retry_429=False).status != 429
    rule = "limits.unfinished-tasks-429" if capped else "limits.requests-per-minute-429"
    raise ContractViolation(rule, f"{answer.brief()}: throttled far below the documented limits")


@pytest.fixture(scope="session")
def session_api(target: Target, transport: Transport) -> ApiClient:
    """The API with the suite's key, on gpt-image-1's paths."""
    return ApiClient(target.base_url, target.api_key, transport)


@pytest.fixture
def api(session_api: ApiClient, apixo_model: str) -> ApiClient:
    """The API with the suite's key, on the paths of the model under test."""
    return session_api.with_model(apixo_model)


@pytest.fixture
def other_api(target: Target, api: ApiClient) -> ApiClient:
    """The API with a second key; skips without --apixo-other-api-key."""
    if not target.other_api_key:
        pytest.skip("needs a second key: --apixo-other-api-key (APIXO_OTHER_API_KEY)")
    return api.with_key(target.other_api_key, target.other_base_url)


@pytest.fixture
def unknown_key_refused(target: Target) -> None:
    """Skip a test that needs an unknown key refused, on a target that accepts any key."""
    reason = target.unknown_key_skip_reason()
    if reason is not None:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def admin(target: Target, transport: Transport) -> AdminApi | None:
    """The mock's admin API, when the target has one the suite may use."""
    if target.admin is not Admin.PRESENT:
        return None
    return AdminApi(target.base_url, target.admin_token, transport.session)


@pytest.fixture
def admin_api(target: Target, admin: AdminApi | None) -> AdminApi:
    """The admin API for a mock-only test; skips with the reason elsewhere."""
    if admin is None:
        pytest.skip(target.admin_skip_reason() or "no admin API")
    return admin


@pytest.fixture(scope="session")
def budget(target: Target) -> Budget:
    """The images the suite may still bill."""
    return Budget(target.max_images)


@pytest.fixture
def poller(
    pytestconfig: pytest.Config, target: Target, api: ApiClient, admin: AdminApi | None
) -> Poller:
    """Waits for tasks: the admin clock on a mock, the documented rhythm elsewhere."""
    return Poller(api, target.poll, admin, plugin.progress_writer(pytestconfig))


@pytest.fixture
def profile(target: Target, is_default: bool) -> Profile:
    """Example counts for the property tests (fewer for a model other than gpt-image-1)."""
    return choose(target.is_mock, default=is_default)


@pytest.fixture(scope="session")
def receiver(target: Target) -> Iterator[CallbackReceiver | None]:
    """A loopback callback receiver, when the target can reach it (or a tunnel is given)."""
    if not (target.loopback or target.callback_base_url):
        yield None
        return
    with CallbackReceiver(port=target.callback_port) as started:
        yield started


@pytest.fixture(scope="session")
def callback_base(target: Target, receiver: CallbackReceiver | None) -> str | None:
    """The URL prefix callbacks reach the receiver under, or None."""
    if receiver is None:
        return None
    return (target.callback_base_url or receiver.url).rstrip("/")


@pytest.fixture(scope="session")
def fleets() -> dict[str, Fleet]:
    """Each model's fleet, launched by the first test that needs it."""
    return {}


@pytest.fixture
def fleet(
    fleets: dict[str, Fleet],
    target: Target,
    model: ModelCase,
    api: ApiClient,
    budget: Budget,
    poller: Poller,
    callback_base: str | None,
) -> Fleet:
    """A few billable tasks of the model, submitted once and waited for together."""
    if model.id not in fleets:
        fleets[model.id] = _launch(target, model, api, budget, poller, callback_base)
    return fleets[model.id]


def _launch(
    target: Target,
    model: ModelCase,
    api: ApiClient,
    budget: Budget,
    poller: Poller,
    callback_base: str | None,
) -> Fleet:
    if model.id == DEFAULT_MODEL:
        callback_url = None if callback_base is None else callback_base + CALLBACK_PATH
        return launch(plan(target.violation_prompt, callback_url), api, budget, poller)
    members = model_plan(model, target.violation_prompt, callback_base, target.price)
    return launch(members, api, budget, poller, CALLBACK_MEMBER)


@pytest.fixture(autouse=True)
def _capabilities(
    request: pytest.FixtureRequest, target: Target, budget: Budget, apixo_model: str
) -> None:
    """Skip mock-only tests without admin controls, billable tests of a model whose price is a
    guess (off a mock, unless allowed), and billable tests the budget cannot pay."""
    if request.node.get_closest_marker("mock_only") is not None:
        reason = target.admin_skip_reason()
        if reason is not None:
            pytest.skip(reason)
    marker = request.node.get_closest_marker("billable")
    guess = marker is not None and case(apixo_model).is_choice("price")
    unpriced = target.unpriced_skip_reason(apixo_model, guess)
    if unpriced is not None:
        pytest.skip(unpriced)
    images = int(marker.kwargs.get("images", 0)) if marker is not None else 0
    if images and not budget.take(images):
        pytest.skip(budget.refusal(images))
