"""The DeliveryStore contract, run against both implementations: in memory and in Redis.

The store alone, driven as a dispatcher drives it (schedule, claim, settle),
with no threads and no network: what one claim hands out, what settling
records, and what goes stale. The lease tests at the end hold for Redis only:
in one process nothing is ever claimed twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from mock_server.core.callbacks import CallbackEffect, SendResult
from mock_server.core.callbacks.records import DeliveryRecord, Work
from mock_server.core.stores import DeliveryStore
from mock_server.core.stores.memory import AttemptLog
from mock_server.core.stores.memory_deliveries import MemoryDeliveries
from mock_server.core.stores.redis.deliveries import RedisDeliveries, redis_deliveries

START = 1_700_000_000_000
URL = "http://receiver.test/hook"
OK = SendResult(200, None, 1.5)
FAIL = SendResult(500, None, 2.0)
ME, OTHER = "owner-a", "owner-b"
WINDOW = 1000


def memory_store(log_size: int) -> DeliveryStore:
    return MemoryDeliveries(AttemptLog(log_size))


@pytest.fixture(params=["memory", "redis"])
def make(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Builds stores of the parametrized kind (Redis ones on one emptied database)."""
    clients: list[redis.Redis] = []

    def build(log_size: int = 100, lease_ms: int = 60_000) -> DeliveryStore:
        if request.param == "memory":
            return memory_store(log_size)
        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
        clients.append(client)
        return RedisDeliveries(client, "test:", lease_ms=lease_ms, log_size=log_size)

    yield build
    for client in clients:
        client.close()


@pytest.fixture
def store(make: Any) -> DeliveryStore:
    built: DeliveryStore = make()
    return built


def record(task_id: str, due: int = START, url: str = URL, **effect: Any) -> DeliveryRecord:
    return DeliveryRecord(task_id, url, "http://receiver.test", CallbackEffect(**effect), due)


def claim(store: DeliveryStore, now: int, owner: str = ME, limit: int = 1000) -> list[Work]:
    return store.claim(now, owner, limit, WINDOW)


def state(store: DeliveryStore, task_id: str) -> str:
    return store.deliveries(task_id)[0].state


def send_all(store: DeliveryStore, works: list[Work], result: SendResult, now: int) -> None:
    for work in works:
        for index in range(len(work.sends)):
            store.settle(work, index, ME, result, now, None)


# -- scheduling and claiming ------------------------------------------------------


def test_nothing_is_claimed_before_the_due_time(store: DeliveryStore) -> None:
    store.schedule(record("t1", START + 1000))
    assert claim(store, START + 999) == []
    assert not store.has_due(START + 999)
    assert store.has_due(START + 1000)
    assert store.next_due_ms() == START + 1000
    assert state(store, "t1") == "scheduled"
    [work] = claim(store, START + 1000)
    assert [(s.task_id, s.url, s.attempt, s.due_ms) for s in work.sends] == [
        ("t1", URL, 1, START + 1000)
    ]
    assert state(store, "t1") == "delivering"


def test_a_claim_is_taken_by_one_owner_only(store: DeliveryStore) -> None:
    store.schedule(record("t1"))
    assert len(claim(store, START, ME)) == 1
    assert claim(store, START, OTHER) == []


def test_a_claim_takes_at_most_its_limit(store: DeliveryStore) -> None:
    for i in range(5):
        store.schedule(record(f"t{i}"))
    first = claim(store, START, limit=3)
    second = claim(store, START, limit=3)
    assert (len(first), len(second)) == (3, 2)
    assert {w.sends[0].task_id for w in first + second} == {f"t{i}" for i in range(5)}


