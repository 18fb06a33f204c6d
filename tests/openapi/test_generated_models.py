"""datamodel-code-generator makes pydantic models from /openapi.json's components; they work."""

from __future__ import annotations

import json

import pydantic
import pytest
import requests

from mock_server.core.models import ModelRegistry
from mock_server.core.openapi_packs import request_component
from mock_server.testing.server import MockServer
from tests.conftest import BALANCE, STATUS, SUBMIT
from tests.openapi.conftest import API_KEY, Generated


def test_every_model_request_has_a_class_that_takes_its_examples(
    generated: Generated, model_registry: ModelRegistry
) -> None:
    checked = 0
    for pack in model_registry:
        if pack.id == "gpt-image-1":
            continue
        model = getattr(generated.models, request_component(pack.id, ()))
        for example in sorted((pack.folder / "examples").glob("*.request.json")):
            body = json.loads(example.read_text(encoding="utf-8"))
            parsed = model.model_validate(body)
            assert parsed.model_dump(mode="json", by_alias=True, exclude_unset=True) == body
            checked += 1
    assert checked >= len(model_registry) - 1


def test_a_request_class_refuses_a_mode_its_model_lacks(generated: Generated) -> None:
    body = {"input": {"mode": "text-to-video", "prompt": "x", "aspect_ratio": "1:1"}}
    with pytest.raises(pydantic.ValidationError, match="mode"):
        generated.models.NanoBanana2Request.model_validate({**body, "resolution": "1k"})


def test_real_answers_parse_into_the_answer_classes(
    generated: Generated, served: MockServer
) -> None:
    models = generated.models
    headers = {"Authorization": f"Bearer {API_KEY}"}
    body = {"input": {"mode": "gpt-image-1", "prompt": "a quiet harbour"}}
    submitted = requests.post(f"{served.base_url}{SUBMIT}", json=body, headers=headers, timeout=30)
    task_id = models.SubmitResponse.model_validate(submitted.json()).data.taskId
    served.wait_for(task_id, "success")
    status = requests.get(
        f"{served.base_url}{STATUS}", params={"taskId": task_id}, headers=headers, timeout=30
    )
    parsed = models.StatusResponse.model_validate(status.json())
    assert isinstance(parsed.data.root, models.TaskSuccess)
    missing = requests.get(
        f"{served.base_url}{STATUS}", params={"taskId": "nope"}, headers=headers, timeout=30
    )
    assert models.ErrorEnvelope.model_validate(missing.json()).code == 404
    balance = requests.get(f"{served.base_url}{BALANCE}", headers=headers, timeout=30)
    assert models.BalanceResponse.model_validate(balance.json()).data >= 0
