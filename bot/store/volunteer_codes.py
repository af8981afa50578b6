"""Volunteer codes: "RLW-" plus 6 random Crockford base32 characters ("RLW-4MZ8KD").

A koordinator issues them for a region's taskforce (gugus tugas); a volunteer
sends one in chat to be linked to it. Drawn with `secrets` like ticket codes
(`bot.store.tickets`), with the same alphabet and the same tolerance for how
people type them (lower case, spaces, odd hyphens, O for 0, I/L for 1).
"""

from __future__ import annotations

import logging
import re
import secrets
import unicodedata

from bot.store.tickets import ALPHABET

logger = logging.getLogger(__name__)

PREFIX = "RLW"
LENGTH = 6
CODE_LENGTH = len(PREFIX) + 1 + LENGTH
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
_DASHES = "\\-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe63\uff0d_"
# Bounded: the prefix, at most 3 separators, exactly 6 characters, word edges.
_IN_TEXT = re.compile(
    rf"(?<![0-9A-Za-z])RLW[\s{_DASHES}]{{0,3}}([0-9A-Za-z]{{{LENGTH}}})(?![0-9A-Za-z])",
    re.IGNORECASE,
)


def new_volunteer_code() -> str:
    """A new random volunteer code such as "RLW-4MZ8KD" (cryptographically random)."""
    return f"{PREFIX}-" + "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalize_volunteer_body(body: str) -> str | None:
    """The canonical code for the 6 characters after "RLW", or None when they cannot be one."""
    text = body.upper().translate(_CONFUSABLE)
    if len(text) != LENGTH or any(ch not in ALPHABET for ch in text):
        return None
    return f"{PREFIX}-{text}"


def find_volunteer_code(text: str | None, max_chars: int = 2000) -> str | None:
    """The first volunteer code written in a message (canonical form), or None.

    Only the first `max_chars` characters are read; the pattern is linear.
    """
    normalized = unicodedata.normalize("NFKC", (text or "")[:max_chars])
    for match in _IN_TEXT.finditer(normalized):
        code = normalize_volunteer_body(match.group(1))
        if code:
            return code
    return None


def mentions_volunteer_code(text: str | None, max_chars: int = 2000) -> bool:
    """True when the message contains something shaped like a volunteer code
    ("RLW" and six characters), valid alphabet or not."""
    normalized = unicodedata.normalize("NFKC", (text or "")[:max_chars])
    return _IN_TEXT.search(normalized) is not None
