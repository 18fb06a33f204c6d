"""Host rules: host names, literal addresses in every spelling, networks and `local`."""

from __future__ import annotations

import ipaddress

import pytest

from mock_server.core.host_rules import HostRules, literal_address

LOOPBACK_SPELLINGS = ["127.0.0.1", "127.1", "2130706433", "0x7f000001", "017700000001",
                      "0x7f.1", "127.0.1"]  # fmt: skip


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_every_spelling_of_loopback_is_read_as_the_c_library_reads_it(host: str) -> None:
    assert literal_address(host) == ipaddress.ip_address("127.0.0.1")


@pytest.mark.parametrize(
    ("host", "expected"),
    [("0", "0.0.0.0"), ("0.0.0.0", "0.0.0.0"), ("::1", "::1"), ("10.1.2.3", "10.1.2.3"),
     ("1.65535", "1.0.255.255")],
)  # fmt: skip
def test_other_literal_addresses(host: str, expected: str) -> None:
    assert literal_address(host) == ipaddress.ip_address(expected)


@pytest.mark.parametrize("host", ["localhost", "example.com", "1.2.3.4.5", "256.1.1.1", "08",
                                  "0xg", "1..2", "", "4294967296"])  # fmt: skip
def test_names_are_no_literal_addresses(host: str) -> None:
    assert literal_address(host) is None


@pytest.mark.parametrize("host", [*LOOPBACK_SPELLINGS, "0", "0.0.0.0", "::1", "::", "localhost"])
def test_denying_loopback_networks_catches_every_spelling(host: str) -> None:
    rules = HostRules.of(deny=["127.0.0.0/8", "::1", "localhost"])
    assert rules.refuse_host(host) is not None


@pytest.mark.parametrize("host", [*LOOPBACK_SPELLINGS, "0", "::", "::ffff:127.0.0.1"])
def test_local_denies_loopback_and_unspecified(host: str) -> None:
    rules = HostRules.of(deny=["local"])
    assert rules.deny_local
    assert rules.refuse_host(host) is not None
    assert rules.refuse_host("10.0.0.1") is None


def test_a_name_is_judged_by_its_addresses_when_connecting() -> None:
    rules = HostRules.of(deny=["127.0.0.0/8"])
    assert rules.refuse_host("rebind.example") is None  # no lookup in the core
    loopback = ipaddress.ip_address("127.0.0.1")
    problem = rules.refuse_address("rebind.example", loopback)
    assert problem == "host rebind.example (127.0.0.1) is not allowed"
    assert rules.refuse_address("rebind.example", ipaddress.ip_address("93.184.216.34")) is None


def test_an_allow_list_of_networks_admits_names_that_resolve_into_them() -> None:
    rules = HostRules.of(allow=["10.0.0.0/8"])
    assert rules.refuse_host("receiver.internal") is None
    assert rules.refuse_address("receiver.internal", ipaddress.ip_address("10.2.3.4")) is None
    assert rules.refuse_address("receiver.internal", ipaddress.ip_address("127.0.0.1"))
    assert rules.refuse_host("127.1") is not None


def test_deny_wins_over_allow_and_names_match_without_a_trailing_dot() -> None:
    rules = HostRules.of(allow=["*.example.com"], deny=["bad.example.com"])
    assert rules.refuse_host("ok.example.com.") is None
    assert rules.refuse_host("BAD.example.com.") is not None
    assert rules.refuse_host("example.com") is not None


def test_a_deny_entry_in_a_short_spelling_is_an_address() -> None:
    rules = HostRules.of(deny=["127.1"])
    assert rules.refuse_host("127.0.0.1") is not None


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "a/b", " "])
def test_nonsense_entries_are_refused(entry: str) -> None:
    with pytest.raises(ValueError, match="host list entry"):
        HostRules.of(deny=[entry])
