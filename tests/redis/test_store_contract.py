"""Every store interface, one contract: the in-memory stores and the Redis ones behave alike.

Each test runs against both bundles (`Stores.in_memory` and `redis_stores` on
a real, throwaway redis-server), so a Redis store that drifts from the
memory one (the reference) fails here.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from decimal import Decimal
from types import MappingProxyType

import pytest

from mock_server.core.config import CoreConfig
from mock_server.core.errors import InsufficientCredits, RateLimited
from mock_server.core.journal import Entry
from mock_server.core.lifecycle import Failure, Timeline
from mock_server.core.limits import Limits
from mock_server.core.scenarios import Match, Rule, Scenario
from mock_server.core.stores import Stores
from mock_server.core.stores.composed import ComposedAdmission, ComposedGate
from mock_server.core.stores.redis.codec import RecordRefused, dumps, loads
from mock_server.core.stores.redis.stores import redis_stores
from mock_server.core.stores.steps import AdmissionSteps, RequestGate
from mock_server.core.tasks import Task
from mock_server.core.validation import SubmitRequest

START = 1_700_000_000_000
KEY, OTHER = "key-contract-0001", "key-contract-0002"


@pytest.fixture(params=["memory", "redis"])
def stores(request: pytest.FixtureRequest) -> Iterator[Stores]:
    """Both bundles, configured alike: count and age eviction on, a small journal."""
    config = CoreConfig(max_tasks=2, task_ttl_s=10, journal_size=3, balance=Decimal(5))
    if request.param == "memory":
        yield Stores.in_memory(config)
        return
    url = request.getfixturevalue("redis_url")
    yield redis_stores(CoreConfig(**{**_fields(config), "store": url}))


def _fields(config: CoreConfig) -> dict[str, object]:
    return {
        "max_tasks": config.max_tasks,
        "task_ttl_s": config.task_ttl_s,
        "journal_size": config.journal_size,
        "balance": config.balance,
    }


def task(n: int, key: str = KEY, done_at: int | None = START + 1_000) -> Task:
    request = SubmitRequest(prompt=f"task {n}")
    timeline = Timeline(START, START, done_at)
    return Task(f"task_{n:016x}", key, request, timeline, None, "http://x", n, 350_000)


# -- tasks --------------------------------------------------------------------


def test_tasks_are_added_read_and_owned(stores: Stores) -> None:
    tasks = stores.tasks
    tasks.add(task(1))
    tasks.add(task(2, OTHER))
    found = tasks.get(task(1).task_id)
    assert found is not None
    assert found.request.prompt == "task 1"
    assert tasks.owned(task(2).task_id, KEY) is None
    assert tasks.owned(task(2).task_id, OTHER) is not None
    assert tasks.get("task_nope") is None
    assert (len(tasks), tasks.last_sequence()) == (2, 2)
    assert [t.sequence for t in tasks.all()] == [1, 2]


def test_a_task_id_is_taken_once(stores: Stores) -> None:
    stores.tasks.add(task(1))
    with pytest.raises(KeyError):
        stores.tasks.add(task(1))


def test_retime_changes_the_stored_task(stores: Stores) -> None:
    stores.tasks.add(task(1))
    failure = Failure.of("GENERATION_FAILED")
    timeline = Timeline(START, START, START + 5)
    updated = stores.tasks.retime(task(1).task_id, timeline, failure, "admin: failed")
    again = stores.tasks.get(task(1).task_id)
    assert again is not None
    assert (again.timeline, again.failure, again.reason) == (timeline, failure, "admin: failed")
    assert updated.timeline == timeline


def test_retired_tasks_are_evicted_past_the_count_then_the_age(stores: Stores) -> None:
    tasks = stores.tasks
    for n in (1, 2, 3):
        tasks.add(task(n))
        tasks.retire(task(n).task_id, START + n)
    tasks.add(task(4))  # unfinished: never evicted
    assert tasks.evict(START + 10) == 1  # max_tasks=2: the earliest ended goes
    assert tasks.get(task(1).task_id) is None
    assert tasks.evict(START + 10_002) == 1  # task_ttl_s=10: ended at +2, 10 s before
    assert [t.sequence for t in tasks.all()] == [3, 4]


def test_clearing_tasks_forgets_them_and_the_sequence(stores: Stores) -> None:
    stores.tasks.add(task(1))
    stores.tasks.clear()
    assert (len(stores.tasks), stores.tasks.last_sequence(), list(stores.tasks.all())) == (
        0,
        0,
        [],
    )
    stores.tasks.add(task(1))  # the id is free again


# -- accounts -----------------------------------------------------------------


def test_a_new_key_has_the_default_balance_and_no_account(stores: Stores) -> None:
    accounts = stores.accounts
    assert accounts.balance_micros(KEY) == 5_000_000
    assert accounts.limits(KEY) == Limits()
    assert accounts.opened() == []


def test_charges_are_exact_and_never_overdraw(stores: Stores) -> None:
    accounts = stores.accounts
    accounts.charge(KEY, 3_333_333)
    with pytest.raises(InsufficientCredits) as refused:
        accounts.charge(KEY, 1_666_668, status=402)
    assert refused.value.status == 402
    accounts.charge(KEY, 1_666_667)
    assert accounts.balance_micros(KEY) == 0
    accounts.refund(KEY, 7)
    assert (accounts.balance_micros(KEY), accounts.opened()) == (7, [KEY])


def test_balances_and_caps_are_set_per_key(stores: Stores) -> None:
    accounts = stores.accounts
    accounts.set_limits(OTHER, rpm=3)
    accounts.set_balance(KEY, 12_000_000)
    accounts.set_limits(KEY, max_unfinished=2)
    with pytest.raises(ValueError, match="negative"):
        accounts.set_balance(KEY, -1)
    assert accounts.limits(KEY) == Limits(rpm=10_000, max_unfinished=2)
    assert accounts.limits(OTHER) == Limits(rpm=3, max_unfinished=1_000)
    assert accounts.balance_micros(KEY) == 12_000_000
    assert accounts.opened() == [OTHER, KEY]  # first opened first


def test_new_defaults_apply_to_new_accounts_and_every_cap(stores: Stores) -> None:
    accounts = stores.accounts
    accounts.charge(KEY, 1_000_000)
    accounts.defaults(9_000_000, Limits(rpm=5, max_unfinished=6))
    assert accounts.balance_micros(KEY) == 4_000_000  # opened before: keeps its money
    assert accounts.balance_micros(OTHER) == 9_000_000
    assert accounts.limits(KEY) == Limits(rpm=5, max_unfinished=6)
    accounts.clear()
    assert (accounts.opened(), accounts.balance_micros(KEY)) == ([], 9_000_000)


def test_balances_beyond_lua_number_formatting_stay_exact(stores: Stores) -> None:
    big = 2**53 - 1  # what a JSON number keeps exact
    stores.accounts.set_balance(KEY, big)
    stores.accounts.charge(KEY, big - 1)
    assert stores.accounts.balance_micros(KEY) == 1


# -- the request window and unfinished tasks ----------------------------------


def test_the_window_admits_rpm_requests_a_minute(stores: Stores) -> None:
    windows = stores.windows
    for offset in (0, 10_000, 20_000):
        windows.admit(KEY, START + offset, 3)
    with pytest.raises(RateLimited) as refused:
        windows.admit(KEY, START + 30_000, 3)
    assert refused.value.retry_after_s == 30  # the first leaves the window at +60 s
    windows.admit(OTHER, START + 30_000, 3)  # another key: its own window
    windows.admit(KEY, START + 60_000, 3)  # the first has left
    assert len(windows) == 2
    windows.clear()
    assert len(windows) == 0
    for _ in range(3):
        windows.admit(KEY, START + 60_000, 3)


def test_the_window_tells_a_keys_requests_this_minute_without_counting_one(
    stores: Stores,
) -> None:
    windows = stores.windows
    assert windows.used(KEY, START) == 0
    for offset in (0, 10_000, 20_000):
        windows.admit(KEY, START + offset, 5)
    assert windows.used(KEY, START + 20_000) == 3
    assert windows.used(KEY, START + 20_000) == 3  # reading counts nothing
    assert windows.used(KEY, START + 60_000) == 2  # the first has left the window
    assert windows.used(OTHER, START + 20_000) == 0


def test_unfinished_tasks_count_against_the_cap_until_settled(stores: Stores) -> None:
    unfinished = stores.unfinished
    unfinished.add(KEY, "task_a", START + 5_000)
    unfinished.add(KEY, "task_b", None)  # never ends by itself
    with pytest.raises(RateLimited) as refused:
        unfinished.admit(KEY, 2, START)
    assert refused.value.retry_after_s == 5
    unfinished.admit(OTHER, 2, START)
    assert unfinished.settle(START + 4_999, lambda *_: True) == []
    assert unfinished.settle(START + 5_000, lambda *_: True) == [(KEY, "task_a")]
    assert unfinished.count(KEY) == 1
    unfinished.retime(KEY, "task_b", START + 6_000)
    assert unfinished.settle(START + 6_000, lambda *_: False) == []  # not finished after all
    assert unfinished.count(KEY) == 1
    unfinished.retime(KEY, "task_b", START + 7_000)
    assert unfinished.settle(START + 7_000, lambda *_: True) == [(KEY, "task_b")]
    unfinished.add(OTHER, "task_c", START)
    unfinished.clear()
    assert (unfinished.count(KEY), unfinished.count(OTHER)) == (0, 0)


# -- journal, rule counters, scenario state, clock ------------------------------


def entry(n: int, path: str = "/api/v1/statusTask", status: int = 200) -> Entry:
    return Entry(START + n, "GET", path, status, 1.5, "…0001", f"task_{n}", None)


def test_the_journal_keeps_the_last_entries_and_filters_them(stores: Stores) -> None:
    journal = stores.journal
    for n in range(5):
        journal.record(entry(n, status=200 if n % 2 else 404))
    assert [e.time - START for e in journal.entries()] == [2, 3, 4]  # journal_size=3
    assert journal.entries(status=404, limit=1) == [entry(4, status=404)]
    assert journal.entries(task_id="task_3") == [entry(3)]
    assert journal.entries(path="/api/v1/gen") == []
    journal.clear()
    assert journal.entries() == []


def test_rule_counters_count_and_stop_at_times(stores: Stores) -> None:
    counters = stores.rule_counters
    slot, other = ("s", "r"), ("t", "r")
    assert [counters.see(slot) for _ in range(3)] == [1, 2, 3]
    assert [counters.fire(slot, 2) for _ in range(3)] == [True, True, False]
    assert counters.fire(other, None)
    assert (counters.fired(slot), counters.fired(other)) == (2, 1)
    counters.forget("s")
    assert (counters.fired(slot), counters.see(slot), counters.fired(other)) == (0, 1, 1)
    counters.clear()
    assert counters.fired(other) == 0


def test_scenario_state_versions_the_active_scenario(stores: Stores) -> None:
    state = stores.scenario_state
    assert state.active() == (state.version(), None)
    scenario = Scenario("s", (Rule("r", Match(prompt_contains=("fox",)), times=2),))
    version = state.set_active(scenario)
    assert state.active() == (version, scenario)
    assert state.set_active(None) > version
    assert state.active()[1] is None
    state.remember(scenario)
    assert (state.recall("s"), state.recall("t"), state.names()) == (scenario, None, ["s"])


def test_the_first_seed_claimed_is_everyones(stores: Stores) -> None:
    assert stores.scenario_state.claim_seed(7) == 7
    assert stores.scenario_state.claim_seed(8) == 7


def test_the_clock_state_changes_whole(stores: Stores) -> None:
    state = stores.clock_state
    before = state.reading
    changed = state.update(lambda r: (r[0] + 5, START))
    after = state.reading
    with pytest.raises(ZeroDivisionError):  # a refused change leaves the state alone
        state.update(lambda r: (1 // 0, None))
    assert (before, changed, after, state.reading) == ((0, None), *[(5, START)] * 3)


def test_the_admission_transaction_is_reentrant(stores: Stores) -> None:
    with stores.admission, stores.admission:
        stores.tasks.add(task(1))
    with stores.admission:
        assert len(stores.tasks) == 1


# -- the Redis records ------------------------------------------------------------


def test_records_round_trip_and_foreign_pickles_are_refused() -> None:
    scenario = Scenario("s", (Rule("r", Match(prompt_contains=("fox",)), times=2),))
    assert loads(dumps(scenario)) == scenario
    assert loads(dumps(task(1))) == task(1)
    request = SubmitRequest(prompt="x", model="veo-3-1", input=MappingProxyType({"seconds": 8}))
    assert loads(dumps(request)).input == {"seconds": 8}
    with pytest.raises(RecordRefused):
        loads(pickle.dumps(print))


def test_two_processes_settling_at_once_settle_each_task_once(redis_url: str) -> None:
    config = CoreConfig(store=redis_url)
    one, two = redis_stores(config).unfinished, redis_stores(config).unfinished
    for n in range(50):
        one.add(KEY, f"task_{n}", START)
    first: list[tuple[str, str]] = []

    def finished_once_the_other_has_looked(task_id: str, now: int) -> bool:
        if not first:  # the other process sees every task due, mid-way through this settle
            for n in range(50):
                two.retime(KEY, f"task_{n}", START)
            first.extend(two.settle(now, lambda *_: True))
        return True

    second = one.settle(START, finished_once_the_other_has_looked)
    assert len(first) == 50
    assert second == []


# -- the request gate -----------------------------------------------------------


def gate_of(stores: Stores) -> RequestGate:
    """The bundle's own gate, or the one a service composes of the stores (memory)."""
    return stores.gate or ComposedGate(
        stores.clock_state, stores.scenario_state, stores.accounts, stores.windows, stores.tasks
    )


