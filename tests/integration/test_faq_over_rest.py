"""Date-dependent FAQ answers over REST with the real servers and model, today.

The servers run on the real clock, so the expected answer is computed from the
calendar for today (WIB): between elections it names the next Pemilu (2029 in
December 2026) and shows no past date as if it were still to come.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from rasa.core.nlg.interpolator import interpolate_text

from bot.dates import today_wib
from bot.election_facts import load_facts
from tests.integration.servers import Assistant, running_assistant, texts
from tests.responses import DATE_ID, MONTHS, all_responses

MONTH_NUMBER = {name: i for i, name in enumerate(MONTHS.split("|"), 1)}


@pytest.fixture(scope="module")
def assistant(trained_model: Path, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[Assistant]:
    work = tmp_path_factory.mktemp("assistant-faq")
    env = {"VAR_DIR": str(work / "var"), "DATABASE_URL": f"sqlite:///{work / 'reports.db'}"}
    with running_assistant(trained_model, work, env) as running:
        yield running


def _expected(topic: str, day: date) -> str:
    text = all_responses()[f"utter_faq/{topic}"][0]["text"]
    return interpolate_text(text, load_facts().values_for(day))


def _assert_no_past_date_as_upcoming(text: str, day: date) -> None:
    for sentence in re.split(r"(?<=\.)\s+|\n", text):
        for match in DATE_ID.finditer(sentence):
            shown = date(int(match.group(3)), MONTH_NUMBER[match.group(2)],
                         int(match.group(1)))
            if shown < day:
                assert "sudah berakhir" in sentence or "Saat ini" in sentence, sentence


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "topic", "phase"),
    [("kapan masa kampanye pemilu?", "campaign_period", "campaign"),
     ("kapan masa tenang?", "quiet_period", "quiet_period")],
)
def test_schedule_questions_answer_for_today(
    assistant: Assistant, question: str, topic: str, phase: str
) -> None:
    day = today_wib()
    reply = texts(assistant.say(f"rest-{topic}", question))
    assert reply == _expected(topic, day), assistant.logs()
    focus = load_facts().calendar.focus("pemilu", day)
    if focus is not None and focus.period(phase) is None:
        # Dates not set yet (December 2026: Pemilu 2029): the planned year is named.
        assert f"direncanakan pada {focus.year}" in reply
    _assert_no_past_date_as_upcoming(reply, day)


@pytest.mark.slow
def test_campus_question_mentions_permission_and_attributes(assistant: Assistant) -> None:
    reply = texts(assistant.say("rest-campus", "boleh kampanye di kampus?"))
    assert reply == _expected("prohibited_places", today_wib()), assistant.logs()
    assert "izin" in reply and "atribut" in reply
