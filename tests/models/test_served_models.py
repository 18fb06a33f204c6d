"""Every model pack on the public API: submit, status, result files by kind, per-model 404s.

The service shares the session's registry (loading it costs ~0.3 s); each
test gets its own service, clock and balance.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import av
import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from PIL import Image

from mock_server.cli import main
from mock_server.core.clock import MockClock
from mock_server.core.models import ModelPackError, ModelRegistry, default_root, outputs_for
from mock_server.core.service import MockService
from mock_server.settings import Settings
from mock_server.web.app import create_app
from tests.conftest import AUTH, BALANCE, RecordingSender, submit_body
from tests.models.conftest import PackMaker

EXAMPLES = sorted(default_root().glob("*/examples/*.request.json"))
HOUR_MS = 3_600_000


def example_id(path: Path) -> str:
    return f"{path.parent.parent.name}/{path.name.removesuffix('.request.json')}"


def read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def models_service(
    settings: Settings, clock: MockClock, sender: RecordingSender, model_registry: ModelRegistry
) -> Iterator[MockService]:
    """A service on the frozen clock that serves the session's registry."""
    svc = MockService(settings, sender=sender, clock=clock, models=model_registry)
    yield svc
    svc.close()


@pytest.fixture
def api(models_service: MockService) -> FlaskClient:
    """A test client of an app around `models_service`."""
    return create_app(service=models_service).test_client()


def submit(api: FlaskClient, model: str, body: Any, expect: int = 200) -> Any:
    response = api.post(f"/api/v1/generateTask/{model}", json=body, headers=AUTH)
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def task_of(api: FlaskClient, model: str, body: Any) -> str:
    task_id: str = submit(api, model, body)["data"]["taskId"]
    return task_id


def status(api: FlaskClient, model: str, task_id: str, expect: int = 200) -> Any:
    response = api.get(
        f"/api/v1/statusTask/{model}", query_string={"taskId": task_id}, headers=AUTH
    )
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def finished_urls(api: FlaskClient, clock: MockClock, model: str, body: Any) -> list[str]:
    task_id = task_of(api, model, body)
    clock.advance(HOUR_MS)
    data = status(api, model, task_id)["data"]
    assert data["state"] == "success", data
    return list(json.loads(data["resultJson"])["resultUrls"])


def balance(api: FlaskClient) -> Decimal:
    return Decimal(str(api.get(BALANCE, headers=AUTH).get_json()["data"]))


def download(api: FlaskClient, url: str, content_type: str) -> bytes:
    response = api.get(url)
    assert response.status_code == 200, url
    assert response.content_type == content_type
    data: bytes = response.data
    return data


# -- every example of every pack ----------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=example_id)
def test_every_example_succeeds_with_one_url_per_output(
    api: FlaskClient, clock: MockClock, model_registry: ModelRegistry, path: Path
) -> None:
    model, body = path.parent.parent.name, read(path)
    outputs = outputs_for(model_registry.get(model), body)
    urls = finished_urls(api, clock, model, body)
    assert len(urls) == len(outputs)
    for index, (url, output) in enumerate(zip(urls, outputs, strict=True)):
        assert url.endswith(f"/results/{url.split('/')[-2]}/{index}.{output.extension}")
        if output.kind == "image":  # cheap: every image of every image pack
            data = download(api, url, f"image/{output.format}")
            picture = Image.open(io.BytesIO(data))
            assert picture.size == (output.width, output.height)
            assert picture.format == output.format.upper()


def test_gpt_image_1_keeps_todays_png_urls(api: FlaskClient, clock: MockClock) -> None:
    urls = finished_urls(api, clock, "gpt-image-1", submit_body(num_images=2))
    task_id = urls[0].split("/")[-2]
    assert urls == [f"http://localhost/results/{task_id}/{i}.png" for i in range(2)]


# -- videos and audio decode (a few shapes: each encode costs up to a second) --------


