"""The report form's actions with real trackers, a real SQLite store and a local fake web."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from aiohttp import web
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import report as report_actions
from actions.report import (
    ActionAskRegion,
    ActionAskReportConfirmed,
    ActionSubmitReport,
    ValidateReportForm,
)
from actions.services import get_store, reporter_key
from actions.status import ActionCheckStatus, ActionDeleteMyData
from bot.clock import fixed_day
from bot.dates import parse_known_date, today_wib
from bot.settings import PROJECT_ROOT, get_settings
from tests.responses import render

TICKET = re.compile(r"LP-[0-9A-HJKMNP-TV-Z]{6}")


@pytest.fixture(scope="module")
def domain() -> dict[str, Any]:
    return Domain.load(str(PROJECT_ROOT / "domain.yml")).as_dict()


@pytest.fixture
async def fake_web(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[int]:
    """A local web server standing in for TikTok, reached through host overrides."""

    async def short(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://www.tiktok.com/@akun/video/7301234567890?is_from_webapp=1")

    async def video(request: web.Request) -> web.Response:
        return web.Response(text="<title>Video paslon</title>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/ZS8abc/", short)
    app.router.add_get("/@akun/video/7301234567890", video)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001
    hosts = ("vt.tiktok.com", "www.tiktok.com", "tiktok.com")
    monkeypatch.setenv("LINK_CHECK_HOST_OVERRIDES",
                       ",".join(f"{h}=127.0.0.1:{port}" for h in hosts))
    monkeypatch.setenv("LINK_CHECK_ALLOWED_NETWORKS", "127.0.0.1/32")
    get_settings.cache_clear()
    yield port
    await runner.cleanup()


def tracker(text: str, slots: dict[str, Any] | None = None, intent: str = "report_violation",
            confidence: float = 0.95, entities: list[dict[str, Any]] | None = None,
            sender: str = "reporter-1", events: list[dict[str, Any]] | None = None) -> Tracker:
    """A tracker whose latest user message is `text`, inside the report form."""
    all_slots = {name: None for name in report_actions.REPORT_SLOTS}
    all_slots.update({"consent_given": None, "requested_slot": None})
    all_slots.update(slots or {})
    return Tracker(
        sender_id=sender,
        slots=all_slots,
        latest_message={"text": text, "intent": {"name": intent, "confidence": confidence},
                        "entities": entities or []},
        events=[{"event": "user", "text": text, "input_channel": "rest"}, *(events or [])],
        paused=False,
        followup_action=None,
        active_loop={"name": "report_form"},
        latest_action_name="action_listen",
    )


def said(dispatcher: CollectingDispatcher) -> list[str]:
    """What the citizen reads: responses rendered as the Rasa server renders them."""
    return [render(m) if m.get("response") else m.get("text") or ""
            for m in dispatcher.messages]


async def run_form(t: Tracker, domain: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    dispatcher = CollectingDispatcher()
    events = await ValidateReportForm().run(dispatcher, t, domain)
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    return slots, said(dispatcher)


async def test_one_message_report_fills_every_field_it_names(
    domain: dict[str, Any], fake_web: int
) -> None:
    text = ("min ada akun tiktok nyebar hoaks soal paslon 2 http://vt.tiktok.com/ZS8abc/ "
            "di kota pekalongan kemarin")
    slots, _ = await run_form(tracker(text), domain)
    assert slots["report_links"] == ["http://vt.tiktok.com/ZS8abc/"]
    check = slots["link_checks"][0]
    assert check["status"] == "ok"
    assert check["canonical"] == "https://tiktok.com/@akun/video/7301234567890"
    assert check["page_title"] == "Video paslon"
    assert slots["category"] == "hoaks"
    assert slots["description"] == text
    assert slots["region_code"] == "33.75"
    assert "Kota Pekalongan" in slots["region"]
    assert slots["known_date"] == (today_wib() - timedelta(days=1)).isoformat()
    # Consent is still open: Rasa's form asks it next (first missing required slot).
    assert "consent_given" not in slots


async def test_consent_is_asked_once_per_reporter(domain: dict[str, Any]) -> None:
    asked = tracker("/affirm", {"requested_slot": "consent_given"}, intent="affirm",
                    sender="consenting")
    slots, _ = await run_form(asked, domain)
    assert slots["consent_given"] is True
    # A later report from the same sender starts with consent already on record.
    later, _ = await run_form(tracker("saya mau lapor", sender="consenting"), domain)
    assert later["consent_given"] is True
    # A sender who never agreed is asked (the slot stays open).
    other, _ = await run_form(tracker("saya mau lapor", sender="someone-new"), domain)
    assert "consent_given" not in other


async def test_declining_consent_ends_the_form_and_files_nothing(domain: dict[str, Any]) -> None:
    declined = tracker("/deny", {"requested_slot": "consent_given"}, intent="deny",
                       sender="declining")
    slots, _ = await run_form(declined, domain)
    assert slots["consent_given"] is False
    assert slots["requested_slot"] is None
    dispatcher = CollectingDispatcher()
    finished = tracker("/deny", {"consent_given": False}, intent="deny", sender="declining")
    await ActionSubmitReport().run(dispatcher, finished, domain)
    assert dispatcher.messages[0]["response"] == "utter_consent_declined"
    assert get_store().list_reports(reporter_key(finished)) == []


@pytest.mark.parametrize(
    ("raw", "expected_fragment"),
    [
        ("http://127.0.0.1/admin", "bukan situs publik"),
        ("http://169.254.169.254/latest/meta-data", "bukan situs publik"),
        ("http://admin:rahasia@web.example.id/x", "nama pengguna"),
    ],
)
async def test_unsafe_or_invalid_links_are_refused_and_asked_again(
    domain: dict[str, Any], raw: str, expected_fragment: str
) -> None:
    t = tracker(raw, {"requested_slot": "report_links", "consent_given": True})
    slots, texts = await run_form(t, domain)
    assert slots.get("report_links") is None
    assert any(expected_fragment in text for text in texts), texts
    assert slots["form_failures"] == {"report_links": 1}


async def test_faq_question_mid_form_is_left_to_the_rules(domain: dict[str, Any]) -> None:
    t = tracker("eh kapan masa tenang", {"requested_slot": "description", "consent_given": True},
                intent="faq", confidence=0.98)
    slots, texts = await run_form(t, domain)
    # Nothing extracted: the form rejects and the FAQ rule answers first.
    assert {k: v for k, v in slots.items() if k != "requested_slot"} == {}
    assert texts == []


async def test_ambiguous_region_offers_a_choice_then_resolves(domain: dict[str, Any]) -> None:
    base = {"requested_slot": "region", "consent_given": True}
    slots, _ = await run_form(tracker("pekalongan", base, intent="inform"), domain)
    candidates = slots["region_candidates"]
    assert {c["code"] for c in candidates} == {"33.26", "33.75"}
    dispatcher = CollectingDispatcher()
    await ActionAskRegion().run(dispatcher, tracker("pekalongan", {**base, **slots}), domain)
    titles = [b["title"] for b in dispatcher.messages[0]["buttons"]]
    assert sorted(titles) == ["Kabupaten Pekalongan", "Kota Pekalongan"]
    chosen, _ = await run_form(
        tracker("kabupaten", {**base, "region_candidates": candidates}, intent="inform"), domain
    )
    assert chosen["region_code"] == "33.26"
    assert chosen["region_candidates"] is None


async def test_old_date_warns_about_the_deadline_but_is_kept(domain: dict[str, Any]) -> None:
    t = tracker("sebulan lalu", {"requested_slot": "known_date", "consent_given": True},
                intent="inform")
    slots, texts = await run_form(t, domain)
    expected = parse_known_date("sebulan lalu", today_wib())
    assert expected is not None and slots["known_date"] == expected.value.isoformat()
    assert any("7 hari" in text for text in texts)


async def test_future_date_is_refused(domain: dict[str, Any]) -> None:
    t = tracker("besok", {"requested_slot": "known_date", "consent_given": True}, intent="inform")
    slots, texts = await run_form(t, domain)
    assert slots.get("known_date") is None
    assert any("belum terjadi" in text for text in texts)


async def _three_short_descriptions(domain: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Answer the description question with "hoaks" three times; the last turn."""
    failures: dict[str, int] | None = None
    for attempt in range(1, 4):
        t = tracker("hoaks", {"requested_slot": "description", "consent_given": True,
                              "form_failures": failures}, intent="inform")
        slots, texts = await run_form(t, domain)
        failures = slots["form_failures"]
        assert failures == {"description": attempt}
        if attempt < 3:
            assert any("terlalu singkat" in text for text in texts)
            assert "requested_slot" not in slots  # the form asks its first empty slot again
    return slots, texts


