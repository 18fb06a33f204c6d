"""Bearer authentication in open and strict mode, and how keys are redacted."""

from __future__ import annotations

import pytest

from mock_server.core.auth import KeyRing, redact
from mock_server.core.errors import Unauthorized


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("Bearer sk-live_123", "sk-live_123"),
        ("bearer abc", "abc"),
        ("BEARER abc", "abc"),
        ("Bearer   abc  ", "abc"),
        ("Bearer a.b~c+d/e==", "a.b~c+d/e=="),
    ],
    ids=["plain", "lower-case-scheme", "upper-case-scheme", "extra-spaces", "b64token-chars"],
)
def test_open_mode_accepts_any_well_formed_bearer_token(header: str, key: str) -> None:
    assert KeyRing().authenticate(header) == key


@pytest.mark.parametrize(
    "header",
    [None, "", "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer two words", "Bearerabc", "abc"],
    ids=[
        "missing",
        "empty",
        "basic",
        "no-token",
        "blank-token",
        "spaces-in-token",
        "no-space",
        "no-scheme",
    ],
)
def test_open_mode_refuses_a_missing_or_malformed_header(header: str | None) -> None:
    with pytest.raises(Unauthorized) as caught:
        KeyRing().authenticate(header)
    assert caught.value.status == 401


def test_missing_header_says_how_to_send_the_key() -> None:
    with pytest.raises(Unauthorized, match="Missing API key"):
        KeyRing().authenticate(None)


def test_open_mode_is_not_strict() -> None:
    assert not KeyRing().strict


def test_strict_mode_accepts_a_configured_key() -> None:
    ring = KeyRing(("key-one", "key-two"))
    assert ring.strict
    assert ring.authenticate("Bearer key-two") == "key-two"


def test_strict_mode_refuses_an_unknown_key() -> None:
    with pytest.raises(Unauthorized, match="Invalid API key") as caught:
        KeyRing(("key-one",)).authenticate("Bearer key-three")
    assert caught.value.status == 401


def test_strict_mode_still_refuses_a_malformed_header() -> None:
    with pytest.raises(Unauthorized, match="Malformed"):
        KeyRing(("key-one",)).authenticate("Basic key-one")


@pytest.mark.parametrize(
    ("key", "shown"),
    [("sk-1234567890abcd", "...abcd"), ("abcde", "...bcde"), ("abcd", "..."), ("", "...")],
    ids=["long", "five", "four", "empty"],
)
def test_redact_shows_only_the_last_four_characters(key: str, shown: str) -> None:
    assert redact(key) == shown
