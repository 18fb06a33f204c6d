"""Exact money: USD held as integer micro-dollars, never as floats."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

MICROS_PER_USD = 1_000_000
# 15 significant digits is what a JSON number (a double) carries exactly.
MAX_MICROS = 10**15 - 1


def to_micros(amount: Decimal | int | str | float) -> int:
    """USD to integer micro-dollars; floats go through their shortest decimal text."""
    try:
        value = Decimal(str(amount)) if isinstance(amount, float) else Decimal(amount)
    except (InvalidOperation, ValueError):
        raise ValueError(f"{amount!r} is not an amount of money") from None
    if not value.is_finite():
        raise ValueError(f"{amount!r} is not an amount of money")
    micros = value * MICROS_PER_USD
    if micros != micros.to_integral_value():
        raise ValueError(f"{amount!r} has more than 6 decimal places")
    if abs(micros) > MAX_MICROS:
        raise ValueError(f"{amount!r} is more than 999999999.999999, beyond what JSON keeps exact")
    return int(micros)


def to_usd(micros: int) -> Decimal:
    """Integer micro-dollars back to an exact Decimal amount of USD."""
    return (Decimal(micros) / MICROS_PER_USD).normalize()


def usd_number(micros: int) -> int | float:
    """A JSON number for an amount: an int when whole, else the float whose text is exact.

    Six decimal places and at most 15 significant digits round-trip through a
    float's shortest repr, so the number on the wire reads exactly as the Decimal.
    """
    amount = to_usd(micros)
    return int(amount) if amount == amount.to_integral_value() else float(amount)
