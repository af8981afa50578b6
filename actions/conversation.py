"""Conversation-control actions: cancelling and handing off to humans."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.taskforce import leave_from_message, wants_to_leave
from bot.clock import Today, system_today
from bot.election_facts import template_values

logger = logging.getLogger(__name__)

# Slots that survive a cancellation: they describe the reporter, not the report.
KEEP_ON_CANCEL = frozenset({"consent_given", "session_started_metadata"})


class ActionCancel(Action):
    """Stop whatever is in progress (an active form) and clear its slots."""

    def name(self) -> str:
        return "action_cancel"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[EventType]:
        active_loop = (tracker.active_loop or {}).get("name")
        if not active_loop and await wants_to_leave(tracker):
            # "berhenti jadi relawan" read as a plain "stop" by the NLU.
            await leave_from_message(dispatcher, tracker)
            return []
        filled = {
            name: value
            for name, value in tracker.slots.items()
            if value is not None and name not in KEEP_ON_CANCEL
        }
        if not active_loop and not filled:
            dispatcher.utter_message(response="utter_nothing_to_cancel")
            return []
        logger.info("Cancelled %s with %d filled slots", active_loop or "no form", len(filled))
        dispatcher.utter_message(response="utter_cancelled")
        events: list[EventType] = [SlotSet(name, None) for name in filled]
        if active_loop:
            events = [ActiveLoop(None), SlotSet("requested_slot", None), *events]
        return events


class ActionHumanHandoff(Action):
    """Give the official contact channels; there is no fake live hand-off."""

    def __init__(self, today: Today = system_today) -> None:
        """`today` gives the date the placeholder values are computed for."""
        self._today = today

    def name(self) -> str:
        return "action_human_handoff"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_human_handoff", **template_values(self._today()))
        return []
