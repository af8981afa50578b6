"""The atomic lock store against a real redis-server, hammered by two processes.

Rasa's stock RedisLockStore reads, changes and writes a conversation's lock in
Python, so two replicas can both believe they hold it (RasaHQ/rasa#9213). Here
two processes, each with several concurrent handlers, take one conversation's
lock hundreds of times and do a read-sleep-write on a shared counter inside it:
any overlap shows up as a lost increment or a second holder.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Iterator

import pytest
import redis

from bot.lock_store import AtomicRedisLockStore
from tests.channels.redis_server import running_redis

CONVERSATION = "psn_" + "c" * 24
ROUNDS = 40
HANDLERS_PER_PROCESS = 4


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with running_redis() as url:
        yield url


async def _hammer(url: str, rounds: int, handlers: int) -> None:
    store = AtomicRedisLockStore(url=url)
    shared = redis.Redis.from_url(url)

    async def handler() -> None:
        for _ in range(rounds):
            async with store.lock(CONVERSATION, lock_lifetime=30, wait_time_in_seconds=0.01):
                if not shared.set("test:holder", "1", nx=True):
                    shared.incr("test:overlaps")
                value = int(shared.get("test:counter") or 0)
                await asyncio.sleep(0.001)
                shared.set("test:counter", value + 1)
                shared.delete("test:holder")

    await asyncio.gather(*(handler() for _ in range(handlers)))


def hammer(url: str, rounds: int, handlers: int) -> None:
    """One process: `handlers` concurrent message handlers of one conversation."""
    asyncio.run(_hammer(url, rounds, handlers))


def test_two_processes_never_hold_one_conversation_at_once(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.delete("test:counter", "test:overlaps", "test:holder")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=hammer, args=(redis_url, ROUNDS, HANDLERS_PER_PROCESS))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(300)
        assert worker.exitcode == 0, "a worker failed or hung"
    assert int(client.get("test:overlaps") or 0) == 0
    assert int(client.get("test:counter")) == 2 * ROUNDS * HANDLERS_PER_PROCESS
    # Nothing is left behind once everyone is served.
    assert client.keys("lapor:lock:*") == []


async def test_a_crashed_holder_is_passed_over_when_its_ticket_expires(redis_url: str) -> None:
    store = AtomicRedisLockStore(url=redis_url)
    crashed = store.issue_ticket("psn_crashed", lock_lifetime=0.3)  # never given back
    lock = store.get_lock("psn_crashed")
    assert lock is not None and lock.now_serving == crashed
    async with store.lock("psn_crashed", lock_lifetime=5, wait_time_in_seconds=0.05) as held:
        assert held.conversation_id == "psn_crashed"
    assert store.get_lock("psn_crashed") is None


async def test_tickets_are_served_in_arrival_order(redis_url: str) -> None:
    store = AtomicRedisLockStore(url=redis_url)
    served: list[int] = []

    async def message(number: int) -> None:
        await asyncio.sleep(number * 0.02)  # arrive in order
        async with store.lock("psn_order", wait_time_in_seconds=0.01):
            served.append(number)
            await asyncio.sleep(0.05)

    await asyncio.gather(*(message(n) for n in range(5)))
    assert served == [0, 1, 2, 3, 4]


def test_endpoint_config_and_prefix() -> None:
    from rasa.utils.endpoints import EndpointConfig

    store = AtomicRedisLockStore(EndpointConfig(url="redis://127.0.0.1:6390/2",
                                                type="bot.lock_store.AtomicRedisLockStore",
                                                key_prefix="cluster1"))
    assert store.url == "redis://127.0.0.1:6390/2"
    assert store.key_prefix == "cluster1:lock:"
