"""The conversation around a screenshot (actions, real tesseract): read when it arrives,
a report starts, the citizen confirms or refuses what was read, a screenshot without a
link can be filed and says so, and the text and hash go to the store."""

from __future__ import annotations

import io
import random
from datetime import date
from typing import Any

from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.evidence import ActionReceiveEvidence
from actions.report import (
    ActionAskReportConfirmed,
    ActionAskScreenConfirmed,
    ActionSubmitReport,
    ValidateReportForm,
    report_summary_values,
)
from actions.services import get_store
from bot.evidence import save_evidence
from bot.store.models import Case, Evidence
from tests.screenshot_corpus import akunpalsu_screenshot, render
from tests.unit.test_evidence import domain, tracker  # noqa: F401 - the fixture
from tests.unit.test_report_actions import said


def slots_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def no_link_screenshot() -> bytes:
    """A Facebook-style post about money politics, without any link."""
    image = render("facebook", "@warga_kritis", "Setiap warga yang datang ke acara dapat "
                   "amplop lima puluh ribu rupiah.", None, dark=False, url_place="none",
                   rng=random.Random(4))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def test_a_screenshot_outside_a_report_is_read_and_starts_one(
    domain: dict[str, Any],  # noqa: F811
) -> None:
    item = save_evidence(akunpalsu_screenshot()).to_metadata()
    dispatcher = CollectingDispatcher()
    events = await ActionReceiveEvidence().run(
        dispatcher, tracker("/send_evidence", "send_evidence", {"evidence": [item]},
                            active_loop=None), domain)
    assert {"event": "followup", "timestamp": None, "name": "report_form"} in events
    slots = slots_of(events)
    reading = slots["screen_reading"]
    assert reading["links"] == ["vt.tiktok.com/ZSabc123"] and reading["handles"] == [
        "@akunpalsu"] and reading["platform"] == "tiktok"
    assert "antek asing" in reading["post_text"] and slots["screen_confirmed"] is None
    assert "@akunpalsu" in slots["evidence"][0]["text"]
    assert "susun laporannya" in said(dispatcher)[0]
    # The form asks about it first, naming the account.
    asking = CollectingDispatcher()
    await ActionAskScreenConfirmed().run(asking, tracker("/send_evidence", "send_evidence",
                                                         slots=slots), domain)
    question = said(asking)[0]
    assert "Apakah ini akun yang Anda laporkan: @akunpalsu?" in question
    assert "vt.tiktok.com/ZSabc123" in question and "TikTok" in question
    form_slots = await ValidateReportForm().required_slots(
        list(domain["forms"]["report_form"]["required_slots"]), CollectingDispatcher(),
        tracker("/send_evidence", "send_evidence", slots=slots), domain)
    assert form_slots[0] == "screen_confirmed"


async def test_yes_fills_account_post_and_checked_link_and_no_fills_nothing(
    domain: dict[str, Any],  # noqa: F811
) -> None:
    reading = {"links": ["https://127.0.0.1/internal"], "handles": ["@akunpalsu"],
               "platform": "tiktok", "post_text": "Jangan pilih calon itu, dia antek asing!"}
    asked = {"screen_reading": reading, "requested_slot": "screen_confirmed",
             "consent_given": True}
    dispatcher = CollectingDispatcher()
    yes = slots_of(await ValidateReportForm().run(
        dispatcher, tracker("/affirm", "affirm", slots=asked), domain))
    assert yes["screen_confirmed"] is True and yes["reported_party"] == "@akunpalsu"
    assert yes["description"] == "Jangan pilih calon itu, dia antek asing!"
    # A link read from a picture is checked like any other: this one is refused.
    assert not yes.get("report_links") and "bukan situs publik" in " ".join(said(dispatcher))
    no = slots_of(await ValidateReportForm().run(
        CollectingDispatcher(), tracker("/deny", "deny", slots=asked), domain))
    assert no["screen_confirmed"] is False
    assert "reported_party" not in no and "description" not in no
    unclear = CollectingDispatcher()
    await ValidateReportForm().run(unclear, tracker("mungkin", "inform", slots=asked), domain)
    assert "Ya" in said(unclear)[0] and "Tidak" in said(unclear)[0]


async def test_a_screenshot_without_a_link_is_filed_and_the_reviewer_sees_no_link(
    domain: dict[str, Any],  # noqa: F811
) -> None:
    item = save_evidence(no_link_screenshot()).to_metadata()
    received = slots_of(await ActionReceiveEvidence().run(
        CollectingDispatcher(), tracker("/send_evidence", "send_evidence",
                                        {"evidence": [item]}, active_loop=None), domain))
    assert received["screen_reading"]["links"] == []
    assert received["screen_reading"]["platform"] == "facebook"
    asked = {**received, "requested_slot": "screen_confirmed", "consent_given": True}
    dispatcher = CollectingDispatcher()
    yes = slots_of(await ValidateReportForm().run(
        dispatcher, tracker("/affirm", "affirm", slots=asked), domain))
    assert "tidak memuat tautan" in " ".join(said(dispatcher))
    filled = {**asked, **yes}
    required = await ValidateReportForm().required_slots(
        list(domain["forms"]["report_form"]["required_slots"]), CollectingDispatcher(),
        tracker("/affirm", "affirm", slots=filled), domain)
    assert "report_links" not in required  # no link is asked for
    complete = {**filled, "category": "politik_uang", "region": "Kota Pekalongan (Jawa Tengah)",
                "region_code": "33.75", "known_date": "2026-11-30",
                "report_confirmed": "yes"}
    summary = CollectingDispatcher()
    await ActionAskReportConfirmed().run(summary, tracker("x", "inform", slots=complete),
                                         domain)
    assert "Tidak ada (laporan dari tangkapan layar)" in said(summary)[0]
    values = report_summary_values(tracker("x", "inform", slots=complete), date(2026, 12, 1))
    assert "Tidak ada" in values["links"] and values["reported_party_label"] == "@warga_kritis"
    filing = CollectingDispatcher()
    await ActionSubmitReport().run(filing, tracker("/affirm", "affirm", slots=complete),
                                   domain)
    assert "LP-" in said(filing)[0]
    with get_store()._read() as session:
        [case] = session.scalars(select(Case)).all()
        [evidence] = session.scalars(select(Evidence)).all()
        assert case.canonical_url.startswith("screenshot:") and case.platform == "facebook"
        assert "amplop" in evidence.extracted_text and len(evidence.perceptual_hash) == 256
