"""What a validated submit costs, in integer micro-USD, by the model's price rule.

The pack's price rule can be overridden per model and per mode by the
`model_prices` setting: `MODEL=USD` sets the price of every mode of the model
(the pack's per-mode prices included), `MODEL:MODE=USD` that of one mode. The
unit (image, video, second, task) stays the pack's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from ..money import to_micros
from ..validation import GPT_IMAGE_1
from .manifest import ModelPack, PriceRule
from .outputs import output_count, output_file

# (model, mode or None for the whole model) -> micro-USD.
Prices = Mapping[tuple[str, str | None], int]


def parse_prices(entries: Iterable[str]) -> Prices:
    """`MODEL=USD` / `MODEL:MODE=USD` entries (already checked by the setting) as micro-USD."""
    prices: dict[tuple[str, str | None], int] = {}
    for entry in entries:
        target, usd = entry.split("=", 1)
        model, _, mode = target.partition(":")
        prices[(model, mode or None)] = to_micros(usd)
    return MappingProxyType(prices)


def priced(pack: ModelPack, prices: Prices) -> PriceRule:
    """The pack's price rule with the overrides for its model applied."""
    rule = pack.price
    whole = prices.get((pack.id, None))
    by_mode = dict(rule.by_mode) if whole is None else {}
    by_mode.update(
        {mode: micros for (model, mode), micros in prices.items() if model == pack.id and mode}
    )
    micros = rule.micros if whole is None else whole
    return dataclasses.replace(rule, micros=micros, by_mode=MappingProxyType(by_mode))


def unknown_price(pack_modes: Mapping[str, Iterable[str]], entries: Iterable[str]) -> str | None:
    """Why the first entry naming a model or mode not in `pack_modes` (id -> modes) is wrong."""
    for entry in entries:
        ((model, mode),) = parse_prices([entry])
        if model not in pack_modes:
            return f"{entry!r}: no model {model!r}"
        if mode is not None and mode not in pack_modes[model]:
            return f"{entry!r}: model {model!r} has no mode {mode!r}"
    return None


def price_in_force(pack: ModelPack, prices: Prices, per_image: int) -> PriceRule:
    """The rule a submit to `pack` is charged by (gpt-image-1's default is `price_per_image`)."""
    if pack.id == GPT_IMAGE_1:
        pack = dataclasses.replace(pack, price=dataclasses.replace(pack.price, micros=per_image))
    return priced(pack, prices)


def gpt_image_price(prices: Prices, per_image: int, mode: str) -> int:
    """gpt-image-1's unit price: its mode's entry, else its model's, else `price_per_image`."""
    return prices.get((GPT_IMAGE_1, mode), prices.get((GPT_IMAGE_1, None), per_image))


def price_micros(pack: ModelPack, body: Mapping[str, Any], prices: Prices | None = None) -> int:
    """The charge for `body`: unit price x images, x videos, x video seconds, or once per task."""
    request_input = body["input"]
    mode = request_input["mode"]
    price = pack.price if not prices else priced(pack, prices)
    unit = price.micros_for(mode)
    rule = price.unit
    if rule == "per_task":
        return unit
    spec = pack.mode(mode).output
    count = output_count(spec, request_input)
    if rule == "per_second":
        duration = output_file(spec, request_input).duration_s
        if duration is None:
            raise ValueError(f"{pack.id} prices per second but mode {mode!r} has no duration")
        return unit * count * duration
    return unit * count