@pytest.mark.parametrize(
    ("model", "fields", "size", "seconds"),
    [
        ("ltx-2-19b", {"mode": "text-to-video", "resolution": "480p"}, (854, 480), 5),
        ("sora-2", {"mode": "text-to-video", "aspect_ratio": "portrait"}, (720, 1280), 4),
    ],
    ids=["landscape", "portrait"],
)
def test_a_video_result_is_an_mp4_of_the_asked_shape(
    api: FlaskClient,
    clock: MockClock,
    model: str,
    fields: dict[str, Any],
    size: tuple[int, int],
    seconds: int,
) -> None:
    body = {"input": {"prompt": "a lantern festival", **fields}}
    (url,) = finished_urls(api, clock, model, body)
    assert url.endswith("/0.mp4")
    with av.open(io.BytesIO(download(api, url, "video/mp4"))) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == size
        assert container.duration is not None
        assert container.duration / av.time_base == pytest.approx(seconds, abs=0.6)


def test_a_suno_task_gives_two_mp3_tracks(api: FlaskClient, clock: MockClock) -> None:
    body = read(default_root() / "suno/examples/simple.request.json")
    urls = finished_urls(api, clock, "suno", body)
    assert [url.rsplit("/", 1)[1] for url in urls] == ["0.mp3", "1.mp3"]
    tracks = [download(api, url, "audio/mpeg") for url in urls]
    assert tracks[0] != tracks[1]
    with av.open(io.BytesIO(tracks[0])) as container:
        assert container.format.name == "mp3"
        assert container.duration is not None
        assert container.duration / av.time_base == pytest.approx(30, abs=0.5)


# -- result URLs 404 like images ---------------------------------------------------------


def nano_urls(api: FlaskClient, clock: MockClock) -> list[str]:
    body = {"input": {"mode": "text-to-image", "prompt": "a fox", "output_format": "jpeg"}}
    return finished_urls(api, clock, "nano-banana", body)


def test_a_wrong_extension_or_index_is_404(api: FlaskClient, clock: MockClock) -> None:
    (url,) = nano_urls(api, clock)
    assert url.endswith("/0.jpg")
    download(api, url, "image/jpeg")
    for wrong in (url[:-4] + ".png", url[:-4] + ".mp4", url.replace("/0.jpg", "/1.jpg")):
        response = api.get(wrong)
        assert response.status_code == 404, wrong
        assert response.get_json()["message"] == "Result not found or expired"


def test_a_result_file_expires_after_the_ttl(api: FlaskClient, clock: MockClock) -> None:
    (url,) = nano_urls(api, clock)
    clock.advance(15 * 86_400_000)
    assert api.get(url).status_code == 404


def test_no_file_before_the_task_succeeds(api: FlaskClient) -> None:
    body = {"input": {"mode": "text-to-image", "prompt": "a fox"}}
    task_id = task_of(api, "nano-banana", body)
    assert api.get(f"/results/{task_id}/0.png").status_code == 404


# -- a task belongs to its model ---------------------------------------------------------


def test_a_task_read_under_another_models_path_is_404(api: FlaskClient) -> None:
    veo = task_of(api, "veo-3-1", {"input": {"mode": "fast", "prompt": "a hummingbird"}})
    gpt = task_of(api, "gpt-image-1", submit_body())
    unknown = status(api, "veo-3-1", "task_0000000000000000", expect=404)
    for model, task_id in (("suno", veo), ("gpt-image-1", veo), ("veo-3-1", gpt)):
        assert status(api, model, task_id, expect=404) == unknown
    assert status(api, "veo-3-1", veo)["data"]["taskId"] == veo


def test_the_admin_task_view_names_the_tasks_model(api: FlaskClient) -> None:
    veo = task_of(api, "veo-3-1", {"input": {"mode": "fast", "prompt": "a hummingbird"}})
    gpt = task_of(api, "gpt-image-1", submit_body())
    for task_id, model in ((veo, "veo-3-1"), (gpt, "gpt-image-1")):
        shown = api.get(f"/__admin/tasks/{task_id}").get_json()["data"]
        assert shown["model"] == model


def test_an_unknown_model_is_404_before_the_method_and_the_body(api: FlaskClient) -> None:
    for method in ("POST", "PUT"):
        response = api.open("/api/v1/generateTask/veo-9", method=method, data=b"[", headers=AUTH)
        assert response.status_code == 404
        assert response.get_json()["message"] == "Model not found: veo-9"
    response = api.put("/api/v1/generateTask/veo-3-1", headers=AUTH)
    assert response.status_code == 405


