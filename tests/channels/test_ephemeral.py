"""The EphemeralStore contract, run against MemoryStore and a real redis-server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as redis_asyncio

from bot.ephemeral import EphemeralStore, MemoryStore, ephemeral_store
from bot.ephemeral_redis import PREFIX, RedisStore
from bot.settings import get_settings
from tests.channels.redis_server import running_redis


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """One real redis-server for this module."""
    with running_redis() as url:
        yield url


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[EphemeralStore]:
    """Each contract test runs on both stores (Redis emptied first)."""
    if request.param == "memory":
        yield MemoryStore()
        return
    client = redis_asyncio.from_url(redis_url)
    await client.flushdb()
    await client.close()
    redis_store = RedisStore(redis_url)
    yield redis_store
    await redis_store.close()


async def test_values_put_get_delete(store: EphemeralStore) -> None:
    assert await store.get("k") is None
    await store.put("k", "satu", 60)
    assert await store.get("k") == "satu"
    await store.put("k", "dua", 60)
    assert await store.get("k") == "dua"
    await store.delete("k")
    await store.delete("k")
    assert await store.get("k") is None
    await store.put("gone", "x", 0)  # no time to live: not kept at all
    assert await store.get("gone") is None


async def test_add_sets_only_the_first_time(store: EphemeralStore) -> None:
    assert await store.add("dedup:whatsapp:wamid.1", "1", 60)
    assert not await store.add("dedup:whatsapp:wamid.1", "1", 60)
    assert await store.add("dedup:whatsapp:wamid.2", "1", 60)


async def test_a_bucket_gives_its_capacity_then_refuses(store: EphemeralStore) -> None:
    assert [await store.take("rate:a", 3, 0) for _ in range(4)] == [True, True, True, False]
    assert await store.take("rate:b", 3, 0)  # every key has its own bucket
    with pytest.raises(ValueError):
        await store.take("rate:c", 0, 1.0)


async def test_lists_keep_the_newest_items_and_drain_once(store: EphemeralStore) -> None:
    for n in range(5):
        await store.push("web-pending:r", f"m{n}", 60, limit=3)
    assert await store.drain("web-pending:r") == ["m2", "m3", "m4"]
    assert await store.drain("web-pending:r") == []


async def test_memory_values_and_buckets_expire_by_the_clock() -> None:
    clock = Clock()
    store = MemoryStore(clock=clock)
    await store.put("k", "v", 10)
    await store.push("l", "x", 10, limit=5)
    assert await store.take("rate:s", 2, 0.5) and await store.take("rate:s", 2, 0.5)
    assert not await store.take("rate:s", 2, 0.5)
    clock.now += 2.0  # one token back
    assert await store.take("rate:s", 2, 0.5) and not await store.take("rate:s", 2, 0.5)
    clock.now += 10.0
    assert await store.get("k") is None and await store.drain("l") == []
    assert await store.add("k", "again", 10)


async def test_memory_store_is_bounded() -> None:
    store = MemoryStore(max_keys=2)
    for key in ("a", "b", "c"):
        await store.put(key, key, 60)
    assert await store.get("a") is None and await store.get("c") == "c"


async def test_redis_keys_are_prefixed_and_expire(redis_url: str) -> None:
    store = RedisStore(redis_url)
    await store.put("choices:psn_x", "[]", 30)
    await store.take("rate:msg:psn_x", 12, 0.5)
    client = redis_asyncio.from_url(redis_url, decode_responses=True)
    try:
        assert 0 < await client.pttl(PREFIX + "choices:psn_x") <= 30_000
        # A used bucket lives as long as it takes to be full again (1 token at 0.5/s).
        assert 0 < await client.pttl(PREFIX + "rate:msg:psn_x") <= 2_000
    finally:
        await client.close()
        await store.close()


async def test_two_redis_stores_see_the_same_state(redis_url: str) -> None:
    first, second = RedisStore(redis_url), RedisStore(redis_url)
    try:
        assert await first.add("dedup:telegram:1:42", "1", 60)
        assert not await second.add("dedup:telegram:1:42", "1", 60)
        await first.put("callback:~t:abc", "/inform", 60)
        assert await second.get("callback:~t:abc") == "/inform"
        assert await first.take("uploads:s", 2, 0) and await second.take("uploads:s", 2, 0)
        assert not await first.take("uploads:s", 2, 0)
        await second.push("web-pending:r", "halo", 60, limit=5)
        assert await first.drain("web-pending:r") == ["halo"]
    finally:
        await first.close()
        await second.close()


async def test_redis_down_degrades_towards_serving_people(
        caplog: pytest.LogCaptureFixture) -> None:
    with running_redis() as url:
        pass  # stopped: nothing listens on that port any more
    store = RedisStore(url)
    assert await store.add("k", "1", 60) and await store.add("k", "1", 60)
    assert await store.take("rate:k", 1, 0) and await store.take("rate:k", 1, 0)
    assert await store.get("k") is None and await store.drain("l") == []
    await store.put("k", "v", 60)
    await store.push("l", "v", 60, limit=2)
    await store.delete("k")
    assert "unavailable" in caplog.text
    await store.close()


def test_the_process_store_follows_redis_url(monkeypatch: pytest.MonkeyPatch,
                                             redis_url: str) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    get_settings.cache_clear()
    ephemeral_store.cache_clear()
    assert isinstance(ephemeral_store(), MemoryStore)
    assert ephemeral_store() is ephemeral_store()
    monkeypatch.setenv("REDIS_URL", redis_url)
    get_settings.cache_clear()
    ephemeral_store.cache_clear()
    assert isinstance(ephemeral_store(), RedisStore)
    assert redis_url not in repr(ephemeral_store()) and redis_url not in repr(get_settings())
