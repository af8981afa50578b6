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
- **Retention.** Conversations idle for `TRACKER_RETENTION_DAYS` (default 30;
  0 keeps them) are deleted, checked at most hourly by each server as it saves
  (in a worker thread). Reports and their status stay in the reports database;
  a conversation is only needed while it goes on.
- **SQLite** files are created 0600 and written with `secure_delete`, so deleted
  rows are overwritten, not left in free pages of the file. They run in WAL mode
  with `synchronous=NORMAL`: a commit does not wait for the disk (Rasa saves on
  its event loop, so an fsync per message held up every conversation: about 10 ms
  a message in `make bench-load`'s profile). A crash of the process loses
  nothing; a power cut may lose the last turns of conversations, never a report
  (reports live in the reports database, `synchronous=FULL`). After an erasure or
  a retention run the write-ahead log is checkpointed and truncated, so no
  erased text stays in it.
- **Constant cost per message** (SQL store). Rasa loads a conversation's whole
  session and replays it for every message, sends all of it to the action server
  and featurises all of it in the policies, so message #200 costs 3.6 times
  message #2. A session longer than `RECENT_TURNS` user messages is loaded as its
  opening events, the state the recent part starts from (the latest value of
  every slot, the latest form activation) and its last `RECENT_TURNS` user
  messages; every event is still stored, and only the new ones are appended.
  Policies look back at most 5 turns (config.yml), so they predict the same.

This is a Rasa component module (it imports the Rasa server), loaded only by
`rasa run`; nothing else in bot/ imports it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import time
from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import RedisTrackerStore, SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.events import Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import event as sa_event
from sqlalchemy import exc as sa_exc

from bot.channel_metadata import TRANSIENT_KEYS
from bot.outage import ride_out
from bot.privacy import ERASURE_SLOT
from bot.settings import get_settings
from bot.store.db import switch_to_wal

logger = logging.getLogger(__name__)

#: User messages of a session loaded in full; the policies' longest memory is 5 turns.
RECENT_TURNS = 10
#: Events between a session's opening and its recent part whose latest instance carries
#: state forward (slot values; the form in progress and how it was interrupted).
STATE_EVENTS = frozenset({"slot", "active_loop", "loop_interrupted", "action_execution_rejected"})
#: Events that may sit in the skipped part without changing the state it hands on.
#: Anything else there (a restart, a rewind, a reminder...) means a full load.
SKIPPABLE_EVENTS = STATE_EVENTS | {"user", "bot", "action", "user_featurization", "entities"}
#: Attribute on a tracker loaded in part: how many of its events are already stored.
LOADED_EVENTS = "_lapor_loaded_events"

#: Seconds between two retention runs of one server.
RETENTION_INTERVAL = 3600.0

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


def scrubbed_json(value: Any) -> str:
    """`value` (JSON data) as stored: JSON text without any transient metadata key.

    Most events carry none, so the scrubbing copy is only made when the text names
    one (a key is always written as `"name"`; the names are ASCII)."""
    text = json.dumps(value)
    if any(f'"{key}"' in text for key in TRANSIENT_METADATA_KEYS):
        text = json.dumps(scrub(value))
    return text


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
        self._next_retention = 0.0  # time.monotonic() of the next retention run
        database = self.engine.url.database
        if self.engine.dialect.name != "sqlite":
            # Connections of a restarted server are dead: test each before use.
            self._rebuild_engine(pool_pre_ping=True,
                                 **create_engine_kwargs(str(self.engine.url)))
        elif database and database != ":memory:":
            # A SQLite file: keep connections open (SQLAlchemy 1.4 opens one per session
            # by default), so the write-ahead log stays in use between messages.
            self._rebuild_engine(poolclass=sa.pool.QueuePool, pool_size=2, max_overflow=4,
                                 connect_args={"check_same_thread": False})
        if self.engine.dialect.name == "sqlite":
            sa_event.listen(self.engine, "connect", _sqlite_on_connect)
            self.engine.dispose()  # connections opened before the listener are dropped
            if database and database != ":memory:" and os.path.exists(database):
                os.chmod(database, 0o600)
        self._statements = SessionStatements(self.SQLEvent.__table__)

    def _rebuild_engine(self, **kwargs: Any) -> None:
        """Replace Rasa's engine (same URL) by one created with `kwargs`."""
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, **kwargs)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool
                        ) -> DialogueStateTracker | None:
        if fetch_events_from_all_sessions:
            return await ride_out("Tracker store read", lambda: super(
                ProtectedSQLTrackerStore, self)._retrieve(sender_id, True), _database_down)
        return await ride_out("Tracker store read", lambda: self._retrieve_recent(sender_id),
                              _database_down)

    async def _retrieve_recent(self, sender_id: str) -> DialogueStateTracker | None:
        """The latest session, its middle reduced to the state it hands on (see module).

        One query reads the session's events; a short session becomes the tracker as
        Rasa's own `_retrieve` builds it, a long one only its opening, the state events
        of its middle and its recent part are decoded."""
        with self.engine.connect() as connection:
            rows = connection.execute(self._statements.rows, {"sender_id": sender_id}).all()
        if not self.domain or not rows:
            return None
        part = recent_part(rows)
        if part is None:
            selected = rows
            events = [json.loads(row.data) for row in rows]
        else:
            opening, state, start = part
            kept = set(opening + state)
            selected = [row for row in rows if row.id in kept or row.id >= start]
            events = [json.loads(row.data) for row in selected]
            ids = [row.id for row in selected]
            head = sum(1 for i in ids if i <= opening[-1])
            middle = sum(1 for i in ids if opening[-1] < i < start)
            events = (events[:head] + state_handed_on(events[head:head + middle])
                      + events[head + middle:])
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        # Saving then appends after what was loaded, without counting the stored events.
        setattr(tracker, LOADED_EVENTS, (len(tracker.events), len(rows)))
        return tracker

    def _additional_events(self, connection: Any, tracker: DialogueStateTracker) -> Iterator:
        """The events not stored yet: those after the ones loaded, or after as many as
        the latest session has stored."""
        loaded = getattr(tracker, LOADED_EVENTS, None)
        if loaded is None:  # a new conversation, or one Rasa loaded in full
            stored = connection.execute(self._statements.count,
                                     {"sender_id": tracker.sender_id}).scalar_one()
            return itertools.islice(tracker.events, stored, len(tracker.events))
        return itertools.islice(tracker.events, loaded[0], len(tracker.events))

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the new events, scrubbed; or erase the conversation when asked to."""
        await ride_out("Tracker store write", lambda: self._save(tracker), _database_down)

    async def _save(self, tracker: DialogueStateTracker) -> None:
        if erasure_requested(tracker.events):
            await self.erase(tracker.sender_id)
            return
        await self.stream_events(tracker)
        with self.engine.begin() as connection:
            new_events = list(self._additional_events(connection, tracker))
            rows = []
            for event in new_events:
                data = event.as_dict()
                rows.append({
                    "sender_id": tracker.sender_id,
                    "type_name": event.type_name,
                    "timestamp": data.get("timestamp"),
                    "intent_name": data.get("parse_data", {}).get("intent", {}).get("name"),
                    "action_name": data.get("name"),
                    "data": scrubbed_json(data),
                })
            if rows:
                connection.execute(self._statements.insert, rows)
        loaded = getattr(tracker, LOADED_EVENTS, None)
        if loaded is not None:  # saved twice: the second time only what came since
            setattr(tracker, LOADED_EVENTS, (len(tracker.events), loaded[1] + len(new_events)))
        await self._apply_retention()

    async def _apply_retention(self) -> None:
        """Delete conversations idle past the retention period, at most once an hour."""
        days = get_settings().tracker_retention_days
        if days <= 0 or time.monotonic() < self._next_retention:
            return
        self._next_retention = time.monotonic() + RETENTION_INTERVAL
        try:
            await asyncio.to_thread(self.delete_idle, time.time() - days * 86400.0)
        except Exception:  # noqa: BLE001 - retried at the next run; never fails a message
            logger.exception("Tracker retention failed")

    def delete_idle(self, cutoff: float) -> int:
        """Delete every event of the conversations whose latest event is older than
        `cutoff` (a Unix time); return how many events went."""
        with self.session_scope() as session:
            idle = (session.query(self.SQLEvent.sender_id)
                    .group_by(self.SQLEvent.sender_id)
                    .having(sa.func.max(self.SQLEvent.timestamp) < cutoff))
            deleted = (session.query(self.SQLEvent)
                       .filter(self.SQLEvent.sender_id.in_(idle.scalar_subquery()))
                       .delete(synchronize_session=False))
            session.commit()
        if deleted:
            self._truncate_log()
            logger.info("Tracker retention: deleted %d events of idle conversations", deleted)
        return int(deleted)

    def _truncate_log(self) -> None:
        """SQLite: move the write-ahead log into the file (whose freed pages
        secure_delete has zeroed) and truncate it, so deleted events leave no copy."""
        if self.engine.dialect.name != "sqlite":
            return
        with self.engine.connect() as connection:
            busy = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy and busy[0]:
            logger.warning("Tracker store: the write-ahead log could not be truncated yet "
                           "(a reader held it); SQLite overwrites it as it is reused")

    async def erase(self, sender_id: str) -> int:
        """Delete every stored event of the conversation; return how many."""
        with self.session_scope() as session:
            deleted = (session.query(self.SQLEvent)
                       .filter(self.SQLEvent.sender_id == sender_id)
                       .delete(synchronize_session=False))
            session.commit()
        await asyncio.to_thread(self._truncate_log)
        logger.info("Conversation erased from the tracker store (%d events)", deleted)
        return int(deleted)


class SessionStatements:
    """The SQL of the per-message path, built once: SQLAlchemy Core statements run on a
    connection, not ORM queries (whose building and unit of work cost about a third
    of the event loop's time per message in `make bench-load`'s profile).

    A session is what Rasa's `_event_query` selects: the sender's events from the
    latest `session_started` on (by timestamp), or all of them when there is none."""

    def __init__(self, table: sa.Table) -> None:
        sender = sa.bindparam("sender_id")
        started = (sa.select(sa.func.max(table.c.timestamp))
                   .where(table.c.sender_id == sender,
                          table.c.type_name == SessionStarted.type_name)
                   .scalar_subquery())
        in_session = sa.and_(table.c.sender_id == sender,
                             sa.or_(table.c.timestamp >= started, started.is_(None)))
        #: (id, type_name, action_name, data) of the latest session's events, in order.
        self.rows = (sa.select(table.c.id, table.c.type_name, table.c.action_name,
                               table.c.data).where(in_session).order_by(table.c.id))
        #: How many events the latest session has stored.
        self.count = sa.select(sa.func.count()).select_from(table).where(in_session)
        self.insert = table.insert()


def recent_part(rows: list[Any]) -> tuple[list[int], list[int], int] | None:
    """Which stored events of a session to load: (ids of the opening, ids of the state
    events in the middle, the id the recent part starts at); None to load it all.

    `rows` are (id, type_name, action_name) of the session's events in order. The
    opening runs up to the first `action_listen`; the recent part starts at the
    `RECENT_TURNS`-th user message from the end (right after an `action_listen`,
    as the opening ends).
    """
    users = [index for index, row in enumerate(rows) if row[1] == "user"]
    if len(users) <= RECENT_TURNS:
        return None
    opening_end = next((index for index, row in enumerate(rows)
                        if row[1] == "action" and row[2] == "action_listen"), None)
    start = users[-RECENT_TURNS]
    if opening_end is None or opening_end >= start - 1:
        return None
    middle = rows[opening_end + 1:start]
    if any(row[1] not in SKIPPABLE_EVENTS for row in middle):
        return None
    state = [row[0] for row in middle if row[1] in STATE_EVENTS]
    # The message that started the latest form is its trigger (form slot mappings use it).
    loops = [index for index, row in enumerate(middle) if row[1] == "active_loop"]
    if loops:
        trigger = [row[0] for row in middle[:loops[-1]] if row[1] == "user"]
        state = sorted(state + trigger[-1:])
    return [row[0] for row in rows[:opening_end + 1]], state, rows[start][0]


def state_handed_on(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Of the middle's state events (in order), those the recent part depends on: the
    latest event of each slot, and the latest form activation with its trigger message
    and what followed it."""
    latest_slot: dict[str, int] = {}
    last_loop = None
    for index, event in enumerate(events):
        if event.get("event") == "slot":
            latest_slot[str(event.get("name"))] = index
        elif event.get("event") == "active_loop":
            last_loop = index
    keep = set(latest_slot.values())
    keep |= {index for index, event in enumerate(events) if event.get("event") == "user"}
    if last_loop is not None:
        keep |= {index for index in range(last_loop, len(events))
                 if events[index].get("event") != "slot"}
    return [event for index, event in enumerate(events) if index in keep]


def _sqlite_on_connect(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    try:
        cursor.execute("PRAGMA secure_delete = ON")
        mode = switch_to_wal(cursor)
        if mode.lower() not in ("wal", "memory"):
            logger.warning("Tracker store: SQLite could not switch to WAL mode (%s)", mode)
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
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
        return scrubbed_json(tracker.as_dialogue().as_dict())

    async def erase(self, sender_id: str) -> int:
        """Delete the stored conversation; return how many keys were removed."""
        deleted = int(self.red.delete(self.key_prefix + sender_id))
        logger.info("Conversation erased from the tracker store")
        return deleted
