"""Report status look-ups and the reporter's data rights."""

from __future__ import annotations

import asyncio
import logging
from datetime import timezone
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import AllSlotsReset, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.services import ensure_word_lists, get_store, latest_text, reporter_key
from actions.taskforce import has_volunteer_code, join_from_message
from bot.categories import label_for
from bot.clock import Today, system_today
from bot.dates import WIB, format_date_id
from bot.election_facts import template_values
from bot.evidence import EvidenceFile, delete_evidence
from bot.notify.wording import destination_label, outcome_label
from bot.privacy import ERASURE_SLOT
from bot.report_wording import LABELS, phrase
from bot.status_labels import status_label
from bot.store.tickets import find_ticket_codes, normalize_ticket_code
from bot.store.types import ReportStatus

logger = logging.getLogger(__name__)


def _local_day(moment: Any) -> str:
    """A timestamp as an Indonesian date and time (WIB)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    wib = moment.astimezone(WIB)
    return f"{format_date_id(wib.date())} {wib:%H.%M} WIB"


def _ticket_from(tracker: Tracker) -> str | None:
    for value in tracker.get_latest_entity_values("ticket_id"):
        code = normalize_ticket_code(str(value))
        if code:
            return code
    codes = find_ticket_codes(latest_text(tracker))
    return codes[0] if codes else None


class ActionCheckStatus(Action):
    """Show one report's status to its reporter, or list the reporter's reports."""

    def __init__(self, today: Today = system_today) -> None:
        """`today` places the reply in the election calendar (masa tenang, voting day)."""
        self._today = today

    def name(self) -> str:
        return "action_check_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        code = _ticket_from(tracker)
        if code is None and has_volunteer_code(tracker):
            # "RLW-4MZ8KD" looks like a ticket code to a model not trained on it.
            await join_from_message(dispatcher, tracker)
            return []
        await ensure_word_lists()
        key = reporter_key(tracker)
        store = get_store()
        if code:
            status = await asyncio.to_thread(store.get_status, code, key)
            if status is None:
                # Same answer for unknown codes and other people's codes.
                dispatcher.utter_message(response="utter_ticket_not_found", ticket_code=code)
                return []
            dispatcher.utter_message(
                response="utter_report_status",
                now_alert=template_values(self._today())["now_alert"],
                ticket_code=status.ticket_code,
                status_label=status_label(status.status),
                category_label=label_for(status.category),
                filed_at=_local_day(status.created_at),
                updated_at=_local_day(status.updated_at),
                note=_reviewer_lines(status),
            )
            return []
        reports = await asyncio.to_thread(store.list_reports, key, 5)
        if not reports:
            dispatcher.utter_message(response="utter_no_reports_yet")
            return []
        lines = "\n".join(
            f"• {r.ticket_code}: {status_label(r.status)} ({_local_day(r.created_at)})"
            for r in reports
        )
        dispatcher.utter_message(response="utter_report_list", reports=lines)
        return []


def _reviewer_lines(status: ReportStatus) -> str:
    """Where reviewers sent the report, how it ended and their note, one line each."""
    lines = []
    destination = destination_label(status.destination)
    if destination:
        lines.append(phrase(LABELS, "reviewer_destination", destination=destination))
    outcome = outcome_label(status.outcome)
    if outcome:
        lines.append(phrase(LABELS, "reviewer_outcome", outcome=outcome))
    if status.note:
        lines.append(phrase(LABELS, "reviewer_note", note=status.note))
    return "".join("\n" + line for line in lines)


class ActionNluFallback(Action):
    """Low NLU confidence: a message with a ticket code is still a status check;
    anything else is asked again, with the menu."""

    def __init__(self, today: Today = system_today) -> None:
        """`today` is handed on to the status look-up."""
        self._today = today

    def name(self) -> str:
        return "action_nlu_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if find_ticket_codes(latest_text(tracker)):
            logger.info("Low-confidence message with a ticket code: checking its status")
            return await ActionCheckStatus(self._today).run(dispatcher, tracker, domain)
        if has_volunteer_code(tracker):
            logger.info("Low-confidence message with a volunteer code: joining")
            await join_from_message(dispatcher, tracker)
            return []
        dispatcher.utter_message(response="utter_please_rephrase")
        return []


class ActionDeleteMyData(Action):
    """Erase the reporter: contact, consent, conversation and unused files.

    The store deletes the reporter and unlinks their reports (kept, anonymised,
    for the supervisors); evidence files of this conversation that no report
    needs are deleted; all slots are reset; and `ERASURE_SLOT` tells the tracker
    store to delete the whole conversation instead of storing this turn
    (bot/tracker_stores.py).
    """

    def name(self) -> str:
        return "action_delete_my_data"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        key = reporter_key(tracker)
        store = get_store()
        count = await asyncio.to_thread(store.erase_reporter, key)
        files = [item for item in (EvidenceFile.from_metadata(raw)
                                   for raw in tracker.get_slot("evidence") or [])
                 if item is not None]
        if files:
            in_use = await asyncio.to_thread(store.evidence_in_use,
                                             [item.sha256 for item in files])
            removed = await asyncio.to_thread(delete_evidence, files, in_use)
            logger.info("Erasure removed %d unused evidence file(s)", removed)
        logger.info("Reporter data erased; %d reports anonymised", count)
        dispatcher.utter_message(response="utter_data_deleted", count=count)
        return [AllSlotsReset(), SlotSet(ERASURE_SLOT, True)]