async def test_a_field_that_keeps_failing_is_explained_and_continue_is_asked(
    domain: dict[str, Any]
) -> None:
    slots, texts = await _three_short_descriptions(domain)
    # The third time: no repeated hint, an explanation with an example instead...
    assert not any("terlalu singkat" in text for text in texts)
    assert any(text.startswith("Uraian adalah cerita singkat") for text in texts), texts
    # ...and the form asks whether to go on instead of ending by itself.
    assert slots["requested_slot"] == "continue_form"
    ask = render({"response": "utter_ask_continue_form"})
    assert "melanjutkan laporan" in ask


async def test_yes_to_continue_asks_the_question_again_with_a_fresh_count(
    domain: dict[str, Any]
) -> None:
    failing = {"requested_slot": "continue_form", "consent_given": True,
               "form_failures": {"description": 3, "region": 1}}
    slots, texts = await run_form(tracker("/affirm", failing, intent="affirm"), domain)
    assert slots["continue_form"] is None
    assert slots["form_failures"] == {"region": 1}  # only the explained field starts over
    assert "requested_slot" not in slots  # the form asks its first empty slot again
    assert texts == []


async def test_no_to_continue_ends_the_form_and_files_nothing(domain: dict[str, Any]) -> None:
    failing = {"requested_slot": "continue_form", "consent_given": True,
               "form_failures": {"description": 3}}
    slots, _ = await run_form(tracker("/deny", failing, intent="deny", sender="stopping"),
                              domain)
    assert slots["continue_form"] is False
    assert slots["requested_slot"] is None  # the form ends...
    dispatcher = CollectingDispatcher()
    stopped = tracker("/deny", {**failing, "continue_form": False, "requested_slot": None},
                      intent="deny", sender="stopping")
    events = await ActionSubmitReport().run(dispatcher, stopped, domain)
    text = render(dispatcher.messages[0])  # ...and says so
    assert dispatcher.messages[0]["response"] == "utter_report_stopped"
    assert "tidak ada yang dikirim" in text
    assert get_store().list_reports(reporter_key(stopped)) == []
    reset = {e["name"]: e["value"] for e in events}
    assert reset["continue_form"] is None and reset["form_failures"] is None


