"""What the trainers' tools share about example texts: the key two texts are the
same example under (`example_key`), and the misunderstanding signs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache

from bot.word_lists import load_word_list, phrase_list, required, word_set

_NOT_WORD = re.compile(r"[^\w<>]+", re.UNICODE)
_REPEATS = re.compile(r"(.)\1{2,}")


def example_key(text: str) -> str:
    """The form under which two examples count as the same one: lower case, letters,
    digits and placeholders only, single-spaced, letters repeated three times or more
    cut to two ("gimanaaa" and "gimanaa" are one example)."""
    lowered = _NOT_WORD.sub(" ", (text or "").lower().replace("_", " "))
    return " ".join(_REPEATS.sub(r"\1\1", lowered).split())


#: Two example keys this alike (difflib's ratio) are one message slightly reworded.
NEAR_DUPLICATE = 0.85


def near_duplicate(key: str, others: Iterable[str]) -> str | None:
    """The first of `others` (example keys) that is `key` slightly reworded, or None."""
    matcher = SequenceMatcher(None, "", key)  # b is the one it indexes
    for other in others:
        if not other:
            continue
        matcher.set_seq1(other)
        if (matcher.real_quick_ratio() >= NEAR_DUPLICATE
                and matcher.quick_ratio() >= NEAR_DUPLICATE
                and matcher.ratio() >= NEAR_DUPLICATE):
            return other
    return None


@dataclass(frozen=True)
class MisunderstoodWords:
    """Signs that a message says the assistant misunderstood the one before."""

    alone: frozenset[str]
    fillers: frozenset[str]
    at_start: tuple[str, ...]
    anywhere: tuple[str, ...]


@cache
def misunderstood_words() -> MisunderstoodWords:
    """The lists of bot/resources/word_lists/trainers.yml, read once per process."""
    data = load_word_list("trainers")
    where = "trainers.yml"
    return MisunderstoodWords(
        alone=frozenset(phrase_list(required(data, "misunderstood_alone", where), where)),
        fillers=word_set(required(data, "misunderstood_fillers", where), where),
        at_start=phrase_list(required(data, "misunderstood_at_start", where), where),
        anywhere=phrase_list(required(data, "misunderstood_anywhere", where), where),
    )


def says_misunderstood(text: str) -> bool:
    """True when `text` tells the assistant it got the previous message wrong
    ("bukan itu", "salah, maksud saya ...", "kok ga nyambung")."""
    words = misunderstood_words()
    key = example_key(text[:300])
    if not key:
        return False
    padded = f" {key} "
    if any(f" {phrase} " in padded for phrase in words.anywhere):
        return True
    if any(padded.startswith(f" {phrase} ") for phrase in words.at_start):
        return True
    # "salah", "bukan itu min", "salah, ..." but never "salah satu paslon ...".
    head = re.split(r"[,.!?;:]", text.lower(), maxsplit=1)[0]
    tokens = example_key(head).split()
    while tokens and tokens[-1] in words.fillers:
        tokens.pop()
    while tokens and tokens[0] in words.fillers:
        tokens.pop(0)
    return " ".join(tokens) in words.alone
