"""What the suite runs against: options, capability detection, and the in-process mock.

With no base URL the suite starts the mock in this process on a free loopback
port. Otherwise `GET /__admin/health` says what the target can do: 200 is a
mock with admin controls (the suite moves its clock), 404 is no admin API
(the real service, or `apixo-mock serve --no-admin`), 401 is an admin API
whose token the suite lacks. Only tests that need admin controls depend on it,
and the tests that send an unknown key: a mock that accepts any key (keys
"any") cannot refuse one, so they skip.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

import requests

from mock_server.settings import is_loopback

from .client import AdminApi
from .models import ModelCase
from .options import OPTIONS as OPTIONS
from .options import Option as Option
from .options import read_options as read_options
from .polling import PollPlan

IN_PROCESS_KEYS = ("apixo-contract-key-1", "apixo-contract-key-2")
MOCK_VIOLATION_PROMPT = "a street scene, mock:fail:CONTENT_VIOLATION"
DEFAULT_PRICE = Decimal("0.35")
REAL_MAX_IMAGES = 8
MOCK_MAX_IMAGES = 10_000  # a mock bills nothing: the cap only bounds run time


class Admin(Enum):
    """What `GET /__admin/health` said."""

    PRESENT = "admin API present"
    ABSENT = "no admin API (404)"
    LOCKED = "admin API present but the admin token is missing or wrong (401)"
    OTHER = "admin health answered, but not as apixo-mock does"


@dataclass(frozen=True, slots=True)
class Target:
    """The API under test and how to treat it."""

    base_url: str
    api_key: str
    other_api_key: str | None
    admin: Admin
    admin_token: str | None
    in_process: bool
    poll: PollPlan
    max_images: int
    violation_prompt: str | None
    callback_base_url: str | None
    callback_port: int
    price: Decimal
    any_key: bool  # /__admin/health says keys "any": every well-formed key is accepted
    strict: bool = False  # --apixo-strict: dialects and drift fail instead of being reported
    limit_key: str | None = None  # a key with lowered limits (--apixo-limit-key)
    limit_unfinished: int | None = None
    limit_rpm: int | None = None
    low_balance_key: str | None = None  # a key whose balance is below one image
    other_base_url: str | None = None  # where the second key's requests go (another process)
    allow_unpriced: bool = False  # --apixo-allow-unpriced: bill models of unknown price

    def judges(self, model: ModelCase) -> Callable[[str], bool]:
        """Which output values of `model` are checked: on a mock all of them (its choices
        are its contract), elsewhere only those the docs state (`ModelCase.documented`)."""
        return lambda part: self.is_mock or model.documented(part)

    def unpriced_skip_reason(self, model: str, price_is_a_guess: bool) -> str | None:
        """Why a billable test of `model` skips: off a mock, its price is only the pack's guess."""
        if self.is_mock or self.allow_unpriced or not price_is_a_guess:
            return None
        return (
            f"the docs give no price for {model} (its pack's price is the mock's choice):"
            " it is billed only with --apixo-allow-unpriced"
        )

    @property
    def speaks_dialects(self) -> bool:
        """Whether another reading of the docs is reported rather than failed.

        The mock's defaults are the contract's decisions, so a mock speaking
        another dialect is misconfigured; any other target may follow a docs
        version the contract decided against, which --apixo-strict makes a failure.
        """
        return not (self.is_mock or self.strict)

    @property
    def is_mock(self) -> bool:
        """Started here, or a mock with admin controls: fast polling and a generous budget."""
        return self.in_process or self.admin is Admin.PRESENT

    @property
    def loopback(self) -> bool:
        """Whether the target runs on this machine (it can then reach a loopback receiver)."""
        return is_loopback(urlsplit(self.base_url).hostname or "")

    def admin_skip_reason(self) -> str | None:
        """Why admin-only tests skip, or None when they can run."""
        if self.admin is Admin.PRESENT:
            return None
        return f"needs the mock's admin API: {self.admin.value}"

    def unknown_key_skip_reason(self) -> str | None:
        """Why tests that send an unknown key skip, or None when the target checks keys."""
        if not self.any_key:
            return None
        return (
            'the target accepts any key (/__admin/health says keys "any", as'
            " `apixo-mock serve` without --keys does): an unknown key cannot be refused"
        )

    def describe(self) -> list[str]:
        """Lines for the summary header."""
        where = "in-process mock" if self.in_process else self.base_url
        return [
            f"target: {where} ({self.admin.value})",
            f"polling: {'admin clock' if self.admin is Admin.PRESENT else 'real time'},"
            f" first {self.poll.initial_s:g} s, every {self.poll.interval_s:g} s,"
            f" timeout {self.poll.timeout_s:g} s; image budget {self.max_images}",
            *(["keys: any (unknown-key rules skip)"] if self.any_key else []),
            *self._limit_lines(),
        ]

    def _limit_lines(self) -> list[str]:
        limits = [
            f"{name} {value}"
            for name, value in (("unfinished", self.limit_unfinished), ("rpm", self.limit_rpm))
            if value is not None
        ]
        lines = [f"limit key: {', '.join(limits) or 'no limit given'}"] if self.limit_key else []
        return lines + (["low-balance key given"] if self.low_balance_key else [])