def test_an_unauthenticated_submit_is_401_for_any_model(api: FlaskClient) -> None:
    assert api.post("/api/v1/generateTask/suno", json={}).status_code == 401
    assert api.post("/api/v1/generateTask/veo-9", json={}).status_code == 401


# -- validation by the pack's schema ----------------------------------------------------


@pytest.mark.parametrize(
    ("model", "body", "error"),
    [
        ("veo-3-1", {"input": {"mode": "slow", "prompt": "x"}}, 'input.mode: "slow" is not one of'),
        ("veo-3-1", {"input": {"prompt": "x"}}, "input.mode: is required"),
        ("veo-3-1", {"input": {"mode": "fast"}}, "input.prompt: is required"),
        (
            "veo-3-1",
            {"request_type": "callback", "input": {"mode": "fast", "prompt": "x"}},
            "callback_url: is required when request_type is callback",
        ),
        (
            "suno",
            {"input": {"mode": "V5", "customMode": True, "instrumental": True}},
            "input.style: is required when input.customMode is true",
        ),
        (
            "kling-2-6",
            {"input": {"mode": "text-to-video", "prompt": "x", "duration": 5.0}},
            "input.duration:",
        ),
        ("suno", [], "body: must be a JSON object, not array"),
    ],
    ids=["mode", "no-mode", "field", "callback", "condition", "float", "not-object"],
)
def test_a_body_the_pack_refuses_is_400_naming_the_field(
    api: FlaskClient, model: str, body: Any, error: str
) -> None:
    answer = submit(api, model, body, expect=400)
    assert answer["code"] == 400
    assert answer["data"]["error"].startswith(error)


def test_a_refused_submit_costs_nothing(api: FlaskClient) -> None:
    before = balance(api)
    submit(api, "veo-3-1", {"input": {"mode": "fast"}}, expect=400)
    assert balance(api) == before


# -- billing by price rule, on the one balance ---------------------------------------------


@pytest.mark.parametrize(
    ("model", "body", "usd"),
    [
        ("veo-3-1", {"input": {"mode": "fast", "prompt": "x"}}, "0.20"),
        ("veo-3-1", {"input": {"mode": "quality", "prompt": "x"}}, "1.50"),
        ("suno", read(default_root() / "suno/examples/simple.request.json"), "0.12"),
        ("kling-2-6", {"input": {"mode": "text-to-video", "prompt": "x", "duration": 10}}, "0.80"),
        (
            "seedream-4-5",
            {"input": {"mode": "text-to-image", "prompt": "x", "max_images": 3}},
            "0.12",
        ),
        ("gpt-image-1", submit_body(num_images=2), "0.70"),
    ],
    ids=["veo-fast", "veo-quality", "suno-per-task", "kling-per-second", "per-image", "gpt"],
)
def test_a_submit_costs_the_models_price(
    api: FlaskClient, clock: MockClock, model: str, body: Any, usd: str
) -> None:
    before = balance(api)
    task_id = task_of(api, model, body)
    assert before - balance(api) == Decimal(usd)
    clock.advance(HOUR_MS)
    assert status(api, model, task_id)["data"]["state"] == "success"
    assert before - balance(api) == Decimal(usd)


def test_a_failed_task_of_any_model_is_refunded(api: FlaskClient, clock: MockClock) -> None:
    before = balance(api)
    body = {"input": {"mode": "quality", "prompt": "mock:fail:GENERATION_FAILED"}}
    task_id = task_of(api, "veo-3-1", body)
    assert before - balance(api) == Decimal("1.50")
    clock.advance(HOUR_MS)
    data = status(api, "veo-3-1", task_id)["data"]
    assert (data["state"], data["failCode"]) == ("failed", "GENERATION_FAILED")
    assert balance(api) == before


def test_a_reference_url_trigger_works_for_any_url_field(
    api: FlaskClient, clock: MockClock
) -> None:
    body = {
        "input": {
            "mode": "text-to-video-LoRA",
            "prompt": "anime",
            "lora_url": "https://example.com/mock:fail:INVALID_LORA_URL.safetensors",
        }
    }
    task_id = task_of(api, "ltx-2-19b", body)
    clock.advance(HOUR_MS)
    assert status(api, "ltx-2-19b", task_id)["data"]["failCode"] == "INVALID_LORA_URL"


