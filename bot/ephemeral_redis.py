"""The Redis `EphemeralStore` (REDIS_URL): state shared by every Rasa process.

Every key gets the prefix `lapor:`. Values are plain strings with a
millisecond TTL (`SET ... PX`), `add` is `SET NX PX`, a token bucket is a hash
updated by one Lua script that reads Redis's own clock (so processes with
drifting clocks agree), lists are `RPUSH` + `LTRIM` + `PEXPIRE` in one
transaction.

When Redis cannot be reached (down, timeout) each call logs a warning and
degrades towards serving people: `add` and `take` say yes (a retried message
answered twice, a sender not slowed down), `get` and `drain` find nothing
(a numbered reply is read as text), writes are skipped. A conversation goes
on; nothing waits for Redis longer than the socket timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as redis_asyncio
from redis.exceptions import RedisError

from bot.rate_limit import check_bucket

logger = logging.getLogger(__name__)

T = TypeVar("T")
PREFIX = "lapor:"
SOCKET_TIMEOUT_SECONDS = 2.0

#: KEYS[1] bucket; ARGV capacity, tokens per second. Returns 1 when a token was spent.
TAKE_SCRIPT = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1]) or capacity
local stamp = tonumber(state[2]) or now
if now > stamp then tokens = math.min(capacity, tokens + (now - stamp) * rate) end
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', string.format('%.6f', now))
if rate > 0 then
  redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil((capacity - tokens) / rate * 1000)))
end
return allowed
"""


def _ms(ttl: float) -> int:
    return max(1, int(ttl * 1000))


class RedisStore:
    """An `EphemeralStore` in Redis, one connection pool per event loop."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._client: Any = None
        self._take: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return "RedisStore()"  # the URL may hold a password

    def _redis(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = redis_asyncio.from_url(
                self._url, socket_timeout=SOCKET_TIMEOUT_SECONDS,
                socket_connect_timeout=SOCKET_TIMEOUT_SECONDS, decode_responses=True)
            self._take = self._client.register_script(TAKE_SCRIPT)
            self._loop = loop
        return self._client

    async def _run(self, what: str, fallback: T, call: Callable[[Any], Awaitable[T]]) -> T:
        try:
            return await call(self._redis())
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            logger.warning("Ephemeral store (Redis) unavailable for %s (%s); going on without it",
                           what, type(exc).__name__)
            return fallback

    async def get(self, key: str) -> str | None:
        """The value of `key`, or None (also when Redis is down)."""
        return await self._run("get", None, lambda r: r.get(PREFIX + key))

    async def put(self, key: str, value: str, ttl: float) -> None:
        """Set `key` for `ttl` seconds (a TTL of 0 or less deletes it)."""
        if ttl <= 0:
            await self.delete(key)
            return
        await self._run("put", None, lambda r: r.set(PREFIX + key, value, px=_ms(ttl)))

    async def add(self, key: str, value: str, ttl: float) -> bool:
        """Set `key` when absent; True when this call set it (and when Redis is down)."""
        created = await self._run("add", True,
                                  lambda r: r.set(PREFIX + key, value, nx=True, px=_ms(ttl)))
        return bool(created)

    async def delete(self, key: str) -> None:
        """Remove `key`."""
        await self._run("delete", None, lambda r: r.delete(PREFIX + key))

    async def take(self, key: str, capacity: float, per_second: float) -> bool:
        """Spend a token of the bucket `key` (True when Redis is down)."""
        check_bucket(capacity, per_second)

        async def call(client: Any) -> Any:
            return await self._take(keys=[PREFIX + key], args=[capacity, per_second],
                                    client=client)

        return bool(await self._run("take", 1, call))

    async def push(self, key: str, value: str, ttl: float, limit: int) -> None:
        """Append to the list `key`, keeping its newest `limit` items, for `ttl` seconds."""

        async def call(client: Any) -> None:
            async with client.pipeline(transaction=True) as pipe:
                pipe.rpush(PREFIX + key, value)
                pipe.ltrim(PREFIX + key, -limit, -1)
                pipe.pexpire(PREFIX + key, _ms(ttl))
                await pipe.execute()

        await self._run("push", None, call)

    async def drain(self, key: str) -> list[str]:
        """Remove and return the list `key`, oldest first."""

        async def call(client: Any) -> list[str]:
            async with client.pipeline(transaction=True) as pipe:
                pipe.lrange(PREFIX + key, 0, -1)
                pipe.delete(PREFIX + key)
                items, _ = await pipe.execute()
            return list(items)

        return await self._run("drain", [], call)

    async def close(self) -> None:
        """Close the connection pool of the current loop."""
        client, self._client = self._client, None
        if client is not None:
            try:
                await client.close()
            except RuntimeError:  # opened in another, closed loop
                logger.debug("Redis pool belonged to a closed loop")
