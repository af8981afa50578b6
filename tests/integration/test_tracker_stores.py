"""The protected tracker stores on SQLite, a real PostgreSQL and a real redis-server:
no contact token at rest, and erasure deletes the conversation (issue 12, "Erasure")."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.privacy import ERASURE_SLOT, encrypt_contact
from bot.settings import PROJECT_ROOT, get_settings
from bot.tracker_stores import (
    RECENT_TURNS,
    ProtectedRedisTrackerStore,
    ProtectedSQLTrackerStore,
    erasure_requested,
    scrub,
    scrubbed_json,
)
from tests.channels.redis_server import running_redis

SENDER = "psn_" + "a" * 24
OTHER = "psn_" + "b" * 24
SECRET_TEXT = "rahasia-pelapor-7f3a: video fitnah di grup RT 05"


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with running_redis() as url:
        yield url


def user(text: str) -> UserUttered:
    return UserUttered(text, {"name": "inform", "confidence": 1.0},
                       metadata={"contact_token": encrypt_contact("6281234567890"),
                                 "attestation": "f" * 64})


def conversation(domain: Domain, sender: str = SENDER) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(sender, [
        ActionExecuted("action_listen"), user(SECRET_TEXT),
        BotUttered("Kode tiket: LP-7K3QX9"), ActionExecuted("action_listen"),
    ], domain.slots)


def erase_turn(tracker: DialogueStateTracker) -> None:
    tracker.update(user("ya"))
    tracker.update(ActionExecuted("action_delete_my_data"))
    tracker.update(BotUttered("Data pribadi Anda sudah kami hapus"))
    tracker.update(SlotSet(ERASURE_SLOT, True))


def make_sql(kind: str, tmp_path: Path, domain: Domain, postgres_url: str | None
             ) -> ProtectedSQLTrackerStore:
    if kind == "sqlite":
        return ProtectedSQLTrackerStore(domain, dialect="sqlite", db=str(tmp_path / "t.db"))
    assert postgres_url is not None
    return ProtectedSQLTrackerStore(domain, host=postgres_url)


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_store(request: pytest.FixtureRequest, tmp_path: Path, domain: Domain
              ) -> ProtectedSQLTrackerStore:
    url = request.getfixturevalue("fresh_postgres_url") if request.param == "postgresql" else None
    return make_sql(request.param, tmp_path, domain, url)


def test_scrub_and_erasure_marker() -> None:
    data = {"metadata": {"contact_token": "x", "attestation": "y"},
            "nested": [{"contact_token": "z"}]}
    assert scrub(data) == {"metadata": {"attestation": "y"}, "nested": [{}]}
    assert data["metadata"]["contact_token"] == "x"  # a copy, not in place
    assert json.loads(scrubbed_json(data)) == scrub(data)
    quoted = {"text": 'ketik "contact_token" ya', "metadata": {"attestation": "y"}}
    assert json.loads(scrubbed_json(quoted)) == quoted  # a value naming it is kept
    # Only the latest turn counts: an old marker does not erase again.
    events = [user("a"), SlotSet(ERASURE_SLOT, True), user("b"), BotUttered("ok")]
    assert not erasure_requested(events)
    assert erasure_requested(events[:2])


async def test_sql_store_keeps_no_contact_token(sql_store: ProtectedSQLTrackerStore,
                                                domain: Domain) -> None:
    tracker = conversation(domain)
    await sql_store.save(tracker)
    with sql_store.engine.connect() as connection:
        stored = [row[0] for row in connection.exec_driver_sql("SELECT data FROM events")]
    assert any(SECRET_TEXT in data for data in stored)
    assert not any("contact_token" in data for data in stored)
    # The tracker in memory still has it, for the action server's turn.
    assert tracker.latest_message.metadata["contact_token"]
    restored = await sql_store.retrieve(SENDER)
    assert restored is not None and restored.latest_message.text == SECRET_TEXT
    assert "contact_token" not in restored.latest_message.metadata


async def test_sql_store_erases_the_conversation(sql_store: ProtectedSQLTrackerStore,
                                                 domain: Domain) -> None:
    tracker, other = conversation(domain), conversation(domain, OTHER)
    await sql_store.save(tracker)
    await sql_store.save(other)
    tracker = await sql_store.retrieve(SENDER)
    erase_turn(tracker)
    await sql_store.save(tracker)
    assert await sql_store.retrieve(SENDER) is None
    assert (await sql_store.retrieve(OTHER)).latest_message.text == SECRET_TEXT
    # Saved again in the same turn (Rasa may): still nothing stored.
    await sql_store.save(tracker)
    assert await sql_store.retrieve(SENDER) is None
    with sql_store.engine.connect() as connection:
        senders = {row[0] for row in connection.exec_driver_sql("SELECT sender_id FROM events")}
    assert senders == {OTHER}


async def test_sqlite_file_holds_no_trace_after_erasure(tmp_path: Path, domain: Domain) -> None:
    store = make_sql("sqlite", tmp_path, domain, None)
    tracker = conversation(domain)
    await store.save(tracker)
    path = tmp_path / "t.db"
    wal = tmp_path / "t.db-wal"
    # Stored: in the file or in its write-ahead log (WAL mode, not yet checkpointed).
    assert SECRET_TEXT.encode() in path.read_bytes() + wal.read_bytes()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(wal.stat().st_mode & 0o777) == "0o600"
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    erase_turn(tracker)
    await store.save(tracker)
    # The log was checkpointed into the file and truncated while the store was open.
    assert not wal.exists() or wal.stat().st_size == 0
    store.engine.dispose()
    # secure_delete overwrites freed pages: the text is gone from the file itself.
    for file in (f for f in tmp_path.rglob("*") if f.is_file()):
        assert SECRET_TEXT.encode() not in file.read_bytes(), file.name
        assert b"LP-7K3QX9" not in file.read_bytes(), file.name


async def test_redis_store_keeps_no_token_and_erases(redis_url: str, domain: Domain) -> None:
    parts = urlsplit(redis_url)
    store = ProtectedRedisTrackerStore(domain, host=parts.hostname, port=parts.port)
    tracker = conversation(domain)
    await store.save(tracker)
    raw = str(store.red.get(store.key_prefix + SENDER))
    assert SECRET_TEXT in raw and "contact_token" not in raw
    assert json.loads(raw)["events"]
    tracker.update(user("lanjut"))
    await store.save(tracker)
    assert "contact_token" not in str(store.red.get(store.key_prefix + SENDER))
    erase_turn(tracker)
    await store.save(tracker)
    assert store.red.get(store.key_prefix + SENDER) is None
    assert await store.retrieve(SENDER) is None


def long_session(domain: Domain, turns: int, middle: type | None = None
                 ) -> DialogueStateTracker:
    """A session of `turns` user messages; slots and a form change along the way, and
    an event of type `middle` sits in the part a partial load skips."""
    events = [ActionExecuted("action_session_start"), SessionStarted(),
              SlotSet("consent_given", True), ActionExecuted("action_listen")]
    for turn in range(turns):
        events += [user(f"pesan {turn}"), ActionExecuted("utter_faq"),
                   BotUttered(f"jawaban {turn}")]
        if turn == 3:
            events += [ActiveLoop("report_form"), SlotSet("category", "hoaks"),
                       SlotSet("requested_slot", "region")]
        if turn == 4:
            events += [SlotSet("region", "Kota Pekalongan"), SlotSet("category", "sara")]
        if turn == 1 and middle:
            events.append(middle())  # made now: a stored session starts at its timestamp
        events.append(ActionExecuted("action_listen"))
    return DialogueStateTracker.from_events(SENDER, events, domain.slots)


async def rasa_retrieve(store: ProtectedSQLTrackerStore) -> DialogueStateTracker:
    """The latest session as Rasa's own SQL store loads it: every event."""
    return await SQLTrackerStore._retrieve(store, SENDER, fetch_events_from_all_sessions=False)


