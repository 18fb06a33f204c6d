"""Options, capability detection and defaults: what the suite makes of its target."""

from __future__ import annotations

import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from contract_tests.budget import Budget, largest_count
from contract_tests.client import AdminApi
from contract_tests.profiles import PROFILES, choose
from contract_tests.target import OPTIONS, Admin, probe, read_options, resolve
from mock_server.settings import Settings, is_loopback
from mock_server.testing.server import MockServer


def options(**given: Any) -> dict[str, Any]:
    """Every option unset, except those given (names with underscores)."""
    values: dict[str, Any] = {option.name: None for option in OPTIONS}
    values.update({name.replace("_", "-"): value for name, value in given.items()})
    return values


def test_flag_wins_over_environment() -> None:
    """`--apixo-api-key` beats APIXO_API_KEY; the variable fills what the flag leaves."""
    flags = {"apixo_api_key": "from-flag"}
    env = {"APIXO_API_KEY": "from-env", "APIXO_MAX_IMAGES": "3", "APIXO_PRICE": "0.5"}
    values = read_options(flags.get, env)
    assert values["api-key"] == "from-flag"
    assert values["max-images"] == 3
    assert values["price"] == Decimal("0.5")


def test_real_target_gets_the_documented_rhythm_and_a_small_budget() -> None:
    """No admin API: wait 20 s, poll every 3 s, at most 8 images, no violation prompt."""
    target = resolve(options(api_key="k"), "https://api.apixo.ai/", Admin.ABSENT, False)
    assert (target.poll.initial_s, target.poll.interval_s) == (20.0, 3.0)
    assert target.max_images == 8
    assert target.violation_prompt is None
    assert target.admin_skip_reason() == "needs the mock's admin API: no admin API (404)"
    assert not target.is_mock
    assert not target.loopback


def test_mock_target_polls_fast_and_uses_the_trigger() -> None:
    """Health 200: fast polling, a generous budget, the mock's violation trigger."""
    target = resolve(options(api_key="k"), "http://127.0.0.1:8000", Admin.PRESENT, False)
    assert target.poll.interval_s == 0.25
    assert target.max_images > 8
    assert target.violation_prompt is not None
    assert "mock:fail:CONTENT_VIOLATION" in target.violation_prompt
    assert target.admin_skip_reason() is None
    assert target.loopback


def test_explicit_options_win_over_defaults() -> None:
    """What the user says is what the suite does."""
    given = options(api_key="k", max_images=2, poll_interval=0.1, violation_prompt="boom")
    target = resolve(given, "http://localhost:1", Admin.LOCKED, False)
    assert (target.max_images, target.poll.interval_s, target.violation_prompt) == (2, 0.1, "boom")
    assert "token" in (target.admin_skip_reason() or "")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("::1", True), ("localhost", True), ("api.apixo.ai", False)],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    """Only a target on this machine can call a loopback receiver."""
    assert is_loopback(host) is loopback


def test_budget_refuses_beyond_the_cap() -> None:
    """take() reserves or refuses; charge() records what a broken target billed unasked."""
    budget = Budget(5)
    assert budget.take(4)
    assert not budget.take(2)
    assert "only 1" in budget.refusal(2)
    assert not budget.exhausted  # spent as planned: requests that owe a 400 may still go
    budget.charge(1)
    assert budget.remaining == 0
    assert budget.exhausted
    assert [largest_count(n) for n in range(6)] == [0, 1, 2, 2, 4, 4]


def test_profiles() -> None:
    """fast for mocks, small elsewhere, thorough on request; deterministic, no database."""
    assert choose(True, {}).name == "fast"
    assert choose(False, {}).name == "small"
    assert choose(False, {"APIXO_HYPOTHESIS_PROFILE": "thorough"}).name == "thorough"
    with pytest.raises(ValueError, match="APIXO_HYPOTHESIS_PROFILE"):
        choose(True, {"APIXO_HYPOTHESIS_PROFILE": "nope"})
    small = PROFILES["small"].settings(3, billable=True)
    assert small.database is None
    assert small.derandomize
    assert small.max_examples == 3


class CatchAll(BaseHTTPRequestHandler):
    """A gateway that answers 200 with some JSON to any path at all."""

    def do_GET(self) -> None:
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def test_a_200_from_anything_but_the_mock_does_not_pass_for_a_mock() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), CatchAll)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        with requests.Session() as session:
            base = f"http://127.0.0.1:{server.server_address[1]}"
            found, any_key = probe(AdminApi(base, None, session))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert found is Admin.OTHER
    assert not any_key
    target = resolve(read_options(lambda dest: None, env={}), base, found, in_process=False)
    assert target.max_images == 8


def test_the_mocks_own_health_passes_for_a_mock() -> None:
    with MockServer(keys=("K1",)) as mock, requests.Session() as session:
        assert probe(AdminApi(mock.base_url, None, session)) == (Admin.PRESENT, False)


def test_a_mock_that_accepts_any_key_is_detected() -> None:
    """`serve` without --keys: health says keys "any", so unknown-key tests skip with why."""
    settings = Settings(port=0, server="waitress", keys=())
    with MockServer(settings) as mock, requests.Session() as session:
        admin, any_key = probe(AdminApi(mock.base_url, None, session))
    assert (admin, any_key) == (Admin.PRESENT, True)
    target = resolve(options(api_key="k"), "http://127.0.0.1:1", admin, False, any_key)
    assert 'keys "any"' in (target.unknown_key_skip_reason() or "")
    assert "keys: any" in "\n".join(target.describe())
    strict = resolve(options(api_key="k"), "http://127.0.0.1:1", admin, False)
    assert strict.unknown_key_skip_reason() is None
