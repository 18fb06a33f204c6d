"""The `model_prices` setting: per-model and per-mode prices over the packs' price rules."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from mock_server.cli import main
from mock_server.core.clock import MockClock
from mock_server.core.errors import ConfigError
from mock_server.core.models import ModelRegistry, default_root
from mock_server.core.service import MockService
from mock_server.settings import Settings, load_settings
from mock_server.web.app import create_app
from tests.conftest import RecordingSender, submit_body
from tests.models.test_served_models import balance, read, task_of

DOC = Path(__file__).parents[2] / "docs" / "configuration.md"
PRICES = "veo-3-1=2.00,veo-3-1:fast=0.25,suno=0.10,kling-2-6=0.05,gpt-image-1=0.50"


@pytest.fixture
def priced_api(
    clock: MockClock, sender: RecordingSender, model_registry: ModelRegistry
) -> Iterator[FlaskClient]:
    """A test client of a service whose prices are `PRICES`."""
    settings = Settings(seed=7, access_log=False).replace(model_prices=PRICES)
    with MockService(settings, sender=sender, clock=clock, models=model_registry) as svc:
        yield create_app(service=svc).test_client()


@pytest.mark.parametrize(
    ("model", "body", "usd"),
    [
        ("veo-3-1", {"input": {"mode": "quality", "prompt": "x"}}, "2.00"),
        ("veo-3-1", {"input": {"mode": "fast", "prompt": "x"}}, "0.25"),
        ("suno", read(default_root() / "suno/examples/simple.request.json"), "0.10"),
        ("kling-2-6", {"input": {"mode": "text-to-video", "prompt": "x", "duration": 10}}, "0.50"),
        ("gpt-image-1", submit_body(num_images=4), "2.00"),
        ("nano-banana", {"input": {"mode": "text-to-image", "prompt": "x"}}, "0.03"),
    ],
    ids=["per-video", "mode-override", "per-task", "per-second", "gpt-image-1", "not-overridden"],
)
def test_a_submit_costs_the_configured_price(
    priced_api: FlaskClient, model: str, body: Any, usd: str
) -> None:
    before = balance(priced_api)
    task_of(priced_api, model, body)
    assert before - balance(priced_api) == Decimal(usd)


def test_a_model_entry_overrides_the_packs_mode_prices_too(
    clock: MockClock, sender: RecordingSender, model_registry: ModelRegistry
) -> None:
    settings = Settings(seed=7, access_log=False, price_per_image=Decimal("0.40"))
    with MockService(
        settings.replace(model_prices="veo-3-1=1.00"), sender=sender, clock=clock,
        models=model_registry,
    ) as svc:  # fmt: skip
        api = create_app(service=svc).test_client()
        before = balance(api)
        task_of(api, "veo-3-1", {"input": {"mode": "fast", "prompt": "x"}})
        task_of(api, "gpt-image-1", submit_body(num_images=1))  # price_per_image still holds
        assert before - balance(api) == Decimal("1.40")


def test_the_admin_listing_shows_the_price_in_force(priced_api: FlaskClient) -> None:
    listed = {model["id"]: model for model in priced_api.get("/__admin/models").get_json()["data"]}
    assert listed["veo-3-1"]["price"] == {
        "rule": "per_video",
        "usd": 2.0,
        "byMode": {"fast": 0.25},
        "text": "$2.00 / video; fast $0.25",
    }
    assert listed["kling-2-6"]["price"]["text"] == "$0.05 / second"
    assert listed["gpt-image-1"]["price"]["text"] == "$0.50 / image"
    assert listed["suno"]["price"]["usd"] == 0.1


def test_the_cli_lists_the_price_in_force() -> None:
    listed = CliRunner().invoke(main, ["models", "list", "--model-prices", "suno=0.07"])
    assert listed.exit_code == 0, listed.output
    assert any(
        line.split()[0] == "suno" and "$0.07 / task" in line for line in listed.stdout.splitlines()
    )


def test_a_scenario_can_set_model_prices(
    clock: MockClock, sender: RecordingSender, model_registry: ModelRegistry
) -> None:
    with MockService(
        Settings(seed=7, access_log=False), sender=sender, clock=clock, models=model_registry
    ) as svc:
        api = create_app(service=svc).test_client()
        scenario = {"name": "dear", "settings": {"model_prices": "suno=1.00"}}
        assert api.put("/__admin/scenarios/active", json={"scenario": scenario}).status_code == 200
        before = balance(api)
        task_of(api, "suno", read(default_root() / "suno/examples/simple.request.json"))
        assert before - balance(api) == Decimal("1.00")


BAD = [
    ("veo-9=1.00", "'veo-9=1.00': no model 'veo-9'"),
    ("veo-3-1:slow=1.00", "'veo-3-1:slow=1.00': model 'veo-3-1' has no mode 'slow'"),
    ("suno=cheap", "'suno=cheap': 'cheap' is not an amount of USD"),
    ("suno=-0.10", "'suno=-0.10': must not be negative"),
    ("suno", "'suno' is not MODEL=USD or MODEL:MODE=USD"),
    ("suno:=0.10", "'suno:=0.10' is not MODEL=USD or MODEL:MODE=USD"),
]


@pytest.mark.parametrize(("entry", "why"), BAD, ids=[entry for entry, _ in BAD])
def test_a_bad_entry_is_refused_by_settings(entry: str, why: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(flags={"model_prices": f"suno=0.10,{entry}"})
    assert caught.value.field == "model_prices"
    assert str(caught.value).endswith(why)
    with pytest.raises(ConfigError, match="model_prices"):
        Settings().replace(model_prices=entry)


def test_entries_are_read_from_every_source_as_exact_decimals() -> None:
    settings = load_settings(env={"APIXO_MOCK_MODEL_PRICES": " suno = 0.1 , veo-3-1:fast=0.000001"})
    assert settings.model_prices == ("suno=0.1", "veo-3-1:fast=0.000001")


def test_a_bad_entry_stops_serve_with_one_line_and_exit_2() -> None:
    command = [sys.executable, "-m", "mock_server", "serve", "--port", "0"]
    done = subprocess.run(
        [*command, "--model-prices", "veo-9=1.00"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip() in DOC.read_text(encoding="utf-8")  # the line the docs show
    assert done.stderr.splitlines() == [
        "apixo-mock: error: settings: model_prices: 'veo-9=1.00': no model 'veo-9'"
    ]
