"""ActionAnswerFaq picks the FAQ answer from the parsed message, or asks to rephrase."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.faq import MIN_SELECTOR_CONFIDENCE, ActionAnswerFaq, faq_topic
from bot.election_facts import template_values


def _tracker(latest_message: dict[str, Any]) -> Tracker:
    return Tracker(
        sender_id="test-user",
        slots={},
        latest_message=latest_message,
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def _selector_message(text: str, key: str, confidence: float) -> dict[str, Any]:
    """A typed question as Rasa's NLU parses it (intent plus response selector)."""
    topic = key.split("/", 1)[1]
    return {
        "text": text,
        "intent": {"name": "faq", "confidence": 0.97},
        "entities": [],
        "intent_ranking": [{"name": "faq", "confidence": 0.97}],
        "response_selector": {
            "all_retrieval_intents": ["faq"],
            "faq": {
                "response": {
                    "id": 1234567890,
                    "responses": [{"text": "..."}],
                    "response_templates": [{"text": "..."}],
                    "confidence": confidence,
                    "intent_response_key": key,
                    "utter_action": f"utter_{key}",
                    "template_name": f"utter_{key}",
                },
                "ranking": [
                    {"id": 1234567890, "confidence": confidence, "intent_response_key": key},
                    {"id": 42, "confidence": 1 - confidence,
                     "intent_response_key": "faq/hoax_sanction" if topic == "hoax" else "faq/hoax"},
                ],
            },
        },
    }


async def _run(latest_message: dict[str, Any]) -> tuple[list[dict[str, Any]], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerFaq().run(dispatcher, _tracker(latest_message), {})
    return dispatcher.messages, events


def _assert_answer(messages: list[dict[str, Any]], response: str) -> None:
    assert len(messages) == 1
    message = messages[0]
    assert message["response"] == response
    facts = template_values()
    assert {key: message.get(key) for key in facts} == facts


def _assert_not_sure(messages: list[dict[str, Any]]) -> None:
    assert len(messages) == 1
    assert messages[0]["response"] == "utter_faq_not_sure"
    assert "pemilu_name" not in messages[0]


def test_name() -> None:
    assert ActionAnswerFaq().name() == "action_answer_faq"


async def test_response_selector_hit_answers_with_facts() -> None:
    messages, events = await _run(
        _selector_message("masa tenang tgl brp min", "faq/quiet_period", 0.91)
    )
    _assert_answer(messages, "utter_faq/quiet_period")
    assert events == []


async def test_button_payload_with_full_retrieval_intent() -> None:
    # `/faq/hoax` carries the retrieval intent as the intent name, no selector output.
    messages, events = await _run({
        "text": "/faq/hoax",
        "intent": {"name": "faq/hoax", "confidence": 1.0},
        "intent_ranking": [{"name": "faq/hoax", "confidence": 1.0}],
        "entities": [],
    })
    _assert_answer(messages, "utter_faq/hoax")
    assert events == []


async def test_button_payload_with_topic_entity() -> None:
    messages, _ = await _run({
        "text": '/faq{"faq_topic": "money_politics"}',
        "intent": {"name": "faq", "confidence": 1.0},
        "entities": [{"entity": "faq_topic", "value": "money_politics", "start": 4, "end": 36}],
    })
    _assert_answer(messages, "utter_faq/money_politics")


async def test_low_confidence_asks_to_rephrase() -> None:
    messages, events = await _run(
        _selector_message("hoax gmn sih", "faq/hoax", MIN_SELECTOR_CONFIDENCE - 0.2)
    )
    _assert_not_sure(messages)
    assert events == []


async def test_threshold_itself_is_enough() -> None:
    messages, _ = await _run(
        _selector_message("politik uang", "faq/money_politics", MIN_SELECTOR_CONFIDENCE)
    )
    _assert_answer(messages, "utter_faq/money_politics")


async def test_missing_selector_output_asks_to_rephrase() -> None:
    messages, events = await _run({
        "text": "tanya dong",
        "intent": {"name": "faq", "confidence": 0.8},
        "entities": [],
    })
    _assert_not_sure(messages)
    assert events == []


async def test_topic_outside_the_contract_asks_to_rephrase() -> None:
    messages, _ = await _run(_selector_message("apa ya", "faq/cuaca", 0.99))
    _assert_not_sure(messages)


async def test_empty_latest_message_asks_to_rephrase() -> None:
    messages, _ = await _run({})
    _assert_not_sure(messages)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({"intent": {"name": "faq/gakkumdu"}}, ("gakkumdu", 1.0)),
        ({"intent": {"name": "faq/"}}, (None, 0.0)),
        ({"intent": {"name": "greet", "confidence": 0.99}}, (None, 0.0)),
        ({"intent": {"name": "greet"}, "entities": [{"entity": "faq_topic", "value": "hoax"}]},
         (None, 0.0)),
        ({"response_selector": {"default": {"response": {
            "intent_response_key": "faq/evidence", "confidence": 0.7}}}}, ("evidence", 0.7)),
    ],
)
def test_faq_topic(message: dict[str, Any], expected: tuple[str | None, float]) -> None:
    assert faq_topic(message) == expected
