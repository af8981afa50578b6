"""Rasa tracker stores that keep no contact token at rest and honour erasure.

Configured in endpoints.yml (`type: bot.tracker_stores.ProtectedSQLTrackerStore`
or `bot.tracker_stores.ProtectedRedisTrackerStore`), they behave as Rasa's SQL
(SQLite, PostgreSQL) and Redis stores with three differences:

- **No contact at rest.** Connectors send the encrypted contact with every
  message (`metadata["contact_token"]`, see `bot.channel_metadata`), so the
  action server has it while it handles that message. It is removed from
  every event before the event is stored: no tracker, backup or replica of one
  holds it.
- **Erasure.** When the action server erases a reporter ("hapus data saya"), it
  sets the slot `ERASURE_SLOT`. Saving a tracker whose latest turn set it
  deletes every stored event of that conversation, message texts and replies
  with ticket codes included, instead of storing the turn.
- **SQLite** files are created 0600 and written with `secure_delete`, so deleted
  rows are overwritten, not left in free pages of the file.

This is a Rasa component module (it imports the Rasa server), loaded only by
`rasa run`; nothing else in bot/ imports it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import RedisTrackerStore, SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.events import Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import event as sa_event
from sqlalchemy import exc as sa_exc

from bot.channel_metadata import TRANSIENT_KEYS
from bot.outage import ride_out
from bot.privacy import ERASURE_SLOT

logger = logging.getLogger(__name__)

#: Metadata keys never stored (they exist only while a message is handled);
#: the channel metadata contract (`bot.channel_metadata`) names them.
TRANSIENT_METADATA_KEYS = TRANSIENT_KEYS


def scrub(value: Any) -> Any:
    """A copy of `value` (JSON data) without any transient metadata key, at any depth."""
    if isinstance(value, dict):
        return {key: scrub(item) for key, item in value.items()
                if key not in TRANSIENT_METADATA_KEYS}
    if isinstance(value, list):
        return [scrub(item) for item in value]
    return value


def erasure_requested(events: Iterable[Event]) -> bool:
    """True when the latest turn (events after the last user message) set ERASURE_SLOT."""
    for event in reversed(list(events)):
        if isinstance(event, SlotSet) and event.key == ERASURE_SLOT and event.value:
            return True
        if isinstance(event, UserUttered):
            return False
    return False


def _database_down(error: Exception) -> bool:
    return isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError))


class ProtectedSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store without contact tokens at rest, with erasure, riding
    out a database restart."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name != "sqlite":
            # Connections of a restarted server are dead: test each before use.
            url = self.engine.url
            self.engine.dispose()
            self.engine = sa.create_engine(url, pool_pre_ping=True,
                                           **create_engine_kwargs(str(url)))
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        if self.engine.dialect.name == "sqlite":
            sa_event.listen(self.engine, "connect", _sqlite_secure_delete)
            self.engine.dispose()  # connections opened before the listener are dropped
            database = self.engine.url.database
            if database and database != ":memory:" and os.path.exists(database):
                os.chmod(database, 0o600)

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool
                        ) -> DialogueStateTracker | None:
        return await ride_out("Tracker store read", lambda: super(
            ProtectedSQLTrackerStore, self)._retrieve(sender_id, fetch_events_from_all_sessions),
            _database_down)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the new events, scrubbed; or erase the conversation when asked to."""
        await ride_out("Tracker store write", lambda: self._save(tracker), _database_down)

    async def _save(self, tracker: DialogueStateTracker) -> None:
        if erasure_requested(tracker.events):
            await self.erase(tracker.sender_id)
            return
        await self.stream_events(tracker)
        with self.session_scope() as session:
            for event in self._additional_events(session, tracker):
                data = scrub(event.as_dict())
                session.add(self.SQLEvent(
                    sender_id=tracker.sender_id,
                    type_name=event.type_name,
                    timestamp=data.get("timestamp"),
                    intent_name=data.get("parse_data", {}).get("intent", {}).get("name"),
                    action_name=data.get("name"),
                    data=json.dumps(data),
                ))
            session.commit()

    async def erase(self, sender_id: str) -> int:
        """Delete every stored event of the conversation; return how many."""
        with self.session_scope() as session:
            deleted = (session.query(self.SQLEvent)
                       .filter(self.SQLEvent.sender_id == sender_id)
                       .delete(synchronize_session=False))
            session.commit()
        logger.info("Conversation erased from the tracker store (%d events)", deleted)
        return int(deleted)


def _sqlite_secure_delete(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA secure_delete = ON")
    cursor.close()


class ProtectedRedisTrackerStore(RedisTrackerStore):
    """Rasa's Redis tracker store without contact tokens at rest, with erasure."""

    async def save(self, tracker: DialogueStateTracker,
                   timeout: float | None = None) -> None:
        """Store the tracker, scrubbed; or erase the conversation when asked to."""
        if erasure_requested(tracker.events):
            await self.erase(tracker.sender_id)
            return
        await super().save(tracker, timeout)

    @staticmethod
    def serialise_tracker(tracker: DialogueStateTracker) -> str:
        """The stored form: Rasa's, without transient metadata."""
        return json.dumps(scrub(tracker.as_dialogue().as_dict()))

    async def erase(self, sender_id: str) -> int:
        """Delete the stored conversation; return how many keys were removed."""
        deleted = int(self.red.delete(self.key_prefix + sender_id))
        logger.info("Conversation erased from the tracker store")
        return deleted
