"""Short-lived state that every process serving the channels must see alike.

Deduplication of platform retries, numbered WhatsApp choices, Telegram button
tokens, rate limits and upload quotas, web session presence and notices waiting
for a web session: each lives a few seconds to a few days, and a second Rasa
process must see what the first one wrote, or conversations break silently.

`EphemeralStore` is the one interface for all of it, every value with a TTL:

- `get`, `put`, `add` (only when absent: deduplication), `delete`: text values;
- `take`: spend a token of a token bucket (`bot.rate_limit` arithmetic);
- `push`, `drain`: a short list (messages waiting for someone).

`ephemeral_store()` gives the process's store: in memory (`MemoryStore`) by
default, in Redis (`bot.ephemeral_redis.RedisStore`) when `REDIS_URL` is set.
Keys name their use (`dedup:...`, `rate:...`, ...), never a phone number or a
chat id in clear: connectors key by the pseudonymous sender. When Redis cannot
be reached every operation degrades towards serving people (see RedisStore).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Protocol

from bot.rate_limit import check_bucket, refill, seconds_to_full
from bot.settings import get_settings

logger = logging.getLogger(__name__)


class EphemeralStore(Protocol):
    """Values with a time to live (seconds), token buckets and short lists."""

    async def get(self, key: str) -> str | None:
        """The value of `key`, or None when it is absent or expired."""
        ...

    async def put(self, key: str, value: str, ttl: float) -> None:
        """Set `key` to `value` for `ttl` seconds (replacing any earlier value)."""
        ...

    async def add(self, key: str, value: str, ttl: float) -> bool:
        """Set `key` only when it is absent; True when this call set it."""
        ...

    async def delete(self, key: str) -> None:
        """Remove `key` (nothing happens when it is absent)."""
        ...

    async def take(self, key: str, capacity: float, per_second: float) -> bool:
        """Spend one token of the bucket `key`; False (nothing spent) when it is empty."""
        ...

    async def push(self, key: str, value: str, ttl: float, limit: int) -> None:
        """Append `value` to the list `key` (keeping its newest `limit` items) for `ttl`."""
        ...

    async def drain(self, key: str) -> list[str]:
        """Remove and return every item of the list `key`, oldest first."""
        ...

    async def close(self) -> None:
        """Release connections (the store stays usable: they are opened again)."""
        ...


class MemoryStore:
    """An `EphemeralStore` in this process's memory: bounded, expiring, thread-safe.

    Enough for the single-process default; with several processes set REDIS_URL.
    At most `max_keys` keys are kept: the least recently written go first.
    """

    def __init__(self, max_keys: int = 200_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._max = max_keys
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def _live(self, key: str, now: float) -> Any | None:
        entry = self._items.get(key)
        if entry is None:
            return None
        if entry[0] <= now:
            del self._items[key]
            return None
        return entry[1]

    def _set(self, key: str, value: Any, ttl: float | None, now: float) -> None:
        self._items.pop(key, None)
        if ttl is not None and ttl <= 0:
            return
        self._items[key] = (math.inf if ttl is None else now + ttl, value)
        while len(self._items) > self._max:
            self._items.popitem(last=False)

    async def get(self, key: str) -> str | None:
        """The value of `key`, or None."""
        with self._lock:
            value = self._live(key, self._clock())
        return value if isinstance(value, str) else None

    async def put(self, key: str, value: str, ttl: float) -> None:
        """Set `key` for `ttl` seconds."""
        with self._lock:
            self._set(key, value, ttl, self._clock())

    async def add(self, key: str, value: str, ttl: float) -> bool:
        """Set `key` when absent; True when this call set it."""
        with self._lock:
            now = self._clock()
            if self._live(key, now) is not None:
                return False
            self._set(key, value, ttl, now)
            return True

    async def delete(self, key: str) -> None:
        """Remove `key`."""
        with self._lock:
            self._items.pop(key, None)

    async def take(self, key: str, capacity: float, per_second: float) -> bool:
        """Spend one token of the bucket `key` (forgotten once it would be full again)."""
        check_bucket(capacity, per_second)
        with self._lock:
            now = self._clock()
            state = self._live(key, now)
            tokens, stamp = state if isinstance(state, tuple) else (capacity, now)
            tokens = refill(tokens, stamp, now, capacity, per_second)
            allowed = tokens >= 1
            if allowed:
                tokens -= 1
            self._set(key, (tokens, now), seconds_to_full(capacity - tokens, per_second), now)
            return allowed

    async def push(self, key: str, value: str, ttl: float, limit: int) -> None:
        """Append to the list `key`, keeping the newest `limit` items."""
        with self._lock:
            now = self._clock()
            items = self._live(key, now)
            items = list(items) if isinstance(items, list) else []
            items.append(value)
            self._set(key, items[-limit:], ttl, now)

    async def drain(self, key: str) -> list[str]:
        """Remove and return the list `key`."""
        with self._lock:
            items = self._live(key, self._clock())
            self._items.pop(key, None)
        return list(items) if isinstance(items, list) else []

    async def close(self) -> None:
        """Nothing to release."""


@lru_cache(maxsize=1)
def ephemeral_store() -> EphemeralStore:
    """The process's store: Redis when REDIS_URL is set, else memory (cached; tests
    call `ephemeral_store.cache_clear()` after changing the environment)."""
    url = get_settings().redis_url
    if url:
        from bot.ephemeral_redis import RedisStore  # Redis is optional

        logger.info("Ephemeral state (dedup, choices, rate limits, sessions) is kept in Redis")
        return RedisStore(url)
    return MemoryStore()
