"""Ride out a short outage of a server (a PostgreSQL or Redis restart) instead of
failing a conversation turn.

- `ride_out(what, call, transient)`: await `call()` again, with back-off, while
  it fails with an error `transient` accepts, for up to `OUTAGE_SECONDS`; used
  by the tracker store and the lock store.
- `OutageTolerant(store)` wraps a `ReportStore` the same way for its (blocking)
  methods, which run in worker threads. Only connection failures are retried
  (`is_outage`), never a constraint or a query error. Every store method is safe
  to call again: filing is idempotent by its key, consent and erasure are
  idempotent, reads have no effect.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from sqlalchemy import exc as sa_exc

logger = logging.getLogger(__name__)
T = TypeVar("T")

OUTAGE_SECONDS = 20.0
_CONNECTION_SIGNS = ("could not connect", "connection refused", "server closed the connection",
                     "terminating connection", "connection to server", "the database system is")


def is_outage(error: Exception) -> bool:
    """True for an error that means the database server is (briefly) unreachable."""
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        text = str(error).lower()
        return any(sign in text for sign in _CONNECTION_SIGNS)
    return False


def _delays(seconds: float) -> Iterator[float]:
    """Back-off delays (0.2 s doubling to 2 s) until `seconds` have passed."""
    deadline = time.monotonic() + seconds
    delay = 0.2
    while time.monotonic() < deadline:
        yield delay
        delay = min(delay * 2, 2.0)


async def ride_out(what: str, call: Callable[[], Awaitable[T]],
                   transient: Callable[[Exception], bool],
                   seconds: float = OUTAGE_SECONDS) -> T:
    """`await call()`, retried while it fails with a transient error (then re-raised)."""
    delays = _delays(seconds)
    while True:
        try:
            return await call()
        except Exception as error:
            delay = next(delays, None) if transient(error) else None
            if delay is None:
                raise
            logger.warning("%s: server unavailable (%s); retrying", what, type(error).__name__)
            await asyncio.sleep(delay)


class OutageTolerant:
    """A store whose public methods retry through a short database outage."""

    def __init__(self, store: Any, seconds: float = OUTAGE_SECONDS) -> None:
        self._store = store
        self._seconds = seconds

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._store, name)
        if name.startswith("_") or not callable(attribute):
            return attribute
        return self._retrying(attribute)

    def _retrying(self, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            delays = _delays(self._seconds)
            while True:
                try:
                    return method(*args, **kwargs)
                except (sa_exc.OperationalError, sa_exc.InterfaceError) as error:
                    delay = next(delays, None) if is_outage(error) else None
                    if delay is None:
                        raise
                    logger.warning("Report store unreachable in %s; retrying",
                                   getattr(method, "__name__", "?"))
                    time.sleep(delay)

        return call
