"""Exact money: USD as integer micro-dollars, and JSON numbers that read exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mock_server.core.money import to_micros, to_usd, usd_number


@pytest.mark.parametrize(
    "amount",
    ["0.35", 0.35, Decimal("0.35"), Decimal("0.350000")],
    ids=["text", "float", "decimal", "decimal-padded"],
)
def test_to_micros_is_exact_for_thirty_five_cents(amount: str | float | Decimal) -> None:
    assert to_micros(amount) == 350_000


@pytest.mark.parametrize(
    ("amount", "micros"),
    [(1, 1_000_000), ("1000000", 1_000_000_000_000), ("0.000001", 1), (0.1, 100_000), ("0", 0)],
)
def test_to_micros_converts_whole_and_fractional_amounts(
    amount: int | str | float, micros: int
) -> None:
    assert to_micros(amount) == micros


@pytest.mark.parametrize("amount", ["0.0000001", Decimal("1.2345678"), 1e-7])
def test_more_than_six_decimals_is_refused(amount: str | Decimal | float) -> None:
    with pytest.raises(ValueError, match="6 decimal places"):
        to_micros(amount)


@pytest.mark.parametrize("amount", ["abc", "", "NaN", "Infinity", float("inf"), float("nan")])
def test_non_amounts_are_refused(amount: str | float) -> None:
    with pytest.raises(ValueError, match="not an amount of money"):
        to_micros(amount)


def test_to_usd_is_the_exact_decimal() -> None:
    assert to_usd(350_000) == Decimal("0.35")
    assert to_usd(999_999_300_000) == Decimal("999999.3")


def test_usd_number_of_a_fraction_is_the_float_that_reads_exactly() -> None:
    value = usd_number(999_999_300_000)
    assert isinstance(value, float)
    assert value == 999999.3
    assert repr(value) == "999999.3"


@pytest.mark.parametrize(("micros", "whole"), [(0, 0), (1_000_000, 1), (10**12, 1_000_000)])
def test_usd_number_of_a_whole_amount_is_an_int(micros: int, whole: int) -> None:
    value = usd_number(micros)
    assert type(value) is int
    assert value == whole


@pytest.mark.parametrize("micros", [1, 350_000, 74_870_000, 999_999_999_999])
def test_usd_number_round_trips_through_its_text(micros: int) -> None:
    assert to_micros(repr(usd_number(micros))) == micros
