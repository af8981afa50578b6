"""Volunteer taskforce (gugus tugas): joining with a code, and leaving.

Only a verified connector's sender (WhatsApp, Telegram, web widget) can join: a
REST sender is refused politely. Every attempt with a code spends one token of the
sender's hourly budget (`CODE_TRIES_PER_HOUR`, in the ephemeral store, so it holds
across replicas); an unknown and a revoked code get the same answer, with no
values, so the answer never hints at which codes exist. Nothing logs the code or
the sender.

`join_from_message` and `leave_from_message` are also used where the NLU may have
read such a message as something else (a code as a status check, "berhenti jadi
relawan" as "stop"), so they work before the model learns the two intents.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.services import extract, get_store, is_verified, latest_text, reporter_key
from bot.ephemeral import ephemeral_store
from bot.regions import get_region
from bot.store.volunteer_codes import find_volunteer_code, mentions_volunteer_code
from bot.store.volunteers import JoinResult
from bot.taskforce_words import asks_to_leave, taskforce_words

logger = logging.getLogger(__name__)

#: Attempts with a code a sender may make per hour (a bucket refilling over the hour).
CODE_TRIES_PER_HOUR = 5


def has_volunteer_code(tracker: Tracker) -> bool:
    """True when the latest message holds something shaped like "RLW-XXXXXX"."""
    return mentions_volunteer_code(latest_text(tracker))


async def wants_to_leave(tracker: Tracker) -> bool:
    """True when the latest message asks to stop being a volunteer."""
    await asyncio.to_thread(taskforce_words)  # read once, off the event loop
    return asks_to_leave(latest_text(tracker))


def _region_name(code: str | None) -> str:
    region = get_region(code) if code else None
    return region.display_name if region else (code or "-")


async def join_from_message(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """Link the sender to the taskforce of the code in their message, or say why not."""
    if not is_verified(tracker):
        dispatcher.utter_message(response="utter_taskforce_unverified")
        return
    text = latest_text(tracker)
    if not mentions_volunteer_code(text):
        dispatcher.utter_message(response="utter_taskforce_ask_code")
        return
    key = reporter_key(tracker)
    allowance = float(CODE_TRIES_PER_HOUR)
    if not await ephemeral_store().take(f"volunteer-code-tries:{key}", allowance,
                                        allowance / 3600.0):
        logger.info("Volunteer code tries used up for a sender")
        dispatcher.utter_message(response="utter_taskforce_try_later")
        return
    code = await extract(find_volunteer_code, text, default=None)
    if code is None:
        dispatcher.utter_message(response="utter_taskforce_code_invalid")
        return
    joined = await asyncio.to_thread(get_store().join_taskforce, key, code)
    if joined.result is JoinResult.INVALID:
        dispatcher.utter_message(response="utter_taskforce_code_invalid")
        return
    region = await asyncio.to_thread(_region_name, joined.region_code)
    response = ("utter_taskforce_already" if joined.result is JoinResult.ALREADY
                else "utter_taskforce_joined")
    dispatcher.utter_message(response=response, taskforce=joined.taskforce, region=region)


async def leave_from_message(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """End the sender's taskforce membership (their earlier reports keep the mark)."""
    left = await asyncio.to_thread(get_store().leave_taskforce, reporter_key(tracker))
    dispatcher.utter_message(response="utter_taskforce_left" if left
                             else "utter_taskforce_not_member")


class ActionJoinTaskforce(Action):
    """ "saya relawan, kode RLW-4MZ8KD": join the taskforce of that code."""

    def name(self) -> str:
        return "action_join_taskforce"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        await join_from_message(dispatcher, tracker)
        return []


class ActionLeaveTaskforce(Action):
    """ "berhenti jadi relawan": leave the taskforce."""

    def name(self) -> str:
        return "action_leave_taskforce"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        await leave_from_message(dispatcher, tracker)
        return []
