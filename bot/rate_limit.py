"""Per-key token buckets: message rates, link-check budgets, upload quotas.

A bucket holds up to `capacity` tokens and refills at `per_second`; `take(key)`
spends one token and is False when none is left. `refill` is the arithmetic,
shared with the ephemeral stores (`bot.ephemeral`), which keep buckets that
every process sees. `TokenBucket` keeps them in this process's memory, bounded
to `max_keys` (least recently used keys are forgotten first, and a forgotten
key starts full again, which only ever errs towards serving people).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable


def check_bucket(capacity: float, per_second: float) -> None:
    """Raise ValueError for a bucket that could never serve anyone."""
    if capacity < 1 or per_second < 0:
        raise ValueError("a token bucket needs capacity >= 1 and a refill rate >= 0")


def refill(tokens: float, stamp: float, now: float, capacity: float, per_second: float) -> float:
    """The tokens a bucket holds at `now`, having held `tokens` at `stamp`."""
    return min(capacity, tokens + max(0.0, now - stamp) * per_second)


def seconds_to_full(capacity: float, per_second: float) -> float | None:
    """How long an untouched bucket takes to be full again (None: never refills)."""
    return capacity / per_second if per_second > 0 else None


class TokenBucket:
    """Token buckets keyed by sender (or session), in this process; thread-safe."""

    def __init__(self, capacity: float, per_second: float, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        check_bucket(capacity, per_second)
        self.capacity = float(capacity)
        self.per_second = float(per_second)
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def _level(self, key: str, now: float) -> float:
        tokens, stamp = self._buckets.get(key, (self.capacity, now))
        return refill(tokens, stamp, now, self.capacity, self.per_second)

    def take(self, key: str, cost: float = 1.0) -> bool:
        """Spend `cost` tokens of `key`'s bucket; False (nothing spent) when too few are left."""
        now = self._clock()
        with self._lock:
            tokens = self._level(key, now)
            allowed = tokens >= cost
            if allowed:
                tokens -= cost
            self._buckets[key] = (tokens, now)
            self._buckets.move_to_end(key)
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
            return allowed

    def remaining(self, key: str) -> float:
        """The tokens `key` has now (for messages and tests)."""
        with self._lock:
            return self._level(key, self._clock())


def per_hour(count: int, max_keys: int = 100_000,
             clock: Callable[[], float] = time.monotonic) -> TokenBucket:
    """A budget of `count` per hour, all of it available at once."""
    return TokenBucket(max(1, count), max(1, count) / 3600.0, max_keys, clock)