def test_settling_a_success_records_the_attempt(store: DeliveryStore) -> None:
    store.schedule(record("t1"))
    [work] = claim(store, START)
    attempt = store.settle(work, 0, ME, OK, START + 7, None)
    assert attempt is not None
    assert attempt.to_json() == {
        "taskId": "t1", "url": URL, "attempt": 1, "dueTime": START, "time": START + 7,
        "status": 200, "error": None, "latencyMs": 1.5, "outcome": "delivered",
    }  # fmt: skip
    assert store.attempts("t1") == [attempt]
    assert store.deliveries("t1")[0].to_json() == {
        "taskId": "t1", "url": URL, "state": "delivered", "attempts": 1, "dueTime": START,
        "nextAttemptTime": None, "lastStatus": 200, "lastError": None,
        "effect": {"drop": False, "copies": 1, "delayMs": 0, "reorder": False},
    }  # fmt: skip
    assert store.pending_count() == 0


@pytest.mark.parametrize(
    "result",
    [SendResult(None, "timeout after 0.2s", 200.123456789), SendResult(503, None, 0.1 + 0.2)],
    ids=["error", "status"],
)
def test_a_settled_attempt_is_the_one_in_the_shared_log(
    store: DeliveryStore, result: SendResult
) -> None:
    store.schedule(record("t1"))
    [work] = claim(store, START)
    first = store.settle(work, 0, ME, result, START + 3, START + 1000)
    [retry] = claim(store, START + 1000)
    second = store.settle_later(retry, 0, ME, result, START + 1001, None)()
    assert first is not None
    assert second is not None
    assert store.attempts("t1") == [first, second]
    assert (first.attempt, first.outcome, second.attempt, second.outcome) == (
        *(1, "retrying"),
        *(2, "failed"),
    )
    assert (second.due_ms, second.time_ms, second.latency_ms) == (
        *(START + 1000, START + 1001),
        result.latency_ms,
    )


def test_attempts_settled_together_come_to_what_each_settled_alone_would(
    make: Any,
) -> None:
    # The same story twice: a round's attempts settled one by one, then together (as a
    # multiplexing sender settles a round); a delivery replaced meanwhile counts for neither.
    results = [OK, SendResult(503, None, 2.0), SendResult(None, "connection refused", 0.5), OK]
    told = []
    store = make()
    for together in (False, True):
        store.clear()
        for i in range(4):
            store.schedule(record(f"t{i}"))
        works = sorted(claim(store, START), key=lambda w: w.sends[0].task_id)
        store.schedule(record("t3"))  # replaced since it was claimed
        settling = [
            (w, 0, r, START + 1000 if not r.ok else None)
            for w, r in zip(works, results, strict=True)
        ]
        if together:
            outcomes = [read() for read in store.settle_all_later(settling, ME, START + 5)]
        else:
            outcomes = [
                store.settle_later(w, i, ME, r, START + 5, due)() for w, i, r, due in settling
            ]
        told.append(
            (
                [None if o is None else o.to_json() for o in outcomes],
                [store.attempts(f"t{i}") for i in range(4)],
                [store.deliveries(f"t{i}")[0].to_json() for i in range(4)],
            )
        )
    assert told[0] == told[1]
    assert [o and o["outcome"] for o in told[1][0]] == ["delivered", "retrying", "retrying", None]


def test_the_logged_attempt_keeps_quotes_and_unicode_of_its_url_and_error(
    store: DeliveryStore,
) -> None:
    # The entry's JSON is built by the caller and finished by the settle script.
    url = 'http://receiver.test/hé?q="a\\b"&n=1'
    error = 'refused: "x"\\ \u2013 \n\tü'
    store.schedule(record("t1", url=url))
    [work] = claim(store, START)
    attempt = store.settle_later(work, 0, ME, SendResult(None, error, 0.5), START + 3, None)()
    assert attempt is not None
    assert store.attempts("t1") == [attempt]
    assert (attempt.url, attempt.error, attempt.status, attempt.outcome) == (
        *(url, error),
        *(None, "failed"),
    )
    delivery = store.deliveries("t1")[0]
    assert (delivery.last_error, delivery.last_status, delivery.next_attempt_ms) == (
        *(error, None),
        None,
    )


