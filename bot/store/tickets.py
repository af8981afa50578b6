"""Ticket codes: "LP-" plus 6 random Crockford base32 characters."""

from __future__ import annotations

import logging
import re
import secrets

logger = logging.getLogger(__name__)

PREFIX = "LP-"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
LENGTH = 6
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
_IN_TEXT = re.compile(r"(?<![A-Za-z0-9])[Ll][Pp][\s-]*([0-9A-Za-z]{6})(?![A-Za-z0-9])")


def new_ticket_code() -> str:
    """A new random ticket code (about 10^9 possibilities, not sequential)."""
    return PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalize_ticket_code(text: str) -> str | None:
    """"lp7k3qx9", "LP 7K3QX9", "lp--7k3qx9" -> "LP-7K3QX9"; None if not a code."""
    compact = re.sub(r"[\s-]+", "", (text or "").strip()).upper()
    if not compact.startswith("LP"):
        return None
    body = compact[2:].translate(_CONFUSABLE)
    if len(body) != LENGTH or any(ch not in ALPHABET for ch in body):
        return None
    return PREFIX + body


def find_ticket_codes(text: str) -> list[str]:
    """Every ticket code written in a message, normalised, in order."""
    codes: list[str] = []
    for match in _IN_TEXT.finditer(text or ""):
        code = normalize_ticket_code("LP" + match.group(1))
        if code and code not in codes:
            codes.append(code)
    return codes
