"""Indonesian messages for reviewers, by error code (console/resources/messages.yml)."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

import yaml

logger = logging.getLogger(__name__)

MESSAGES_FILE = Path(__file__).resolve().parent / "resources" / "messages.yml"
FALLBACK = "bad_request"


@lru_cache(maxsize=1)
def _messages() -> dict[str, str]:
    with MESSAGES_FILE.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    messages = data.get("messages") if isinstance(data, dict) else None
    if not isinstance(messages, dict) or FALLBACK not in messages:
        raise ValueError(f"{MESSAGES_FILE} must map error codes to messages")
    return {str(key): str(value) for key, value in messages.items()}


def message(code: str) -> str:
    """The message for an error code (the generic one for an unknown code)."""
    messages = _messages()
    return messages.get(code, messages[FALLBACK])


def known_codes() -> frozenset[str]:
    """Every code that has its own message."""
    return frozenset(_messages())
