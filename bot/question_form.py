"""Whether a message is phrased as a question.

The words are data (`bot/resources/word_lists/questions.yml`): a "?", an
interrogative anywhere ("gimana", "kapan", "kumaha"), or a tag word at the end
("boleh ga", "melanggar kan"; trailing particles such as "sih", "min" skipped;
not after "padahal": "dibilang curang padahal tidak" is a statement).
The report form uses it to tell an answer to its own question from a question
asked in the middle of a report (`actions.form_validation.SlotReading`), and the
intent classifier as one feature (`bot.nlu.linear_classifier`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bot.word_lists import WORD_LISTS_DIR, load_word_list, required, word_set

QUESTION_WORDS = "questions"  # bot/resources/word_lists/questions.yml
#: The file, which the intent classifier's question feature also reads: a change
#: to it retrains the model (`make train`, `make reload`, Rasa's graph cache).
QUESTION_WORDS_FILE = WORD_LISTS_DIR / f"{QUESTION_WORDS}.yml"
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


@dataclass(frozen=True)
class QuestionWords:
    """The words of questions.yml."""

    anywhere: frozenset[str]
    endings: frozenset[str]
    statement_before_ending: frozenset[str]
    particles: frozenset[str]

    @classmethod
    def from_data(cls, data: Mapping[str, Any], where: str = QUESTION_WORDS) -> QuestionWords:
        """Check and freeze the parsed file."""
        return cls(
            anywhere=word_set(required(data, "question_words", where),
                              f"{where}.question_words"),
            endings=word_set(required(data, "question_endings", where),
                             f"{where}.question_endings"),
            statement_before_ending=word_set(
                required(data, "statement_before_ending", where),
                f"{where}.statement_before_ending"),
            particles=word_set(required(data, "trailing_particles", where),
                               f"{where}.trailing_particles"),
        )


@lru_cache(maxsize=1)
def question_words() -> QuestionWords:
    """The question words, read once."""
    return QuestionWords.from_data(load_word_list(QUESTION_WORDS))


def looks_like_question(text: str) -> bool:
    """True when `text` is phrased as a question (linear in its length)."""
    if "?" in text:
        return True
    words = question_words()
    tokens = _WORD.findall(text.lower())
    if any(token in words.anywhere for token in tokens):
        return True
    while tokens and tokens[-1] in words.particles:
        tokens.pop()
    # A tag word ends a question only after something it asks about ("boleh ga").
    return (len(tokens) >= 2 and tokens[-1] in words.endings
            and tokens[-2] not in words.statement_before_ending)
