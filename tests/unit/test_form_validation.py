"""The form validation base (actions/form_validation.py) on a small form of its own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.form_validation import (
    CONTINUE_SLOT,
    FAILURES_SLOT,
    GuidedFormValidationAction,
    SlotReading,
)

SIZES = ("kecil", "besar")
DOMAIN: dict[str, Any] = {
    "forms": {"poster_form": {"required_slots": ["size", "note"]}},
    "slots": {},
    "responses": {"utter_explain_size": [{"text": "Ukuran: kecil atau besar."}]},
}


class ValidatePosterForm(GuidedFormValidationAction):
    """A poster size (read from any message) and a note (only as its answer)."""

    def name(self) -> str:
        return "validate_poster_form"

    def slot_readings(self) -> Mapping[str, SlotReading]:
        return {"note": SlotReading(only_when_asked=True)}

    async def extract_size(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> dict[str, Any]:
        text = tracker.latest_message["text"]
        if text in SIZES:
            return {"size": text}
        if self.asked(tracker, "size"):
            return self.fail(dispatcher, tracker, "size", "utter_size_unclear")
        return {}

    async def extract_note(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> dict[str, Any]:
        return {"note": tracker.latest_message["text"]}


class ExplainedPosterForm(ValidatePosterForm):
    """The same form with an explanation method instead of a response."""

    async def explain_size(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> dict[str, Any]:
        dispatcher.utter_message(text="Pilih ukuran dari tombol.")
        return {"size_hint_shown": True}


def tracker(text: str, slots: dict[str, Any], intent: str = "inform",
            confidence: float = 0.9) -> Tracker:
    all_slots = {"size": None, "note": None, FAILURES_SLOT: None, CONTINUE_SLOT: None,
                 "requested_slot": None, **slots}
    return Tracker("poster-sender", all_slots,
                   {"text": text, "intent": {"name": intent, "confidence": confidence},
                    "entities": []},
                   [{"event": "user", "text": text}], False, None,
                   {"name": "poster_form"}, "action_listen")


async def run(text: str, slots: dict[str, Any], form: type = ValidatePosterForm,
              **kwargs: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await form().run(dispatcher, tracker(text, slots, **kwargs), DOMAIN)
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}, \
        dispatcher.messages


async def test_a_message_fills_what_it_may() -> None:
    slots, _ = await run("besar", {})
    assert slots["size"] == "besar"
    assert "note" not in slots  # read only as the answer to its question
    slots, _ = await run("tolong warna merah", {"size": "besar", "requested_slot": "note"})
    assert slots["note"] == "tolong warna merah"


async def test_a_filled_slot_is_not_read_again() -> None:
    slots, _ = await run("kecil", {"size": "besar", "requested_slot": "note"})
    assert "size" not in slots and slots["note"] == "kecil"


@pytest.mark.parametrize(("confidence", "read"), [(0.9, False), (0.3, True)])
async def test_a_confident_control_message_is_left_to_the_rules(confidence: float,
                                                                read: bool) -> None:
    slots, messages = await run("besar", {"requested_slot": "size"}, intent="faq",
                                confidence=confidence)
    assert ("size" in slots) is read
    assert messages == []


async def test_failures_are_counted_then_explained_and_continue_is_asked() -> None:
    failures = None
    said: list[list[dict[str, Any]]] = []
    for _ in range(3):
        slots, messages = await run("sedang", {"requested_slot": "size",
                                               FAILURES_SLOT: failures})
        failures = slots[FAILURES_SLOT]
        said.append(messages)
    assert failures == {"size": 3}
    assert [m["response"] for m in said[0]] == ["utter_size_unclear"]
    assert [m["response"] for m in said[1]] == ["utter_size_unclear"]
    # The third failure is explained instead (the explanation replaces the hint)...
    assert [m["response"] for m in said[2]] == ["utter_explain_size"]
    # ...and "continue?" is the next question.
    assert slots["requested_slot"] == CONTINUE_SLOT


async def test_an_explanation_method_wins_and_may_set_slots() -> None:
    slots, messages = await run("sedang", {"requested_slot": "size",
                                           FAILURES_SLOT: {"size": 2}},
                                form=ExplainedPosterForm)
    assert [m["text"] for m in messages] == ["Pilih ukuran dari tombol."]
    assert slots["size_hint_shown"] is True


async def test_the_explanation_is_given_once() -> None:
    # Still failing while "continue?" waits: no second explanation.
    slots, messages = await run("sedang", {"requested_slot": CONTINUE_SLOT,
                                           FAILURES_SLOT: {"size": 3}})
    assert all(m.get("response") != "utter_explain_size" for m in messages)
    assert slots[FAILURES_SLOT] == {"size": 3, CONTINUE_SLOT: 1}


async def test_yes_forgets_the_failures_and_asks_again() -> None:
    slots, _ = await run("/affirm", {"requested_slot": CONTINUE_SLOT,
                                     FAILURES_SLOT: {"size": 3}}, intent="affirm")
    assert slots[CONTINUE_SLOT] is None and slots[FAILURES_SLOT] == {}
    # The form's own slots again: Rasa asks the first empty one, the size.
    assert "requested_slot" not in slots


async def test_no_ends_the_form() -> None:
    slots, _ = await run("/deny", {"requested_slot": CONTINUE_SLOT,
                                   FAILURES_SLOT: {"size": 3}}, intent="deny")
    assert slots[CONTINUE_SLOT] is False and slots["requested_slot"] is None
