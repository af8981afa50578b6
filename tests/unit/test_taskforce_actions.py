"""Joining and leaving the volunteer taskforce in chat, with real trackers, the real
SQLite store, codes issued through the console's own service, and the in-memory
ephemeral store's rate buckets."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.conversation import ActionCancel
from actions.services import get_store
from actions.status import ActionCheckStatus, ActionNluFallback
from actions.taskforce import CODE_TRIES_PER_HOUR, ActionJoinTaskforce, ActionLeaveTaskforce
from bot.ephemeral import ephemeral_store
from bot.privacy import attest_sender, sender_key
from bot.settings import get_settings
from bot.store import NewReport, NewReportLink
from bot.store.models import Report, VolunteerMembership
from console import taskforce
from console.scope import Reviewer
from console.store import ConsoleStore
from tests.responses import render

KORA = Reviewer(id=1, name="kora", role="koordinator")


@pytest.fixture
def console_store() -> Iterator[ConsoleStore]:
    store = ConsoleStore(get_settings().database_url)
    yield store
    store.dispose()


@pytest.fixture(autouse=True)
def _fresh_buckets() -> Iterator[None]:
    ephemeral_store.cache_clear()
    yield
    ephemeral_store.cache_clear()


def issue(store: ConsoleStore, region: str = "33.74", name: str = "Relawan Kampus Semarang"
          ) -> taskforce.VolunteerCodeInfo:
    return taskforce.issue_codes(store, KORA, region, name, 1)[0]


def new_sender(channel: str = "whatsapp") -> str:
    return sender_key(channel, "+62812" + uuid.uuid4().hex[:7])


def tracker(text: str, sender: str, channel: str = "whatsapp", verified: bool = True,
            intent: str = "join_taskforce", active_loop: str | None = None) -> Tracker:
    """A tracker whose latest message came through `channel` (attested when verified)."""
    metadata = {"attestation": attest_sender(channel, sender)} if verified else {}
    return Tracker(
        sender_id=sender, slots={"consent_given": None, "requested_slot": None},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.97},
                        "entities": []},
        events=[{"event": "user", "text": text, "input_channel": channel,
                 "metadata": metadata}],
        paused=False, followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen")


async def say(action: Any, t: Tracker) -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, t, {})
    return dispatcher.messages


def file(key: str | None, channel: str = "whatsapp") -> str:
    url = f"https://www.tiktok.com/@akun/video/{uuid.uuid4().int % 10**12}"
    return get_store().file_report(NewReport(
        idempotency_key=uuid.uuid4().hex, reporter_key=key, channel=channel, category="hoaks",
        description="Video hoaks", links=[NewReportLink(url, url, "tiktok")]),
        daily_cap=0).ticket_code


def mark_of(store: ConsoleStore, ticket: str) -> int | None:
    with store.read() as session:
        return session.scalar(select(Report.volunteer_code_id)
                              .where(Report.ticket_code == ticket))


async def test_a_verified_sender_joins_with_a_valid_code(console_store: ConsoleStore) -> None:
    code = issue(console_store)
    sender = new_sender()
    said = await say(ActionJoinTaskforce(), tracker(
        f"aku relawan gugus tugas kode {code.code.lower().replace('-', ' ')}", sender))
    assert [m["response"] for m in said] == ["utter_taskforce_joined"]
    text = render(said[0])
    assert "Relawan Kampus Semarang" in text and "Kota Semarang" in text
    assert code.code not in text and sender not in text
    assert get_store().volunteer_code_of(sender) == code.id
    # Sending it again says so, without a second membership.
    again = await say(ActionJoinTaskforce(), tracker(f"daftar relawan {code.code}", sender))
    assert again[0]["response"] == "utter_taskforce_already"


async def test_wrong_and_revoked_codes_get_the_same_answer(console_store: ConsoleStore) -> None:
    revoked = issue(console_store)
    taskforce.revoke_code(console_store, KORA, revoked.id)
    valid = issue(console_store)
    wrong = "RLW-" + ("22222Z" if valid.code != "RLW-22222Z" else "33333Z")
    answers = []
    for code in (wrong, revoked.code, "RLW-UUUUUU"):
        sender = new_sender("telegram")
        answers.append(await say(ActionJoinTaskforce(),
                                 tracker(f"saya relawan, kode {code}", sender, "telegram")))
        assert get_store().volunteer_code_of(sender) is None
    assert answers[0] == answers[1] == answers[2] == [
        {**answers[0][0], "response": "utter_taskforce_code_invalid"}]
    text = render(answers[0][0])
    assert valid.code not in text and revoked.code not in text and "dicabut" not in text


async def test_guessing_is_rate_limited_per_sender(console_store: ConsoleStore) -> None:
    valid = issue(console_store)
    guesser, other = new_sender(), new_sender()
    for i in range(CODE_TRIES_PER_HOUR):
        said = await say(ActionJoinTaskforce(), tracker(f"kode RLW-{i}2222Z", guesser))
        assert said[0]["response"] == "utter_taskforce_code_invalid"
    # The budget is spent: even the right code is not looked up now.
    said = await say(ActionJoinTaskforce(), tracker(f"kode {valid.code}", guesser))
    assert said[0]["response"] == "utter_taskforce_try_later"
    assert get_store().volunteer_code_of(guesser) is None
    # Another sender's budget is their own.
    said = await say(ActionJoinTaskforce(), tracker(f"kode {valid.code}", other))
    assert said[0]["response"] == "utter_taskforce_joined"


async def test_unverified_senders_and_messages_without_a_code(
        console_store: ConsoleStore) -> None:
    code = issue(console_store)
    rest = "budi-" + uuid.uuid4().hex[:6]
    said = await say(ActionJoinTaskforce(), tracker(f"saya relawan kode {code.code}", rest,
                                                    "rest", verified=False))
    assert said[0]["response"] == "utter_taskforce_unverified"
    # Claiming WhatsApp without the connector's attestation is no better.
    forged = new_sender()
    said = await say(ActionJoinTaskforce(), tracker(f"saya relawan kode {code.code}", forged,
                                                    verified=False))
    assert said[0]["response"] == "utter_taskforce_unverified"
    assert get_store().volunteer_code_of(forged) is None
    said = await say(ActionJoinTaskforce(), tracker("saya mau daftar relawan", new_sender()))
    assert said[0]["response"] == "utter_taskforce_ask_code"


async def test_leaving(console_store: ConsoleStore) -> None:
    code = issue(console_store)
    sender = new_sender()
    await say(ActionJoinTaskforce(), tracker(f"RLW {code.code[4:]}", sender))
    said = await say(ActionLeaveTaskforce(), tracker("berhenti jadi relawan", sender,
                                                     intent="leave_taskforce"))
    assert said[0]["response"] == "utter_taskforce_left"
    assert get_store().volunteer_code_of(sender) is None
    said = await say(ActionLeaveTaskforce(), tracker("berhenti jadi relawan", sender,
                                                     intent="leave_taskforce"))
    assert said[0]["response"] == "utter_taskforce_not_member"


async def test_the_current_model_s_readings_still_reach_the_taskforce(
        console_store: ConsoleStore) -> None:
    """Before retraining, the model reads a code as check_status (or falls back) and
    "berhenti jadi relawan" as stop: those actions hand over to the taskforce."""
    code = issue(console_store)
    sender = new_sender()
    said = await say(ActionCheckStatus(), tracker(f"saya relawan, kode {code.code}", sender,
                                                  intent="check_status"))
    assert said[0]["response"] == "utter_taskforce_joined"
    said = await say(ActionNluFallback(), tracker(f"kode relawan saya {code.code}", sender,
                                                  intent="nlu_fallback"))
    assert said[0]["response"] == "utter_taskforce_already"
    said = await say(ActionCancel(), tracker("berhenti jadi relawan", sender, intent="stop"))
    assert said[0]["response"] == "utter_taskforce_left"
    # A plain stop, and a stop inside the report form, are still cancellations.
    said = await say(ActionCancel(), tracker("berhenti", sender, intent="stop"))
    assert said[0]["response"] == "utter_nothing_to_cancel"
    said = await say(ActionCancel(), tracker("berhenti jadi relawan", sender, intent="stop",
                                             active_loop="report_form"))
    assert said[0]["response"] == "utter_cancelled"


async def test_a_volunteer_s_reports_carry_the_mark_while_they_are_a_member(
        console_store: ConsoleStore) -> None:
    code = issue(console_store)
    sender = new_sender()
    before = file(sender)
    await say(ActionJoinTaskforce(), tracker(f"saya relawan, kode {code.code}", sender))
    during = file(sender)
    other = file(new_sender())
    await say(ActionLeaveTaskforce(), tracker("keluar dari gugus tugas", sender,
                                              intent="leave_taskforce"))
    after = file(sender)
    assert [mark_of(console_store, t) for t in (before, during, other, after)] == [
        None, code.id, None, None]
    # A revoked code marks nothing more; what was marked stays marked.
    await say(ActionJoinTaskforce(), tracker(f"saya relawan, kode {code.code}", sender))
    taskforce.revoke_code(console_store, KORA, code.id)
    late = file(sender)
    assert mark_of(console_store, late) is None and mark_of(console_store, during) == code.id


async def test_erasure_forgets_the_membership_and_keeps_the_mark(
        console_store: ConsoleStore) -> None:
    code = issue(console_store)
    sender = new_sender()
    await say(ActionJoinTaskforce(), tracker(f"saya relawan, kode {code.code}", sender))
    filed = file(sender)
    get_store().erase_reporter(sender)
    assert get_store().volunteer_code_of(sender) is None
    assert mark_of(console_store, filed) == code.id
    with console_store.read() as session:
        assert session.scalar(select(func.count(VolunteerMembership.id))) == 0
