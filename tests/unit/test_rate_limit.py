"""Rate limits and message caps shared by every connector (channels/inbound.py)."""

from __future__ import annotations

import pytest

from bot.ephemeral import MemoryStore
from channels.inbound import InboundGuard


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_bucket_allows_a_burst_then_refills() -> None:
    clock = Clock()
    store = MemoryStore(clock=clock)
    assert [await store.take("a", 3, 1.0) for _ in range(4)] == [True, True, True, False]
    assert await store.take("b", 3, 1.0)  # another key has its own bucket
    clock.now += 1.0
    assert await store.take("a", 3, 1.0) and not await store.take("a", 3, 1.0)
    clock.now += 100.0
    # Never above capacity: three again, not a hundred.
    assert [await store.take("a", 3, 1.0) for _ in range(4)] == [True, True, True, False]


async def test_an_hourly_budget_refills_over_the_hour() -> None:
    clock = Clock()
    store = MemoryStore(clock=clock)
    assert await store.take("k", 2, 2 / 3600) and await store.take("k", 2, 2 / 3600)
    assert not await store.take("k", 2, 2 / 3600)
    clock.now += 1800
    assert await store.take("k", 2, 2 / 3600) and not await store.take("k", 2, 2 / 3600)


async def test_bad_buckets_are_refused() -> None:
    with pytest.raises(ValueError):
        await MemoryStore().take("k", 0, 1.0)


async def test_guard_refuses_long_text_politely() -> None:
    guard = InboundGuard(MemoryStore(), max_chars=4096)
    assert (await guard.check("s", "a" * 4096)).accept
    verdict = await guard.check("s", "a" * 4097)
    assert not verdict.accept
    assert "terlalu panjang" in verdict.reply and "4.096" in verdict.reply
    assert (await guard.check("s", None)).accept  # a file or a location has no text


async def test_guard_warns_once_then_drops_until_the_rate_recovers() -> None:
    clock = Clock()
    guard = InboundGuard(MemoryStore(clock=clock), max_chars=100, burst=2, per_minute=30)
    assert (await guard.check("s", "1")).accept and (await guard.check("s", "2")).accept
    warned = await guard.check("s", "3")
    assert not warned.accept and "terlalu cepat" in warned.reply
    dropped = await guard.check("s", "4")
    assert not dropped.accept and dropped.reply is None
    assert (await guard.check("other", "halo")).accept  # nobody else is slowed down
    clock.now += 2.0
    assert (await guard.check("s", "5")).accept
    clock.now += 0.1
    assert (await guard.check("s", "6")).reply is not None  # a new episode is announced again
