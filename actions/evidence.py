"""Screenshots and documents sent by citizens, kept for the next report they file.

A screenshot is also read (bot/ocr): what it shows (links, account, post text)
is kept in the `screen_reading` slot for the report form to offer the citizen
("Apakah ini akun yang Anda laporkan: @akunpalsu?"). A screenshot that shows
something, sent outside a report, starts one.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.services import ensure_word_lists, merge_evidence, read_screenshots
from bot.ocr.screen_text import ScreenReading
from bot.report_wording import LABELS, phrase

logger = logging.getLogger(__name__)

MAX_EVIDENCE_FILES = 10
FORM_NAME = "report_form"


async def take_screenshots(known: list[dict[str, Any]] | None, tracker: Tracker
                           ) -> tuple[list[dict[str, Any]], int, list[EventType]]:
    """Add the latest message's files to `known` and read the new screenshots.

    Returns (all files, how many were added, the slot events: `evidence`, and
    `screen_reading` with `screen_confirmed` cleared when a screenshot showed
    something, so the form asks about it).
    """
    merged, added = await merge_evidence(known, tracker, MAX_EVIDENCE_FILES)
    if not added:
        return merged, 0, []
    merged, reading = await read_screenshots(merged)
    events: list[EventType] = [SlotSet("evidence", merged)]
    if reading is not None:
        earlier = ScreenReading.from_slot(tracker.get_slot("screen_reading"))
        if earlier is not None and tracker.get_slot("screen_confirmed") is None:
            reading = earlier.merged(reading)  # not answered yet: ask about both
        events += [SlotSet("screen_reading", reading.to_slot()),
                   SlotSet("screen_confirmed", None)]
    return merged, added, events


class ActionReceiveEvidence(Action):
    """Acknowledge files received through the channel and keep them in the `evidence` slot."""

    def name(self) -> str:
        return "action_receive_evidence"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        await ensure_word_lists()
        known = tracker.get_slot("evidence") or []
        merged, added, events = await take_screenshots(known, tracker)
        in_form = (tracker.active_loop or {}).get("name") == FORM_NAME
        if added == 0:
            if len(known) >= MAX_EVIDENCE_FILES:
                dispatcher.utter_message(response="utter_evidence_limit_reached",
                                         max_files=MAX_EVIDENCE_FILES)
            elif known:
                dispatcher.utter_message(response="utter_evidence_already_received")
            else:
                dispatcher.utter_message(response="utter_evidence_missing")
            return []
        logger.info("Evidence received (%d new, %d in total)", added, len(merged))
        files = (phrase(LABELS, "files_received", count=len(merged)) if len(merged) > 1
                 else phrase(LABELS, "one_file_received"))
        read_something = any(event.get("name") == "screen_reading" for event in events)
        if in_form:
            dispatcher.utter_message(response="utter_evidence_added_to_report", files=files)
        elif read_something:
            # The screenshot shows a post: start the report with it.
            dispatcher.utter_message(response="utter_evidence_starts_report", files=files)
            events.append(FollowupAction(FORM_NAME))
        else:
            dispatcher.utter_message(response="utter_evidence_kept_for_next_report",
                                     files=files)
        return events