@pytest.mark.parametrize(
    ("field", "url", "code"),
    [
        ("lora_url", "https://loras.invalid/anime.safetensors", "INVALID_LORA_URL"),
        ("image_urls", ["https://images.invalid/a.png"], "INVALID_IMAGE_URL"),
    ],
)
def test_an_unreachable_lora_is_its_own_fail_code(
    api: FlaskClient, clock: MockClock, field: str, url: object, code: str
) -> None:
    mode = "text-to-video-LoRA" if field == "lora_url" else "image-to-video"
    body = {"input": {"mode": mode, "prompt": "anime", field: url}}
    task_id = task_of(api, "ltx-2-19b", body)
    clock.advance(HOUR_MS)
    assert status(api, "ltx-2-19b", task_id)["data"]["failCode"] == code


# -- timing, scenarios -----------------------------------------------------------------


def processing_ms(service: MockService, task_id: str) -> int:
    timeline = service.tasks.get(task_id).timeline  # type: ignore[union-attr]
    assert timeline.done_at is not None
    return timeline.done_at - timeline.processing_at


def test_a_model_takes_its_packs_time_under_the_profile(
    api: FlaskClient, models_service: MockService
) -> None:
    body = {"input": {"mode": "fast", "prompt": "x"}}
    durations = [processing_ms(models_service, task_of(api, "veo-3-1", body)) for _ in range(8)]
    assert all(4_000 <= ms <= 10_000 for ms in durations)  # veo-3-1's quick timing
    assert max(durations) > 5_000  # past gpt-image-1's quick maximum


def test_explicit_processing_settings_override_every_models_timing(
    clock: MockClock, sender: RecordingSender, model_registry: ModelRegistry
) -> None:
    settings = Settings(seed=7, access_log=False, processing_min_ms=100, processing_max_ms=200)
    with MockService(settings, sender=sender, clock=clock, models=model_registry) as svc:
        api = create_app(service=svc).test_client()
        for model, body in (
            ("veo-3-1", {"input": {"mode": "fast", "prompt": "x"}}),
            ("gpt-image-1", submit_body()),
        ):
            assert 100 <= processing_ms(svc, task_of(api, model, body)) <= 200


def test_a_scenario_rule_can_match_the_model(api: FlaskClient, clock: MockClock) -> None:
    rule = {
        "name": "suno-down",
        "when": {"model": "suno"},
        "then": {"fail": {"code": "MODEL_UNAVAILABLE"}},
    }
    assert api.post("/__admin/scenarios/active/rules", json={"rule": rule}).status_code == 200
    suno = task_of(api, "suno", read(default_root() / "suno/examples/simple.request.json"))
    veo = task_of(api, "veo-3-1", {"input": {"mode": "fast", "prompt": "x"}})
    clock.advance(HOUR_MS)
    assert status(api, "suno", suno)["data"]["failCode"] == "MODEL_UNAVAILABLE"
    assert status(api, "veo-3-1", veo)["data"]["state"] == "success"


# -- the catalogue: admin API, CLI, extra folders --------------------------------------


def test_admin_lists_every_model_with_its_price_rule(
    api: FlaskClient, model_registry: ModelRegistry
) -> None:
    listed = api.get("/__admin/models").get_json()["data"]
    assert [model["id"] for model in listed] == list(model_registry.ids())
    veo = next(model for model in listed if model["id"] == "veo-3-1")
    assert veo["category"] == "video"
    assert veo["modes"] == ["quality", "fast"]
    assert veo["price"] == {
        "rule": "per_video",
        "usd": 1.5,
        "byMode": {"fast": 0.2},
        "text": "$1.50 / video; fast $0.20",
    }


def test_admin_shows_a_models_manifest(api: FlaskClient) -> None:
    manifest = read(default_root() / "suno/manifest.json")
    assert api.get("/__admin/models/suno").get_json()["data"] == manifest
    missing = api.get("/__admin/models/suno-9")
    assert (missing.status_code, missing.get_json()["message"]) == (404, "Model not found: suno-9")


