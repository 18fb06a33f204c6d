"""Scenario state in Redis: the active scenario (versioned), the library, the seed, the counters."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .codec import dumps, loads
from .fence import Fence, no_fence

if TYPE_CHECKING:
    from ...scenarios import Scenario

# ARGV: times ('' for no limit). Returns 1 if the rule fired.
_FIRE = """
local fired = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if ARGV[2] ~= '' and fired >= tonumber(ARGV[2]) then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
return 1
"""


class RedisRuleCounters:
    """Per rule: requests seen and times fired, in two hashes; `fire` is one script."""

    def __init__(self, client: Any, prefix: str) -> None:
        self._r = client
        self._seen = prefix + "rules:seen"
        self._fired = prefix + "rules:fired"
        self._fire = client.register_script(_FIRE)

    def see(self, slot: tuple[str, str]) -> int:
        """Count one matching request; returns the new count."""
        return int(self._r.hincrby(self._seen, _field(slot), 1))

    def fire(self, slot: tuple[str, str], times: int | None) -> bool:
        """Count one firing unless `times` are counted already."""
        limit = "" if times is None else times
        return bool(self._fire(keys=[self._fired], args=[_field(slot), limit]))

    def fired(self, slot: tuple[str, str]) -> int:
        """How many times the rule has fired."""
        return int(self._r.hget(self._fired, _field(slot)) or 0)

    def forget(self, scenario: str) -> None:
        """Drop every counter of `scenario`'s rules."""
        start = f"{scenario}\n".encode()
        for counters in (self._seen, self._fired):
            mine = [f for f in self._r.hkeys(counters) if f.startswith(start)]
            if mine:
                self._r.hdel(counters, *mine)

    def clear(self) -> None:
        """Drop every counter."""
        self._r.unlink(self._seen, self._fired)


def _field(slot: tuple[str, str]) -> str:
    # A scenario's name holds no newline (it is a YAML scalar or a URL segment).
    return f"{slot[0]}\n{slot[1]}"


class RedisScenarioState:
    """The active scenario with a version counter, the library by name, the shared seed.

    `version` is one GET per request; the scenario itself is read only when
    the version has moved, and kept decoded until it moves again.
    """

    def __init__(self, client: Any, prefix: str, fence: Fence = no_fence) -> None:
        self._r = client
        self._fence = fence
        self._seed = prefix + "seed"
        self.version_key = prefix + "scenario:version"
        self._active = prefix + "scenario:active"
        self._library = prefix + "scenario:library"

    def claim_seed(self, seed: int) -> int:
        """`seed`, unless a process sharing the prefix claimed one before."""
        self._r.set(self._seed, seed, nx=True)
        return int(self._r.get(self._seed))

    def version(self) -> int:
        """The active scenario's version (0: never set)."""
        return int(self._r.get(self.version_key) or 0)

    def active(self) -> tuple[int, Scenario | None]:
        """The active scenario and its version, read together."""
        pipe = self._r.pipeline(transaction=True)
        pipe.get(self.version_key)
        pipe.get(self._active)
        version, data = pipe.execute()
        return int(version or 0), None if data is None else loads(data)

    def set_active(self, scenario: Scenario | None) -> int:
        """Make `scenario` the active one for every process; returns the new version."""
        pipe = self._r.pipeline(transaction=True)
        if scenario is None:
            pipe.unlink(self._active)
        else:
            pipe.set(self._active, dumps(scenario))
        pipe.incr(self.version_key)
        version = int(pipe.execute()[-1])
        self._fence()
        return version

    def remember(self, scenario: Scenario) -> None:
        """Make `scenario` known by its name to every process."""
        self._r.hset(self._library, scenario.name, dumps(scenario))

    def recall(self, name: str) -> Scenario | None:
        """The scenario known by `name`, or None."""
        data = self._r.hget(self._library, name)
        return None if data is None else loads(data)

    def names(self) -> list[str]:
        """Every remembered scenario's name."""
        return [n.decode() for n in self._r.hkeys(self._library)]
