"""Every endpoint wants `Authorization: Bearer KEY`: a missing, malformed or unknown key is 401."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from types import MappingProxyType

import pytest

from contract_tests.budget import Budget
from contract_tests.checks import check_error
from contract_tests.client import ApiClient, ApiResponse, Auth

UNKNOWN_KEY = "apixo-contract-unknown-key-0000"
# No prompt: even a target that wrongly let the request through would refuse it
# with 400 rather than bill it (the key is checked first, so 401 is still owed).
UNBILLABLE = '{"input": {"mode": "gpt-image-1"}}'
# Another model's modes may need nothing more (midjourney's upscale): no mode at all there.
UNBILLABLE_ANY = '{"input": {}}'
UNKNOWN_TASK = "task_apixocontractunknown"
Call = Callable[[ApiClient, "Auth | str"], ApiResponse]
ENDPOINTS: Mapping[str, Call] = MappingProxyType(
    {
        "submit": lambda api, auth: api.submit(_unbillable(api.model), auth=auth),
        "status": lambda api, auth: api.status(UNKNOWN_TASK, auth=auth),
        "balance": lambda api, auth: api.balance(auth=auth),
    }
)


def _unbillable(model: str) -> object:
    return json.loads(UNBILLABLE if model == "gpt-image-1" else UNBILLABLE_ANY)


def malformed_headers(key: str) -> dict[str, str]:
    """Authorization values that are not `Bearer KEY`."""
    basic = base64.b64encode(f"{key}:".encode()).decode()
    return {
        "basic": f"Basic {basic}",
        "empty-bearer": "Bearer ",
        "bare-bearer": "Bearer",
        "no-scheme": key,
        "token-scheme": f"Token {key}",
    }


def call(api: ApiClient, budget: Budget, endpoint: str, auth: Auth | str) -> ApiResponse:
    """Call one endpoint; a submit the target wrongly accepts is charged to the budget."""
    answer = ENDPOINTS[endpoint](api, auth)
    if endpoint == "submit" and answer.status == 200:
        budget.charge(1)  # cannot happen on a target that checks the body at all
    return answer


@pytest.mark.rule("auth.missing-key-401", "errors.envelope")
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_missing_key_gets_401(api: ApiClient, budget: Budget, endpoint: str) -> None:
    """No Authorization header at all."""
    check_error(call(api, budget, endpoint, Auth.NONE), 401, "auth.missing-key-401")


@pytest.mark.rule("auth.malformed-key-401", "errors.envelope")
@pytest.mark.parametrize("form", list(malformed_headers("k")))
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_malformed_authorization_gets_401(
    api: ApiClient, budget: Budget, endpoint: str, form: str
) -> None:
    """Basic, an empty or absent Bearer token, no scheme, another scheme."""
    header = malformed_headers(api.key)[form]
    check_error(call(api, budget, endpoint, header), 401, "auth.malformed-key-401")


@pytest.mark.rule("auth.unknown-key-401", "errors.envelope")
@pytest.mark.usefixtures("unknown_key_refused")
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_unknown_key_gets_401(api: ApiClient, budget: Budget, endpoint: str) -> None:
    """A well-formed Bearer token that is no key of the target."""
    answer = call(api, budget, endpoint, f"Bearer {UNKNOWN_KEY}")
    check_error(answer, 401, "auth.unknown-key-401")
