"""The kinds of setting value, and how a raw one (YAML, environment, flag) becomes each.

settings.py names a kind in every setting's metadata; `coerce` there looks the
converter up here, checks the range and wraps a failure in a ConfigError that
names the source. A converter raises ValueError with a message for people.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from .core.money import to_micros


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{value!r} is not a boolean (use true or false)")


def _to_int(value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"{value!r} is not an integer")
    try:
        return int(str(value).strip()) if not isinstance(value, (int, float)) else int(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an integer") from None


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a number") from None


def _to_money(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an amount of USD")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount of USD") from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.000001")):
        raise ValueError(f"{value!r} is not an amount of USD with at most 6 decimals")
    to_micros(amount)  # the same limits as every other amount of money
    return amount


def _to_list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return tuple(str(item).strip() for item in items if str(item).strip())


def _to_prices(value: Any) -> tuple[str, ...]:
    """`MODEL=USD` / `MODEL:MODE=USD` entries, each amount checked as a `money` one."""
    entries = []
    for entry in _to_list(value):
        target, equals, usd = entry.partition("=")
        model, _, mode = target.strip().partition(":")
        if not equals or not model.strip() or (":" in target and not mode.strip()):
            raise ValueError(f"{entry!r} is not MODEL=USD or MODEL:MODE=USD")
        try:
            amount = _to_money(usd)
        except ValueError as exc:
            raise ValueError(f"{entry!r}: {exc}") from None
        if amount < 0:
            raise ValueError(f"{entry!r}: must not be negative")
        key = f"{model.strip()}:{mode.strip()}" if mode.strip() else model.strip()
        entries.append(f"{key}={amount}")
    return tuple(entries)


def _to_floats(value: Any) -> tuple[float, ...]:
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    numbers = tuple(_to_float(item) for item in items if str(item).strip())
    if not numbers or min(numbers) < 0:
        raise ValueError(f"{value!r} must be one or more non-negative numbers")
    return numbers


def _to_choice(value: Any) -> Any:
    return _to_int(value) if str(value).strip().isdigit() else str(value).strip()


def _optional(convert: Any) -> Any:
    def optional(value: Any) -> Any:
        return (
            None if value is None or str(value).strip() in ("", "none", "null") else convert(value)
        )

    return optional


# Each kind named in a setting's metadata, and the function that makes a raw value one.
CONVERTERS: Mapping[str, Any] = MappingProxyType(
    {
        "str": lambda value: str(value),
        "optstr": _optional(str),
        "int": _to_int,
        "optint": _optional(_to_int),
        "float": _to_float,
        "bool": _to_bool,
        "money": _to_money,
        "list": _to_list,
        "floats": _to_floats,
        "prices": _to_prices,
        "choice": _to_choice,
    }
)
