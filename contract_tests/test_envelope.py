"""Every answer, success or error, is `{"code", "message", "data"}` with code = HTTP status,
labelled `Content-Type: application/json`.

The transport checks this on every answer of every test; this module makes
sure each kind of answer is seen at least once, whatever else is selected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

import pytest

from contract_tests.checks import check_content_type, check_envelope
from contract_tests.client import ApiClient, ApiResponse, Auth

ANSWERS: Mapping[str, Callable[[ApiClient], ApiResponse]] = MappingProxyType(
    {
        "200-balance": lambda api: api.balance(),
        "400-submit": lambda api: api.submit({"input": "not an object"}),
        "400-status": lambda api: api.status(None),
        "401-no-key": lambda api: api.balance(auth=Auth.NONE),
        "404-task": lambda api: api.status("task_apixocontractunknown"),
        "404-path": lambda api: api.request("GET", "/api/v1/apixo-contract-unknown-path"),
        "405-method": lambda api: api.request("DELETE", api.submit_path),
    }
)


@pytest.mark.rule(
    "envelope.json", "envelope.code-equals-status", "envelope.content-type", "drift.unknown-fields"
)
@pytest.mark.parametrize("kind", list(ANSWERS))
def test_every_answer_is_an_envelope_with_code_equal_to_status(api: ApiClient, kind: str) -> None:
    """One answer of each kind: JSON, the three fields, code equal to the HTTP status."""
    answer = ANSWERS[kind](api)  # which status is right is other tests' business
    check_envelope(answer)
    check_content_type(answer)
