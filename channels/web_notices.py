"""Notices for web widget sessions, kept in the report store and shown by the web channel.

The notification worker cannot reach a browser: a session's sockets live in a
Rasa process, and without Redis no other process can even tell whether it is
connected. So a web report's notice waits in the outbox as "queued" (durably,
in the reports database, for as long as it takes), and the web channel shows it:

- at the session's next `session_request` (the widget sends one on every page
  load): the next visit;
- every `poll_seconds`, for the sessions connected to this process: live.

`ReportStore.take_inbox_notices` marks each notice "sent" as it hands it out,
once, whichever process asks first. The database being unreachable never
disturbs a conversation: the notices wait for the next try.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from bot.notify.wording import render_notice
from bot.store import ReportStore

logger = logging.getLogger(__name__)

CHANNEL = "webchat"
#: How often connected sessions are checked for new notices (seconds).
POLL_SECONDS = 5.0


class StoredWebNotices:
    """Takes the queued notices of web sessions (by their room, the sender key) as texts."""

    def __init__(self, store: ReportStore | None = None,
                 poll_seconds: float = POLL_SECONDS) -> None:
        self._store = store
        self.poll_seconds = poll_seconds

    @property
    def store(self) -> ReportStore:
        """The report store (the configured database, created on first use)."""
        if self._store is None:
            self._store = ReportStore()
        return self._store

    async def take(self, rooms: Iterable[str]) -> dict[str, list[str]]:
        """The notices waiting for these sessions' rooms, oldest first; {} on any failure."""
        wanted = sorted(set(rooms))
        if not wanted:
            return {}
        try:
            return await asyncio.to_thread(self._take, wanted)
        except Exception as exc:  # noqa: BLE001 - the notices wait; the chat goes on
            # Type only: a database error's message can quote the (pseudonymous) keys.
            logger.warning("Web notices could not be read (%s); trying again later",
                           type(exc).__name__)
            return {}

    def _take(self, rooms: list[str]) -> dict[str, list[str]]:
        """In a worker thread: the store's query, and the wording file read on first use."""
        found = self.store.take_inbox_notices(rooms, CHANNEL)
        return {room: [render_notice(content) for content in contents]
                for room, contents in found.items()}

    def close(self) -> None:
        """Close the store's connections."""
        if self._store is not None:
            self._store.dispose()
