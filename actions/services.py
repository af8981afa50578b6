"""Process-wide services for the action server, created lazily on first use.

Nothing is connected or opened at import time: the store and its migrations run
when the first action needs them.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from rasa_sdk import Tracker

from bot.evidence import EvidenceFile
from bot.privacy import PSEUDONYM_PREFIX, sender_key
from bot.settings import get_settings
from bot.store import ReportStore

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_stores: dict[str, ReportStore] = {}


def get_store() -> ReportStore:
    """The report store for the configured database (one per database URL)."""
    url = get_settings().database_url
    with _lock:
        store = _stores.get(url)
        if store is None:
            store = ReportStore(url)
            _stores[url] = store
        return store


def channel_of(tracker: Tracker) -> str:
    """The input channel of the latest user message ("rest" when unknown)."""
    return tracker.get_latest_input_channel() or "rest"


def reporter_key(tracker: Tracker) -> str:
    """The pseudonymous key of the person behind this conversation."""
    sender = tracker.sender_id
    # Channels that protect phone numbers already hand over a pseudonymous key.
    if sender.startswith(PSEUDONYM_PREFIX):
        return sender
    return sender_key(channel_of(tracker), sender)


def latest_text(tracker: Tracker) -> str:
    """The text of the latest user message (empty when there is none)."""
    return (tracker.latest_message or {}).get("text") or ""


def latest_intent(tracker: Tracker) -> tuple[str, float]:
    """Name and confidence of the latest user intent."""
    intent: dict[str, Any] = (tracker.latest_message or {}).get("intent") or {}
    return intent.get("name") or "", float(intent.get("confidence") or 0.0)


def latest_metadata(tracker: Tracker) -> dict[str, Any]:
    """The channel metadata of the latest user message (see channels/common.py)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            metadata = event.get("metadata")
            return metadata if isinstance(metadata, dict) else {}
    return {}


def latest_contact_token(tracker: Tracker) -> str | None:
    """The newest encrypted contact a channel sent in this conversation, if any."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            metadata = event.get("metadata")
            token = metadata.get("contact_token") if isinstance(metadata, dict) else None
            if isinstance(token, str) and token:
                return token
    return None


def merge_evidence(known: list[dict[str, Any]] | None, tracker: Tracker,
                   limit: int = 10) -> tuple[list[dict[str, Any]], int]:
    """Add the files of the latest message to `known` (no duplicates); return (all, added)."""
    merged = list(known or [])
    seen = {item.get("sha256") for item in merged if isinstance(item, dict)}
    added = 0
    for raw in latest_metadata(tracker).get("evidence") or []:
        item = EvidenceFile.from_metadata(raw)
        if item is None:
            logger.warning("Ignoring malformed evidence metadata")
            continue
        if item.sha256 in seen or len(merged) >= limit:
            continue
        merged.append(item.to_metadata())
        seen.add(item.sha256)
        added += 1
    return merged, added
