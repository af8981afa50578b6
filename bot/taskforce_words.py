"""Is a message about leaving the volunteer taskforce? (curated words, pure functions)

The words live in bot/resources/word_lists/taskforce.yml. A message asks to leave
when it holds a volunteer word and a leave word; this lets "berhenti jadi relawan"
leave the taskforce even when the NLU took it for a plain "stop".
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cache

from bot.word_lists import load_word_list, required, word_set

logger = logging.getLogger(__name__)

MAX_CHARS = 500
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class TaskforceWords:
    """The two word groups of taskforce.yml."""

    volunteer: frozenset[str]
    leave: frozenset[str]


@cache
def taskforce_words() -> TaskforceWords:
    """The word groups (read once per process; call it from a worker thread first)."""
    data = load_word_list("taskforce")
    where = "word_lists/taskforce.yml"
    return TaskforceWords(word_set(required(data, "volunteer_words", where), where),
                          word_set(required(data, "leave_words", where), where))


def mentions_taskforce(text: str | None) -> bool:
    """True when the message names the taskforce or volunteers ("relawan", "gugus tugas")."""
    words = set(_WORD.findall((text or "")[:MAX_CHARS].lower()))
    return bool(words & taskforce_words().volunteer)


def asks_to_leave(text: str | None) -> bool:
    """True for "berhenti jadi relawan", "keluar dari gugus tugas", "mundur dari relawan"."""
    words = set(_WORD.findall((text or "")[:MAX_CHARS].lower()))
    return bool(words & taskforce_words().volunteer) and bool(words & taskforce_words().leave)
