"""Which hosts and addresses outbound requests (callbacks, reference fetches) may reach.

Only matching lives here; resolving is the adapters' job (mock_server/outbound/reach.py):
they resolve a host when they connect, ask `refuse_address` about each address,
and connect to the very address that passed, so a DNS answer cannot change
between the check and the connection.

An entry of an allow or deny list is one of:

- an IP address or a CIDR network (`127.0.0.1`, `10.0.0.0/8`, `::1`, `fe80::/10`),
  compared with the addresses the host resolves to;
- `local`: loopback, the unspecified address (`0.0.0.0`, `::`, which reach this
  machine too) and, checked once connected, every address of this machine;
- a host name, matched exactly (case-insensitive, trailing dot ignored), or
  `*.suffix`, any host below `suffix`.

An address is also compared in the forms that reach the same place: an
IPv4-mapped IPv6 address as its IPv4 address, an unspecified one as loopback.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

LOCAL: Final = "local"
_LOOPBACK: Final = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))


@dataclass(frozen=True, slots=True)
class _Entries:
    """One list, parsed."""

    names: tuple[str, ...] = ()
    networks: tuple[IPNetwork, ...] = ()
    local: bool = False

    @classmethod
    def parse(cls, entries: Iterable[str]) -> _Entries:
        names: list[str] = []
        networks: list[IPNetwork] = []
        local = False
        for raw in entries:
            entry = raw.strip().lower().rstrip(".")
            if entry == LOCAL:
                local = True
            elif (address := literal_address(entry)) is not None:
                networks.append(ipaddress.ip_network(address))
            elif (network := _network(entry)) is not None:
                networks.append(network)
            elif "/" in entry or not entry:
                raise ValueError(f"host list entry {raw!r} is no host, address or network")
            else:
                names.append(entry)
        return cls(tuple(names), tuple(networks), local)

    def __bool__(self) -> bool:
        return bool(self.names or self.networks or self.local)

    def has_name(self, host: str) -> bool:
        return any(
            host == name or (name.startswith("*.") and host.endswith(name[1:]))
            for name in self.names
        )

    def has_address(self, address: IPAddress) -> bool:
        forms = _forms(address)
        if self.local and any(form.is_loopback or form.is_unspecified for form in forms):
            return True
        return any(form in network for form in forms for network in self.networks)


@dataclass(frozen=True, slots=True)
class HostRules:
    """Parsed allow and deny lists; an empty allow list allows everything not denied."""

    allow: _Entries = _Entries()
    deny: _Entries = _Entries()

    @classmethod
    def of(cls, allow: Iterable[str] = (), deny: Iterable[str] = ()) -> HostRules:
        """Rules from setting values; ValueError names an entry that is none of the kinds."""
        return cls(_Entries.parse(allow), _Entries.parse(deny))

    @property
    def deny_local(self) -> bool:
        """Whether `local` is denied: the adapters then refuse a connection to this machine."""
        return self.deny.local

    def refuse_host(self, host: str) -> str | None:
        """Why `host` is refused before any lookup, or None when it may be tried.

        A literal address (in any form the C library accepts, `127.1` and
        `0x7f000001` included) is judged as an address. A name is refused only
        when its name settles it; its addresses are judged when connecting.
        """
        host = host.lower().rstrip(".")
        address = literal_address(host)
        if address is not None:
            return self.refuse_address(host, address)
        if self.deny.has_name(host):
            return f"host {host} is not allowed"
        allow = self.allow
        if allow and not allow.has_name(host) and not (allow.networks or allow.local):
            return f"host {host} is not allowed"
        return None

    def refuse_address(self, host: str, address: IPAddress) -> str | None:
        """Why connecting to `address` (which `host` resolved to) is refused, or None."""
        host = host.lower().rstrip(".")
        shown = host if _spells(host, address) else f"{host} ({address})"
        if self.deny.has_name(host) or self.deny.has_address(address):
            return f"host {shown} is not allowed"
        if self.allow and not (self.allow.has_name(host) or self.allow.has_address(address)):
            return f"host {shown} is not allowed"
        return None


def literal_address(host: str) -> IPAddress | None:
    """The address `host` spells, as connecting would read it (inet_aton's forms too), or None.

    `127.1`, `2130706433`, `0x7f000001` and `017700000001` all mean 127.0.0.1 to
    the C library, and `0` means 0.0.0.0; text comparison misses every one.
    """
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_number(part) for part in parts]
    if any(n is None for n in numbers):
        return None
    *leading, last = [n for n in numbers if n is not None]
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(parts)):
        return None
    value = last
    for index, number in enumerate(leading):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _spells(host: str, address: IPAddress) -> bool:
    """Whether `host` is `address` written the standard way (no need to show both)."""
    try:
        return ipaddress.ip_address(host) == address
    except ValueError:
        return False


def _number(part: str) -> int | None:
    """One inet_aton component: decimal, 0x-hexadecimal or 0-octal."""
    try:
        if part[:2] in ("0x", "0X"):
            return int(part[2:], 16) if part[2:] else 0
        if len(part) > 1 and part.startswith("0"):
            return int(part[1:], 8)
        return int(part, 10) if part.isdigit() else None
    except ValueError:
        return None


def _network(entry: str) -> IPNetwork | None:
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return None


def _forms(address: IPAddress) -> list[IPAddress]:
    """`address` and the addresses it reaches the same host as."""
    forms: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        forms.append(address.ipv4_mapped)
    forms += [_LOOPBACK[form.version == 6] for form in list(forms) if form.is_unspecified]
    return forms