def test_the_gate_counts_a_request_and_reads_the_task_asked_for(stores: Stores) -> None:
    stores.tasks.add(task(1))
    gate, reading = gate_of(stores), stores.clock_state.reading
    entered = gate.enter(KEY, reading, START, "task_0000000000000001")
    assert (entered.clock, entered.stale, entered.task) == (reading, False, task(1))
    assert gate.enter(KEY, reading, START, "task_0000000000000009").task is None
    assert gate.enter(KEY, reading, START, None).task is None
    assert stores.windows.used(KEY, START) == 3


def test_the_gate_reads_the_caps_and_refuses_past_them_like_the_window(stores: Stores) -> None:
    stores.accounts.set_limits(KEY, rpm=2)
    gate, reading = gate_of(stores), stores.clock_state.reading
    gate.enter(KEY, reading, START, None)
    gate.enter(KEY, reading, START + 10_000, None)
    with pytest.raises(RateLimited) as refused:
        gate.enter(KEY, reading, START + 20_000, None)
    assert refused.value.retry_after_s == 40  # the first leaves the window at +60 s
    assert refused.value.message == "Rate limit exceeded: more than 2 requests per minute"
    gate.enter(OTHER, reading, START + 20_000, None)  # another key: the default cap


def test_the_gate_counts_nothing_under_a_clock_state_that_has_moved(stores: Stores) -> None:
    stores.clock_state.update(lambda _: (5_000, None))
    version = stores.scenario_state.set_active(Scenario("moved"))
    entered = gate_of(stores).enter(KEY, (0, None), START, None)
    assert (entered.clock, entered.scenario_version, entered.stale) == (
        (5_000, None),
        version,
        True,
    )
    assert stores.windows.used(KEY, START) == 0
    again = gate_of(stores).enter(KEY, entered.clock, START + 5_000, None)
    assert (again.stale, again.scenario_version) == (False, version)
    assert stores.windows.used(KEY, START + 5_000) == 1


