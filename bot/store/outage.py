"""Ride out a short database outage (a PostgreSQL restart) instead of failing a turn.

`OutageTolerant(store)` wraps a `ReportStore`: a public method that fails because
the server is unreachable or cut the connection is called again, with back-off,
for up to `OUTAGE_SECONDS`. Only connection failures are retried, never a
constraint or a query error. Every store method is safe to call again: filing is
idempotent by its key, consent and erasure are idempotent, reads have no effect.
Methods run in worker threads (`asyncio.to_thread`), so the waiting blocks no
event loop.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import exc as sa_exc

logger = logging.getLogger(__name__)

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
            deadline = time.monotonic() + self._seconds
            delay = 0.2
            while True:
                try:
                    return method(*args, **kwargs)
                except (sa_exc.OperationalError, sa_exc.InterfaceError) as error:
                    if not is_outage(error) or time.monotonic() >= deadline:
                        raise
                    logger.warning("Report store unreachable in %s; retrying",
                                   getattr(method, "__name__", "?"))
                    time.sleep(delay)
                    delay = min(delay * 2, 2.0)

        return call
