"""The trust boundary: only a connector that verified its sender names the reporter.

Regression tests for issue 12 ("Identity"): a REST request that claimed to come
from WhatsApp, with the phone number as sender, was keyed as that WhatsApp
reporter and could list, erase and cap their reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.report import ActionSubmitReport
from actions.services import (
    channel_of,
    is_verified,
    latest_contact_token,
    latest_metadata,
    merge_evidence,
    reporter_key,
)
from actions.status import ActionCheckStatus, ActionDeleteMyData
from bot.channel_metadata import ChannelMetadata
from bot.dates import today_wib
from bot.evidence import save_evidence
from bot.privacy import attest_sender, encrypt_contact, sender_key
from bot.settings import PROJECT_ROOT
from tests.unit.test_evidence import tiny_png

PHONE = "6281234567890"


@pytest.fixture(scope="module")
def domain() -> dict[str, Any]:
    return Domain.load(str(PROJECT_ROOT / "domain.yml")).as_dict()


def tracker(sender: str, channel: str, metadata: dict[str, Any] | None = None,
            text: str = "cek status laporan saya", slots: dict[str, Any] | None = None
            ) -> Tracker:
    return Tracker(
        sender_id=sender, slots=slots or {},
        latest_message={"text": text, "intent": {"name": "check_status", "confidence": 0.99},
                        "entities": []},
        events=[{"event": "user", "text": text, "input_channel": channel,
                 "metadata": metadata or {}}],
        paused=False, followup_action=None, active_loop={}, latest_action_name="action_listen",
    )


def whatsapp_user(text: str = "cek status laporan saya", **metadata: Any) -> Tracker:
    """A message as the WhatsApp connector hands it over: pseudonym + attestation."""
    sender = sender_key("whatsapp", PHONE)
    return tracker(sender, "whatsapp",
                   {"attestation": attest_sender("whatsapp", sender), **metadata}, text)


async def file_report_as(user: Tracker, domain: dict[str, Any]) -> str:
    link = "http://web.example.id/fitnah/1"
    slots = {
        "consent_given": True, "report_links": [link],
        "link_checks": [{"original": link, "canonical": link, "platform": "web",
                         "status": "ok", "http_status": 200, "page_title": None}],
        "category": "hoaks", "description": "video editan yang memfitnah paslon",
        "region": "Jawa Tengah", "region_code": "33", "known_date": today_wib().isoformat(),
        "reported_party": "-", "report_confirmed": "yes", "evidence": None,
    }
    filed = Tracker(user.sender_id, slots, user.latest_message, user.events, False, None, {},
                    "action_listen")
    dispatcher = CollectingDispatcher()
    await ActionSubmitReport().run(dispatcher, filed, domain)
    assert dispatcher.messages[0]["response"] == "utter_report_filed", dispatcher.messages
    return dispatcher.messages[0]["ticket_code"]


def test_a_verified_connector_names_the_reporter() -> None:
    user = whatsapp_user()
    assert is_verified(user)
    assert reporter_key(user) == user.sender_id == sender_key("whatsapp", PHONE)
    assert channel_of(user) == "whatsapp"


@pytest.mark.parametrize("claimed", ["whatsapp", "telegram", "webchat", "rest", None])
def test_a_rest_body_claiming_a_channel_is_keyed_as_rest(claimed: str | None) -> None:
    # {"sender": "6281234567890", "input_channel": "whatsapp", ...} over REST.
    forged = tracker(PHONE, claimed, {"contact_token": encrypt_contact(PHONE)})
    assert not is_verified(forged)
    assert reporter_key(forged) == sender_key("rest", PHONE)
    assert reporter_key(forged) != sender_key("whatsapp", PHONE)
    assert channel_of(forged) == "rest"
    assert latest_metadata(forged) == ChannelMetadata() and latest_contact_token(forged) is None


def test_a_ready_pseudonym_needs_the_attestation_of_its_own_channel() -> None:
    victim = sender_key("whatsapp", PHONE)
    assert reporter_key(tracker(victim, "whatsapp")) != victim  # no attestation
    forged = {"attestation": "0" * 64}
    assert reporter_key(tracker(victim, "whatsapp", forged)) != victim
    # An attestation for another channel (or another sender) does not transfer.
    telegram = {"attestation": attest_sender("telegram", victim)}
    assert reporter_key(tracker(victim, "whatsapp", telegram)) != victim
    over_rest = {"attestation": attest_sender("whatsapp", victim)}
    assert reporter_key(tracker(victim, "rest", over_rest)) != victim


async def test_rest_impersonation_lists_erases_and_caps_nothing_of_the_victim(
    domain: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    code = await file_report_as(whatsapp_user(), domain)
    forged = tracker(PHONE, "whatsapp", {"contact_token": encrypt_contact(PHONE)})

    listing = CollectingDispatcher()
    await ActionCheckStatus().run(listing, forged, domain)
    assert listing.messages[0]["response"] == "utter_no_reports_yet"
    by_code = CollectingDispatcher()
    await ActionCheckStatus().run(by_code, tracker(PHONE, "whatsapp", text=f"cek {code}"),
                                  domain)
    assert by_code.messages[0]["response"] == "utter_ticket_not_found"

    erased = CollectingDispatcher()
    await ActionDeleteMyData().run(erased, forged, domain)
    assert erased.messages[0]["count"] == 0

    # The daily cap of the impersonator is their own.
    monkeypatch.setenv("DAILY_REPORT_CAP", "1")
    from bot.settings import get_settings
    get_settings.cache_clear()
    await file_report_as(forged, domain)

    # The real reporter still sees their report.
    own = CollectingDispatcher()
    await ActionCheckStatus().run(own, whatsapp_user(f"cek {code}"), domain)
    assert own.messages[0]["response"] == "utter_report_status"


async def test_evidence_metadata_counts_only_from_a_verified_connector(tmp_path: Path) -> None:
    item = save_evidence(tiny_png(9)).to_metadata()
    merged, added = await merge_evidence([], whatsapp_user(evidence=[item]))
    assert added == 1 and merged == [item]
    forged = tracker(PHONE, "whatsapp", {"evidence": [item]})
    assert await merge_evidence([], forged) == ([], 0)
