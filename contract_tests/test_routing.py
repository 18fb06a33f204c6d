"""Paths, models, methods, and which error wins when a request is wrong in several ways."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import pytest

from contract_tests.checks import check_allow, check_error
from contract_tests.client import BALANCE_PATH, ApiClient, ApiResponse, Auth

UNKNOWN_PATH = "/api/v1/apixo-contract-unknown-path"
UNKNOWN_SUBMIT = "/api/v1/generateTask/apixo-contract-unknown-model"
UNKNOWN_STATUS = "/api/v1/statusTask/apixo-contract-unknown-model"
BAD_JSON = b'{"input": '
UNKNOWN_KEY = "Bearer apixo-contract-unknown-key-0000"
# The model's own paths, filled in per model when a case is sent.
SUBMIT_PATH = "/api/v1/generateTask/{model}"
STATUS_PATH = "/api/v1/statusTask/{model}"


def on_model(path: str, api: ApiClient) -> str:
    """`path` with the model under test in place of `{model}`."""
    return path.replace("{model}", api.model)


@dataclass(frozen=True, slots=True)
class Case:
    """One request that is wrong in one or more ways, and the error that must win."""

    rule: str
    method: str
    path: str
    auth: str  # key, none or unknown
    status: int
    body: bytes | None = None
    task_id: str | None = None

    def send(self, api: ApiClient) -> ApiResponse:
        """Send it."""
        auth: Auth | str = {"key": Auth.KEY, "none": Auth.NONE}.get(self.auth, UNKNOWN_KEY)
        params = None if self.task_id is None else {"taskId": self.task_id}
        path = on_model(self.path, api)
        return api.request(self.method, path, auth=auth, params=params, raw_body=self.body)


CASES = MappingProxyType(
    {
        "unknown-path": Case("routing.unknown-path-404", "GET", UNKNOWN_PATH, "key", 404),
        "unknown-path-post": Case("routing.unknown-path-404", "POST", UNKNOWN_PATH, "key", 404),
        "unknown-path-no-key": Case(
            "precedence.path-before-auth", "GET", UNKNOWN_PATH, "none", 404
        ),
        "unknown-path-bad-key": Case(
            "precedence.path-before-auth", "POST", UNKNOWN_PATH, "unknown", 404
        ),
        "unknown-model-submit": Case(
            "routing.unknown-model-404", "POST", UNKNOWN_SUBMIT, "key", 404, b'{"input": {}}'
        ),
        "unknown-model-status": Case(
            "routing.unknown-model-404", "GET", UNKNOWN_STATUS, "key", 404, task_id="task_x1"
        ),
        "unknown-model-no-key": Case(
            "precedence.auth-before-model", "POST", UNKNOWN_SUBMIT, "none", 401, BAD_JSON
        ),
        "unknown-model-bad-key": Case(
            "precedence.auth-before-model", "GET", UNKNOWN_STATUS, "unknown", 401, task_id="t"
        ),
        "wrong-method-no-key": Case(
            "precedence.auth-before-method", "GET", SUBMIT_PATH, "none", 401
        ),
        "wrong-method-bad-key": Case(
            "precedence.auth-before-method", "DELETE", STATUS_PATH, "unknown", 401
        ),
        "wrong-method-balance-no-key": Case(
            "precedence.auth-before-method", "POST", BALANCE_PATH, "none", 401
        ),
        "bad-body-no-key": Case(
            "precedence.auth-before-body", "POST", SUBMIT_PATH, "none", 401, BAD_JSON
        ),
        "bad-body-bad-key": Case(
            "precedence.auth-before-body", "POST", SUBMIT_PATH, "unknown", 401, b"[]"
        ),
        "no-task-id-no-key": Case("precedence.auth-before-body", "GET", STATUS_PATH, "none", 401),
        "unknown-model-wrong-method": Case(
            "precedence.model-before-method", "GET", UNKNOWN_SUBMIT, "key", 404
        ),
        "unknown-model-wrong-method-status": Case(
            "precedence.model-before-method", "DELETE", UNKNOWN_STATUS, "key", 404
        ),
        "unknown-model-bad-body": Case(
            "precedence.model-before-body", "POST", UNKNOWN_SUBMIT, "key", 404, BAD_JSON
        ),
        "unknown-model-no-task-id": Case(
            "precedence.model-before-body", "GET", UNKNOWN_STATUS, "key", 404
        ),
        "wrong-method-bad-body": Case(
            "precedence.method-before-body", "PUT", SUBMIT_PATH, "key", 405, BAD_JSON
        ),
        "wrong-method-no-task-id": Case(
            "precedence.method-before-body", "POST", STATUS_PATH, "key", 405
        ),
    }
)


@pytest.mark.rule("errors.envelope")
@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=pytest.mark.rule(case.rule)) for name, case in CASES.items()]
)
def test_the_first_applicable_error_wins(
    api: ApiClient, request: pytest.FixtureRequest, name: str
) -> None:
    """docs/contract.md's order: path 404, key 401, model 404, method 405, body 400."""
    case = CASES[name]
    if case.auth == "unknown" and case.status == 401:
        request.getfixturevalue("unknown_key_refused")  # skips where any key is accepted
    check_error(case.send(api), case.status, case.rule)


ALLOWED = MappingProxyType({SUBMIT_PATH: "POST", STATUS_PATH: "GET", BALANCE_PATH: "GET"})
WRONG = (
    (SUBMIT_PATH, "GET"),
    (SUBMIT_PATH, "PUT"),
    (SUBMIT_PATH, "DELETE"),
    (STATUS_PATH, "POST"),
    (STATUS_PATH, "PUT"),
    (BALANCE_PATH, "POST"),
    (BALANCE_PATH, "DELETE"),
)


@pytest.mark.rule("routing.wrong-method-405", "errors.envelope")
@pytest.mark.parametrize(
    ("path", "method"), WRONG, ids=[f"{m} {p.replace('{model}', 'MODEL')}" for p, m in WRONG]
)
def test_wrong_method_gets_405_with_allow(api: ApiClient, path: str, method: str) -> None:
    """A known path with the wrong method: 405, and Allow names the right method."""
    params = {"taskId": "task_apixocontract"} if path == STATUS_PATH else None
    answer = api.request(method, on_model(path, api), params=params)
    check_error(answer, 405, "routing.wrong-method-405")
    check_allow(answer, ALLOWED[path])
