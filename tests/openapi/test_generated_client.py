"""openapi-python-client makes a working client from /openapi.json: tasks submitted and read."""

from __future__ import annotations

import json
from typing import Any

from mock_server.core.models import ModelRegistry
from mock_server.core.openapi_packs import request_component
from mock_server.testing.server import MockServer
from tests.openapi.conftest import API_KEY, Generated


def authenticated(generated: Generated, served: MockServer) -> Any:
    """The generated client's AuthenticatedClient for the served mock."""
    return generated.client.AuthenticatedClient(base_url=served.base_url, token=API_KEY)


def test_the_generator_reads_the_whole_document(generated: Generated) -> None:
    # It warns (and leaves out the operation) whenever it cannot read a piece.
    assert "Warning" not in generated.client_output
    assert "Error" not in generated.client_output
    api = generated.client_module("api.public")
    assert api.__name__.endswith("api.public")
    for operation in ("submit_task", "task_status", "submit_nano_banana_2", "status_suno"):
        assert callable(generated.client_module(f"api.public.{operation}").sync_detailed)


def test_gpt_image_1_task_submitted_and_read_through_the_generated_client(
    generated: Generated, served: MockServer
) -> None:
    models = generated.client_module("models")
    submit = generated.client_module("api.public.submit_task")
    status = generated.client_module("api.public.task_status")
    body = models.SubmitRequest.from_dict(
        {"input": {"mode": "gpt-image-1", "prompt": "a lighthouse at dusk", "num_images": 2}}
    )
    with authenticated(generated, served) as client:
        accepted = submit.sync_detailed(client=client, body=body)
        assert accepted.status_code == 200
        assert isinstance(accepted.parsed, models.SubmitResponse)
        task_id = accepted.parsed.data.task_id

        pending = status.sync(client=client, task_id=task_id)
        assert isinstance(pending, models.StatusResponse)
        assert isinstance(pending.data, models.TaskPending)
        assert pending.data.task_id == task_id

        served.wait_for(task_id, "success")
        done = status.sync(client=client, task_id=task_id)
    assert isinstance(done.data, models.TaskSuccess)
    assert done.data.cost_time == done.data.complete_time - done.data.create_time
    urls = json.loads(done.data.result_json)["resultUrls"]
    assert len(urls) == 2
    assert all(url.startswith(served.base_url) for url in urls)


def test_errors_arrive_as_typed_error_envelopes(generated: Generated, served: MockServer) -> None:
    models = generated.client_module("models")
    status = generated.client_module("api.public.task_status")
    with authenticated(generated, served) as client:
        missing = status.sync_detailed(client=client, task_id="no-such-task")
    assert missing.status_code == 404
    assert isinstance(missing.parsed, models.ErrorEnvelope)
    assert missing.parsed.code == 404


def test_a_second_model_submitted_through_its_own_typed_operation(
    generated: Generated, served: MockServer, model_registry: ModelRegistry
) -> None:
    models = generated.client_module("models")
    submit = generated.client_module("api.public.submit_nano_banana_2")
    status = generated.client_module("api.public.status_nano_banana_2")
    folder = model_registry.get("nano-banana-2").folder
    example = json.loads((folder / "examples" / "text-to-image.request.json").read_text("utf-8"))
    body = models.NanoBanana2Request.from_dict(example)
    assert body.to_dict() == example
    with authenticated(generated, served) as client:
        accepted = submit.sync_detailed(client=client, body=body)
        assert accepted.status_code == 200, accepted.content
        task_id = accepted.parsed.data.task_id
        served.wait_for(task_id, "success")
        done = status.sync(client=client, task_id=task_id)
    assert isinstance(done.data, models.TaskSuccess)
    assert len(json.loads(done.data.result_json)["resultUrls"]) == 1


def test_every_model_request_class_round_trips_its_examples(
    generated: Generated, model_registry: ModelRegistry
) -> None:
    models = generated.client_module("models")
    # The generator spells classes its own way (Ltx219bRequest -> Ltx219BRequest).
    by_lower_name = {name.lower(): getattr(models, name) for name in models.__all__}
    checked = 0
    for pack in model_registry:
        if pack.id == "gpt-image-1":
            continue
        request_class = by_lower_name[request_component(pack.id, ()).lower()]
        for example in sorted((pack.folder / "examples").glob("*.request.json")):
            body = json.loads(example.read_text(encoding="utf-8"))
            assert request_class.from_dict(body).to_dict() == body, example
            checked += 1
    assert checked >= len(model_registry) - 1
