"""Bearer authentication: which key a request speaks for."""

from __future__ import annotations

import re

from .errors import Unauthorized

# RFC 6750 b64token: the characters a bearer token may use.
_BEARER = re.compile(r"\ABearer +([A-Za-z0-9\-._~+/]+=*) *\Z", re.IGNORECASE)


class KeyRing:
    """The keys the server accepts: a fixed list (strict) or any well-formed token (open)."""

    __slots__ = ("_keys",)

    def __init__(self, keys: tuple[str, ...] = ()) -> None:
        self._keys = frozenset(keys)

    @property
    def strict(self) -> bool:
        """Whether only the configured keys are accepted."""
        return bool(self._keys)

    def authenticate(self, authorization: str | None) -> str:
        """The API key in an `Authorization` header, or `Unauthorized`."""
        if not authorization:
            raise Unauthorized("Missing API key: send Authorization: Bearer YOUR_API_KEY")
        match = _BEARER.match(authorization)
        if match is None:
            raise Unauthorized("Malformed Authorization header: expected Bearer YOUR_API_KEY")
        key = match.group(1)
        if self._keys and key not in self._keys:
            raise Unauthorized("Invalid API key")
        return key


def redact(key: str) -> str:
    """A key as logs and the journal show it: only its last four characters."""
    return "..." + key[-4:] if len(key) > 4 else "..."
