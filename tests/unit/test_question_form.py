"""Telling a question from a statement (bot/question_form.py, questions.yml)."""

from __future__ import annotations

import pytest

from bot.question_form import QuestionWords, looks_like_question, question_words
from bot.word_lists import WordListError

QUESTIONS = [
    "eh kapan masa tenang",
    "kampanye di luar jadwal itu apa",
    "hoaks?",
    "boleh ga sih min",
    "pns like postingan caleg melanggar kan",
    "gmn cara lapornya",
    "kumaha ngalaporkeun",
    "piye carane lapor",
    "berapa lama diprosesnya",
    "bolehkah asn ikut kampanye",
    "masih bisa dilaporin nggak ya kak",
    "what is masa tenang",
    "itu hoaks bukan",
    "aturan masa tenang",
    "sanksi politik uang",
]
STATEMENTS = [
    "kampanye di luar jadwal",
    "kampanye pas masa tenang",
    "politik uang",
    "ujaran kebencian sih",
    "berita bohong soal tps dipindah",
    "isinya fitnah kalau paslon 2 pernah dipenjara padahal tidak",
    "asn ga netral",
    "pejabat itu nggak netral ya",
    "camat upload foto bareng cabup pake baju dinas",
    "tidak",
    "",
]


@pytest.mark.parametrize("text", QUESTIONS)
def test_questions(text: str) -> None:
    assert looks_like_question(text)


@pytest.mark.parametrize("text", STATEMENTS)
def test_statements(text: str) -> None:
    assert not looks_like_question(text)


def test_the_word_list_is_checked() -> None:
    assert "gimana" in question_words().anywhere
    with pytest.raises(WordListError, match="question_endings"):
        QuestionWords.from_data({"question_words": "apa", "statement_before_ending": "",
                                 "trailing_particles": "sih"})
