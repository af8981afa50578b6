"""The report form: reading each field from free text, and filing.

The form (`report_form` in domain.yml) asks only for what the citizen has not
already said. What a message says about each field is read by the pure
functions of `bot.report_extraction` (in a worker thread, within a time
budget); this module turns their answers into slots and responses, on the
guard, failure path and "continue?" of `actions.form_validation`.
`action_submit_report` is the single exit: it files the report, or explains
why not (consent declined, the citizen stopped, no answer to "continue?",
daily cap).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.evidence import take_screenshots
from actions.form_validation import (
    CONTINUE_SLOT,
    FAILURES_SLOT,
    GuidedFormValidationAction,
    SlotReading,
    is_control_message,
)
from actions.services import (
    channel_of,
    ensure_word_lists,
    extract,
    get_store,
    latest_contact_token,
    latest_intent,
    latest_text,
    link_check_allowed,
    reporter_key,
    wake_archiver,
)
from bot.categories import categories, label_for
from bot.clock import Today, system_today
from bot.dates import format_date_id, format_relative_id
from bot.election_facts import template_values
from bot.link_checker import LinkChecker, LinkCheckResult
from bot.ocr.screen_text import ScreenReading
from bot.report_extraction import (
    FORMAL_REPORT_DAYS,
    MAX_DESCRIPTION,
    MAX_LINKS,
    MIN_DESCRIPTION,
    NATIONAL,
    NO_REGION,
    NO_REPORTED_PARTY,
    LinksFound,
    account_of_events,
    check_description,
    confirmation,
    field_to_edit,
    find_category,
    find_known_date,
    find_links,
    find_region,
    reported_party,
    valid_category,
    valid_known_date,
    valid_region_name,
    yes_or_no,
)
from bot.report_wording import LABELS, WordingError, phrase
from bot.settings import get_settings
from bot.store import DailyCapExceeded, NewEvidence, NewReport, NewReportLink
from bot.urls import UrlError, parse_and_validate

logger = logging.getLogger(__name__)

FORM_NAME = "report_form"
#: Longest part of a link repeated in a reply.
LINK_ECHO_CHARS = 80

REPORT_SLOTS = (
    "report_links", "link_checks", "category", "description", "region", "region_code",
    "region_candidates", "known_date", "reported_party", "report_confirmed", "edit_field",
    FAILURES_SLOT, CONTINUE_SLOT, "evidence", "screen_reading", "screen_confirmed",
)
#: The question about what a screenshot showed, asked before any other.
SCREEN_SLOT = "screen_confirmed"
#: Longest post text quoted back to the citizen.
POST_ECHO_CHARS = 160


def screen_reading_of(tracker: Tracker) -> ScreenReading | None:
    """What the screenshots of this report showed (the `screen_reading` slot)."""
    reading = ScreenReading.from_slot(tracker.get_slot("screen_reading"))
    return reading if reading is not None and reading.found_anything else None


def _entity_values(tracker: Tracker, entity: str) -> list[str]:
    return [str(v) for v in tracker.get_latest_entity_values(entity) if v is not None]


class ValidateReportForm(GuidedFormValidationAction):
    """Reads and checks every field of the report form."""

    auxiliary_slots = ("link_checks", "region_code", "region_candidates", "evidence",
                       "screen_reading")

    def __init__(self, today: Today = system_today) -> None:
        """`today` is the day relative dates ("kemarin", "3 hari lalu") count from."""
        super().__init__()
        self._today = today

    def name(self) -> str:
        return "validate_report_form"

    def slot_readings(self) -> Mapping[str, SlotReading]:
        """Links collect and are read from any message (a link the NLU took for a
        question still answers the link question); a free-text answer phrased
        as a statement answers its question whatever the model says; the
        form's own questions and the reported party are read only as
        answers to their question."""
        asked_only = SlotReading(only_when_asked=True, refill=True)
        return {
            "report_links": SlotReading(refill=True, control_when_asked=True),
            # An answer typed as a statement answers the question even when the
            # model took it for a rules question ("kampanye di luar jadwal").
            "category": SlotReading(statement_when_asked=True),
            "description": SlotReading(statement_when_asked=True),
            "region": SlotReading(statement_when_asked=True),
            "known_date": SlotReading(statement_when_asked=True),
            "reported_party": SlotReading(only_when_asked=True, statement_when_asked=True),
            SCREEN_SLOT: asked_only,
            "report_confirmed": asked_only,
            "edit_field": asked_only,
        }

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Make sure the word lists are read (in a thread), then read the message."""
        await ensure_word_lists()
        return await super().run(dispatcher, tracker, domain)

    async def form_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """End at once when consent is declined; ask which part to change after "Ubah"."""
        if tracker.get_slot("consent_given") is False:
            return ["consent_given"]  # filled: the form ends and the submit action explains
        slots = list(domain_slots)
        if tracker.get_slot("report_confirmed") == "edit":
            slots.insert(slots.index("report_confirmed"), "edit_field")
        reading = screen_reading_of(tracker)
        if reading is not None:
            # First of all: the citizen hears at once what was read from the picture.
            # (Kept in the list once answered, or the SDK would drop the answer.)
            slots.insert(0, SCREEN_SLOT)
            if (tracker.get_slot(SCREEN_SLOT) is True and not reading.links
                    and not tracker.get_slot("report_links")):
                # A screenshot without a link, confirmed: filed with its text and image.
                slots.remove("report_links")
        return slots

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Also keep (and read) the files of a screenshot sent with a caption."""
        events = await super().get_validation_events(dispatcher, tracker, domain)
        # The caption fills fields, the file is kept and read. (A file alone is a
        # control message, answered by action_receive_evidence.)
        if latest_intent(tracker)[0] != "send_evidence":
            _, _, taken = await take_screenshots(tracker.get_slot("evidence"), tracker)
            events.extend(taken)
        return events

    # --- what a screenshot showed ----------------------------------------------

    async def extract_screen_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        answer = yes_or_no(latest_intent(tracker)[0])
        if answer is None:
            return self.fail(dispatcher, tracker, SCREEN_SLOT, "utter_screen_confirmed_unclear")
        return {SCREEN_SLOT: answer}

    async def validate_screen_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """"Ya": the screenshot's links (checked like any other), account and post text
        fill what is still empty; "Tidak": nothing is taken, the form asks as usual."""
        reading = screen_reading_of(tracker)
        if value is not True or reading is None:
            return {SCREEN_SLOT: value}
        filled: dict[str, Any] = {SCREEN_SLOT: True}
        known = list(tracker.get_slot("report_links") or [])
        new_links = [url for url in reading.links if url not in known]
        if new_links:
            found = find_links("\n".join(new_links), known)
            checked = await self.validate_report_links(list(found.links), dispatcher,
                                                       tracker, domain)
            filled.update({key: val for key, val in checked.items() if key != FAILURES_SLOT})
        elif not known:
            dispatcher.utter_message(response="utter_screen_without_link")
        if reading.handles and not tracker.get_slot("reported_party"):
            filled["reported_party"] = reading.handles[0]
        if not tracker.get_slot("description"):
            post = check_description(reading.post_text)
            if post.text is not None:
                filled["description"] = post.text
        return filled

    # --- consent -------------------------------------------------------------

    async def extract_consent_given(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if await asyncio.to_thread(get_store().has_consent, reporter_key(tracker)):
            return {"consent_given": True}
        if not self.asked(tracker, "consent_given"):
            return {}
        answer = yes_or_no(latest_intent(tracker)[0])
        if answer is None:
            return self.fail(dispatcher, tracker, "consent_given", "utter_consent_unclear")
        return {"consent_given": answer}

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
        known = list(tracker.get_slot("report_links") or [])
        found = await extract(find_links, latest_text(tracker), known,
                              default=LinksFound(tuple(known)))
        if not found.in_message:
            if self.asked(tracker, "report_links") and not is_control_message(tracker):
                return self.fail(dispatcher, tracker, "report_links",
                                 "utter_report_links_missing")
            return {}
        if found.dropped:
            dispatcher.utter_message(response="utter_report_links_too_many",
                                     max_links=MAX_LINKS)
        return {"report_links": list(found.links)} if found.adds_to(known) else {}

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
                dispatcher.utter_message(response="utter_link_unusable",
                                         link=raw[:LINK_ECHO_CHARS], reason=error.message_id)
                continue
            to_check.append(parsed.url)
        key = reporter_key(tracker)
        # Beyond the sender's hourly budget a link is kept without being fetched.
        budgeted = [url for url in to_check if await link_check_allowed(key)]
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
                dispatcher.utter_message(response="utter_link_refused",
                                         link=result.original[:LINK_ECHO_CHARS],
                                         reason=result.note)
                continue
            if result.status != "ok" and result.note:
                dispatcher.utter_message(response="utter_link_check_note", note=result.note)
            checks.append(result.to_dict())
            valid.append(result.original)
        if not valid:
            return {"report_links": None, "link_checks": None,
                    **self.fail(dispatcher, tracker, "report_links")}
        return {"report_links": valid, "link_checks": checks}

    # --- category ------------------------------------------------------------

    async def extract_category(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        found = await extract(find_category, latest_text(tracker),
                              _entity_values(tracker, "category"), default=None)
        if found:
            return {"category": found}
        if self.asked(tracker, "category"):
            return self.fail(dispatcher, tracker, "category", "utter_category_unclear")
        return {}

    async def validate_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return {"category": valid_category(value)}

    # --- description ---------------------------------------------------------

    async def extract_description(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = await extract(account_of_events, latest_text(tracker),
                             tracker.get_slot("requested_slot"), default=None)
        return {"description": text} if text is not None else {}

    async def validate_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        checked = check_description(value)
        if checked.problem == "too_short":
            return {"description": None,
                    **self.fail(dispatcher, tracker, "description",
                                "utter_description_too_short", min_chars=MIN_DESCRIPTION)}
        if checked.problem == "truncated":
            dispatcher.utter_message(response="utter_description_truncated",
                                     max_chars=MAX_DESCRIPTION)
        return {"description": checked.text}

    # --- region --------------------------------------------------------------

    async def extract_region(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        asked = self.asked(tracker, "region")
        answer = await extract(find_region, latest_text(tracker), asked,
                               tracker.get_slot("region_candidates"), default=NO_REGION)
        if answer.kind in ("region", "national"):
            return {"region": answer.name, "region_code": answer.code,
                    "region_candidates": None}
        if answer.kind == "ambiguous":
            return {"region_candidates": list(answer.candidates)}
        if asked:
            return self.fail(dispatcher, tracker, "region", "utter_region_unknown")
        return {}

    async def validate_region(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return {"region": valid_region_name(value)}

    # --- date ----------------------------------------------------------------

    async def extract_known_date(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        today = self._today()
        answer = await extract(find_known_date, latest_text(tracker), today, default=None)
        if answer is None:
            if self.asked(tracker, "known_date"):
                return self.fail(dispatcher, tracker, "known_date", "utter_known_date_unclear")
            return {}
        if answer.future:
            return self.fail(dispatcher, tracker, "known_date", "utter_known_date_future")
        if answer.late:
            dispatcher.utter_message(response="utter_known_date_late",
                                     known_relative=format_relative_id(answer.day, today))
        return {"known_date": answer.day.isoformat()}

    async def validate_known_date(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return {"known_date": valid_known_date(value)}

    # --- reported party ------------------------------------------------------

    async def extract_reported_party(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"reported_party": reported_party(latest_text(tracker))}

    # --- confirmation and edits ----------------------------------------------

    async def extract_report_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        answer = confirmation(latest_intent(tracker)[0], latest_text(tracker))
        if answer is None:
            return self.fail(dispatcher, tracker, "report_confirmed",
                             "utter_report_confirmed_unclear")
        return {"report_confirmed": answer}

    async def extract_edit_field(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        field = field_to_edit(latest_text(tracker), _entity_values(tracker, "form_field"))
        if field is None:
            return self.fail(dispatcher, tracker, "edit_field", "utter_edit_field_unclear")
        return {"edit_field": field}

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
        await ensure_word_lists()
        buttons = [
            {"title": c.button_title, "payload": f'/inform{{"category": "{c.value}"}}'}
            for c in categories()
        ]
        dispatcher.utter_message(response="utter_ask_category", buttons=buttons)
        return []


class ActionAskScreenConfirmed(Action):
    """Say what the screenshot showed and ask whether it is what the citizen reports."""

    def name(self) -> str:
        return "action_ask_screen_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        await ensure_word_lists()
        reading = screen_reading_of(tracker)
        if reading is None:  # pragma: no cover - the form asks only when there is one
            return []
        lines = []
        if reading.links:
            lines.append(phrase(LABELS, "screen_links", links=", ".join(
                url[:LINK_ECHO_CHARS] for url in reading.links)))
        if reading.handles:
            lines.append(phrase(LABELS, "screen_account", handle=reading.handles[0]))
        if reading.platform:
            lines.append(phrase(LABELS, "screen_platform", platform=platform_label(
                reading.platform)))
        if reading.post_text:
            post = reading.post_text
            if len(post) > POST_ECHO_CHARS:
                post = post[:POST_ECHO_CHARS - 3].rstrip() + "..."
            lines.append(phrase(LABELS, "screen_post_text", text=post))
        findings = "\n".join(lines)
        if reading.handles:
            dispatcher.utter_message(response="utter_ask_screen_confirmed_account",
                                     findings=findings, handle=reading.handles[0])
        else:
            dispatcher.utter_message(response="utter_ask_screen_confirmed_content",
                                     findings=findings)
        return []


def platform_label(platform: str) -> str:
    """The platform's name as citizens write it (labels `platform_<name>`), else as is."""
    try:
        return phrase(LABELS, f"platform_{platform}")
    except WordingError:
        return platform


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
    no_links = "-"
    if not links and tracker.get_slot("screen_confirmed") is True:
        no_links = "  " + phrase(LABELS, "no_link_screenshot")
    return {
        "links": "\n".join(f"  {i}. {url}" for i, url in enumerate(links, 1)) or no_links,
        "category_label": label_for(tracker.get_slot("category")),
        "description": description or "-",
        "region_label": (phrase(LABELS, "national_region") if region == NATIONAL
                         else (region or "-")),
        "known_date_label": known_text,
        "reported_party_label": "-" if party in (None, NO_REPORTED_PARTY) else party,
        "evidence_label": phrase(LABELS, "file_count", count=len(evidence)) if evidence else "-",
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
        await ensure_word_lists()
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


def _text_or_none(value: Any) -> str | None:
    return str(value) if isinstance(value, str) and value else None


def formal_deadline_label(known: str | None, today: date) -> str:
    """The last day for a formal report, " (sampai 8 Desember 2026, 7 hari lagi)";
    empty when the date the content became known is missing."""
    if not known:
        return ""
    deadline = date.fromisoformat(known) + timedelta(days=FORMAL_REPORT_DAYS)
    return " " + phrase(LABELS, "formal_deadline", date=format_date_id(deadline),
                        relative=format_relative_id(deadline, today))


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
        await ensure_word_lists()
        today = self._today()
        facts = template_values(today)
        reset = [SlotSet(slot, None) for slot in REPORT_SLOTS]
        if tracker.get_slot("consent_given") is False:
            dispatcher.utter_message(response="utter_consent_declined", **facts)
            return [*reset, SlotSet("consent_given", None)]
        if tracker.get_slot(CONTINUE_SLOT) is False:
            dispatcher.utter_message(response="utter_report_stopped", **facts)
            return reset
        if tracker.get_slot("report_confirmed") != "yes":
            # The form ended without a confirmed report: "continue?" got no answer.
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
                        storage_path=item["storage_path"],
                        extracted_text=_text_or_none(item.get("text")),
                        perceptual_hash=_text_or_none(item.get("perceptual_hash")))
            for item in tracker.get_slot("evidence") or [] if isinstance(item, dict)
        ]
        reading = screen_reading_of(tracker)
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
            screenshot_platform=reading.platform if reading is not None else None,
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
        if filed.created and links:
            wake_archiver()  # the links' archives were queued with the report
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
