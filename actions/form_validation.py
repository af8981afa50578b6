"""A form validation base with one guard, one failure path and "continue?".

The idea is Rasa financial-demo's `CustomFormValidationAction`
(`actions/custom_forms.py`), adapted:

- **One guard.** Before an `extract_<slot>` method runs, the base decides
  whether this message may fill that slot at all (`SlotReading`): a message
  the NLU reads as a control intent (a question, "batal", a file) is left to
  the rules, unless the slot was asked and the model's "question" is phrased as a
  statement (`statement_when_asked`); a slot may be read only as the answer to its own question; a
  filled slot is not read again unless it collects (links).
- **One failure path.** An extractor or validator that cannot use an answer
  returns `self.fail(...)`: it counts the failure for that slot (slot
  `form_failures`, {slot: count}) and says why with a response.
- **Explanation and "continue?"** When a slot has failed `max_failures`
  times, the base explains it once (`explain_<slot>` method, or the response
  `utter_explain_<slot>`) and asks whether to continue (slot `continue_form`,
  `utter_ask_continue_form`, buttons Ya/Tidak) instead of silently ending the
  form. "Ya" clears the count and asks the question again; "Tidak" ends the
  form with `continue_form` False, for the submit action to say so. A
  "continue?" that itself fails `max_failures` times ends the form as well.

Subclasses declare which slots need a non-default guard (`slot_readings`),
write `extract_<slot>` / `validate_<slot>` methods as usual, and may override
`form_slots` instead of `required_slots`.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT
from rasa_sdk.types import DomainDict

from actions.services import latest_intent
from bot.question_form import looks_like_question

logger = logging.getLogger(__name__)

FAILURES_SLOT = "form_failures"
CONTINUE_SLOT = "continue_form"
#: Intents that mean "not an answer to the question": the form steps aside, the
#: rules answer, and the form asks again.
CONTROL_INTENTS = frozenset(
    {"stop", "help", "bot_challenge", "human_handoff", "faq", "ask_rules",
     "check_status", "delete_my_data", "send_evidence", "share_location",
     "unsupported_message"}
)
CONTROL_CONFIDENCE = 0.6
#: Control intents that are questions: a statement the model gives one of these
#: may still answer the form's question (`SlotReading.statement_when_asked`).
QUESTION_INTENTS = frozenset({"faq", "ask_rules"})


@dataclass(frozen=True)
class SlotReading:
    """When a message may fill a slot.

    only_when_asked: only as the answer to this slot's question.
    refill: read even when the slot is already filled (the slot collects).
    control_when_asked: read a control message too when it answers this
    slot's question (a link the NLU took for a question is still a link).
    statement_when_asked: read a message the NLU took for a rules question
    when it answers this slot's question and is not phrased as a question
    ("kampanye di luar jadwal" typed as the category is an answer; "kampanye
    di luar jadwal itu apa?" is still answered first).
    """

    only_when_asked: bool = False
    refill: bool = False
    control_when_asked: bool = False
    statement_when_asked: bool = False


DEFAULT_READING = SlotReading()
ASKED_ONLY = SlotReading(only_when_asked=True, refill=True)


def is_control_message(tracker: Tracker) -> bool:
    """True when the latest message is confidently a control intent."""
    name, confidence = latest_intent(tracker)
    return name in CONTROL_INTENTS and confidence >= CONTROL_CONFIDENCE


def is_statement_answer(tracker: Tracker) -> bool:
    """True when the NLU took the latest message for a rules question but it is
    not phrased as one (no "?", interrogative or tag word: `bot.question_form`)."""
    name, _ = latest_intent(tracker)
    text = (tracker.latest_message or {}).get("text") or ""
    return name in QUESTION_INTENTS and not looks_like_question(text)


def failure_counts(tracker: Tracker) -> dict[str, int]:
    """Failed answers so far, per slot."""
    return {str(slot): int(count)
            for slot, count in (tracker.get_slot(FAILURES_SLOT) or {}).items()}


class GuidedFormValidationAction(FormValidationAction):
    """Form validation with one guard, one failure path, explanations and "continue?"."""

    #: Failed answers to one question before it is explained and "continue?" asked.
    max_failures = 3
    #: Slots the extractors set besides the required ones, kept by `get_validation_events`
    #: (the SDK drops extracted slots that are not required); the failure
    #: counts and "continue?" are always kept.
    auxiliary_slots: tuple[str, ...] = ()

    @abstractmethod
    def name(self) -> str:
        """The validation action's name, `validate_<form>`."""

    def slot_readings(self) -> Mapping[str, SlotReading]:
        """The guard of each slot that does not use `DEFAULT_READING`."""
        return {}

    async def form_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """The slots to fill, in order (the domain's by default)."""
        return list(domain_slots)

    # --- the guard ---------------------------------------------------------------

    @staticmethod
    def asked(tracker: Tracker, slot: str) -> bool:
        """True when the form's last question was for `slot`."""
        return tracker.get_slot(REQUESTED_SLOT) == slot

    def reads(self, tracker: Tracker, slot: str) -> bool:
        """Whether the latest message may fill `slot` (see `SlotReading`)."""
        reading = (ASKED_ONLY if slot == CONTINUE_SLOT
                   else self.slot_readings().get(slot, DEFAULT_READING))
        asked = self.asked(tracker, slot)
        if reading.only_when_asked and not asked:
            return False
        if not reading.refill and tracker.get_slot(slot) is not None:
            return False
        if is_control_message(tracker):
            if not asked:
                return False
            return reading.control_when_asked or (
                reading.statement_when_asked and is_statement_answer(tracker))
        return True

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Run `extract_<slot>` for each slot the latest message may fill."""
        found: dict[str, Any] = {}
        slots = await self.required_slots(self.domain_slots(domain), dispatcher, tracker,
                                          domain)
        for slot in slots:
            extractor = getattr(self, f"extract_{slot}", None)
            if extractor is None or not self.reads(tracker, slot):
                continue
            output = await extractor(dispatcher, tracker, domain)
            if output:
                found.update(output)
                tracker.slots.update(output)
        return [SlotSet(slot, value) for slot, value in found.items()]

    # --- the failure path --------------------------------------------------------

    def fail(self, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str,
             response: str | None = None, **values: Any) -> dict[str, Any]:
        """Count a failed answer for `slot` and say why with `response`.

        The last failure before the explanation says nothing itself: the
        explanation that follows replaces it.
        """
        failures = failure_counts(tracker)
        failures[slot] = failures.get(slot, 0) + 1
        if response and failures[slot] < self.max_failures:
            dispatcher.utter_message(response=response, **values)
        return {FAILURES_SLOT: failures}

    def failing_slots(self, tracker: Tracker) -> list[str]:
        """Slots that failed `max_failures` times (waiting for "continue?")."""
        return [slot for slot, count in failure_counts(tracker).items()
                if slot != CONTINUE_SLOT and count >= self.max_failures]

    def gave_up(self, tracker: Tracker) -> bool:
        """True when the form should end: "Tidak" to "continue?", or no answer to it."""
        return (tracker.get_slot(CONTINUE_SLOT) is False
                or failure_counts(tracker).get(CONTINUE_SLOT, 0) >= self.max_failures)

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """The form's slots, "continue?" first while a slot keeps failing, none to end."""
        if self.gave_up(tracker):
            return []
        slots = await self.form_slots(domain_slots, dispatcher, tracker, domain)
        if slots and self.failing_slots(tracker):
            return [CONTINUE_SLOT, *slots]
        return slots

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Validate the required slots and keep the auxiliary slots set on the way."""
        candidates = tracker.slots_to_validate()
        events = await super().get_validation_events(dispatcher, tracker, domain)
        validated = {event["name"] for event in events}
        for slot in (FAILURES_SLOT, CONTINUE_SLOT, *self.auxiliary_slots):
            if slot in candidates and slot not in validated:
                events.append(SlotSet(slot, tracker.slots.get(slot)))
        return events

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Extract and validate, then explain each slot that has just failed too often."""
        before = failure_counts(tracker)
        events = await super().run(dispatcher, tracker, domain)
        after = failure_counts(tracker)
        for slot in self.failing_slots(tracker):
            if before.get(slot, 0) < self.max_failures <= after[slot]:
                logger.info("Slot %s failed %d times: explaining it, asking to continue",
                            slot, after[slot])
                events.extend(await self.explain(slot, dispatcher, tracker, domain))
        return events

    # --- explanation and "continue?" ---------------------------------------------

    async def explain(self, slot: str, dispatcher: CollectingDispatcher, tracker: Tracker,
                      domain: DomainDict) -> list[EventType]:
        """Explain `slot`: its `explain_<slot>` method, else `utter_explain_<slot>`."""
        method = getattr(self, f"explain_{slot}", None)
        if method is not None:
            output = await method(dispatcher, tracker, domain)
            return [SlotSet(name, value) for name, value in (output or {}).items()]
        response = f"utter_explain_{slot}"
        if response in (domain.get("responses") or {}):
            dispatcher.utter_message(response=response)
        else:
            logger.debug("No explanation for slot %s", slot)
        return []

    async def extract_continue_form(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Read "Ya" / "Tidak" to "continue?"."""
        intent, _ = latest_intent(tracker)
        if intent == "affirm":
            return {CONTINUE_SLOT: True}
        if intent == "deny":
            return {CONTINUE_SLOT: False}
        return self.fail(dispatcher, tracker, CONTINUE_SLOT, "utter_continue_form_unclear")

    async def validate_continue_form(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """"Ya": forget the failures that led here and ask again; "Tidak": end the form."""
        if value is not True:
            return {CONTINUE_SLOT: value}
        failing = set(self.failing_slots(tracker)) | {CONTINUE_SLOT}
        kept = {slot: n for slot, n in failure_counts(tracker).items() if slot not in failing}
        return {CONTINUE_SLOT: None, FAILURES_SLOT: kept}