def state(tracker: DialogueStateTracker, domain: Domain) -> tuple:
    """What policies and actions see: slots, the form, the latest turn, recent states."""
    return (tracker.current_slot_values(), tracker.active_loop, tracker.latest_message.text,
            tracker.latest_action_name, tracker.past_states(domain)[-6:])


async def assert_appends_exactly(store: ProtectedSQLTrackerStore, loaded: DialogueStateTracker,
                                 full: DialogueStateTracker, new: list) -> None:
    """A new turn on a loaded tracker, saved twice as Rasa may: the store then holds
    every event of `full` and of the turn, each once."""
    for event in new:
        loaded.update(event)
    await store.save(loaded)
    await store.save(loaded)
    stored = await store.retrieve_full_tracker(SENDER)
    assert [e.as_dict() for e in stored.events] == [scrub(e.as_dict()) for e in
                                                     list(full.events) + new]


async def test_a_long_session_loads_its_recent_part_with_the_same_state(
        sql_store: ProtectedSQLTrackerStore, domain: Domain) -> None:
    full = long_session(domain, RECENT_TURNS + 20)
    await sql_store.save(full)
    loaded = await sql_store.retrieve(SENDER)
    assert loaded is not None
    # Loaded in part: far fewer events, the same state for the policies and actions.
    assert len(loaded.events) < len(full.events) / 2
    stored = await sql_store.retrieve_full_tracker(SENDER)
    assert len(stored.events) == len(full.events)
    assert state(loaded, domain) == state(stored, domain)
    # The recent messages, and the one that started the form (its trigger).
    assert [e.text for e in loaded.events if isinstance(e, UserUttered)] == [
        "pesan 3"] + [f"pesan {turn}" for turn in range(20, RECENT_TURNS + 20)]
    # The form's activation keeps its timestamp (the report's idempotency key uses it).
    [activation] = [e for e in loaded.events if isinstance(e, ActiveLoop)]
    assert activation.timestamp == next(e for e in full.events
                                        if isinstance(e, ActiveLoop)).timestamp

    # A new turn appends exactly the new events: nothing lost, nothing twice.
    new = [user("pesan baru"), ActionExecuted("utter_faq"), BotUttered("jawaban baru"),
           SlotSet("category", "politik_uang"), ActionExecuted("action_listen")]
    await assert_appends_exactly(sql_store, loaded, full, new)
    again = await sql_store.retrieve(SENDER)
    assert again.get_slot("category") == "politik_uang"
    assert again.get_slot("region") == "Kota Pekalongan" and again.active_loop_name == "report_form"


