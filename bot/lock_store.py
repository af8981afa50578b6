"""A conversation lock store that is atomic across Rasa processes (Redis, Lua scripts).

Rasa serialises the messages of one conversation with a ticket lock: take a
ticket, wait until it is the first unexpired one, handle the message, give the
ticket back. Rasa's open-source `RedisLockStore` does each step as "read the
lock, change it in Python, write it back", so two replicas that take a ticket
for the same conversation at the same moment can get the same number or erase
each other's ticket (RasaHQ/rasa#9213; the fix #11256 was reverted in #11428),
and two messages of one person are then handled at once.

Here every step is one Lua script, which Redis runs atomically:

- issue:   INCR the conversation's counter, ZADD the ticket with its expiry
           (Redis's own clock, so replicas' clocks do not matter);
- acquire: drop expired tickets, then "am I the lowest ticket?";
- release: ZREM the ticket, and delete the keys when nobody waits.

Configured in endpoints.yml:

    lock_store:
      type: bot.lock_store.AtomicRedisLockStore
      url: ${REDIS_URL}          # redis://host:port/db
      key_prefix: lapor          # optional

All calls go through redis.asyncio, so waiting for Redis never blocks the event
loop. This is a Rasa component module (it imports the Rasa server).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

import redis
import redis.asyncio as redis_asyncio
from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

from bot.outage import ride_out

logger = logging.getLogger(__name__)

DEFAULT_KEY_PREFIX = "lapor:lock:"
SOCKET_TIMEOUT_SECONDS = 5.0


def _redis_down(error: Exception) -> bool:
    return isinstance(error, (redis.ConnectionError, redis.TimeoutError))

# KEYS[1] counter, KEYS[2] tickets (zset ticket -> expiry ms); ARGV[1] lifetime ms.
_ISSUE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local ticket = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], now_ms + tonumber(ARGV[1]), ticket)
local keep = tonumber(ARGV[1]) * 4
redis.call('PEXPIRE', KEYS[1], keep)
redis.call('PEXPIRE', KEYS[2], keep)
return ticket
"""

# KEYS[2] tickets; ARGV[1] ticket. Returns 1 (acquired), 0 (wait), -1 (ticket expired).
_ACQUIRE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now_ms)
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  return -1
end
local first = redis.call('ZRANGE', KEYS[2], 0, 0)
if first[1] == ARGV[1] then
  return 1
end
return 0
"""

# KEYS[1] counter, KEYS[2] tickets; ARGV[1] ticket. Returns how many still wait.
_RELEASE = """
redis.call('ZREM', KEYS[2], ARGV[1])
local left = redis.call('ZCARD', KEYS[2])
if left == 0 then
  redis.call('DEL', KEYS[1], KEYS[2])
end
return left
"""


class AtomicRedisLockStore(LockStore):
    """Ticket locks in Redis, each step one atomic script (see the module docstring)."""

    def __init__(self, endpoint_config: EndpointConfig | None = None, url: str | None = None,
                 key_prefix: str | None = None, **kwargs: Any) -> None:
        config = endpoint_config
        url = url or (config.url if config is not None else None)
        options = dict(config.kwargs) if config is not None else {}
        options.update(kwargs)
        prefix = key_prefix or options.pop("key_prefix", None)
        if not url:
            host = options.pop("host", "localhost")
            port = int(options.pop("port", 6379))
            db = int(options.pop("db", 0))
            url = f"redis://{host}:{port}/{db}"
        self.url = url
        self.key_prefix = (f"{prefix}:lock:" if prefix and str(prefix).isalnum()
                           else DEFAULT_KEY_PREFIX)
        self._async = redis_asyncio.from_url(url, socket_timeout=SOCKET_TIMEOUT_SECONDS,
                                             socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
                                             decode_responses=True)
        self._sync = redis.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT_SECONDS,
                                          decode_responses=True)
        self._issue = self._async.register_script(_ISSUE)
        self._acquire = self._async.register_script(_ACQUIRE)
        self._release = self._async.register_script(_RELEASE)
        super().__init__()

    async def _run(self, script: Any, keys: list[str], args: list[Any]) -> int:
        """Run a lock script, riding out a short Redis outage."""
        try:
            return int(await ride_out("Lock store", lambda: script(keys=keys, args=args),
                                      _redis_down))
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise LockError(f"Redis unavailable for the lock store: "
                            f"{type(exc).__name__}") from exc

    def _keys(self, conversation_id: str) -> list[str]:
        base = self.key_prefix + conversation_id
        return [base + ":next", base + ":tickets"]

    @asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = 0.05) -> AsyncGenerator[TicketLock, None]:
        """Hold the conversation's lock: messages of one conversation run one at a time,
        in arrival order, across every process sharing this Redis."""
        keys = self._keys(conversation_id)
        try:
            ticket = await self._run(self._issue, keys, [int(lock_lifetime * 1000)])
        except redis.RedisError as exc:
            raise LockError(f"Could not issue a lock ticket: {type(exc).__name__}") from exc
        try:
            wait = min(wait_time_in_seconds, 0.05)
            reissued = 0
            while True:
                state = await self._run(self._acquire, keys, [ticket])
                if state == 1:
                    break
                if state == -1:
                    # The ticket is gone: it expired, or Redis restarted and lost
                    # every lock. Queue again rather than drop the message.
                    reissued += 1
                    if reissued > 3:
                        raise LockError("The lock ticket expired before it was served")
                    ticket = await self._run(self._issue, keys, [int(lock_lifetime * 1000)])
                    continue
                await asyncio.sleep(wait)
                wait = min(wait * 2, max(wait_time_in_seconds, 0.05))
            yield self._ticket_lock(conversation_id)
        finally:
            try:
                await self._run(self._release, keys, [ticket])
            except (redis.RedisError, LockError) as exc:
                # The ticket expires by itself after its lifetime.
                logger.warning("Could not release a lock ticket: %s", type(exc).__name__)

    def _ticket_lock(self, conversation_id: str) -> TicketLock:
        lock = self.get_lock(conversation_id)
        return lock if lock is not None else TicketLock(conversation_id)

    # The synchronous API of Rasa's LockStore, for callers that inspect locks.

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        """The conversation's current tickets, read-only (None when nobody holds it)."""
        counter, tickets = self._keys(conversation_id)
        entries = self._sync.zrange(tickets, 0, -1, withscores=True)
        if not entries:
            return None
        queue = deque(Ticket(int(number), float(expires) / 1000.0) for number, expires in entries)
        return TicketLock(conversation_id, queue)

    def delete_lock(self, conversation_id: str) -> None:
        """Remove the conversation's lock entirely."""
        deleted = self._sync.delete(*self._keys(conversation_id))
        self._log_deletion(conversation_id, bool(deleted))

    def save_lock(self, lock: TicketLock) -> None:
        """Not supported: writing a whole lock back is the race this store avoids."""
        raise LockError("AtomicRedisLockStore changes locks only through atomic scripts")

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Issue a ticket atomically (synchronous variant of the `lock` step)."""
        script = self._sync.register_script(_ISSUE)
        return int(script(keys=self._keys(conversation_id), args=[int(lock_lifetime * 1000)]))

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        """Give a ticket back atomically."""
        script = self._sync.register_script(_RELEASE)
        script(keys=self._keys(conversation_id), args=[ticket_number])

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Give a ticket back; the keys go when nobody waits."""
        self.finish_serving(conversation_id, ticket_number)

    def update_lock(self, conversation_id: str) -> None:
        """Expired tickets are dropped by every acquire; nothing to do here."""
