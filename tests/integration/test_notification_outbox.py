"""The notification outbox in the report store, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.store import ReportStore
from bot.store.models import Base, StatusChange
from bot.store.types import INBOX_CHANNELS, NOTIFIABLE_CHANNELS, NotificationState
from tests.integration.notify_support import (
    CHAT_ID,
    PHONE,
    Clock,
    file_report,
    notices,
    reporter,
    rows,
    scalar,
)

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'reports.db'}"
    return str(request.getfixturevalue("fresh_postgres_url"))


@pytest.fixture
def store(database_url: str) -> Iterator[ReportStore]:
    instance = ReportStore(database_url)
    yield instance
    instance.dispose()


class FailingAfterEnqueue(ReportStore):
    """A store whose status change fails after its notice was added (in the transaction)."""

    def _enqueue_notification(self, session, report, change):  # type: ignore[no-untyped-def]
        super()._enqueue_notification(session, report, change)
        session.flush()  # the notice row is written to the database...
        raise RuntimeError("the transaction fails after the notice was written")


def test_the_status_change_and_its_notice_commit_together(store: ReportStore) -> None:
    key = reporter(store, "whatsapp", PHONE)
    code = file_report(store, key, "whatsapp")
    store.update_status(code, "diproses", "petugas-1", note="sedang dikaji")
    change_id = scalar(store, "SELECT max(id) FROM status_changes")
    assert rows(store, "SELECT status_change_id, channel, state, attempts, last_error,"
                       " sent_at FROM notifications") == [
        (change_id, "whatsapp", "pending", 0, None, None)]
    # The filing itself is not announced: the reporter got the ticket in the conversation.
    assert scalar(store, "SELECT count(*) FROM status_changes") == 2
    [state] = store.notification_states([code])[code]
    assert (state.ticket_code, state.new_status, state.state, state.attempts) == (
        code, "diproses", "pending", 0)
    assert state.created_at.tzinfo is not None and state.sent_at is None


def test_a_failing_status_change_leaves_neither_change_nor_notice(database_url: str) -> None:
    failing = FailingAfterEnqueue(database_url)
    try:
        key = reporter(failing, "telegram", CHAT_ID)
        code = file_report(failing, key, "telegram")
        with pytest.raises(RuntimeError):
            failing.update_status(code, "diproses", "petugas")
        assert scalar(failing, "SELECT count(*) FROM notifications") == 0
        assert scalar(failing, "SELECT count(*) FROM status_changes") == 1  # the filing
        assert scalar(failing, "SELECT status FROM reports") == "baru"
    finally:
        failing.dispose()


def test_an_invalid_transition_queues_nothing(store: ReportStore) -> None:
    key = reporter(store, "telegram", CHAT_ID)
    code = file_report(store, key, "telegram")
    store.update_status(code, "ditolak", "petugas", note="bukan konten pemilu")
    with pytest.raises(ValueError):
        store.update_status(code, "selesai", "petugas")
    assert [n[1] for n in notices(store)] == ["pending"]


def test_a_notice_is_impossible_at_once_when_nobody_can_be_told(store: ReportStore) -> None:
    anonymous = file_report(store, None, "whatsapp")
    never_consented = file_report(store, reporter(store, "telegram", CHAT_ID, consent=False),
                                  "telegram")
    over_rest = file_report(store, reporter(store, "rest", "demo-sender"), "rest")
    without_contact = file_report(store, reporter(store, "whatsapp", None), "whatsapp")
    erased_key = reporter(store, "whatsapp", PHONE)
    erased = file_report(store, erased_key, "whatsapp")
    store.erase_reporter(erased_key)
    web = file_report(store, reporter(store, "webchat", "session-0123456789abcdef"), "webchat")
    for code in (anonymous, never_consented, over_rest, without_contact, erased, web):
        store.update_status(code, "diproses", "petugas")
    assert notices(store) == [
        ("whatsapp", "impossible", 0, "contact erased"),
        ("telegram", "impossible", 0, "no consent"),
        ("rest", "impossible", 0, "channel cannot be reached"),
        ("whatsapp", "impossible", 0, "no contact"),
        ("whatsapp", "impossible", 0, "contact erased"),
        # The web widget reaches the session itself: queued for the channel to show.
        ("webchat", "queued", 0, None),
    ]
    # Nothing impossible or queued is due for a worker.
    assert store.claim_notifications() == []


def test_erasure_makes_undelivered_notices_impossible_and_leaves_no_contact(
        store: ReportStore) -> None:
    key = reporter(store, "whatsapp", PHONE)
    token = scalar(store, "SELECT contact_encrypted FROM reporters")
    codes = [file_report(store, key, "whatsapp") for _ in range(3)]
    web_key = reporter(store, "webchat", "session-0123456789abcdef")
    web_code = file_report(store, web_key, "webchat")
    other_key = reporter(store, "telegram", CHAT_ID)
    other = file_report(store, other_key, "telegram")
    for code in (*codes, web_code, other):
        store.update_status(code, "diproses", "petugas")
    [sent] = [c for c in store.claim_notifications(limit=1)]
    assert sent.content.ticket_code == codes[0]
    assert store.finish_notification(sent, "sent")
    leased = store.claim_notifications(limit=1)  # a worker is about to send codes[1]

    store.erase_reporter(key)
    store.erase_reporter(web_key)

    states = {code: [s.state for s in found]
              for code, found in store.notification_states([*codes, web_code, other]).items()}
    assert states == {codes[0]: ["sent"], codes[1]: ["impossible"], codes[2]: ["impossible"],
                      web_code: ["impossible"], other: ["pending"]}
    # The worker holding codes[1] learns it may not send it, and cannot record anything.
    recipient = store.notice_recipient(leased[0])
    assert not recipient.claimed and recipient.decrypt_contact() is None
    assert not store.finish_notification(leased[0], "sent")
    # No table keeps the contact, in clear or encrypted, nor the pseudonym.
    dump = []
    with store.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            dump += [repr(tuple(row)) for row in connection.execute(table.select())]
    everything = "\n".join(dump)
    for secret in (PHONE, token, key, web_key):
        assert secret not in everything


def test_a_lease_keeps_a_notice_with_one_worker_until_it_expires(store: ReportStore) -> None:
    code = file_report(store, reporter(store, "telegram", CHAT_ID), "telegram")
    store.update_status(code, "diproses", "petugas", note="dicek")
    clock = Clock()  # after the change: its notice is due now
    [first] = store.claim_notifications(lease_seconds=60, now=clock())
    assert (first.channel, first.attempts) == ("telegram", 0)
    assert (first.content.ticket_code, first.content.new_status, first.content.note) == (
        code, "diproses", "dicek")
    assert store.claim_notifications(now=clock()) == []  # held
    recipient = store.notice_recipient(first, now=clock())
    assert recipient.claimed and recipient.refusal is None
    assert recipient.decrypt_contact() == str(CHAT_ID)
    assert str(CHAT_ID) not in repr(recipient) and "gAAAA" not in repr(recipient)

    clock.advance(61)  # the first worker died: its lease runs out
    [second] = store.claim_notifications(lease_seconds=60, now=clock())
    assert second.id == first.id and second.claim != first.claim
    assert not store.notice_recipient(first, now=clock()).claimed
    assert not store.finish_notification(first, "sent", now=clock())  # not its lease any more
    assert store.finish_notification(second, "sent", now=clock())
    [state] = store.notification_states([code])[code]
    assert (state.state, state.attempts, state.sent_at) == ("sent", 1, clock())


def test_a_failed_attempt_waits_for_its_retry_time(store: ReportStore) -> None:
    code = file_report(store, reporter(store, "telegram", CHAT_ID), "telegram")
    store.update_status(code, "diproses", "petugas")
    clock = Clock()  # after the change: its notice is due now
    [notice] = store.claim_notifications(now=clock())
    retry_at = clock.now + timedelta(seconds=30)
    assert store.finish_notification(notice, "pending", error="send failed", retry_at=retry_at,
                                     now=clock())
    assert store.claim_notifications(now=clock()) == []
    clock.advance(30)
    [again] = store.claim_notifications(now=clock())
    assert again.attempts == 1
    # A worker that stops gives it back untried: no attempt counted, the error kept.
    assert store.finish_notification(again, "pending", retry_at=clock(), attempted=False,
                                     now=clock())
    assert notices(store) == [("telegram", "pending", 1, "send failed")]
    with pytest.raises(ValueError):
        store.finish_notification(again, "pending", now=clock())  # no retry time
    with pytest.raises(ValueError):
        store.finish_notification(again, "delivered", now=clock())


def test_notification_states_per_ticket(store: ReportStore) -> None:
    key = reporter(store, "telegram", CHAT_ID)
    first, second = file_report(store, key, "telegram"), file_report(store, key, "telegram")
    store.update_status(first, "diproses", "petugas")
    store.update_status(first, "selesai", "petugas")
    found = store.notification_states([first.lower(), second, "bukan kode", "LP-ZZZZZZ"])
    assert set(found) == {first, second, "LP-ZZZZZZ"}
    assert [(s.new_status, s.state) for s in found[first]] == [
        ("diproses", "pending"), ("selesai", "pending")]
    assert found[second] == [] and found["LP-ZZZZZZ"] == []
    assert all(isinstance(s, NotificationState) for s in found[first])
    assert store.notification_states([]) == {}


def test_destination_and_outcome_are_read_when_the_schema_has_them(store: ReportStore) -> None:
    code = file_report(store, reporter(store, "telegram", CHAT_ID), "telegram")
    store.update_status(code, "diteruskan", "petugas")
    [notice] = store.claim_notifications()
    has_columns = hasattr(StatusChange, "destination") and hasattr(StatusChange, "outcome")
    if not has_columns:  # before the console's migration: always None
        assert (notice.content.destination, notice.content.outcome) == (None, None)
        return
    with store.engine.begin() as connection:  # after it: what the reviewer recorded
        connection.execute(text("UPDATE status_changes SET destination = 'tiktok',"
                                " outcome = 'konten_diturunkan'"))
    now = datetime.now(timezone.utc)
    store.finish_notification(notice, "pending", retry_at=now, attempted=False, now=now)
    [again] = store.claim_notifications()
    assert (again.content.destination, again.content.outcome) == ("tiktok", "konten_diturunkan")


def test_web_notices_are_taken_once(store: ReportStore) -> None:
    key = reporter(store, "webchat", "session-0123456789abcdef")
    code = file_report(store, key, "webchat")
    store.update_status(code, "diproses", "petugas", note="terima kasih")
    assert store.take_inbox_notices([]) == {}
    assert store.take_inbox_notices(["psn_someoneelse"]) == {}
    found = store.take_inbox_notices([key])
    assert list(found) == [key]
    [content] = found[key]
    assert (content.ticket_code, content.new_status, content.note) == (
        code, "diproses", "terima kasih")
    assert store.take_inbox_notices([key]) == {}
    assert notices(store) == [("webchat", "sent", 1, None)]


def test_two_stores_claiming_at_once_never_share_a_notice(store: ReportStore,
                                                          database_url: str) -> None:
    """Like two worker replicas: separate engines, claims racing in threads."""
    key = reporter(store, "telegram", CHAT_ID)
    for _ in range(24):
        store.update_status(file_report(store, key, "telegram"), "diproses", "petugas")
    replicas = [ReportStore(database_url) for _ in range(4)]
    barrier = threading.Barrier(len(replicas))
    claimed: list[list[int]] = [[] for _ in replicas]

    def work(index: int) -> None:
        barrier.wait()
        while True:
            batch = replicas[index].claim_notifications(limit=3)
            if not batch:
                return
            claimed[index] += [n.id for n in batch]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(replicas))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        for replica in replicas:
            replica.dispose()
    every = [notice_id for ids in claimed for notice_id in ids]
    assert sorted(every) == sorted(set(every)) and len(every) == 24


def test_the_channel_sets_agree() -> None:
    assert INBOX_CHANNELS <= NOTIFIABLE_CHANNELS
    assert "rest" not in NOTIFIABLE_CHANNELS
