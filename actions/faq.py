"""Answers to campaign-rules questions, filled in with the election calendar for today.

The answers themselves are responses `utter_faq/<topic>` in
`data/faq/responses.yml`; this action only decides which one to send and fills
its placeholders for the day in WIB (`bot.election_facts.template_values`).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.clock import Today, system_today
from bot.election_facts import template_values
from bot.intents import FAQ_INTENT, FAQ_TOPICS

logger = logging.getLogger(__name__)

# Minimum response-selector confidence for answering.
#
# The selector's confidences are a softmax over the 32 topics
# (`constrain_similarities: true` in config.yml), so they sum to 1. At 0.5 or
# more the chosen topic is more likely than all the other topics together, so it
# is the selector's majority choice. Below that the runner-up may well be a
# neighbouring topic (hoaks vs. its sanction, politik uang vs. its sanction), and
# a confident-sounding but wrong legal answer is worse than asking the user to
# rephrase, which costs one message. Revisit the value with the held-out FAQ
# results (`make test-nlu`, `scripts/eval_nlu.py`) when the data grows.
MIN_SELECTOR_CONFIDENCE = 0.5

# Entity a button payload can carry instead of a full retrieval intent, e.g.
# `/faq{"faq_topic": "quiet_period"}` (Rasa 3.6 does not accept `/faq/quiet_period`
# as a payload because `faq/quiet_period` is not an intent of the domain).
FAQ_TOPIC_ENTITY = "faq_topic"

NOT_SURE_RESPONSE = "utter_faq_not_sure"


def _topic_of(name: str | None) -> str | None:
    """`faq/hoax` -> `hoax`; None for anything that is not an FAQ retrieval intent."""
    prefix = f"{FAQ_INTENT}/"
    if name and name.startswith(prefix):
        return name[len(prefix):] or None
    return None


def faq_topic(latest_message: dict[str, Any]) -> tuple[str | None, float]:
    """The FAQ topic of a parsed message and the confidence in it.

    In order: the response selector's choice (typed questions); the intent name
    `faq/<topic>` (a payload or an interpreter that reports the full retrieval
    intent); the `faq_topic` entity of a `/faq{"faq_topic": ...}` payload.
    Returns `(None, 0.0)` when none is there.
    """
    selectors = latest_message.get("response_selector") or {}
    selector = selectors.get(FAQ_INTENT) or selectors.get("default") or {}
    response = selector.get("response") or {}
    topic = _topic_of(response.get("intent_response_key"))
    if topic:
        return topic, float(response.get("confidence") or 0.0)

    intent = latest_message.get("intent") or {}
    topic = _topic_of(intent.get("name"))
    if topic:
        confidence = intent.get("confidence")
        return topic, float(1.0 if confidence is None else confidence)

    if intent.get("name") == FAQ_INTENT:
        for entity in latest_message.get("entities") or []:
            if entity.get("entity") == FAQ_TOPIC_ENTITY and entity.get("value"):
                confidence = intent.get("confidence")
                return str(entity["value"]), float(1.0 if confidence is None else confidence)
    return None, 0.0


class ActionAnswerFaq(Action):
    """Answer the FAQ topic the user asked about, or ask them to rephrase."""

    def __init__(self, today: Today = system_today) -> None:
        """`today` gives the date the answers are computed for (tests freeze it)."""
        self._today = today

    def name(self) -> str:
        """The action name used in domain.yml and rules."""
        return "action_answer_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Send `utter_faq/<topic>` with today's election facts, or `utter_faq_not_sure`."""
        topic, confidence = faq_topic(tracker.latest_message or {})
        if topic not in FAQ_TOPICS or confidence < MIN_SELECTOR_CONFIDENCE:
            logger.info("FAQ topic unclear (topic=%s, confidence=%.2f)", topic, confidence)
            dispatcher.utter_message(response=NOT_SURE_RESPONSE)
            return []
        logger.debug("Answering FAQ topic %s (confidence=%.2f)", topic, confidence)
        dispatcher.utter_message(
            response=f"utter_{FAQ_INTENT}/{topic}", **template_values(self._today())
        )
        return []
