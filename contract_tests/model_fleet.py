"""The fleet of a model other than gpt-image-1: the same five kinds of task, from its pack.

- default: the smallest valid body (the plain example without every field
  the schema lets go); the model's defaults, the status shape, the charge.
- extras: unknown fields (top level and in input) and the longest prompt the
  schema allows; the charge again (balance read right after it).
- violation: the violation prompt (on a mock, its trigger); the refund.
- callback: the shortest prompt allowed, delivered by callback when one can
  arrive.
- reference: unreachable reference images (an RFC 2606 `.invalid` host), for
  a model that takes image URLs.

Each costs its pack's price, counted in budget images at --apixo-price.
"""

from __future__ import annotations

from typing import Any

from .fleet import CALLBACK_PATH, FAILED_CALLBACK_PATH, Member
from .model_bodies import (
    extras_body,
    minimal_body,
    plain_body,
    shortest_prompt_body,
    unreachable_reference,
    with_prompt,
    with_trigger,
)
from .models import ModelCase, units

CALLBACK_MEMBER = "callback"
_DEFAULT_RULES = (("", "submit.defaults"),)
_EXTRAS_RULES = (("prompt", "submit.prompt-bounds"), ("", "submit.extra-fields-ignored"))
_CALLBACK_RULES = (
    ("prompt", "submit.prompt-bounds"),
    ("callback", "callbacks.same-envelope"),
    ("", "submit.accepts-valid"),
)


def callback_paths(model: str) -> tuple[str, str]:
    """The receiver paths of the model's callback and failed-callback tasks (one per model)."""
    return f"{CALLBACK_PATH}/{model}", f"{FAILED_CALLBACK_PATH}/{model}"


def model_plan(
    model: ModelCase, violation_prompt: str | None, callback_base: str | None, price: Any
) -> list[Member]:
    """The members in priority order; one without what it needs says why."""

    def member(name: str, body: dict[str, Any] | None, rules: Any, why: str = "") -> Member:
        if body is None:
            return Member(name, {}, 1, "", rules, skip=why)
        cost = model.cost_usd(body)
        found = Member(name, body, units(model.cost_micros(body), price), "", rules)
        found.cost, found.outputs = cost, model.outputs(body)
        return found

    paths = callback_paths(model.id)
    violation = _violation(model, violation_prompt)
    if violation is not None and callback_base is not None:
        violation.update(request_type="callback", callback_url=callback_base + paths[1])
    callback = shortest_prompt_body(model) or plain_body(model)
    if callback_base is not None:
        callback.update(request_type="callback", callback_url=callback_base + paths[0])
    no_violation = (
        "no --apixo-violation-prompt for this target"
        if violation_prompt is None
        else f"{model.id} takes no prompt or URL to carry the violation prompt"
    )
    no_images = f"{model.id} takes no reference image URLs"
    return [
        member("default", minimal_body(model), _DEFAULT_RULES),
        member("extras", extras_body(model), _EXTRAS_RULES),
        member("violation", violation, (("", "failures.content-violation"),), no_violation),
        member(CALLBACK_MEMBER, callback, _CALLBACK_RULES),
        member(
            "reference",
            unreachable_reference(model),
            (("", "submit.image-urls-accepted"),),
            no_images,
        ),
    ]


def _violation(model: ModelCase, prompt: str | None) -> dict[str, Any] | None:
    """The violation prompt in the model's prompt, or (a mock trigger) in one of its URLs."""
    if prompt is None:
        return None
    body = with_prompt(model, prompt)
    if body is None and "mock:" in prompt:
        return with_trigger(model, prompt[prompt.index("mock:") :].split()[0])
    return body
