"""What a submit costs Redis, counted (round trips, commands), never timed.

Admission on Redis settles the tasks that ended, looks, and commits; each
round trip is CPU of the mock and of Redis spent on every submit, so the
counts here are what the store's submit rate rests on.
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis

from mock_server.core.config import CoreConfig
from mock_server.core.errors import InsufficientCredits
from mock_server.core.service import MockService
from mock_server.core.stores import Stores
from mock_server.core.stores.redis.admit import RedisAdmissionSteps
from mock_server.core.stores.redis.codec import Encoder, dumps, loads
from mock_server.core.stores.redis.stores import redis_stores
from mock_server.core.stores.steps import AdmissionSteps
from tests.redis.holding import Trips
from tests.redis.services import Make, NullSender
from tests.redis.test_store_contract import START, task

KEY = "key-contract-0001"  # the key of test_store_contract's tasks
BODY = json.dumps({"input": {"mode": "gpt-image-1", "prompt": "a fox"}}).encode()
FAILING = json.dumps({"input": {"mode": "gpt-image-1", "prompt": "mock:fail:NSFW_DETECTED"}})
PACKS = Path(__file__).resolve().parents[2] / "schemas" / "models"


def submit(service: MockService, body: bytes = BODY) -> str:
    return service.submit(KEY, body, "application/json", "http://127.0.0.1").task.task_id


def settle_cost(
    service: MockService, client: redis.Redis, trips: Trips, tasks: int
) -> tuple[int, dict[str, Any]]:
    """Round trips and commands of a balance read settling `tasks` ended tasks and a failed one."""
    for _ in range(tasks):
        submit(service)
    submit(service, FAILING.encode())
    service.advance_clock(600_000)  # every one has ended
    client.config_resetstat()
    sent = trips.count
    # Settled first: every task leaves the cap, the failed one's charge comes back.
    assert service.balance(KEY) == pytest.approx(100 - 0.35 * tasks)
    assert client.zcard("apixo-mock:tasks:retired") == tasks + 1  # evicted after their age
    return trips.count - sent, client.info("commandstats")


def test_a_settle_reads_and_retires_its_ended_tasks_at_once(
    make: Make, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = redis.Redis.from_url(redis_url)
    trips = Trips(monkeypatch)
    costs = []
    for tasks in (1, 10, 40):  # the first loads the scripts into Redis
        client.flushdb()
        service = make(balance=Decimal(100), max_tasks=0, seed=7)
        costs.append(settle_cost(service, client, trips, tasks))
    (_, _), (few, _), (many, stats) = costs
    # Was 3 round trips a task (its record read twice, then retired one by one):
    # now the same few whatever the number of tasks settled.
    assert many == few
    assert stats["cmdstat_mget"]["calls"] == 1  # every record read at once
    client.close()


# -- a submit's one step: the commit checked against what a look would see --------


def redis_steps(redis_url: str, **config: Any) -> tuple[Stores, AdmissionSteps]:
    stores = redis_stores(CoreConfig(store=redis_url, balance=Decimal(5), **config))
    assert stores.admission_steps is not None
    return stores, stores.admission_steps


def test_a_checked_commit_on_the_last_sequence_seen_commits_in_one_step(redis_url: str) -> None:
    stores, steps = redis_steps(redis_url)
    assert steps.known_sequence() is None  # nothing seen yet: the first submit looks
    assert steps.look(KEY, START).last_sequence == 0
    assert steps.known_sequence() == 0
    assert steps.commit_checked(task(1), 400, 0, START, 256) is None
    assert steps.known_sequence() == 1
    assert stores.tasks.get(task(1).task_id) == task(1)
    assert stores.accounts.balance_micros(KEY) == 5_000_000 - task(1).charge_micros
    assert stores.unfinished.count(KEY) == 1
    with pytest.raises(KeyError):  # the id is taken: nothing charged
        steps.commit_checked(replace(task(1), sequence=2), 400, 1, START, 256)
    stores.accounts.set_balance(KEY, 1)
    with pytest.raises(InsufficientCredits) as short:
        steps.commit_checked(task(2), 402, 1, START, 256)
    assert short.value.status == 402
    assert (stores.tasks.last_sequence(), stores.accounts.balance_micros(KEY)) == (1, 1)


@pytest.mark.parametrize("reason", ["admitted since", "at the cap", "due", "over the count", "old"])
def test_a_checked_commit_changes_nothing_and_answers_a_look_where_a_look_would_stop(
    redis_url: str, reason: str
) -> None:
    stores, steps = redis_steps(redis_url, max_tasks=2, task_ttl_s=10)
    now, after, batch = START, 1, 256
    steps.commit(task(1), 400)  # ends at START + 1 s
    if reason == "admitted since":
        after = 0
    elif reason == "at the cap":
        stores.accounts.set_limits(KEY, max_unfinished=1)
    elif reason == "due":
        now, batch = START + 1_000, 1
    elif reason == "over the count":
        for n in (2, 3):
            steps.commit(task(n), 400)
        for n in (1, 2, 3):
            stores.tasks.retire(task(n).task_id, START + n)
        after = 3
    else:
        stores.tasks.retire(task(1).task_id, START + 1_000)
        now = START + 11_000  # past the 10 s a finished task is kept
    before = (stores.accounts.balance_micros(KEY), stores.unfinished.count(KEY), len(stores.tasks))
    seen = steps.commit_checked(task(9), 400, after, now, batch)
    assert seen is not None
    assert seen == steps.look(KEY, now)  # the answer is the look's
    assert stores.tasks.get(task(9).task_id) is None
    after_it = (
        stores.accounts.balance_micros(KEY),
        stores.unfinished.count(KEY),
        len(stores.tasks),
    )
    assert after_it == before
    assert {
        "admitted since": seen.last_sequence == 1,
        "at the cap": seen.unfinished >= seen.limits.max_unfinished,
        "due": seen.due >= batch,
        "over the count": seen.evictable,
        "old": seen.evictable,
    }[reason]


def test_a_submit_is_one_round_trip_and_two_after_another_process_admitted(
    make: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = make(seed=5), make(seed=5)
    submit(one)  # each process has seen a sequence from here
    submit(two)
    trips = Trips(monkeypatch)
    sent = trips.count
    submit(two)
    alone = trips.count - sent  # its commit (tests/redis/test_round_trips.py: one in all)
    sent = trips.count
    third_id = submit(one)
    # Its guess was two behind: the commit changed nothing and answered as a look,
    # then a second commit (and, off a request, a second read of the clock for it).
    assert trips.count - sent == alone + 2
    third = one.tasks.get(third_id)
    assert third is not None
    assert third.sequence == 4
    server = MockService(CoreConfig(seed=5, frozen=True), sender=NullSender())
    assert [submit(server) for _ in range(4)][-1] == third.task_id  # as one server numbers them


# -- the task's encoding ------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "body"),
    [
        ("gpt-image-1", {"prompt": "a fox"}),
        (
            "gpt-image-1",
            {"prompt": "mock:fail:NSFW_DETECTED", "aspectRatio": "3:2", "nVariants": 4},
        ),
        ("gpt-image-1", {"prompt": "x", "callBackUrl": "http://127.0.0.1:9/h", "isEnhance": True}),
        ("gpt-image-1", {"prompt": "x", "filesUrl": ["https://img.test/a.png"]}),
        ("flux-2", "flex-image-to-image"),
        ("flux-2", "pro-text-to-image"),
    ],
)
def test_the_fast_encoder_writes_the_very_bytes_pickle_did(model: str, body: Any) -> None:
    # The same bytes: records stored before read alike, and a process of either
    # version reads what the other wrote.
    service = MockService(CoreConfig(frozen=True, seed=3), sender=NullSender())
    if isinstance(body, str):  # one of the pack's own example requests
        data = (PACKS / model / "examples" / f"{body}.request.json").read_bytes()
    else:
        data = json.dumps({"input": {"mode": "gpt-image-1", **body}}).encode()
    made = service.submit(KEY, data, "application/json", "http://127.0.0.1", model=model)
    encoder = Encoder()
    for record in (made.task, replace(made.task, final_body=b"{}")):
        assert encoder.dumps(record) == dumps(record)
        assert loads(encoder.dumps(record)) == record
    service.close()


def test_threads_of_one_process_take_turns_and_commit_once_a_submit(
    make: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = make(seed=9)
    commits = []
    checked = RedisAdmissionSteps.commit_checked

    def counted(steps: RedisAdmissionSteps, *args: Any) -> Any:
        commits.append(args[0].task_id)
        return checked(steps, *args)

    monkeypatch.setattr(RedisAdmissionSteps, "commit_checked", counted)
    start = threading.Barrier(8)
    made: list[str] = []

    def submits() -> None:
        start.wait(timeout=60)
        made.extend(submit(service) for _ in range(25))

    threads = [threading.Thread(target=submits) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    # Racing each other on one last sequence, they made each other's commits fail.
    assert sorted(commits) == sorted(made)
    assert len(set(made)) == 200
