"""Per-key accounts: the USD balance (exact, in micro-USD) and per-key cap overrides."""

from __future__ import annotations

from dataclasses import dataclass, replace

from .errors import InsufficientCredits
from .limits import Limits


@dataclass(slots=True)
class Account:
    """One API key's balance and the caps set for it alone (None: the server's)."""

    balance_micros: int
    rpm: int | None = None
    max_unfinished: int | None = None


class Accounts:
    """Every key's account, opened on first use with the server's defaults.

    Not locked on its own: the service calls it under the lock that also
    guards admission, so a charge and the check before it are one step.
    """

    def __init__(self, default_balance_micros: int, default_limits: Limits) -> None:
        self._default_balance = default_balance_micros
        self._default_limits = default_limits
        self._accounts: dict[str, Account] = {}

    def defaults(self, balance_micros: int, limits: Limits) -> None:
        """New defaults: the balance applies to keys opened from now on, the caps to all."""
        self._default_balance = balance_micros
        self._default_limits = limits

    def get(self, key: str) -> Account:
        """The key's account, opened with the default balance if new."""
        account = self._accounts.get(key)
        if account is None:
            account = Account(self._default_balance)
            self._accounts[key] = account
        return account

    def balance_micros(self, key: str) -> int:
        """The key's balance, without opening an account for a key that has none.

        A read costs nothing: only money or caps changing open an account, so
        a stream of new tokens in open-key mode keeps no state for each.
        """
        account = self._accounts.get(key)
        return self._default_balance if account is None else account.balance_micros

    def limits(self, key: str) -> Limits:
        """The caps in force for `key`."""
        # Reads only (opens no account): safe outside the admission lock.
        account = self._accounts.get(key)
        base = self._default_limits
        if account is None or (account.rpm is None and account.max_unfinished is None):
            return base  # the usual case, on every request: no new object
        return Limits(
            rpm=account.rpm if account.rpm is not None else base.rpm,
            max_unfinished=account.max_unfinished
            if account.max_unfinished is not None
            else base.max_unfinished,
        )

    def charge(self, key: str, micros: int, status: int = 400) -> None:
        """Take `micros` from the key's balance or refuse with "Insufficient credits"."""
        account = self.get(key)
        if account.balance_micros < micros:
            raise InsufficientCredits(status=status)
        account.balance_micros -= micros

    def refund(self, key: str, micros: int) -> None:
        """Give `micros` back (a failed task's charge)."""
        self.get(key).balance_micros += micros

    def set_balance(self, key: str, micros: int) -> None:
        """Set a key's balance outright."""
        if micros < 0:
            raise ValueError("a balance cannot be negative")
        self.get(key).balance_micros = micros

    def set_limits(
        self, key: str, *, rpm: int | None = None, max_unfinished: int | None = None
    ) -> None:
        """Override a key's caps; `None` leaves a cap as it is."""
        if rpm is None and max_unfinished is None:
            return  # nothing changes: no account to open
        account = self.get(key)
        if rpm is not None:
            account.rpm = rpm
        if max_unfinished is not None:
            account.max_unfinished = max_unfinished

    def opened(self) -> list[str]:
        """Every key with an account."""
        return list(self._accounts)

    def snapshot(self) -> dict[str, Account]:
        """Every account opened so far (copies)."""
        return {key: replace(acc) for key, acc in self._accounts.items()}

    def clear(self) -> None:
        """Forget every account."""
        self._accounts.clear()