async def test_continue_without_an_answer_ends_the_form_after_three_tries(
    domain: dict[str, Any]
) -> None:
    failures: dict[str, int] = {"description": 3}
    for attempt in range(1, 4):
        t = tracker("hmm gimana ya", {"requested_slot": "continue_form", "consent_given": True,
                                      "form_failures": failures}, intent="inform")
        slots, texts = await run_form(t, domain)
        failures = slots["form_failures"]
        assert failures["continue_form"] == attempt
        if attempt < 3:
            assert slots["requested_slot"] == "continue_form"
            assert any("Pilih Ya" in text for text in texts)
    assert slots["requested_slot"] is None  # no endless loop of questions
    dispatcher = CollectingDispatcher()
    await ActionSubmitReport().run(
        dispatcher, tracker("hmm", {"form_failures": failures, "consent_given": True}), domain)
    assert dispatcher.messages[0]["response"] == "utter_too_many_attempts"


async def test_a_question_at_continue_is_left_to_the_rules(domain: dict[str, Any]) -> None:
    failing = {"requested_slot": "continue_form", "consent_given": True,
               "form_failures": {"description": 3}}
    slots, texts = await run_form(
        tracker("eh kapan masa tenang", failing, intent="faq", confidence=0.97), domain)
    assert {k: v for k, v in slots.items() if k != "requested_slot"} == {}
    assert texts == []


