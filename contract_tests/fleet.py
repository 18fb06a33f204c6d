"""The fleet: a few billable tasks submitted once per session and waited for together.

Against the real API every task costs money and about 30 s, so the rules
that need a finished task share a handful of them, chosen to cover the most
rules per image, in priority order (the budget may stop the list early):

- default: the smallest body; defaults, the status shape, times, one 1:1
  image, the charge (balance read right before and after its submit).
- extras: 10000-character prompt, 3:2, two images, isEnhance, unknown fields;
  the charge of two images (balance read right after it).
- violation: the violation prompt; CONTENT_VIOLATION and the refund.
- alias: 1-character prompt, 2:3, nVariants 2, a callback when one can arrive.
- reference: an unreachable reference image (an RFC 2606 `.invalid` host):
  accepted at submit, then failed with INVALID_IMAGE_URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from mock_server.core.models import OutputFile

from .budget import Budget
from .checks import ContractViolation, balance_amount, submitted_task_id
from .client import ApiClient
from .polling import Poller, TaskRecord

MODE = "gpt-image-1"
LONG_PROMPT = ("a quiet harbour at dawn, small boats, soft light, mist. " * 200)[:10_000]
UNREACHABLE_IMAGE = "https://images.invalid/apixo-contract/reference.png"
CALLBACK_PATH = "/apixo-contract/alias"
FAILED_CALLBACK_PATH = "/apixo-contract/violation"  # a failed task's callback
UNKNOWN_FIELD = "apixo_contract_unknown_field"


@dataclass(slots=True)
class Member:
    """One fleet task: what was asked, and what became of it."""

    name: str
    body: dict[str, Any]
    images: int
    aspect_ratio: str
    rules: tuple[tuple[str, str], ...] = ()  # (word in a refusal, rule it breaks), last: default
    record: TaskRecord | None = None
    skip: str | None = None
    error: AssertionError | None = None
    cost: Decimal | None = None  # USD by the model's price rule; None: images x --apixo-price
    outputs: tuple[OutputFile, ...] = ()  # the files a success gives, by the model's pack

    def charge(self, price: Decimal) -> Decimal:
        """What the submit costs: its pack's price, or (gpt-image-1) images x `price`."""
        return self.images * price if self.cost is None else self.cost

    def refusal_rule(self, text: str) -> str:
        """The rule a refusal of this member's submit breaks, judged by what the 400 names."""
        squashed = text.lower().replace("_", "")
        for word, rule in self.rules[:-1]:
            if word.lower() in squashed:
                return rule
        return self.rules[-1][1] if self.rules else "submit.accepts-valid"

    def task(self) -> TaskRecord:
        """The submitted task; skips if the budget (or a missing option) kept it back."""
        if self.skip is not None:
            pytest.skip(self.skip)
        if self.error is not None:
            raise self.error
        assert self.record is not None
        return self.record

    def final(self) -> dict[str, Any]:
        """The task's terminal status data (raises what went wrong while waiting)."""
        return self.task().final()


@dataclass(slots=True)
class Fleet:
    """The members by name, and the balance around them."""

    members: dict[str, Member] = field(default_factory=dict)
    balances: dict[str, Decimal] = field(default_factory=dict)
    balance_error: AssertionError | None = None
    callback_member: str = "alias"  # the member that asked for a callback (when one can arrive)

    def __getitem__(self, name: str) -> Member:
        return self.members[name]

    def balance(self, moment: str) -> Decimal:
        """The balance read at `moment` (before, after-default, end)."""
        if self.balance_error is not None:
            raise self.balance_error
        if moment not in self.balances:
            pytest.skip("the fleet did not read the balance at this moment")
        return self.balances[moment]


