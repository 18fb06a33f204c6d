"""The Redis bundle: every store of the core on one Redis, its keys under one prefix.

`--store redis://HOST:PORT/DB` selects it; `--store-prefix` names the
prefix, so several mocks can share one Redis. The callback attempt log is
passed in (`attempts=`) or stays in this process's memory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...limits import Limits
from ...money import to_micros
from ...redis_url import connect
from .. import AttemptLogStore, Stores
from ..memory import AttemptLog
from .accounts import RedisAccounts
from .admission import RedisAdmission
from .clock import RedisClockState
from .journal import RedisJournal
from .limits import RedisUnfinished, RedisWindows
from .scenarios import RedisRuleCounters, RedisScenarioState
from .tasks import RedisTaskStore

if TYPE_CHECKING:
    from ...config import CoreConfig


def redis_stores(config: CoreConfig, *, attempts: AttemptLogStore | None = None) -> Stores:
    """Every store on the Redis `config.store` names, under `config.store_prefix`."""
    assert config.store is not None
    client = connect(config.store)
    prefix = config.store_prefix
    limits = Limits(rpm=config.rpm, max_unfinished=config.max_unfinished)
    return Stores(
        tasks=RedisTaskStore(client, prefix, config.max_tasks, config.task_ttl_s * 1000),
        accounts=RedisAccounts(client, prefix, to_micros(config.balance), limits),
        windows=RedisWindows(client, prefix),
        unfinished=RedisUnfinished(client, prefix),
        journal=RedisJournal(client, prefix, config.journal_size),
        rule_counters=RedisRuleCounters(client, prefix),
        scenario_state=RedisScenarioState(client, prefix),
        clock_state=RedisClockState(client, prefix),
        # The callback attempt log has its own Redis implementation, wired in by its owner.
        attempts=attempts if attempts is not None else AttemptLog(),
        admission=RedisAdmission(client, prefix + "admission"),
    )
