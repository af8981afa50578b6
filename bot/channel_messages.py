"""Texts channel connectors send by themselves (bot/resources/channel_messages.yml)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import yaml

from bot.settings import RESOURCES_DIR

MESSAGES_FILE = RESOURCES_DIR / "channel_messages.yml"


@lru_cache(maxsize=1)
def _messages() -> dict[str, str]:
    with open(MESSAGES_FILE, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"{MESSAGES_FILE} must map names to texts")
    return {str(key): " ".join(value.split()) for key, value in data.items()}


def channel_message(name: str, **values: Any) -> str:
    """The text `name`, with its {placeholders} filled in."""
    return _messages()[name].format(**values)