def test_settling_later_records_as_settling_does_each_answer_its_own(
    store: DeliveryStore,
) -> None:
    store.schedule(record("t1"))
    store.schedule(record("t2"))
    works = {work.sends[0].task_id: work for work in claim(store, START)}
    first = store.settle_later(works["t1"], 0, ME, OK, START + 7, None)
    second = store.settle_later(works["t2"], 0, ME, FAIL, START + 8, START + 1000)
    later, earlier = second(), first()  # read out of order: each is still its own
    assert earlier is not None
    assert later is not None
    assert (earlier.task_id, earlier.outcome, earlier.time_ms) == ("t1", "delivered", START + 7)
    assert (later.task_id, later.outcome, later.time_ms) == ("t2", "retrying", START + 8)
    assert first() == earlier  # read once, kept
    assert store.attempts("t1") == [earlier]
    assert (state(store, "t1"), state(store, "t2")) == ("delivered", "delivering")
    assert store.deliveries("t2")[0].next_attempt_ms == START + 1000


def test_a_failed_attempt_queues_its_retry_at_the_due_time_given(store: DeliveryStore) -> None:
    store.schedule(record("t1"))
    [work] = claim(store, START)
    assert store.settle(work, 0, ME, FAIL, START, START + 1000) is not None
    summary = store.deliveries("t1")[0]
    assert (summary.state, summary.next_attempt_ms, summary.last_status) == (
        "delivering",
        START + 1000,
        500,
    )
    assert claim(store, START + 999) == []
    [retry] = claim(store, START + 1000)
    assert (retry.sends[0].attempt, retry.sends[0].due_ms) == (2, START + 1000)
    store.settle(retry, 0, ME, OK, START + 1000, START + 5000)
    assert [a.outcome for a in store.attempts("t1")] == ["retrying", "delivered"]
    assert state(store, "t1") == "delivered"
    assert claim(store, START + 10**6) == []


def test_the_last_try_failing_fails_the_delivery(store: DeliveryStore) -> None:
    store.schedule(record("t1"))
    [work] = claim(store, START)
    store.settle(work, 0, ME, SendResult(None, "connection refused", 0.0), START, None)
    summary = store.deliveries("t1")[0]
    assert (summary.state, summary.last_error, summary.last_status) == (
        "failed",
        "connection refused",
        None,
    )
    assert store.pending_count() == 0


# -- changing a delivery --------------------------------------------------------------


def test_reschedule_moves_only_a_delivery_not_yet_started(store: DeliveryStore) -> None:
    store.schedule(record("t1", START + 30_000, delay_ms=5))
    assert store.reschedule("t1", START + 1000)
    assert store.deliveries("t1")[0].due_ms == START + 1005
    [work] = claim(store, START + 1005)
    assert work.sends[0].due_ms == START + 1005
    assert claim(store, START + 60_000) == []  # the old due time went stale
    assert not store.reschedule("t1", START)
    assert not store.reschedule("unknown", START)


def test_redeliver_queues_a_fresh_chain_now(store: DeliveryStore) -> None:
    assert not store.redeliver("unknown", START)
    store.schedule(record("t1", drop=True))
    assert claim(store, START) == []
    assert state(store, "t1") == "dropped"
    assert store.redeliver("t1", START + 50)
    [work] = claim(store, START + 50)
    assert (work.sends[0].attempt, work.sends[0].due_ms) == (1, START + 50)
    send_all(store, [work], OK, START + 50)
    assert state(store, "t1") == "delivered"