# What a 400 to each member's submit breaks, by the word the error names (last: otherwise).
_DEFAULT_RULES = (("", "submit.defaults"),)
_VIOLATION_RULES = (("", "failures.content-violation"),)
_EXTRAS_RULES = (
    ("isenhance", "alias.is-enhance-accepted"),
    ("prompt", "submit.prompt-bounds"),
    ("", "submit.extra-fields-ignored"),
)
_ALIAS_RULES = (
    ("prompt", "submit.prompt-bounds"),
    ("callback", "callbacks.same-envelope"),
    ("", "alias.nvariants"),
)
_REFERENCE_RULES = (("", "submit.image-urls-accepted"),)


def plan(violation_prompt: str | None, callback_url: str | None) -> list[Member]:
    """The members in priority order; one without what it needs says why."""
    violation_body = _body(violation_prompt or "")
    if callback_url is not None:
        failed_url = callback_url.replace(CALLBACK_PATH, FAILED_CALLBACK_PATH)
        violation_body.update(request_type="callback", callback_url=failed_url)
    violation = Member("violation", violation_body, 1, "1:1", _VIOLATION_RULES)
    if violation_prompt is None:
        violation.skip = "no --apixo-violation-prompt for this target"
    reference = _body("a bicycle", image_urls=[UNREACHABLE_IMAGE])
    return [
        Member("default", _body("a red bicycle leaning on a brick wall"), 1, "1:1", _DEFAULT_RULES),
        Member("extras", _extras(), 2, "3:2", _EXTRAS_RULES),
        violation,
        Member("alias", _alias(callback_url), 2, "2:3", _ALIAS_RULES),
        Member("reference", reference, 1, "1:1", _REFERENCE_RULES),
    ]


def _extras() -> dict[str, Any]:
    body = _body(LONG_PROMPT, aspect_ratio="3:2", num_images=2, isEnhance=True)
    body.update(request_type="async", provider="official", **{UNKNOWN_FIELD: {"ignored": True}})
    body["input"][UNKNOWN_FIELD] = 1
    return body


def _alias(callback_url: str | None) -> dict[str, Any]:
    body = _body("a", aspect_ratio="2:3", nVariants=2)
    body["provider"] = "value"
    if callback_url is not None:
        body.update(request_type="callback", callback_url=callback_url)
    return body


def _body(prompt: str, **given: Any) -> dict[str, Any]:
    return {"input": {"mode": MODE, "prompt": prompt, **given}}


def launch(
    members: Sequence[Member],
    api: ApiClient,
    budget: Budget,
    poller: Poller,
    callback_member: str = "alias",
) -> Fleet:
    """Submit every member the budget allows, then wait for all of them together."""
    fleet = Fleet({member.name: member for member in members}, callback_member=callback_member)
    fleet.balance_error = _read_balance(fleet, api, "before")
    for member in members:
        _submit(member, api, budget)
        if member.name in ("default", "extras") and member.record is not None:
            # Reads around a 1-image and a 2-image submit, one after the other,
            # while nothing else is in flight that could end and be refunded.
            moment = f"after-{member.name}"
            fleet.balance_error = fleet.balance_error or _read_balance(fleet, api, moment)
    poller.wait([member.record for member in members if member.record is not None])
    fleet.balance_error = fleet.balance_error or _read_balance(fleet, api, "end")
    return fleet


def _submit(member: Member, api: ApiClient, budget: Budget) -> None:
    if member.skip is not None:
        return
    if not budget.take(member.images):
        member.skip = budget.refusal(member.images)
        return
    answer = api.submit(member.body)
    try:
        task_id = submitted_task_id(answer)
    except ContractViolation as error:
        rule = member.refusal_rule(answer.text) if answer.status == 400 else error.rule
        member.error = ContractViolation(rule, f"the fleet's {member.name} body: {error.detail}")
        return
    count = len(member.outputs) or member.images
    member.record = TaskRecord(task_id, count, member.aspect_ratio)


def _read_balance(fleet: Fleet, api: ApiClient, moment: str) -> AssertionError | None:
    try:
        fleet.balances[moment] = balance_amount(api.balance())
    except ContractViolation as error:
        return error
    return None
