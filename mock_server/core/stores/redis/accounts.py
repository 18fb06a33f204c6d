"""Accounts in Redis: a hash per key (balance in micro-USD, cap overrides), shared defaults.

Money moves only in Lua scripts with integer arithmetic (HINCRBY), so a
charge and the check before it are one server-side step: whatever number of
processes charge one key at once, its balance never goes below zero.
"""

from __future__ import annotations

from typing import Any

from ...errors import InsufficientCredits
from ...limits import Limits
from .fence import Fence, no_fence

# Lua functions, shared with the admission script (admit.py). `open_account` opens
# the account (the default balance, first-opened order) if it has none yet and
# returns its balance (`opened_with`: given the balance field as already read);
# `take` takes `micros` from that balance unless it is short, and `charge` both
# (`negative` is -micros as a string: Lua would format a big number lossily).
ACCOUNT_LUA = """
local function opened_with(account, index, defaults, opened, key, fallback, balance)
  if not balance then
    balance = redis.call('HGET', defaults, 'b') or fallback
    redis.call('HSET', account, 'b', balance)
    redis.call('ZADD', index, redis.call('INCR', opened), key)
  end
  return balance
end
local function open_account(account, index, defaults, opened, key, fallback)
  local balance = redis.call('HGET', account, 'b')
  return opened_with(account, index, defaults, opened, key, fallback, balance)
end
local function take(account, micros, negative, balance)
  if tonumber(balance) < tonumber(micros) then return false end
  redis.call('HINCRBY', account, 'b', negative)
  return true
end
local function charge(account, index, defaults, opened, key, micros, fallback, negative)
  local balance = open_account(account, index, defaults, opened, key, fallback)
  return take(account, micros, negative, balance)
end
"""
_OPEN_IT = "open_account(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[3])\n"
# KEYS: the account, the index, the defaults, the opened counter.
# ARGV: key, micros, fallback default balance, -micros. Returns 0 if refused.
_CHARGE = (
    ACCOUNT_LUA
    + """
if charge(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2], ARGV[3], ARGV[4]) then
  return 1
end
return 0
"""
)
_REFUND = (
    ACCOUNT_LUA
    + _OPEN_IT
    + """
return redis.call('HINCRBY', KEYS[1], 'b', ARGV[2])
"""
)
# ARGV: key, balance or '', fallback, rpm or '', max_unfinished or ''.
_SET = (
    ACCOUNT_LUA
    + _OPEN_IT
    + """
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'b', ARGV[2]) end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'r', ARGV[4]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'u', ARGV[5]) end
return 1
"""
)