async def test_change_one_field_from_the_summary(domain: dict[str, Any]) -> None:
    filled = {
        "consent_given": True, "report_links": ["https://x.com/a/status/1"],
        "link_checks": [], "category": "hoaks", "description": "isi postingan fitnah paslon",
        "region": "Jawa Tengah", "region_code": "33", "known_date": today_wib().isoformat(),
        "reported_party": "-", "requested_slot": "report_confirmed",
    }
    dispatcher = CollectingDispatcher()
    await ActionAskReportConfirmed().run(dispatcher, tracker("lewati", filled), domain)
    summary = dispatcher.messages[0]
    assert summary["response"] == "utter_ask_report_confirmed"
    assert summary["category_label"] == "Hoaks / berita bohong"
    assert summary["reported_party_label"] == "-"
    slots, _ = await run_form(tracker("/deny", filled, intent="deny"), domain)
    assert slots["report_confirmed"] == "edit"
    assert slots["requested_slot"] == "edit_field"  # inserted before the confirmation
    edit = {**filled, "report_confirmed": "edit", "requested_slot": "edit_field"}
    slots, _ = await run_form(
        tracker('/inform{"form_field": "category"}', edit, intent="inform",
                entities=[{"entity": "form_field", "value": "category"}]), domain
    )
    # The chosen field is emptied, so the form asks it again, then re-confirms.
    assert slots["category"] is None and slots["report_confirmed"] is None
    assert "description" not in slots


def _complete(sender: str, link: str, idempotency_event_time: float = 1.0) -> Tracker:
    slots = {
        "consent_given": True, "report_links": [link],
        "link_checks": [{"original": link, "canonical": link.replace("http://", "https://"),
                         "platform": "web", "status": "ok", "http_status": 200,
                         "page_title": None}],
        "category": "kampanye_hitam", "description": "postingan fitnah terhadap paslon satu",
        "region": "Jawa Tengah", "region_code": "33", "known_date": today_wib().isoformat(),
        "reported_party": "@akun_anon", "report_confirmed": "yes",
    }
    loop_started = {"event": "active_loop", "name": "report_form",
                    "timestamp": idempotency_event_time}
    return tracker("/affirm", slots, intent="affirm", sender=sender, events=[loop_started])


async def test_filing_is_durable_idempotent_and_joins_duplicate_cases(
    domain: dict[str, Any]
) -> None:
    first = CollectingDispatcher()
    await ActionSubmitReport().run(first, _complete("a", "http://berita.example.id/p/1"), domain)
    ticket = TICKET.search(str(first.messages[0]))
    assert first.messages[0]["response"] == "utter_report_filed" and ticket
    # The same submission again (a retry) does not create a second report.
    again = CollectingDispatcher()
    await ActionSubmitReport().run(again, _complete("a", "http://berita.example.id/p/1"), domain)
    assert again.messages[0]["ticket_code"] == first.messages[0]["ticket_code"]
    assert len(get_store().list_reports(reporter_key(_complete("a", "x")))) == 1
    # Someone else reports the same content: a new ticket, told it joins a case.
    other = CollectingDispatcher()
    await ActionSubmitReport().run(other, _complete("b", "http://berita.example.id/p/1"), domain)
    responses = [m["response"] for m in other.messages]
    assert responses == ["utter_report_filed", "utter_report_duplicate_links"]
    assert other.messages[0]["ticket_code"] != first.messages[0]["ticket_code"]


