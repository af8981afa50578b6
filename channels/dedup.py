"""Process each incoming message once, even when the platform delivers it again.

WhatsApp retries a webhook that was not acknowledged in time, and Telegram
re-sends updates after errors. `Deduplicator.first_time(key)` is True only the
first time a key is seen within the window. With `REDIS_URL` set, keys live in
Redis (`SET NX EX`), shared by every Rasa process; otherwise in a bounded
in-memory map, which is enough for the single-process embedded default.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from typing import Protocol

logger = logging.getLogger(__name__)

DEFAULT_WINDOW_SECONDS = 24 * 3600
KEY_PREFIX = "lapor:dedup:"


class Deduplicator(Protocol):
    """Tells whether a message key is seen for the first time."""

    async def first_time(self, key: str) -> bool:
        """True the first time `key` is seen within the window, else False."""
        ...


class MemoryDeduplicator:
    """An in-memory, bounded deduplicator (one process)."""

    def __init__(self, window_seconds: float = DEFAULT_WINDOW_SECONDS,
                 max_keys: int = 100_000) -> None:
        self._window = window_seconds
        self._max = max_keys
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    async def first_time(self, key: str) -> bool:
        """True the first time `key` is seen within the window."""
        now = time.monotonic()
        with self._lock:
            expires = self._seen.get(key)
            if expires is not None and expires > now:
                return False
            self._seen.pop(key, None)
            self._seen[key] = now + self._window
            while len(self._seen) > self._max:
                self._seen.popitem(last=False)
            return True


class RedisDeduplicator:
    """A deduplicator shared through Redis (`SET key 1 NX EX window`)."""

    def __init__(self, url: str, window_seconds: int = DEFAULT_WINDOW_SECONDS) -> None:
        import redis.asyncio as redis_asyncio  # imported lazily: Redis is optional

        self._client = redis_asyncio.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._window = int(window_seconds)

    async def first_time(self, key: str) -> bool:
        """True the first time `key` is seen within the window.

        When Redis cannot be reached the message is processed (True): losing a
        citizen's message is worse than answering a retried one twice.
        """
        try:
            created = await self._client.set(KEY_PREFIX + key, "1", nx=True, ex=self._window)
        except Exception as exc:  # noqa: BLE001 - any Redis failure degrades the same way
            logger.warning("Deduplication store unavailable (%s); processing the message",
                           type(exc).__name__)
            return True
        return bool(created)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.close()


def make_deduplicator() -> Deduplicator:
    """A Redis deduplicator when REDIS_URL is set, else an in-memory one."""
    url = os.environ.get("REDIS_URL", "").strip()
    if url:
        return RedisDeduplicator(url)
    return MemoryDeduplicator()
