"""Ticket codes: "LP-" plus 6 random Crockford base32 characters (e.g. "LP-7K3QX9").

Codes are drawn with `secrets` (32**6, about 1.07 billion possibilities), so they
are neither sequential nor guessable from one another; the store retries on the
rare collision. Crockford's alphabet leaves out I, L, O and U, so people reading a
code aloud or typing it on a phone make fewer mistakes, and the confusable
letters they still type are mapped back (O -> 0, I/L -> 1).
"""

from __future__ import annotations

import logging
import re
import secrets
import unicodedata

logger = logging.getLogger(__name__)

PREFIX = "LP"
SEPARATOR = "-"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
LENGTH = 6
CODE_PATTERN = re.compile(rf"{PREFIX}{SEPARATOR}[{ALPHABET}]{{{LENGTH}}}")

_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
# Hyphen-like characters phones produce ("--" becomes an em dash on iOS), and spaces.
_DASHES = "\\-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe63\uff0d_"
_SEPARATORS = re.compile(rf"[\s{_DASHES}]+")
_EDGE_PUNCTUATION = "\"'`#.,;:!?()[]{}<>*"
_IN_TEXT = re.compile(
    rf"(?<![0-9A-Za-z])LP[\s{_DASHES}]{{0,3}}([0-9A-Za-z]{{{LENGTH}}})(?![0-9A-Za-z])",
    re.IGNORECASE,
)


def new_ticket_code() -> str:
    """A new random ticket code such as "LP-7K3QX9" (cryptographically random)."""
    return PREFIX + SEPARATOR + "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def is_ticket_code(text: str) -> bool:
    """True when `text` is already a code in canonical form ("LP-7K3QX9")."""
    return bool(CODE_PATTERN.fullmatch(text or ""))


def normalize_ticket_code(text: str | None) -> str | None:
    """The canonical form of a typed ticket code, or None when it is not one.

    Tolerates lower case, a missing, doubled or unusual hyphen, spaces, wrapping
    punctuation and Crockford's confusables: "lp7k3qx9", "LP 7K3QX9",
    "lp--7k3qx9" and "LP-7K3QXO" all give "LP-7K3QX9" / "LP-7K3QX0".
    """
    if not text:
        return None
    compact = unicodedata.normalize("NFKC", text).strip().strip(_EDGE_PUNCTUATION)
    compact = _SEPARATORS.sub("", compact).upper()
    if not compact.startswith(PREFIX):
        return None
    body = compact[len(PREFIX):].translate(_CONFUSABLE)
    if len(body) != LENGTH or any(ch not in ALPHABET for ch in body):
        return None
    return PREFIX + SEPARATOR + body


def find_ticket_codes(text: str | None) -> list[str]:
    """Every ticket code written inside a message, normalised, first occurrence order."""
    codes: list[str] = []
    for match in _IN_TEXT.finditer(unicodedata.normalize("NFKC", text or "")):
        code = normalize_ticket_code(PREFIX + match.group(1))
        if code and code not in codes:
            codes.append(code)
    return codes