async def test_daily_cap(domain: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAILY_REPORT_CAP", "2")
    get_settings.cache_clear()
    responses = []
    for i in range(3):
        dispatcher = CollectingDispatcher()
        await ActionSubmitReport().run(
            dispatcher, _complete("capped", f"http://web.example.id/{i}", float(i)), domain
        )
        responses.append(dispatcher.messages[0]["response"])
    assert responses == ["utter_report_filed", "utter_report_filed", "utter_report_cap_reached"]


async def test_status_only_for_the_reporter_and_data_erasure(domain: dict[str, Any]) -> None:
    filed = CollectingDispatcher()
    await ActionSubmitReport().run(filed, _complete("owner", "http://web.example.id/s"), domain)
    code = filed.messages[0]["ticket_code"]
    typed = code.lower().replace("-", " ")

    own = CollectingDispatcher()
    await ActionCheckStatus().run(own, tracker(f"cek status {typed}", intent="check_status",
                                               sender="owner"), domain)
    assert own.messages[0]["response"] == "utter_report_status"
    assert own.messages[0]["ticket_code"] == code
    assert own.messages[0]["note"] == ""

    # After reviewers forward it, the reporter reads where it went and their note.
    store = get_store()
    store.update_status(code, "diproses", "petugas-1")
    store.update_status(code, "diteruskan", "petugas-1", note="Sudah kami kirim.",
                        destination="tiktok")
    decided = CollectingDispatcher()
    await ActionCheckStatus().run(decided, tracker(f"cek status {code}", intent="check_status",
                                                   sender="owner"), domain)
    assert decided.messages[0]["note"] == ("\nDiteruskan kepada: TikTok"
                                           "\nCatatan petugas: Sudah kami kirim.")

    stranger = CollectingDispatcher()
    await ActionCheckStatus().run(stranger, tracker(f"cek status {code}", intent="check_status",
                                                    sender="stranger"), domain)
    unknown = CollectingDispatcher()
    await ActionCheckStatus().run(unknown, tracker("cek status LP-ZZZZZZ", intent="check_status",
                                                   sender="stranger"), domain)
    assert stranger.messages[0]["response"] == unknown.messages[0]["response"] == (
        "utter_ticket_not_found"
    )

    listing = CollectingDispatcher()
    await ActionCheckStatus().run(listing, tracker("laporan saya", intent="check_status",
                                                   sender="owner"), domain)
    assert code in listing.messages[0]["reports"]

    erased = CollectingDispatcher()
    await ActionDeleteMyData().run(erased, tracker("hapus data saya", intent="affirm",
                                                   sender="owner"), domain)
    assert erased.messages[0]["count"] == 1
    after = CollectingDispatcher()
    await ActionCheckStatus().run(after, tracker(f"cek status {code}", intent="check_status",
                                                 sender="owner"), domain)
    assert after.messages[0]["response"] == "utter_ticket_not_found"


async def test_a_long_answer_to_the_link_question_also_tells_what_happened(
    domain: dict[str, Any], fake_web: int
) -> None:
    text = ("ada akun tiktok nyebar hoaks soal paslon 2 http://vt.tiktok.com/ZS8abc/ "
            "di kota pekalongan kemarin")
    slots, _ = await run_form(
        tracker(text, {"requested_slot": "report_links", "consent_given": True}), domain)
    assert slots["report_links"] == ["http://vt.tiktok.com/ZS8abc/"]
    assert slots["description"] == text and slots["category"] == "hoaks"
    # A bare link, or a short answer, is not an account of events.
    slots, _ = await run_form(
        tracker("http://vt.tiktok.com/ZS8abc/ ini", {"requested_slot": "report_links",
                                                     "consent_given": True}), domain)
    assert "description" not in slots
    # Nor is the answer to the question about the account owner.
    slots, _ = await run_form(
        tracker("akun anonim yang sering posting fitnah soal paslon nomor dua",
                {"requested_slot": "reported_party", "consent_given": True,
                 "report_links": ["https://x.com/a"], "category": "hoaks",
                 "region": "nasional", "known_date": today_wib().isoformat()}), domain)
    assert "description" not in slots


async def test_low_confidence_message_with_a_ticket_code_is_still_a_status_check(
    domain: dict[str, Any]
) -> None:
    from actions.status import ActionNluFallback

    dispatcher = CollectingDispatcher()
    await ActionNluFallback().run(
        dispatcher, tracker("lp zzzzzz gmn", intent="nlu_fallback", confidence=0.3), domain)
    assert dispatcher.messages[0]["response"] == "utter_ticket_not_found"
    assert dispatcher.messages[0]["ticket_code"] == "LP-ZZZZZZ"
    plain = CollectingDispatcher()
    await ActionNluFallback().run(
        plain, tracker("asdfgh qwerty", intent="nlu_fallback", confidence=0.3), domain)
    assert plain.messages[0]["response"] == "utter_please_rephrase"


async def test_links_over_the_hourly_check_budget_are_kept_unchecked(
    domain: dict[str, Any], fake_web: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINK_CHECK_BUDGET_PER_HOUR", "1")
    get_settings.cache_clear()
    text = ("hoaks di http://vt.tiktok.com/ZS8abc/ dan http://www.tiktok.com/@akun/video/"
            "7301234567890")
    slots, _ = await run_form(tracker(text, sender="banyak-tautan"), domain)
    statuses = [check["status"] for check in slots["link_checks"]]
    assert statuses == ["ok", "unchecked"]
    assert len(slots["report_links"]) == 2  # nothing is lost, only not fetched
    assert "petugas" in slots["link_checks"][1]["note"]
    # Another sender has a budget of their own.
    other, _ = await run_form(tracker("http://vt.tiktok.com/ZS8abc/", sender="orang-lain"),
                              domain)
    assert [check["status"] for check in other["link_checks"]] == ["ok"]


# --- confirmations and status replies on given days ----------------------------------------


async def _file(domain: dict[str, Any], sender: str, known: date, day: date) -> dict[str, Any]:
    finished = _complete(sender, f"http://web.example.id/{sender}")
    finished.slots["known_date"] = known.isoformat()
    dispatcher = CollectingDispatcher()
    await ActionSubmitReport(today=fixed_day(day)).run(dispatcher, finished, domain)
    assert dispatcher.messages[0]["response"] == "utter_report_filed"
    return dispatcher.messages[0]


async def test_confirmation_says_it_is_informasi_awal_and_gives_the_formal_deadline(
    domain: dict[str, Any]
) -> None:
    message = await _file(domain, "between", known=date(2026, 11, 29), day=date(2026, 12, 1))
    text = render(message)
    assert message["ticket_code"] in text
    assert "informasi awal untuk dikaji Bawaslu, belum laporan resmi" in text
    assert "nama, alamat, dan tanda tangan Anda" in text
    assert "paling lambat 7 hari sejak Anda mengetahui kejadiannya (sampai 6 Desember 2026, " \
           "5 hari lagi)." in text
    # Between elections there is no phase to mention.
    assert "masa tenang" not in text and "\n\n" not in text


async def test_confirmation_after_the_deadline_says_it_has_passed(
    domain: dict[str, Any]
) -> None:
    text = render(await _file(domain, "late", known=date(2026, 11, 20), day=date(2026, 12, 1)))
    assert "(sampai 27 November 2026, 4 hari lalu)" in text


async def test_confirmation_in_masa_tenang_says_so_and_urges_haste(
    domain: dict[str, Any]
) -> None:
    text = render(await _file(domain, "quiet", known=date(2024, 2, 11), day=date(2024, 2, 12)))
    assert "(sampai 18 Februari 2024, 6 hari lagi).\nSaat ini masa tenang Pemilu 2024: batas " \
           "waktu laporan resmi bisa lebih singkat, jadi sampaikan secepatnya.\n" in text


async def test_status_reply_uses_the_same_calendar(domain: dict[str, Any]) -> None:
    message = await _file(domain, "status-owner", known=date(2024, 2, 11), day=date(2024, 2, 12))
    code = message["ticket_code"]
    replies = {}
    for day in (date(2024, 2, 14), date(2026, 12, 1)):
        dispatcher = CollectingDispatcher()
        await ActionCheckStatus(today=fixed_day(day)).run(
            dispatcher, tracker(f"cek status {code}", intent="check_status",
                                sender="status-owner"), domain)
        replies[day] = render(dispatcher.messages[0])
    assert replies[date(2024, 2, 14)].startswith(
        f"Hari ini hari pemungutan suara Pemilu 2024.\nStatus laporan {code}:")
    assert replies[date(2026, 12, 1)].startswith(f"Status laporan {code}:")


async def test_relative_dates_count_from_the_form_clock(domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    asked = tracker("kemarin", {"requested_slot": "known_date", "consent_given": True},
                    intent="inform")
    events = await ValidateReportForm(today=fixed_day(date(2024, 2, 12))).run(
        dispatcher, asked, domain)
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots["known_date"] == "2024-02-11"
    summary = CollectingDispatcher()
    filled = {"known_date": "2024-02-11", "report_links": ["https://x.com/a/status/1"]}
    await ActionAskReportConfirmed(today=fixed_day(date(2024, 2, 14))).run(
        summary, tracker("lewati", filled), domain)
    assert summary.messages[0]["known_date_label"] == "11 Februari 2024 (3 hari lalu)"


@pytest.mark.parametrize(("slot", "text", "expected"), [
    ("category", "kampanye di luar jadwal", "kampanye_di_luar_jadwal"),
    ("category", "kampanye pas masa tenang", "kampanye_di_luar_jadwal"),
    ("description", "berita bohong soal tps dipindah ke kampung sebelah",
     "berita bohong soal tps dipindah ke kampung sebelah"),
    ("reported_party", "bawaslu sendiri", "bawaslu sendiri"),
])
async def test_a_statement_the_model_took_for_a_question_answers_the_asked_slot(
    domain: dict[str, Any], slot: str, text: str, expected: str,
) -> None:
    t = tracker(text, {"requested_slot": slot, "consent_given": True,
                       "report_links": ["https://x.com/a/status/1"]},
                intent="faq", confidence=0.96)
    slots, texts = await run_form(t, domain)
    assert slots[slot] == expected
    assert texts == []


@pytest.mark.parametrize(("slot", "text"), [
    ("category", "kampanye di luar jadwal itu apa"),
    ("description", "eh kapan masa tenang"),
    ("description", "yang kayak gini melanggar kan"),
])
async def test_a_question_at_the_asked_slot_is_still_left_to_the_rules(
    domain: dict[str, Any], slot: str, text: str,
) -> None:
    t = tracker(text, {"requested_slot": slot, "consent_given": True,
                       "report_links": ["https://x.com/a/status/1"]},
                intent="faq", confidence=0.96)
    slots, texts = await run_form(t, domain)
    assert {k: v for k, v in slots.items() if k != "requested_slot"} == {}
    assert texts == []


async def test_a_statement_read_as_another_control_intent_is_not_taken(
    domain: dict[str, Any],
) -> None:
    # Only rules questions step aside for statements: "batal" stays a cancel.
    t = tracker("batal aja deh laporannya", {"requested_slot": "description",
                                            "consent_given": True},
                intent="stop", confidence=0.97)
    slots, _ = await run_form(t, domain)
    assert "description" not in slots


async def test_a_statement_the_model_took_for_a_question_fills_only_the_asked_slot(
    domain: dict[str, Any],
) -> None:
    # Asked for the description, a category word is kept as the account of events;
    # the category is not read from it behind the citizen's back.
    t = tracker("kampanye pas masa tenang di grup wa warga",
                {"requested_slot": "description", "consent_given": True,
                 "report_links": ["https://x.com/a/status/1"]},
                intent="faq", confidence=0.96)
    slots, _ = await run_form(t, domain)
    assert slots["description"] == "kampanye pas masa tenang di grup wa warga"
    assert "category" not in slots


async def test_a_date_typed_as_a_statement_gets_the_date_explained_not_a_faq(
    domain: dict[str, Any],
) -> None:
    t = tracker("sehari sebelum pemungutan suara",
                {"requested_slot": "known_date", "consent_given": True},
                intent="faq", confidence=0.98)
    slots, texts = await run_form(t, domain)
    assert slots["form_failures"] == {"known_date": 1}
    assert texts and "hari ini" in texts[0], texts
