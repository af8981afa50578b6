"""The report form: extraction and validation of each field, and filing.

The form (`report_form` in domain.yml) asks only for what the citizen has not
already said. Every field is extracted here from free text (custom slot
mappings), so a complete report in one message fills the whole form at once.
`action_submit_report` is the single exit: it files the report, or explains why
not (consent declined, too many failed answers, daily cap).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import date, timedelta
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.evidence import MAX_EVIDENCE_FILES
from actions.services import (
    channel_of,
    extract,
    get_store,
    latest_contact_token,
    latest_intent,
    latest_text,
    link_check_allowed,
    merge_evidence,
    reporter_key,
)
from bot.categories import categories, detect_category, get_category, label_for
from bot.clock import Today, system_today
from bot.dates import (
    format_date_id,
    format_relative_id,
    is_past_deadline,
    parse_known_date,
)
from bot.election_facts import template_values
from bot.link_checker import LinkChecker, LinkCheckResult
from bot.regions import NO_MATCH, match_region, resolve_choice
from bot.settings import get_settings
from bot.store import DailyCapExceeded, NewEvidence, NewReport, NewReportLink
from bot.urls import UrlError, extract_urls, parse_and_validate

logger = logging.getLogger(__name__)

FORM_NAME = "report_form"
MAX_LINKS = 10
MIN_DESCRIPTION = 15
MAX_DESCRIPTION = 2000
MAX_FAILURES = 3
# A first message this long (links removed) is taken as the account of events.
FIRST_MESSAGE_DESCRIPTION = 40
# Questions whose long answers also count as the account of events.
DESCRIPTION_TOO = frozenset({None, "report_links", "category", "region", "known_date"})
# Intents that mean "not an answer to the question": the form steps aside and
# the rules answer them, then the form asks again.
CONTROL_INTENTS = frozenset(
    {"stop", "help", "bot_challenge", "human_handoff", "faq", "ask_rules",
     "check_status", "delete_my_data", "send_evidence", "share_location",
     "unsupported_message"}
)
CONTROL_CONFIDENCE = 0.6
SKIP_WORDS = frozenset(
    {"lewati", "skip", "tidak tahu", "gak tau", "ga tau", "nggak tahu", "tdk tahu",
     "tidak ada", "gak ada", "ga ada", "-", "tidak tau", "gatau", "gk tau", "anonim"}
)
NO_REPORTED_PARTY = "-"
# Days a formal report may be filed after the violation became known (Perbawaslu
# 7/2022 Pasal 8(3); UU 7/2017 counts working days, so calendar days are the
# safe reading).
FORMAL_REPORT_DAYS = 7
NATIONAL = "nasional"

REPORT_SLOTS = (
    "report_links", "link_checks", "category", "description", "region", "region_code",
    "region_candidates", "known_date", "reported_party", "report_confirmed", "edit_field",
    "form_failures", "evidence",
)
# Slots the form keeps for itself; the SDK drops non-required slots otherwise.
AUXILIARY_SLOTS = ("link_checks", "region_code", "region_candidates", "form_failures")
EDITABLE_FIELDS = ("report_links", "category", "description", "region", "known_date",
                   "reported_party")


def _is_control_message(tracker: Tracker) -> bool:
    name, confidence = latest_intent(tracker)
    return name in CONTROL_INTENTS and confidence >= CONTROL_CONFIDENCE


def _entity_values(tracker: Tracker, entity: str) -> list[str]:
    return [str(v) for v in tracker.get_latest_entity_values(entity) if v is not None]


def _failure_update(tracker: Tracker, slot: str) -> dict[str, Any]:
    failures = dict(tracker.get_slot("form_failures") or {})
    failures[slot] = int(failures.get(slot, 0)) + 1
    return {"form_failures": failures}


def _too_many_failures(tracker: Tracker) -> bool:
    failures = tracker.get_slot("form_failures") or {}
    return any(int(count) >= MAX_FAILURES for count in failures.values())


class ValidateReportForm(FormValidationAction):
    """Extracts and validates every field of the report form."""

    def __init__(self, today: Today = system_today) -> None:
        """`today` is the day relative dates ("kemarin", "3 hari lalu") count from."""
        super().__init__()
        self._today = today

    def name(self) -> str:
        return "validate_report_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """Stop early when consent is declined or answers keep failing; add edit steps."""
        if tracker.get_slot("consent_given") is False:
            return ["consent_given"]  # filled: the form ends and the submit action explains
        if _too_many_failures(tracker):
            return []
        slots = list(domain_slots)
        if tracker.get_slot("report_confirmed") == "edit":
            slots.insert(slots.index("report_confirmed"), "edit_field")
        return slots

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Validate the required slots and keep the auxiliary slots set on the way."""
        candidates = tracker.slots_to_validate()
        events = await super().get_validation_events(dispatcher, tracker, domain)
        validated = {event["name"] for event in events}
        for name in AUXILIARY_SLOTS:
            if name in candidates and name not in validated:
                events.append(SlotSet(name, tracker.slots.get(name)))
        # A screenshot with a caption: the caption fills fields, the file is kept.
        # (A file alone is a control message, answered by action_receive_evidence.)
        if latest_intent(tracker)[0] != "send_evidence":
            merged, added = await merge_evidence(tracker.get_slot("evidence"), tracker,
                                                 MAX_EVIDENCE_FILES)
            if added:
                events.append(SlotSet("evidence", merged))
        return events

    # --- consent -------------------------------------------------------------

    async def extract_consent_given(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("consent_given") is not None:
            return {}
        key = reporter_key(tracker)
        if await asyncio.to_thread(get_store().has_consent, key):
            return {"consent_given": True}
        if tracker.get_slot("requested_slot") != "consent_given" or _is_control_message(tracker):
            return {}
        intent, _ = latest_intent(tracker)
        if intent == "affirm":
            return {"consent_given": True}
        if intent == "deny":
            return {"consent_given": False}
        dispatcher.utter_message(text="Mohon jawab dengan memilih Setuju atau Tidak setuju.")
        return _failure_update(tracker, "consent_given")

    async def validate_consent_given(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if value is True:
            key = reporter_key(tracker)
            channel = tracker.get_latest_input_channel() or "rest"
            await asyncio.to_thread(get_store().record_consent, key, channel,
                                    contact_token=latest_contact_token(tracker))
        return {"consent_given": value}

    # --- links ---------------------------------------------------------------

    async def extract_report_links(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "report_links" and _is_control_message(tracker):
            return {}
        found = await extract(extract_urls, latest_text(tracker), default=[])
        requested = tracker.get_slot("requested_slot") == "report_links"
        if not found:
            if requested and not _is_control_message(tracker):
                dispatcher.utter_message(
                    text="Saya belum menemukan tautan di pesan Anda. Salin tautan kontennya "
                    "(diawali https://) lalu kirim ke sini, ya."
                )
                return _failure_update(tracker, "report_links")
            return {}
        known = list(tracker.get_slot("report_links") or [])
        merged = known + [url for url in found if url not in known]
        if len(merged) > MAX_LINKS:
            dispatcher.utter_message(
                text=f"Satu laporan memuat paling banyak {MAX_LINKS} tautan; "
                f"saya simpan {MAX_LINKS} yang pertama."
            )
            merged = merged[:MAX_LINKS]
        if merged == known:
            return {}
        return {"report_links": merged}

    async def validate_report_links(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        checks: list[dict[str, Any]] = list(tracker.get_slot("link_checks") or [])
        checked = {check["original"] for check in checks}
        valid: list[str] = [check["original"] for check in checks]
        to_check: list[str] = []
        for raw in value or []:
            if raw in checked:
                continue
            try:
                parsed = parse_and_validate(raw)
            except UrlError as error:
                dispatcher.utter_message(
                    text=f"Tautan {raw[:80]} tidak bisa dipakai: {error.message_id}"
                )
                continue
            to_check.append(parsed.url)
        key = reporter_key(tracker)
        # Beyond the sender's hourly budget a link is kept without being fetched.
        budgeted = [url for url in to_check if link_check_allowed(key)]
        if len(budgeted) < len(to_check):
            logger.info("Link-check budget used up: %d link(s) kept unchecked",
                        len(to_check) - len(budgeted))
        fetched: dict[str, LinkCheckResult] = {}
        if budgeted:
            settings = get_settings()
            async with LinkChecker(
                timeout=settings.link_check_timeout,
                max_redirects=settings.link_check_max_redirects,
                max_bytes=settings.link_check_max_bytes,
            ) as checker:
                fetched = dict(zip(budgeted, await checker.check_many(budgeted), strict=True))
        for url in to_check:
            result = fetched.get(url) or LinkCheckResult.unchecked(url)
            if result.status in {"blocked", "invalid"}:
                dispatcher.utter_message(
                    text=f"Tautan {result.original[:80]} tidak bisa diterima: {result.note}"
                )
                continue
            if result.status != "ok" and result.note:
                dispatcher.utter_message(
                    text=f"Catatan: {result.note} Laporan tetap bisa dikirim."
                )
            checks.append(result.to_dict())
            valid.append(result.original)
        if not valid:
            return {"report_links": None, "link_checks": None,
                    **_failure_update(tracker, "report_links")}
        return {"report_links": valid, "link_checks": checks}

    # --- category ------------------------------------------------------------

    async def extract_category(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("category") is not None or _is_control_message(tracker):
            return {}
        for value in _entity_values(tracker, "category"):
            if get_category(value):
                return {"category": get_category(value).value}
        detected = await extract(detect_category, latest_text(tracker), default=None)
        if detected:
            return {"category": detected}
        if tracker.get_slot("requested_slot") == "category":
            dispatcher.utter_message(text="Silakan pilih salah satu kategori dari tombol, ya.")
            return _failure_update(tracker, "category")
        return {}

    async def validate_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        category = get_category(str(value)) if value else None
        return {"category": category.value if category else None}

    # --- description ---------------------------------------------------------

    async def extract_description(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("description") is not None or _is_control_message(tracker):
            return {}
        text = latest_text(tracker).strip()
        without_links = text
        for url in await extract(extract_urls, text, default=[]):
            without_links = without_links.replace(url, " ")
        without_links = " ".join(without_links.split())
        requested = tracker.get_slot("requested_slot")
        if requested == "description":
            return {"description": text}
        if requested in DESCRIPTION_TOO and len(without_links) >= FIRST_MESSAGE_DESCRIPTION:
            # A long message that starts the report, or answers the question about
            # the link, category, place or date, also tells what happened.
            return {"description": text}
        return {}

    async def validate_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        if len(text) < MIN_DESCRIPTION:
            dispatcher.utter_message(
                text=f"Uraiannya terlalu singkat. Mohon jelaskan minimal {MIN_DESCRIPTION} "
                "karakter: apa isi kontennya dan mengapa melanggar."
            )
            return {"description": None, **_failure_update(tracker, "description")}
        if len(text) > MAX_DESCRIPTION:
            dispatcher.utter_message(
                text=f"Uraian terlalu panjang; saya simpan {MAX_DESCRIPTION} karakter pertama."
            )
            text = text[:MAX_DESCRIPTION]
        return {"description": text}

    # --- region --------------------------------------------------------------

    async def extract_region(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("region") is not None or _is_control_message(tracker):
            return {}
        text = latest_text(tracker)
        requested = tracker.get_slot("requested_slot") == "region"
        candidates = tracker.get_slot("region_candidates")
        if requested and candidates:
            chosen = await extract(resolve_choice, candidates, text, default=None)
            if chosen is not None:
                return {"region": chosen["name"], "region_code": chosen["code"],
                        "region_candidates": None}
        match = await extract(match_region, text, default=NO_MATCH)
        # A typo fix or a kecamatan hint is only trusted as an answer to the question.
        if match.kind == "exact" and match.region is not None and (
            requested or not match.needs_confirmation
        ):
            return {"region": match.region.display_name, "region_code": match.region.code,
                    "region_candidates": None}
        if match.kind == "national":
            return {"region": NATIONAL, "region_code": None, "region_candidates": None}
        if match.kind == "ambiguous":
            return {"region_candidates": [c.to_choice() for c in match.candidates]}
        if requested:
            dispatcher.utter_message(
                text="Maaf, nama daerahnya belum saya kenali. Tulis nama kabupaten/kota atau "
                "provinsinya, misalnya \"Kota Pekalongan\" atau \"Jawa Tengah\". "
                "Jika tidak tahu, ketik \"tidak tahu\"."
            )
            return _failure_update(tracker, "region")
        return {}

    async def validate_region(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return {"region": str(value)[:200] if value else None}

    # --- date ----------------------------------------------------------------

    async def extract_known_date(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("known_date") is not None or _is_control_message(tracker):
            return {}
        requested = tracker.get_slot("requested_slot") == "known_date"
        today = self._today()
        parsed = await extract(parse_known_date, latest_text(tracker), today, default=None)
        if parsed is None:
            if requested:
                dispatcher.utter_message(
                    text="Maaf, tanggalnya belum saya pahami. Contoh: \"hari ini\", "
                    "\"kemarin\", \"3 hari lalu\", atau \"5/11\"."
                )
                return _failure_update(tracker, "known_date")
            return {}
        if parsed.future:
            dispatcher.utter_message(
                text="Tanggal itu belum terjadi. Kapan Anda pertama kali melihat kontennya?"
            )
            return _failure_update(tracker, "known_date")
        if is_past_deadline(parsed.value, today):
            dispatcher.utter_message(
                text=f"Catatan: konten ini Anda ketahui {format_relative_id(parsed.value, today)}. "
                "Laporan pelanggaran pemilu umumnya harus disampaikan paling lama 7 hari sejak "
                "diketahui, jadi laporan ini mungkin hanya menjadi informasi awal. "
                "Tetap saya catat."
            )
        return {"known_date": parsed.value.isoformat()}

    async def validate_known_date(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        try:
            return {"known_date": date.fromisoformat(str(value)).isoformat()}
        except ValueError:
            return {"known_date": None}

    # --- reported party ------------------------------------------------------

    async def extract_reported_party(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("reported_party") is not None:
            return {}
        if tracker.get_slot("requested_slot") != "reported_party" or _is_control_message(tracker):
            return {}
        text = " ".join(latest_text(tracker).split())
        if text.lower() in SKIP_WORDS:
            return {"reported_party": NO_REPORTED_PARTY}
        return {"reported_party": text[:200]}

    # --- confirmation and edits ----------------------------------------------

    async def extract_report_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "report_confirmed" or _is_control_message(tracker):
            return {}
        intent, _ = latest_intent(tracker)
        text = latest_text(tracker).strip().lower()
        if intent == "affirm" or text in {"kirim", "kirim laporan", "ya kirim"}:
            return {"report_confirmed": "yes"}
        if intent == "deny" or text.startswith("ubah"):
            return {"report_confirmed": "edit"}
        dispatcher.utter_message(text="Pilih Kirim, Ubah, atau Batal, ya.")
        return _failure_update(tracker, "report_confirmed")

    async def extract_edit_field(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "edit_field" or _is_control_message(tracker):
            return {}
        for value in _entity_values(tracker, "form_field"):
            if value in EDITABLE_FIELDS:
                return {"edit_field": value}
        text = latest_text(tracker).lower()
        words = {
            "tautan": "report_links", "link": "report_links", "kategori": "category",
            "uraian": "description", "cerita": "description", "daerah": "region",
            "wilayah": "region", "tanggal": "known_date", "terlapor": "reported_party",
            "akun": "reported_party",
        }
        for word, field in words.items():
            if word in text:
                return {"edit_field": field}
        dispatcher.utter_message(text="Pilih bagian yang ingin diubah dari tombol, ya.")
        return _failure_update(tracker, "edit_field")

    async def validate_edit_field(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """Clear the chosen field so the form asks for it again, then re-confirm."""
        cleared: dict[str, Any] = {value: None, "edit_field": None, "report_confirmed": None}
        if value == "report_links":
            cleared["link_checks"] = None
        if value == "region":
            cleared.update(region_code=None, region_candidates=None)
        return cleared


class ActionAskCategory(Action):
    """Ask for the category with one button per category."""

    def name(self) -> str:
        return "action_ask_category"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        buttons = [
            {"title": c.button_title, "payload": f'/inform{{"category": "{c.value}"}}'}
            for c in categories()
        ]
        dispatcher.utter_message(response="utter_ask_category", buttons=buttons)
        return []


class ActionAskRegion(Action):
    """Ask for the region, or to choose between ambiguous candidates."""

    def name(self) -> str:
        return "action_ask_region"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        candidates = tracker.get_slot("region_candidates") or []
        if candidates:
            buttons = [
                {"title": c["short_name"], "payload": c["short_name"]} for c in candidates[:10]
            ]
            names = " atau ".join(c["short_name"] for c in candidates[:3])
            dispatcher.utter_message(
                response="utter_ask_region_choice", options=names, buttons=buttons
            )
        else:
            dispatcher.utter_message(response="utter_ask_region")
        return []


def report_summary_values(tracker: Tracker, today: date) -> dict[str, str]:
    """Values that fill the summary shown before filing (`today` for "3 hari lalu")."""
    links = tracker.get_slot("report_links") or []
    known = tracker.get_slot("known_date")
    known_text = "-"
    if known:
        day = date.fromisoformat(known)
        known_text = f"{format_date_id(day)} ({format_relative_id(day, today)})"
    region = tracker.get_slot("region")
    party = tracker.get_slot("reported_party")
    evidence = tracker.get_slot("evidence") or []
    description = (tracker.get_slot("description") or "").strip()
    if len(description) > 200:
        description = description[:197] + "..."
    return {
        "links": "\n".join(f"  {i}. {url}" for i, url in enumerate(links, 1)) or "-",
        "category_label": label_for(tracker.get_slot("category")),
        "description": description or "-",
        "region_label": "Nasional / tidak diketahui" if region == NATIONAL else (region or "-"),
        "known_date_label": known_text,
        "reported_party_label": "-" if party in (None, NO_REPORTED_PARTY) else party,
        "evidence_label": f"{len(evidence)} berkas" if evidence else "-",
    }


class ActionAskReportConfirmed(Action):
    """Show the summary and ask to send, change one field, or cancel."""

    def __init__(self, today: Today = system_today) -> None:
        """`today` is the day the summary's "3 hari lalu" counts from."""
        self._today = today

    def name(self) -> str:
        return "action_ask_report_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(
            response="utter_ask_report_confirmed",
            **report_summary_values(tracker, self._today()),
        )
        return []


def idempotency_key(tracker: Tracker, key: str) -> str:
    """Stable for one filled-in form, so a retried submission files only once."""
    started = ""
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name") == FORM_NAME:
            started = str(event.get("timestamp"))
            break
    material = "|".join([key, tracker.sender_id, started, tracker.get_slot("description") or ""])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def formal_deadline_label(known: str | None, today: date) -> str:
    """The last day for a formal report, " (sampai 8 Desember 2026, 7 hari lagi)";
    empty when the date the content became known is missing."""
    if not known:
        return ""
    deadline = date.fromisoformat(known) + timedelta(days=FORMAL_REPORT_DAYS)
    return f" (sampai {format_date_id(deadline)}, {format_relative_id(deadline, today)})"


class ActionSubmitReport(Action):
    """File the completed report durably, then tell the reporter the ticket code,
    that it is informasi awal, and what a formal report needs and by when."""

    def __init__(self, today: Today = system_today) -> None:
        """`today` dates the confirmation: the formal deadline and the election phase."""
        self._today = today

    def name(self) -> str:
        return "action_submit_report"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        today = self._today()
        facts = template_values(today)
        reset = [SlotSet(slot, None) for slot in REPORT_SLOTS]
        if tracker.get_slot("consent_given") is False:
            dispatcher.utter_message(response="utter_consent_declined", **facts)
            return [*reset, SlotSet("consent_given", None)]
        if _too_many_failures(tracker) or tracker.get_slot("report_confirmed") != "yes":
            dispatcher.utter_message(response="utter_too_many_attempts", **facts)
            return reset

        key = reporter_key(tracker)
        checks = {c["original"]: c for c in tracker.get_slot("link_checks") or []}
        links = []
        for url in tracker.get_slot("report_links") or []:
            check = checks.get(url, {})
            links.append(
                NewReportLink(
                    original_url=url,
                    canonical_url=check.get("canonical") or url,
                    platform=check.get("platform") or "web",
                    check_status=check.get("status"),
                    http_status=check.get("http_status"),
                    page_title=check.get("page_title"),
                )
            )
        evidence = [
            NewEvidence(kind=item["kind"], mime_type=item["mime_type"],
                        size_bytes=int(item["size_bytes"]), sha256=item["sha256"],
                        storage_path=item["storage_path"])
            for item in tracker.get_slot("evidence") or [] if isinstance(item, dict)
        ]
        region = tracker.get_slot("region")
        party = tracker.get_slot("reported_party")
        known = tracker.get_slot("known_date")
        report = NewReport(
            idempotency_key=idempotency_key(tracker, key),
            reporter_key=key,
            channel=channel_of(tracker),
            category=tracker.get_slot("category") or "lainnya",
            description=tracker.get_slot("description") or "",
            region_code=tracker.get_slot("region_code"),
            region_name=None if region == NATIONAL else region,
            known_date=date.fromisoformat(known) if known else None,
            reported_party=None if party in (None, NO_REPORTED_PARTY) else party,
            links=links,
            evidence=evidence,
        )
        cap = get_settings().daily_report_cap
        try:
            filed = await asyncio.to_thread(get_store().file_report, report, cap)
        except DailyCapExceeded:
            dispatcher.utter_message(response="utter_report_cap_reached", cap=cap, **facts)
            return reset
        except Exception:
            logger.exception("Filing a report failed")
            dispatcher.utter_message(response="utter_report_store_failed")
            return []
        logger.info("Report filed (created=%s, links=%d)", filed.created, len(links))
        dispatcher.utter_message(
            response="utter_report_filed",
            ticket_code=filed.ticket_code,
            formal_deadline=formal_deadline_label(known, today),
            report_phase_note=facts["report_phase_note"],
            sigaplapor_url=facts["sigaplapor_url"],
        )
        if filed.duplicate_links:
            dispatcher.utter_message(
                response="utter_report_duplicate_links", count=len(filed.duplicate_links)
            )
        return reset
