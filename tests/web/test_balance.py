"""GET /api/v1/apikeys/current-balance: a bare number, charges and refunds."""

from __future__ import annotations

from decimal import Decimal

from flask.testing import FlaskClient

from mock_server.core.clock import MockClock
from mock_server.core.schemas import validator
from mock_server.core.service import MockService
from mock_server.settings import Settings
from mock_server.web.app import create_app
from tests.conftest import AUTH, BALANCE, SUBMIT, RecordingSender, submit_body


def balance(client: FlaskClient) -> object:
    response = client.get(BALANCE, headers=AUTH)
    assert response.status_code == 200
    body = response.get_json()
    assert list(validator("balance-response").iter_errors(body)) == []
    return body["data"]


def test_balance_is_a_bare_json_number(client: FlaskClient) -> None:
    raw = client.get(BALANCE, headers=AUTH).data
    assert raw == b'{"code":200,"message":"success","data":1000000}'


def test_submit_charges_num_images_times_price(client: FlaskClient) -> None:
    client.post(SUBMIT, json=submit_body(num_images=4), headers=AUTH)
    assert Decimal(str(balance(client))) == Decimal(1_000_000) - 4 * Decimal("0.35")


def test_failed_task_is_refunded(client: FlaskClient, clock: MockClock) -> None:
    client.post(
        SUBMIT, json=submit_body(prompt="mock:fail:GENERATION_FAILED", num_images=2), headers=AUTH
    )
    assert balance(client) == 999_999.3
    clock.advance(60_000)
    assert balance(client) == 1_000_000


def test_money_stays_exact_over_many_charges(clock: MockClock, sender: RecordingSender) -> None:
    service = MockService(
        Settings(seed=1, balance=Decimal("3.5")).core_config(), sender=sender, clock=clock
    )
    client = create_app(service=service).test_client()
    for _ in range(10):
        assert client.post(SUBMIT, json=submit_body(), headers=AUTH).status_code == 200
    assert balance(client) == 0
    refused = client.post(SUBMIT, json=submit_body(), headers=AUTH)
    assert refused.get_json() == {"code": 400, "message": "Insufficient credits", "data": None}


def test_insufficient_credits_status_dialect_402(clock: MockClock, sender: RecordingSender) -> None:
    settings = Settings(seed=1, balance=Decimal("0.5"), insufficient_credits_status=402)
    client = create_app(
        service=MockService(settings.core_config(), sender=sender, clock=clock)
    ).test_client()
    refused = client.post(SUBMIT, json=submit_body(num_images=2), headers=AUTH)
    assert refused.status_code == 402
    assert refused.get_json()["code"] == 402
    assert balance(client) == 0.5