def probe(admin: AdminApi) -> tuple[Admin, bool]:
    """Capability detection from the admin health endpoint: its kind, and whether any key works."""
    try:
        health = admin.health()
    except requests.RequestException as error:
        raise RuntimeError(f"cannot reach the target at {admin.base_url}: {error}") from None
    kinds = {200: Admin.PRESENT, 404: Admin.ABSENT, 401: Admin.LOCKED}
    return kinds.get(health.status, Admin.OTHER), health.any_key


def resolve(
    options: Mapping[str, Any],
    base_url: str,
    admin: Admin,
    in_process: bool,
    any_key: bool = False,
) -> Target:
    """Fill in every default from what the target turned out to be."""
    mock = in_process or admin is Admin.PRESENT
    initial, interval = (0.25, 0.25) if mock else (20.0, 3.0)
    plan = PollPlan(
        initial_s=_pick(options["poll-initial"], initial),
        interval_s=_pick(options["poll-interval"], interval),
        timeout_s=_pick(options["task-timeout"], 300.0),
    )
    return Target(
        base_url=base_url.rstrip("/"),
        api_key=options["api-key"] or IN_PROCESS_KEYS[0],
        other_api_key=options["other-api-key"] or (IN_PROCESS_KEYS[1] if in_process else None),
        admin=admin,
        admin_token=options["admin-token"],
        in_process=in_process,
        poll=plan,
        max_images=_pick(options["max-images"], MOCK_MAX_IMAGES if mock else REAL_MAX_IMAGES),
        violation_prompt=options["violation-prompt"] or (MOCK_VIOLATION_PROMPT if mock else None),
        callback_base_url=options["callback-base-url"],
        callback_port=_pick(options["callback-port"], 0),
        price=_pick(options["price"], DEFAULT_PRICE),
        any_key=any_key,
        strict=bool(options.get("strict")),
        limit_key=options.get("limit-key"),
        limit_unfinished=options.get("limit-unfinished"),
        limit_rpm=options.get("limit-rpm"),
        low_balance_key=options.get("low-balance-key"),
        other_base_url=options.get("other-base-url"),
        allow_unpriced=bool(options.get("allow-unpriced")),
    )


def _pick(value: Any, default: Any) -> Any:
    return default if value is None else value


@contextmanager
def open_target(options: Mapping[str, Any], session: requests.Session) -> Iterator[Target]:
    """The target named by the options, or a mock started here for the duration."""
    with ExitStack() as stack:
        base_url = options["base-url"]
        in_process = not base_url
        if in_process:
            keys = (options["api-key"] or IN_PROCESS_KEYS[0], options["other-api-key"])
            base_url = stack.enter_context(in_process_mock(keys[0], keys[1] or IN_PROCESS_KEYS[1]))
        elif not options["api-key"]:
            raise ValueError("--apixo-api-key (or APIXO_API_KEY) is needed with a base URL")
        admin, any_key = probe(AdminApi(base_url, options["admin-token"], session))
        yield resolve(options, base_url, admin, in_process, any_key)


@contextmanager
def in_process_mock(api_key: str, other_api_key: str) -> Iterator[str]:
    """The mock on a free loopback port, with exactly these two keys; yields its base URL."""
    from mock_server.settings import Settings
    from mock_server.testing.server import MockServer  # imported here: only this target needs Flask

    settings = Settings(
        host="127.0.0.1",
        port=0,
        server="waitress",
        threads=4,
        access_log=False,
        keys=(api_key, other_api_key),
        profile="quick",
        seed=20_240_601,
    )
    with MockServer(settings) as server:
        yield server.base_url