def test_a_success_cancels_the_retries_still_waiting(store: DeliveryStore) -> None:
    store.schedule(record("t1"))
    [work] = claim(store, START)
    store.settle(work, 0, ME, FAIL, START, START + 10_000)
    store.redeliver("t1", START + 1)
    [fresh] = claim(store, START + 1)
    store.settle(fresh, 0, ME, OK, START + 1, START + 2000)
    summary = store.deliveries("t1")[0]
    assert (summary.state, summary.next_attempt_ms) == ("delivered", None)
    assert claim(store, START + 10**6) == []  # the retry went stale


def test_scheduling_again_replaces_and_leaves_claimed_work_stale(store: DeliveryStore) -> None:
    store.schedule(record("t1"))
    [old] = claim(store, START)
    store.schedule(record("t1", START + 10, url="http://other.test/hook"))
    assert store.settle(old, 0, ME, OK, START, None) is None
    [new] = claim(store, START + 10)
    assert new.sends[0].url == "http://other.test/hook"
    assert [d.task_id for d in store.deliveries()] == ["t1"]


def test_drop_forgets_a_delivery_and_its_queued_work(store: DeliveryStore) -> None:
    store.schedule(record("t1"))
    assert store.drop("t1")
    assert not store.drop("t1")
    assert store.deliveries() == []
    assert claim(store, START) == []


# -- effects ------------------------------------------------------------------------


def test_copies_are_separate_works(store: DeliveryStore) -> None:
    store.schedule(record("t1", copies=2))
    works = claim(store, START)
    assert [len(w.sends) for w in works] == [1, 1]
    assert works[0].token != works[1].token
    send_all(store, works, OK, START)
    assert [a.outcome for a in store.attempts("t1")] == ["delivered", "delivered"]
    assert state(store, "t1") == "delivered"


def test_reorder_holds_deliveries_and_sends_them_newest_first(store: DeliveryStore) -> None:
    store.schedule(record("A", START + 100, reorder=True))
    store.schedule(record("B", START + 200, reorder=True))
    store.schedule(record("C", START + 150))
    assert [w.sends[0].task_id for w in claim(store, START + 200)] == ["C"]
    assert claim(store, START + 1099) == []
    [batch] = claim(store, START + 1100)  # the window A opened closes
    assert batch.lane == ""
    assert [(s.task_id, s.due_ms) for s in batch.sends] == [
        ("B", START + 1100),
        ("A", START + 1100),
    ]


def test_a_faulty_delivery_fails_when_due_without_a_send(store: DeliveryStore) -> None:
    broken = record("t1")
    broken.fault = "internal error: TypeError: no"
    store.schedule(broken)
    assert claim(store, START) == []
    summary = store.deliveries("t1")[0]
    assert (summary.state, summary.last_error) == ("failed", "internal error: TypeError: no")


# -- reading --------------------------------------------------------------------------


def test_deliveries_list_in_due_order_then_first_schedule(store: DeliveryStore) -> None:
    store.schedule(record("late", START + 50))
    store.schedule(record("b", START))
    store.schedule(record("a", START))
    store.schedule(record("b", START))  # replaced: keeps its first place
    assert [d.task_id for d in store.deliveries()] == ["b", "a", "late"]
    assert [d.task_id for d in store.deliveries("a")] == ["a"]
    assert store.deliveries("nope") == []
    assert store.pending_count() == 3


def test_the_attempt_log_is_capped(make: Any) -> None:
    store = make(log_size=3)
    for i in range(5):
        store.schedule(record(f"t{i}"))
    send_all(store, claim(store, START), OK, START)
    assert sum(bool(store.attempts(f"t{i}")) for i in range(5)) == 3


def test_the_capped_log_shows_exactly_the_newest_attempts(make: Any) -> None:
    store = make(log_size=32)
    for i in range(40):  # Redis trims a little past the size, not at every push
        store.schedule(record(f"t{i:02}"))
    send_all(store, claim(store, START), OK, START)
    logged = [i for i in range(40) if store.attempts(f"t{i:02}")]
    assert logged == list(range(8, 40))