# -- admission steps ------------------------------------------------------------


def steps_of(stores: Stores) -> AdmissionSteps:
    """The bundle's own admission steps, or the ones a service composes (memory)."""
    return stores.admission_steps or ComposedAdmission(
        stores.accounts, stores.tasks, stores.unfinished
    )


def test_admission_looks_at_the_caps_the_count_and_the_sequence(stores: Stores) -> None:
    steps = steps_of(stores)
    stores.accounts.set_limits(KEY, max_unfinished=7)
    steps.commit(task(4), 400)
    outlook = steps.look(KEY, START)
    assert (outlook.limits, outlook.unfinished, outlook.last_sequence) == (
        Limits(rpm=stores.accounts.limits(KEY).rpm, max_unfinished=7),
        1,
        4,
    )
    assert steps.look(OTHER, START).unfinished == 0
    assert steps.look(KEY, START).balance_micros == 5_000_000 - task(4).charge_micros
    assert steps.look(OTHER, START).balance_micros == 5_000_000  # the default, no account
    assert steps.look(KEY, START + 1_000).due  # task 4 ends at START + 1000


def test_a_commit_charges_keeps_and_counts_the_task(stores: Stores) -> None:
    before = stores.accounts.balance_micros(KEY)
    steps_of(stores).commit(task(1), 400)
    assert stores.tasks.get(task(1).task_id) == task(1)
    assert stores.accounts.balance_micros(KEY) == before - task(1).charge_micros
    assert stores.unfinished.count(KEY) == 1
    assert stores.tasks.last_sequence() == 1