def session_start() -> list:
    """A session's opening as Rasa logs it: the action is logged after its events, so
    it is stamped after the `session_started` it returned."""
    started = SessionStarted()
    return [ActionExecuted("action_session_start"), started, ActionExecuted("action_listen")]


async def test_the_latest_session_loads_and_saves_as_in_rasas_own_store(
        sql_store: ProtectedSQLTrackerStore, domain: Domain) -> None:
    """A tracker Rasa builds new (not loaded), saved after each turn, then a second
    session: the store's own statements count, append and select what Rasa's would."""
    first = DialogueStateTracker.from_events(SENDER, session_start(), domain.slots)
    await sql_store.save(first)
    for event in [user("sesi pertama"), BotUttered("jawaban"), ActionExecuted("action_listen")]:
        first.update(event)
    await sql_store.save(first)  # appends after the 3 events this session has stored
    await sql_store.save(first)  # nothing new: nothing stored twice
    loaded = await sql_store.retrieve(SENDER)
    time.sleep(0.01)  # sessions are told apart by timestamp, as in Rasa
    second = [*session_start(), user("sesi kedua"), BotUttered("jawaban kedua"),
              ActionExecuted("action_listen")]
    for event in second:
        loaded.update(event)
    await sql_store.save(loaded)
    again = await sql_store.retrieve(SENDER)
    assert [e.as_dict() for e in again.events] == [
        e.as_dict() for e in (await rasa_retrieve(sql_store)).events]
    assert [e.text for e in again.events if isinstance(e, UserUttered)] == ["sesi kedua"]
    stored = await sql_store.retrieve_full_tracker(SENDER)
    assert [e.as_dict() for e in stored.events] == [
        scrub(e.as_dict()) for e in list(first.events) + second]
    assert await sql_store.retrieve(OTHER) is None


@pytest.mark.parametrize("kind", [Restarted, UserUtteranceReverted])
async def test_a_session_with_a_restart_or_rewind_is_loaded_in_full(
        tmp_path: Path, domain: Domain, kind: type) -> None:
    store = make_sql("sqlite", tmp_path, domain, None)
    await store.save(long_session(domain, RECENT_TURNS + 5, kind))
    loaded = await store.retrieve(SENDER)
    assert [e.as_dict() for e in loaded.events] == [e.as_dict() for e in
                                                    (await rasa_retrieve(store)).events]


async def test_a_short_session_is_loaded_in_full(tmp_path: Path, domain: Domain) -> None:
    store = make_sql("sqlite", tmp_path, domain, None)
    full = long_session(domain, RECENT_TURNS)
    await store.save(full)
    loaded = await store.retrieve(SENDER)
    assert [e.as_dict() for e in loaded.events] == [e.as_dict() for e in
                                                    (await rasa_retrieve(store)).events]
    # A new turn appends exactly the new events (without counting the stored ones).
    new = [user("pesan baru"), ActionExecuted("utter_faq"), ActionExecuted("action_listen")]
    await assert_appends_exactly(store, loaded, full, new)


async def test_idle_conversations_are_deleted_after_the_retention_period(
        sql_store: ProtectedSQLTrackerStore, domain: Domain,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_RETENTION_DAYS", "30")
    get_settings.cache_clear()
    month_ago = time.time() - 31 * 86400
    stale = DialogueStateTracker.from_events(OTHER, [
        ActionExecuted("action_listen", timestamp=month_ago),
        UserUttered(SECRET_TEXT, {"name": "inform"}, timestamp=month_ago),
        ActionExecuted("action_listen", timestamp=month_ago + 60)], domain.slots)
    # The first save of a server runs the retention: the idle conversation is gone.
    await sql_store.save(stale)
    assert await sql_store.retrieve_full_tracker(OTHER) is None
    # A conversation active today keeps every event.
    await sql_store.save(conversation(domain))
    assert sql_store.delete_idle(time.time() - 30 * 86400) == 0
    assert (await sql_store.retrieve(SENDER)).latest_message.text == SECRET_TEXT
    # Anything idle longer than the cut-off goes, whatever it holds.
    assert sql_store.delete_idle(time.time() + 1) == 4
    get_settings.cache_clear()


async def test_retention_zero_keeps_everything(tmp_path: Path, domain: Domain,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_RETENTION_DAYS", "0")
    get_settings.cache_clear()
    store = make_sql("sqlite", tmp_path, domain, None)
    old = time.time() - 400 * 86400
    await store.save(DialogueStateTracker.from_events(OTHER, [
        ActionExecuted("action_listen", timestamp=old),
        UserUttered("lama", {"name": "inform"}, timestamp=old)], domain.slots))
    await store.save(conversation(domain))
    assert await store.retrieve(OTHER) is not None
    get_settings.cache_clear()
