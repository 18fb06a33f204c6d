"""What a validated submit costs, in integer micro-USD, by the model's price rule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .manifest import ModelPack
from .outputs import output_count, output_file


def price_micros(pack: ModelPack, body: Mapping[str, Any]) -> int:
    """The charge for `body`: unit price x images, x videos, x video seconds, or once per task."""
    request_input = body["input"]
    mode = request_input["mode"]
    unit = pack.price.micros_for(mode)
    rule = pack.price.unit
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