def test_the_cli_lists_and_shows_models(model_registry: ModelRegistry) -> None:
    runner = CliRunner()
    listed = runner.invoke(main, ["models", "list"])
    assert listed.exit_code == 0
    lines = listed.stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(model_registry.ids())
    assert any(line.split()[:2] == ["suno", "audio"] and "$0.12 / task" in line for line in lines)
    shown = runner.invoke(main, ["models", "show", "veo-3-1"])
    assert shown.exit_code == 0
    assert json.loads(shown.stdout) == read(default_root() / "veo-3-1/manifest.json")
    unknown = runner.invoke(main, ["models", "show", "veo-9"])
    assert unknown.exit_code == 2
    assert "veo-9" in unknown.stderr


def test_models_dir_adds_packs_to_the_api_and_the_cli(
    make_pack: PackMaker, clock: MockClock, sender: RecordingSender
) -> None:
    folder = make_pack("house-model")
    settings = Settings(seed=7, access_log=False, models_dir=(str(folder.parent),))
    with MockService(settings, sender=sender, clock=clock) as svc:
        api = create_app(service=svc).test_client()
        body = {"input": {"mode": "text-to-image", "prompt": "x"}}
        (url,) = finished_urls(api, clock, "house-model", body)
        download(api, url, "image/jpeg")  # nano-banana's default format
    listed = CliRunner().invoke(main, ["models", "list", "--models-dir", str(folder.parent)])
    assert "house-model" in listed.stdout


def test_a_broken_pack_folder_fails_at_start(
    make_pack: PackMaker, clock: MockClock, sender: RecordingSender
) -> None:
    folder = make_pack("broken-model")
    (folder / "manifest.json").write_text("{", encoding="utf-8")
    settings = Settings(seed=7, access_log=False, models_dir=(str(folder.parent),))
    svc = MockService(settings, sender=sender, clock=clock)
    with pytest.raises(ModelPackError, match="broken-model"):
        svc.start()
    svc.close()


# -- fetch mode downloads image references only ------------------------------------------


@dataclass(frozen=True)
class Download:
    kind: str
    head: bytes = b""


@dataclass
class PngFetcher:
    """Answers every URL with PNG bytes, and records what it was asked for."""

    urls: list[str] = field(default_factory=list)

    def fetch(self, url: str, *, timeout_s: float, max_bytes: int) -> Download:
        self.urls.append(url)
        return Download("ok", b"\x89PNG\r\n\x1a\n")


def test_fetch_mode_downloads_image_fields_not_videos_or_loras(
    clock: MockClock, sender: RecordingSender, model_registry: ModelRegistry
) -> None:
    fetcher = PngFetcher()
    settings = Settings(seed=7, access_log=False, image_mode="fetch")
    svc = MockService(settings, sender=sender, fetcher=fetcher, clock=clock, models=model_registry)
    with svc:
        api = create_app(service=svc).test_client()
        body = read(default_root() / "kling-3-0-std/examples/motion-control.request.json")
        finished_urls(api, clock, "kling-3-0-std", body)
    assert fetcher.urls == body["input"]["image_urls"]


def test_gpt_image_1_tasks_carry_no_input_copy_each(api: FlaskClient) -> None:
    # A million stored tasks must not mean a million empty dicts (docs: memory limits).
    first, second = (task_of(api, "gpt-image-1", submit_body()) for _ in range(2))
    svc = api.application.extensions["apixo_mock"]
    requests = [svc.tasks.get(task_id).request for task_id in (first, second)]
    assert requests[0].input is requests[1].input
    assert requests[0].model == "gpt-image-1"
    assert requests[0].outputs == ()


def test_a_callback_of_any_model_is_its_status_body(
    api: FlaskClient, clock: MockClock, models_service: MockService, sender: RecordingSender
) -> None:
    models_service.start()
    body = read(default_root() / "suno/examples/simple.request.json")
    body.update(request_type="callback", callback_url="http://127.0.0.1:9/hook")
    task_id = task_of(api, "suno", body)
    clock.advance(HOUR_MS)
    assert models_service.callbacks.wait_idle(10.0)
    [(url, sent, _)] = sender.calls
    assert url == "http://127.0.0.1:9/hook"
    answer = api.get("/api/v1/statusTask/suno", query_string={"taskId": task_id}, headers=AUTH)
    assert sent == answer.data
    urls = json.loads(json.loads(sent)["data"]["resultJson"])["resultUrls"]
    assert [url.rsplit(".", 1)[1] for url in urls] == ["mp3", "mp3"]