class RedisAccounts:
    """Every key's account under `prefix`, opened on first write like the memory store's."""

    def __init__(
        self,
        client: Any,
        prefix: str,
        balance_micros: int,
        limits: Limits,
        fence: Fence = no_fence,
    ) -> None:
        self._fence = fence
        self._r = client
        self._account = prefix + "account:"
        self._index = prefix + "accounts"
        self._defaults = prefix + "accounts:defaults"
        # Moved whenever a cap may have changed (not by a charge): processes holding
        # grants of a key's window (gate.py) hear of this key, not of every charge.
        self.caps_key = prefix + "accounts:caps"
        self._opened = prefix + "accounts:opened"
        self._fallback = (balance_micros, limits)  # until `defaults` writes shared ones
        self._charge = client.register_script(_CHARGE)
        self._refund = client.register_script(_REFUND)
        self._set = client.register_script(_SET)

    def cap_keys(self, key: str) -> list[str]:
        """The hashes a key's caps are read from, first found wins: its account, the defaults."""
        return [self._account + key, self._defaults]

    @property
    def fallback_rpm(self) -> int:
        """The per-minute cap while no defaults are written to Redis."""
        return self._fallback[1].rpm

    @property
    def fallback_max_unfinished(self) -> int:
        """The unfinished-task cap while no defaults are written to Redis."""
        return self._fallback[1].max_unfinished

    @property
    def fallback_balance(self) -> int:
        """The default balance (micro-USD) while no defaults are written to Redis."""
        return self._fallback[0]

    def limits_of(self, own: list[Any], defaults: list[Any]) -> Limits:
        """The caps from a key's (rpm, max_unfinished) fields and the defaults' (None: unset)."""
        fallback = self._fallback[1]
        return Limits(
            rpm=_first(own[0], defaults[0], fallback.rpm),
            max_unfinished=_first(own[1], defaults[1], fallback.max_unfinished),
        )

    def money_keys(self, key: str) -> list[str]:
        """The keys `charge` takes: the account, the index, the defaults, the opened counter."""
        return self._keys(key)

    def _keys(self, key: str) -> list[str]:
        return [self._account + key, self._index, self._defaults, self._opened]

    def defaults(self, balance_micros: int, limits: Limits) -> None:
        """New shared defaults: the balance for keys opened from now on, the caps for all."""
        self._fallback = (balance_micros, limits)
        mapping = {"b": balance_micros, "r": limits.rpm, "u": limits.max_unfinished}
        pipe = self._r.pipeline(transaction=True)
        pipe.hset(self._defaults, mapping=mapping)
        pipe.incr(self.caps_key)
        pipe.execute()
        self._fence()

    def balance_micros(self, key: str) -> int:
        """The key's balance (the default for a key with no account; opens none)."""
        pipe = self._r.pipeline(transaction=False)
        pipe.hget(self._account + key, "b")
        pipe.hget(self._defaults, "b")
        own, default = pipe.execute()
        found = own if own is not None else default
        return int(found) if found is not None else self._fallback[0]

    def limits(self, key: str) -> Limits:
        """The caps in force for `key` (opens no account)."""
        pipe = self._r.pipeline(transaction=False)
        pipe.hmget(self._account + key, "r", "u")
        pipe.hmget(self._defaults, "r", "u")
        own, defaults = pipe.execute()
        return self.limits_of(own, defaults)

    def charge(self, key: str, micros: int, status: int = 400) -> None:
        """Take `micros` or raise `InsufficientCredits`; one step on the server."""
        if not self._charge(keys=self._keys(key), args=[key, micros, self._fallback[0], -micros]):
            raise InsufficientCredits(status=status)

    def refund(self, key: str, micros: int) -> None:
        """Give `micros` back (a failed task's charge)."""
        self._refund(keys=self._keys(key), args=[key, micros, self._fallback[0]])

    def set_balance(self, key: str, micros: int) -> None:
        """Set a key's balance outright (`ValueError` if negative)."""
        if micros < 0:
            raise ValueError("a balance cannot be negative")
        self._set(keys=self._keys(key), args=[key, micros, self._fallback[0], "", ""])

    def set_limits(
        self, key: str, *, rpm: int | None = None, max_unfinished: int | None = None
    ) -> None:
        """Override a key's caps; `None` leaves a cap as it is."""
        if rpm is None and max_unfinished is None:
            return  # nothing changes: no account to open
        args = [key, "", self._fallback[0], _arg(rpm), _arg(max_unfinished)]
        self._set(keys=self._keys(key), args=args)
        self._r.incr(self.caps_key)
        self._fence()

    def opened(self) -> list[str]:
        """Every key with an account, first opened first."""
        return [k.decode() for k in self._r.zrange(self._index, 0, -1)]

    def clear(self) -> None:
        """Forget every account (the defaults stay, as in memory)."""
        keys = self.opened()
        pipe = self._r.pipeline(transaction=True)
        for start in range(0, len(keys), 500):
            pipe.unlink(*(self._account + k for k in keys[start : start + 500]))
        pipe.unlink(self._index, self._opened)
        pipe.incr(self.caps_key)
        pipe.execute()
        self._fence()


def _first(*values: Any) -> int:
    return int(next(v for v in values if v is not None))


def _arg(value: int | None) -> str | int:
    return "" if value is None else value
