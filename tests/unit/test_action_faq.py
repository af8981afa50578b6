"""ActionAnswerFaq picks the FAQ answer from the parsed message, or asks to rephrase,
and fills it in for the day its clock says (frozen here across an election cycle)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.faq import MIN_SELECTOR_CONFIDENCE, ActionAnswerFaq, faq_topic
from bot.clock import fixed_day
from bot.election_facts import template_values
from tests.responses import render

TODAY = date(2026, 12, 1)


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


async def _run(latest_message: dict[str, Any], day: date = TODAY
               ) -> tuple[list[dict[str, Any]], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerFaq(today=fixed_day(day)).run(
        dispatcher, _tracker(latest_message), {})
    return dispatcher.messages, events


def _assert_answer(messages: list[dict[str, Any]], response: str, day: date = TODAY) -> None:
    assert len(messages) == 1
    message = messages[0]
    assert message["response"] == response
    facts = template_values(day)
    assert {key: message.get(key) for key in facts} == facts


def _assert_not_sure(messages: list[dict[str, Any]]) -> None:
    assert len(messages) == 1
    assert messages[0]["response"] == "utter_faq_not_sure"
    assert "campaign_schedule" not in messages[0]


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


# --- the answer depends on the day ------------------------------------------------------


async def _answer(topic: str, day: date) -> str:
    messages, _ = await _run({
        "text": f'/faq{{"faq_topic": "{topic}"}}',
        "intent": {"name": "faq", "confidence": 1.0},
        "entities": [{"entity": "faq_topic", "value": topic}],
    }, day)
    _assert_answer(messages, f"utter_faq/{topic}", day)
    return render(messages[0])


def _dates_in(text: str, year: int) -> list[str]:
    return re.findall(rf"\b\d{{1,2}} [A-Z][a-z]+ {year}\b", text)


async def test_today_the_schedule_answers_point_to_2029() -> None:
    """Between elections: 2024 is over, 2029 is next, KPU sets the dates, report anyway."""
    for topic in ("campaign_period", "quiet_period", "campaign_ads"):
        text = await _answer(topic, TODAY)
        assert "2024 dan Pilkada 2024 sudah berakhir" in text, text
        assert "direncanakan pada 2029" in text and "KPU akan menetapkan jadwalnya" in text
        assert "Anda tetap bisa melapor kapan saja" in text
        assert _dates_in(text, 2024) == [], f"{topic} shows a 2024 date today: {text}"


async def test_campus_campaigning_needs_permission_and_no_attributes() -> None:
    text = await _answer("prohibited_places", TODAY)
    assert "kampus" in text and "izin" in text and "tanpa atribut kampanye" in text
    assert "Tempat ibadah tidak boleh" in text
    assert "MK 65/PUU-XXI/2023" in text


# The real calendar's Pemilu 2024, day by day.
CYCLE = [
    # 3 days before the campaign
    (date(2023, 11, 25), "campaign_period",
     "Masa kampanye Pemilu 2024 akan berlangsung 28 November 2023 – 10 Februari 2024."),
    # mid-campaign: the live dates
    (date(2024, 1, 10), "campaign_period",
     "Saat ini sedang masa kampanye Pemilu 2024: 28 November 2023 – 10 Februari 2024."),
    (date(2024, 1, 10), "quiet_period",
     "Masa tenang Pemilu 2024 akan berlangsung 11–13 Februari 2024."),
    # masa tenang: said first, in every schedule answer
    (date(2024, 2, 12), "campaign_period",
     "Saat ini masa tenang Pemilu 2024 (11–13 Februari 2024): kampanye dalam bentuk apa pun "
     "dilarang.\nMasa kampanye Pemilu 2024 (28 November 2023 – 10 Februari 2024) sudah berakhir."),
    (date(2024, 2, 12), "quiet_period",
     "Saat ini sedang masa tenang Pemilu 2024: 11–13 Februari 2024."),
    (date(2024, 2, 12), "polls_quick_count", "Saat ini masa tenang Pemilu 2024"),
    (date(2024, 2, 12), "campaign_ads", "Saat ini masa tenang Pemilu 2024"),
    # voting day
    (date(2024, 2, 14), "campaign_period", "Hari ini hari pemungutan suara Pemilu 2024.\n"),
    # after: Pemilu 2024 is over, Pilkada 2024 still to come, 2029 planned
    (date(2024, 3, 1), "campaign_period",
     "Masa kampanye Pilkada 2024 akan berlangsung 25 September – 23 November 2024. "
     "Masa kampanye Pemilu 2024 sudah berakhir. Pemilu berikutnya"),
]


@pytest.mark.parametrize(("day", "topic", "start"), CYCLE)
async def test_answers_across_the_cycle(day: date, topic: str, start: str) -> None:
    assert (await _answer(topic, day)).startswith(start)


async def test_quiet_period_answer_does_not_repeat_the_alert() -> None:
    text = await _answer("quiet_period", date(2024, 2, 12))
    assert text.count("masa tenang Pemilu 2024") == 1


async def test_the_clock_is_asked_at_each_run_not_at_construction() -> None:
    days = iter([date(2024, 1, 10), date(2024, 2, 12)])
    action = ActionAnswerFaq(today=lambda: next(days))
    message = {"text": "x", "intent": {"name": "faq/campaign_period", "confidence": 1.0}}
    answers = []
    for _ in range(2):
        dispatcher = CollectingDispatcher()
        await action.run(dispatcher, _tracker(message), {})
        answers.append(render(dispatcher.messages[0]))
    assert answers[0].startswith("Saat ini sedang masa kampanye")
    assert answers[1].startswith("Saat ini masa tenang")
