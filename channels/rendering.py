"""Render Rasa responses for channels with fewer features, and read numbered answers.

Responses are written once (domain.yml, actions) with buttons. A channel that
cannot show them all as buttons degrades them to a numbered list ("1. Lapor
pelanggaran"); `ChoiceMemory` remembers, per sender, which payload each number
stands for, so a reply "2" (or "2." or " 2 ") is sent to Rasa as that payload.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from typing import Any

logger = logging.getLogger(__name__)

_NUMBER_REPLY = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")


def numbered_choices(text: str, buttons: list[dict[str, Any]]) -> str:
    """The text followed by the buttons as a numbered list and a one-line hint."""
    lines = [text.rstrip()] if text and text.strip() else []
    if buttons:
        lines.append("")
        lines.extend(f"{i}. {b.get('title', '')}" for i, b in enumerate(buttons, 1))
        lines.append("")
        lines.append("Balas dengan angka pilihan Anda.")
    return "\n".join(lines)


def button_payload(button: dict[str, Any]) -> str:
    """What Rasa should receive when a button is chosen (its payload, else its title)."""
    return str(button.get("payload") or button.get("title") or "")


def truncate(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, ending with an ellipsis when cut."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def split_text(text: str, limit: int) -> list[str]:
    """Split a long message into parts of at most `limit` characters.

    Splits at paragraph breaks, then line breaks, then spaces; a word longer
    than the limit is cut hard. Never returns an empty list for non-empty text.
    """
    text = text.strip()
    parts: list[str] = []
    while len(text) > limit:
        cut = -1
        for separator in ("\n\n", "\n", " "):
            cut = text.rfind(separator, 0, limit + 1)
            if cut > 0:
                break
        if cut <= 0:
            cut = limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return parts


class ChoiceMemory:
    """Per-sender memory of the last numbered choices (bounded, with expiry)."""

    def __init__(self, ttl_seconds: float = 24 * 3600, max_senders: int = 10_000) -> None:
        self._ttl = ttl_seconds
        self._max = max_senders
        self._items: OrderedDict[str, tuple[float, list[str]]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, sender: str, payloads: list[str]) -> None:
        """Remember the payloads offered to `sender` (replacing earlier ones)."""
        with self._lock:
            self._items.pop(sender, None)
            self._items[sender] = (time.monotonic() + self._ttl, list(payloads))
            while len(self._items) > self._max:
                self._items.popitem(last=False)

    def forget(self, sender: str) -> None:
        """Drop what was offered to `sender`."""
        with self._lock:
            self._items.pop(sender, None)

    def resolve(self, sender: str, text: str) -> str | None:
        """The payload for a numbered reply such as "2", or None when it is not one."""
        match = _NUMBER_REPLY.match(text or "")
        if not match:
            return None
        with self._lock:
            entry = self._items.get(sender)
            if entry is None or entry[0] < time.monotonic():
                self._items.pop(sender, None)
                return None
            payloads = entry[1]
        index = int(match.group(1))
        if 1 <= index <= len(payloads):
            return payloads[index - 1]
        return None
