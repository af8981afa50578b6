"""Screenshots and documents sent by citizens, kept for the next report they file."""

from __future__ import annotations

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.services import ensure_word_lists, merge_evidence
from bot.report_wording import LABELS, phrase

logger = logging.getLogger(__name__)

MAX_EVIDENCE_FILES = 10


class ActionReceiveEvidence(Action):
    """Acknowledge files received through the channel and keep them in the `evidence` slot."""

    def name(self) -> str:
        return "action_receive_evidence"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        await ensure_word_lists()
        known = tracker.get_slot("evidence") or []
        merged, added = await merge_evidence(known, tracker, MAX_EVIDENCE_FILES)
        in_form = (tracker.active_loop or {}).get("name") == "report_form"
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
        if in_form:
            dispatcher.utter_message(response="utter_evidence_added_to_report", files=files)
        else:
            dispatcher.utter_message(response="utter_evidence_kept_for_next_report",
                                     files=files)
        return [SlotSet("evidence", merged)]
