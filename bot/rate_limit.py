"""Token-bucket arithmetic for message rates, link-check budgets and upload quotas.

A bucket holds up to `capacity` tokens and refills at `per_second`; taking one
fails when none is left. The buckets themselves live in the ephemeral store
(`bot.ephemeral.EphemeralStore.take`, in memory or Redis), so every process
sees the same ones; this module is the arithmetic both stores share.
"""

from __future__ import annotations


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
