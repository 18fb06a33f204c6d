"""The Redis bundle: every store of the core on one Redis, its keys under one prefix.

`--store redis://HOST:PORT/DB` selects it; `--store-prefix` names the
prefix, so several mocks can share one Redis. Callback deliveries and their
attempt log are shared too: any process claims a due callback, once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...limits import Limits
from ...money import to_micros
from ...redis_url import connect
from .. import Stores
from .accounts import RedisAccounts
from .admission import RedisAdmission
from .admit import RedisAdmissionSteps
from .clock import RedisClockState
from .coherence import Coherence
from .deliveries import redis_deliveries
from .gate import RedisGate
from .journal import RedisJournal
from .limits import RedisUnfinished, RedisWindows
from .scenarios import RedisRuleCounters, RedisScenarioState
from .tasks import RedisTaskStore

if TYPE_CHECKING:
    from ...config import CoreConfig


def redis_stores(config: CoreConfig) -> Stores:
    """Every store on the Redis `config.store` names, under `config.store_prefix`."""
    assert config.store is not None
    client = connect(config.store)
    prefix = config.store_prefix
    deliveries = redis_deliveries(client, prefix, config)
    limits = Limits(rpm=config.rpm, max_unfinished=config.max_unfinished)
    # What a request reads and a process may hold: written, its key's name comes back.
    coherence = Coherence(
        client,
        prefix,
        tracked=lambda: [
            clock.key,
            scenarios.version_key,
            tasks.epoch_key,
            accounts.caps_key,
            windows.epoch_key,
        ],
    )
    fence = coherence.fence
    tasks = RedisTaskStore(client, prefix, config.max_tasks, config.task_ttl_s * 1000, fence)
    accounts = RedisAccounts(client, prefix, to_micros(config.balance), limits, fence)
    windows = RedisWindows(client, prefix, fence)
    scenarios = RedisScenarioState(client, prefix, fence)
    clock = RedisClockState(client, prefix, fence)
    unfinished = RedisUnfinished(client, prefix)
    journal = RedisJournal(
        client,
        prefix,
        config.journal_size,
        windows.carried,
        tag=lambda: coherence.member,
        gather=fence,  # a journal read shows what every live process answered before it
    )
    coherence.before_acknowledging(journal.sync)
    gate = RedisGate(client, clock, scenarios, accounts, windows, tasks, journal, coherence)

    def close() -> None:
        coherence.close()
        journal.close()
        client.close()

    return Stores(
        tasks=tasks,
        accounts=accounts,
        windows=windows,
        unfinished=unfinished,
        journal=journal,
        rule_counters=RedisRuleCounters(client, prefix),
        scenario_state=scenarios,
        clock_state=clock,
        attempts=deliveries.attempt_log(),
        deliveries=deliveries,
        admission=RedisAdmission(client, prefix + "admission"),
        gate=gate,
        admission_steps=RedisAdmissionSteps(client, accounts, tasks, unfinished),
        close=close,
    )
