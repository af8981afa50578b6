"""Render Rasa responses for channels with fewer features, and read numbered answers.

Responses are written once (domain.yml, actions) with buttons. A channel that
cannot show them all as buttons degrades them to a numbered list ("1. Lapor
pelanggaran"); `ChoiceMemory` remembers, per sender, which payload each number
stands for, so a reply "2" (or "2." or " 2 ") is sent to Rasa as that payload.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from bot.channel_messages import channel_message
from bot.ephemeral import EphemeralStore, ephemeral_store

logger = logging.getLogger(__name__)

_NUMBER_REPLY = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")


def numbered_choices(text: str, buttons: list[dict[str, Any]]) -> str:
    """The text followed by the buttons as a numbered list and a one-line hint."""
    lines = [text.rstrip()] if text and text.strip() else []
    if buttons:
        lines.append("")
        lines.extend(f"{i}. {b.get('title', '')}" for i, b in enumerate(buttons, 1))
        lines.append("")
        lines.append(channel_message("numbered_choice_hint"))
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
    """Per-sender memory of the last numbered choices, in the ephemeral store.

    Key `choices:<sender>` (the pseudonymous sender), the payloads as a JSON
    list, for `ttl_seconds` (a day by default): any process can read a reply
    to a list another process sent.
    """

    def __init__(self, store: EphemeralStore | None = None,
                 ttl_seconds: float = 24 * 3600) -> None:
        self.store = store if store is not None else ephemeral_store()
        self._ttl = ttl_seconds

    async def remember(self, sender: str, payloads: list[str]) -> None:
        """Remember the payloads offered to `sender` (replacing earlier ones)."""
        await self.store.put(f"choices:{sender}", json.dumps(list(payloads)), self._ttl)

    async def forget(self, sender: str) -> None:
        """Drop what was offered to `sender`."""
        await self.store.delete(f"choices:{sender}")

    async def resolve(self, sender: str, text: str) -> str | None:
        """The payload for a numbered reply such as "2", or None when it is not one."""
        match = _NUMBER_REPLY.match(text or "")
        if not match:
            return None
        stored = await self.store.get(f"choices:{sender}")
        try:
            payloads = json.loads(stored) if stored is not None else []
        except ValueError:
            payloads = []
        index = int(match.group(1))
        if isinstance(payloads, list) and 1 <= index <= len(payloads):
            return str(payloads[index - 1])
        return None