def test_a_commit_refused_changes_nothing(stores: Stores) -> None:
    steps = steps_of(stores)
    steps.commit(task(1), 400)
    balance = stores.accounts.balance_micros(KEY)
    with pytest.raises(KeyError):
        steps.commit(task(1), 400)  # the id is taken: no second charge
    assert stores.accounts.balance_micros(KEY) == balance
    stores.accounts.set_balance(KEY, 1)
    with pytest.raises(InsufficientCredits) as short:
        steps.commit(task(2), 402)
    assert short.value.status == 402
    assert stores.tasks.get(task(2).task_id) is None
    assert stores.unfinished.count(KEY) == 1
    assert stores.accounts.balance_micros(KEY) == 1


def test_admission_sees_retired_tasks_past_the_count_as_evictable(stores: Stores) -> None:
    steps = steps_of(stores)
    for n in range(1, 4):  # max_tasks=2: the third retired one is one too many
        steps.commit(task(n), 400)
        stores.tasks.retire(task(n).task_id, START + n)
    assert steps.look(KEY, START + 10).evictable
    assert stores.tasks.evict(START + 10) == 1


def test_the_redis_gate_sends_and_decodes_a_polled_task_again_only_once_changed(
    redis_url: str,
) -> None:
    stores = redis_stores(CoreConfig(store=redis_url))
    gate, reading = gate_of(stores), stores.clock_state.reading
    stores.tasks.add(task(1))
    first = gate.enter(KEY, reading, START, task(1).task_id).task
    again = gate.enter(KEY, reading, START, task(1).task_id).task
    assert first == task(1)
    assert again is first  # the record did not change: the one decoded before
    retimed = stores.tasks.retime(task(1).task_id, Timeline(START, START, START + 5), None, "x")
    changed = gate.enter(KEY, reading, START, task(1).task_id).task
    assert changed == retimed
    assert changed is not first
    stores.tasks.clear()
    assert gate.enter(KEY, reading, START, task(1).task_id).task is None