def test_the_log_list_in_redis_stays_within_a_sixteenth_of_its_size(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    store = RedisDeliveries(client, "x:", log_size=32)
    lengths = []
    for i in range(80):
        store.schedule(record(f"t{i}"))
        send_all(store, claim(store, START), OK, START)
        lengths.append(client.llen("x:cb:log"))
    assert max(lengths) == 34  # 32 and its sixteenth
    assert lengths[-1] < 34  # trimmed back to 32 on the way
    client.close()


def test_clear_forgets_everything(store: DeliveryStore) -> None:
    store.schedule(record("sent"))
    store.schedule(record("later", START + 1000))
    send_all(store, claim(store, START), OK, START)
    store.clear()
    assert store.deliveries() == []
    assert store.attempts("sent") == []
    assert store.next_due_ms() is None
    assert claim(store, START + 5000) == []


# -- leases (Redis: several processes) ------------------------------------------------


@pytest.fixture
def shared(redis_url: str) -> Iterator[tuple[RedisDeliveries, RedisDeliveries]]:
    """Two stores on one Redis, as two processes hold them; leases of 1 ms."""
    clients = [redis.Redis.from_url(redis_url) for _ in range(2)]
    yield RedisDeliveries(clients[0], lease_ms=1), RedisDeliveries(clients[1], lease_ms=1)
    for client in clients:
        client.close()


def lease_runs_out(client_url: str) -> bool:
    """Whether the one lease held runs out within 10,000 looks at the server's clock."""
    client = redis.Redis.from_url(client_url)
    try:
        for _ in range(10_000):  # a 1 ms lease: a few round trips, no sleep
            if client.zcount("apixo-mock:cb:flight", "-inf", _server_ms(client)) == 1:
                return True
        return False
    finally:
        client.close()


def _server_ms(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def test_an_expired_lease_is_claimed_again_and_the_old_owner_cannot_settle(
    shared: tuple[RedisDeliveries, RedisDeliveries], redis_url: str
) -> None:
    one, two = shared
    one.schedule(record("t1"))
    [work] = one.claim(START, ME, 10, WINDOW)
    assert lease_runs_out(redis_url)
    [again] = two.claim(START, OTHER, 10, WINDOW)
    # The same work, whole, under a token of its own: the old one names its old holder.
    assert (again.lane, again.sends) == (work.lane, work.sends)
    assert again.token != work.token
    assert one.renew([work.token], ME) == set()
    assert two.renew([work.token], OTHER) == set()  # a token names its holder
    assert one.settle(work, 0, ME, OK, START, None) is None
    assert two.settle(again, 0, OTHER, OK, START, None) is not None
    assert [a.outcome for a in two.attempts("t1")] == ["delivered"]
    assert one.deliveries("t1")[0].state == "delivered"


def test_a_reordered_batch_is_claimed_again_whole_and_leased_per_send(
    shared: tuple[RedisDeliveries, RedisDeliveries], redis_url: str
) -> None:
    one, two = shared
    one.schedule(record("A", START, reorder=True))
    one.schedule(record("B", START + 10, reorder=True))
    assert one.claim(START + 10, ME, 10, WINDOW) == []  # the batch's window is open
    [work] = one.claim(START + WINDOW, ME, 10, WINDOW)
    assert [s.task_id for s in work.sends] == ["B", "A"]
    assert lease_runs_out(redis_url)
    [again] = two.claim(START + WINDOW, OTHER, 10, WINDOW)
    assert (again.lane, again.sends) == (work.lane, work.sends)
    assert two.renew([again.token], OTHER) == {again.token}
    assert one.settle(work, 0, ME, OK, START, None) is None
    assert two.settle(again, 0, OTHER, OK, START, None) is not None  # the lease goes on
    assert two.settle(again, 1, OTHER, OK, START, None) is not None  # and ends
    assert two.claim(START + WINDOW, OTHER, 10, WINDOW) == []
    assert [d.state for d in two.deliveries()] == ["delivered", "delivered"]


def test_a_lease_of_an_earlier_version_is_taken_over_when_it_runs_out(
    shared: tuple[RedisDeliveries, RedisDeliveries], redis_url: str
) -> None:
    # Earlier versions' tokens named no holder; their cb:work entry began "holder|sends|".
    one, _ = shared
    one.schedule(record("t1"))
    [work] = one.claim(START, ME, 10, WINDOW)
    client = redis.Redis.from_url(redis_url)
    old = work.token.split("@")[0]
    client.delete("apixo-mock:cb:flight", "apixo-mock:cb:work")
    client.zadd("apixo-mock:cb:flight", {old: 0})  # run out
    client.hset("apixo-mock:cb:work", old, "0123abcd|1|" + client_work_json(work))
    [again] = one.claim(START, OTHER, 10, WINDOW)
    assert (again.lane, again.sends) == (work.lane, work.sends)
    assert client.zscore("apixo-mock:cb:flight", old) is None
    assert client.hkeys("apixo-mock:cb:work") == [again.token.encode()]
    assert one.settle(again, 0, OTHER, OK, START, None) is not None
    assert one.deliveries("t1")[0].state == "delivered"
    assert client.zcard("apixo-mock:cb:flight") == client.hlen("apixo-mock:cb:work") == 0
    client.close()


def client_work_json(work: Work) -> str:
    sends = [
        {
            "t": s.task_id,
            "u": s.url,
            "i": str(s.incarnation),
            "a": str(s.attempt),
            "d": str(s.due_ms),
        }
        for s in work.sends
    ]
    return json.dumps({"lane": work.lane, "sends": sends})


def test_only_the_lease_holder_settles_later_and_a_lost_lease_settles_nothing(
    shared: tuple[RedisDeliveries, RedisDeliveries], redis_url: str
) -> None:
    one, two = shared
    one.schedule(record("t1"))
    [work] = one.claim(START, ME, 10, WINDOW)
    assert one.settle_later(work, 0, OTHER, OK, START, None)() is None  # not its lease
    assert lease_runs_out(redis_url)
    [again] = two.claim(START, OTHER, 10, WINDOW)
    assert one.settle_later(work, 0, ME, OK, START, None)() is None  # lost to `two`
    assert two.settle_later(again, 0, OTHER, OK, START, None)() is not None
    assert [a.outcome for a in two.attempts("t1")] == ["delivered"]


def test_settling_later_after_redis_lost_its_scripts_loads_and_runs_the_script(
    redis_url: str,
) -> None:
    client = redis.Redis.from_url(redis_url)
    store = RedisDeliveries(client)
    store.schedule(record("t1"))
    [work] = store.claim(START, ME, 10, WINDOW)
    client.script_flush()  # as a restarted Redis has none
    attempt = store.settle_later(work, 0, ME, OK, START, None)()
    assert attempt is not None
    assert attempt.outcome == "delivered"
    assert store.attempts("t1") == [attempt]
    client.close()


def test_settling_later_on_a_connection_redis_closed_reconnects_and_records(
    redis_url: str,
) -> None:
    client = redis.Redis.from_url(redis_url)
    store = RedisDeliveries(client)
    for task in ("t1", "t2", "t3"):
        store.schedule(record(task))
    works = {work.sends[0].task_id: work for work in store.claim(START, ME, 10, WINDOW)}
    assert store.settle_later(works["t1"], 0, ME, OK, START, None)() is not None
    killer = redis.Redis.from_url(redis_url)
    assert killer.client_kill_filter(_type="normal", skipme=True) >= 1  # as a restart does
    second = store.settle_later(works["t2"], 0, ME, OK, START, None)()
    assert second is not None  # the lost connection was opened again, the attempt recorded
    killer.client_kill_filter(_type="normal", skipme=True)
    third = store.settle_later(works["t3"], 0, ME, OK, START, None)()
    assert third is not None
    assert [a.task_id for t in ("t1", "t2", "t3") for a in store.attempts(t)] == ["t1", "t2", "t3"]
    killer.close()
    client.close()


def test_settling_several_later_reads_each_answer_as_its_own_in_any_order(
    redis_url: str,
) -> None:
    client = redis.Redis.from_url(redis_url)
    store = RedisDeliveries(client)
    tasks = [f"t{i}" for i in range(5)]
    for task in tasks:
        store.schedule(record(task))
    works = {work.sends[0].task_id: work for work in store.claim(START, ME, 10, WINDOW)}
    outcomes = {
        task: store.settle_later(works[task], 0, ME, OK if i % 2 else FAIL, START + i, None)
        for i, task in enumerate(tasks)
    }  # five scripts sent, no answer read yet
    read = {task: outcomes[task]() for task in reversed(tasks)}
    assert {task: (a.task_id, a.outcome, a.time_ms) for task, a in read.items() if a} == {
        task: (task, "delivered" if i % 2 else "failed", START + i) for i, task in enumerate(tasks)
    }
    assert [d.state for d in store.deliveries()] == ["failed", "delivered"] * 2 + ["failed"]
    client.close()


def test_a_connection_lost_with_several_answers_unread_records_each_attempt_once(
    redis_url: str,
) -> None:
    client = redis.Redis.from_url(redis_url)
    store = RedisDeliveries(client)
    tasks = ["t1", "t2", "t3", "t4"]
    for task in tasks:
        store.schedule(record(task))
    works = {work.sends[0].task_id: work for work in store.claim(START, ME, 10, WINDOW)}
    outcomes = [store.settle_later(works[task], 0, ME, OK, START, None) for task in tasks[:2]]
    killer = redis.Redis.from_url(redis_url)
    assert killer.client_kill_filter(_type="normal", skipme=True) >= 1  # as a restart does
    outcomes += [store.settle_later(works[task], 0, ME, OK, START, None) for task in tasks[2:]]
    for outcome in outcomes:
        outcome()  # an answer lost with the connection: the script ran again, or ran first
    assert [[a.outcome for a in store.attempts(task)] for task in tasks] == [["delivered"]] * 4
    assert [d.state for d in store.deliveries()] == ["delivered"] * 4
    killer.close()
    client.close()


def test_a_live_lease_is_renewed_and_not_claimed_again(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    store = RedisDeliveries(client, lease_ms=60_000)
    store.schedule(record("t1"))
    [work] = store.claim(START, ME, 10, WINDOW)
    assert store.renew([work.token], ME) == {work.token}
    assert store.renew([work.token], OTHER) == set()
    assert store.claim(START, OTHER, 10, WINDOW) == []
    assert store.settle(work, 0, OTHER, OK, START, None) is None  # not its lease
    assert store.settle(work, 0, ME, OK, START, None) is not None
    client.close()


def test_prefixes_keep_two_mocks_apart_and_clear_only_their_own(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    one, two = RedisDeliveries(client, "one:"), RedisDeliveries(client, "two:")
    one.schedule(record("t1"))
    two.schedule(record("t2"))
    one.clear()
    assert one.deliveries() == []
    assert [d.task_id for d in two.deliveries()] == ["t2"]
    client.close()


def test_the_factory_leases_past_the_send_timeout(redis_url: str) -> None:
    from mock_server.core.config import CoreConfig

    client = redis.Redis.from_url(redis_url)
    store = redis_deliveries(client, "x:", CoreConfig(callback_timeout_s=5.0))
    store.schedule(record("t1"))
    [work] = store.claim(START, ME, 10, WINDOW)
    lease_left_ms = (client.zscore("x:cb:flight", work.token) or 0) - _server_ms(client)
    assert 5_000 < lease_left_ms <= 35_000
    client.close()
