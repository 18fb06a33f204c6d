"""What the suite runs against: options, capability detection, and the in-process mock.

With no base URL the suite starts the mock in this process on a free loopback
port. Otherwise `GET /__admin/health` says what the target can do: 200 is a
mock with admin controls (the suite moves its clock), 404 is no admin API
(the real service, or `apixo-mock serve --no-admin`), 401 is an admin API
whose token the suite lacks. Only tests that need admin controls depend on it.
"""

from __future__ import annotations

import os
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
from .polling import PollPlan

IN_PROCESS_KEYS = ("apixo-contract-key-1", "apixo-contract-key-2")
MOCK_VIOLATION_PROMPT = "a street scene, mock:fail:CONTENT_VIOLATION"
DEFAULT_PRICE = Decimal("0.35")
REAL_MAX_IMAGES = 8
MOCK_MAX_IMAGES = 10_000  # a mock bills nothing: the cap only bounds run time


@dataclass(frozen=True, slots=True)
class Option:
    """One command-line option of the suite, with its environment variable."""

    name: str
    env: str
    help: str
    kind: Callable[[str], Any] = str
    flag_only: bool = False  # `--apixo-strict` takes no value; its variable is true/false

    @property
    def flag(self) -> str:
        """`--apixo-base-url`."""
        return f"--apixo-{self.name}"

    @property
    def dest(self) -> str:
        """`apixo_base_url`, where pytest keeps the value."""
        return "apixo_" + self.name.replace("-", "_")


OPTIONS: tuple[Option, ...] = (
    Option("base-url", "APIXO_BASE_URL", "API origin; none: start the mock in-process"),
    Option("api-key", "APIXO_API_KEY", "API key the suite uses"),
    Option("other-api-key", "APIXO_OTHER_API_KEY", "a second key (task isolation tests)"),
    Option("admin-token", "APIXO_ADMIN_TOKEN", "X-Apixo-Mock-Admin-Token for a mock's admin API"),
    Option("max-images", "APIXO_MAX_IMAGES", "most images the suite may bill (default 8)", int),
    Option("poll-initial", "APIXO_POLL_INITIAL", "seconds before the first poll", float),
    Option("poll-interval", "APIXO_POLL_INTERVAL", "seconds between polls", float),
    Option("task-timeout", "APIXO_TASK_TIMEOUT", "seconds a task may take", float),
    Option("violation-prompt", "APIXO_VIOLATION_PROMPT", "prompt that ends CONTENT_VIOLATION"),
    Option("callback-base-url", "APIXO_CALLBACK_BASE_URL", "public URL of the local receiver"),
    Option("callback-port", "APIXO_CALLBACK_PORT", "port of the callback receiver", int),
    Option("price", "APIXO_PRICE", "USD per image (default 0.35)", Decimal),
    Option(
        "strict",
        "APIXO_STRICT",
        "fail on answer fields the schemas do not declare (default: report them as drift)",
        lambda text: text.strip().lower() in ("1", "true", "yes", "on"),
        flag_only=True,
    ),
)


def read_options(get: Callable[[str], Any], env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every option by name: the command line first, then its environment variable."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for option in OPTIONS:
        value = get(option.dest)
        if value is None and env.get(option.env):
            value = option.kind(env[option.env])
        values[option.name] = value
    return values


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

    def describe(self) -> list[str]:
        """Lines for the summary header."""
        where = "in-process mock" if self.in_process else self.base_url
        return [
            f"target: {where} ({self.admin.value})",
            f"polling: {'admin clock' if self.admin is Admin.PRESENT else 'real time'},"
            f" first {self.poll.initial_s:g} s, every {self.poll.interval_s:g} s,"
            f" timeout {self.poll.timeout_s:g} s; image budget {self.max_images}",
        ]


def probe(admin: AdminApi) -> Admin:
    """Capability detection from the admin health endpoint."""
    try:
        status = admin.health()
    except requests.RequestException as error:
        raise RuntimeError(f"cannot reach the target at {admin.base_url}: {error}") from None
    return {200: Admin.PRESENT, 404: Admin.ABSENT, 401: Admin.LOCKED}.get(status, Admin.OTHER)


def resolve(options: Mapping[str, Any], base_url: str, admin: Admin, in_process: bool) -> Target:
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
        admin = probe(AdminApi(base_url, options["admin-token"], session))
        yield resolve(options, base_url, admin, in_process)


@contextmanager
def in_process_mock(api_key: str, other_api_key: str) -> Iterator[str]:
    """The mock on a free loopback port, with exactly these two keys; yields its base URL."""
    from mock_server.server import MockServer  # imported here: only this target needs Flask
    from mock_server.settings import Settings

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
