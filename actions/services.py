"""Process-wide services for the action server, created lazily on first use.

Nothing is connected or opened at import time: the store and its migrations run
when the first action needs them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from rasa_sdk import Tracker

from bot.archive.worker import ArchiveThread, ArchiveWorker
from bot.channel_metadata import ATTESTATION, ChannelMetadata
from bot.ephemeral import ephemeral_store
from bot.evidence import EvidenceFile, sweep_orphaned_evidence
from bot.ocr.evidence_reading import EvidenceReading, read_evidence
from bot.ocr.screen_text import ScreenReading, screen_words
from bot.outage import OutageTolerant
from bot.privacy import is_sender_key, sender_key, verify_attestation
from bot.report_extraction import preload
from bot.settings import get_settings
from bot.store import ReportStore

logger = logging.getLogger(__name__)

#: Seconds one extractor (links, category, region, date) may take on one message.
EXTRACTOR_BUDGET_SECONDS = 2.0
T = TypeVar("T")

_lock = threading.Lock()
_stores: dict[str, OutageTolerant] = {}


#: How often the action server deletes orphaned evidence files (seconds).
SWEEP_INTERVAL_SECONDS = 3600.0


def get_store() -> ReportStore:
    """The report store for the configured database (one per database URL), riding
    out a short database outage (`bot.outage`).

    The first use also starts this process's orphaned-evidence sweep.
    """
    url = get_settings().database_url
    with _lock:
        store = _stores.get(url)
        if store is None:
            store = OutageTolerant(ReportStore(url))
            _stores[url] = store
            _start_sweeper(store)
            _start_archiver(url, store)
        return store  # type: ignore[return-value]


_archivers: dict[str, ArchiveThread] = {}


def _start_archiver(url: str, store: OutageTolerant) -> None:
    """The evidence archive worker of this process (ARCHIVE_WORKER=1, the default), in its
    own thread and event loop: pending archives left by a crash are taken up here too."""
    if get_settings().archive_worker:
        _archivers[url] = ArchiveThread(ArchiveWorker(store)).start()


def wake_archiver() -> None:
    """Tell this process's archive worker that links were just filed (returns at once)."""
    archiver = _archivers.get(get_settings().database_url)
    if archiver is not None:
        archiver.wake()


def sweep_orphans(store: ReportStore) -> int:
    """Delete evidence files that no report refers to and are older than the limit."""
    hours = get_settings().orphan_evidence_hours
    return sweep_orphaned_evidence(store.evidence_in_use(), hours * 3600.0)


def _start_sweeper(store: ReportStore) -> None:
    def loop() -> None:
        delay = 60.0  # the first sweep soon after start, then hourly
        while not _stop_sweeping.wait(delay):
            delay = SWEEP_INTERVAL_SECONDS
            try:
                sweep_orphans(store)
            except Exception:  # noqa: BLE001 - the next round tries again
                logger.exception("Orphaned evidence sweep failed")

    threading.Thread(target=loop, name="evidence-sweep", daemon=True).start()


_stop_sweeping = threading.Event()


#: Connectors that verify who sends (signature, secret token, own session) and
#: attest it (`bot.privacy.attest_sender`). Anything else is keyed as REST.
VERIFIED_CHANNELS = frozenset({"whatsapp", "telegram", "webchat"})
UNVERIFIED_CHANNEL = "rest"


def _raw_latest_metadata(tracker: Tracker) -> dict[str, Any]:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            metadata = event.get("metadata")
            return metadata if isinstance(metadata, dict) else {}
    return {}


def is_verified(tracker: Tracker) -> bool:
    """True when the latest message came through a connector that verified its sender.

    The input channel and the metadata of a message can be claimed by anyone who
    reaches Rasa (a REST body, Rasa's HTTP API); the attestation cannot be made
    without the pseudonym key, which only the connectors and this server hold.
    """
    channel = tracker.get_latest_input_channel()
    sender = tracker.sender_id
    return (channel in VERIFIED_CHANNELS and is_sender_key(sender)
            and verify_attestation(channel, sender,
                                   _raw_latest_metadata(tracker).get(ATTESTATION)))


async def link_check_allowed(key: str) -> bool:
    """Spend one of the reporter's hourly link checks (LINK_CHECK_BUDGET_PER_HOUR);
    False when they are used up: the link is then kept without being fetched.
    The budget lives in the ephemeral store, so it holds across replicas."""
    allowance = max(1, get_settings().link_check_budget_per_hour)
    return await ephemeral_store().take(f"link-checks:{key}", allowance, allowance / 3600.0)


def channel_of(tracker: Tracker) -> str:
    """The verified input channel of the latest user message, else "rest"."""
    return tracker.get_latest_input_channel() if is_verified(tracker) else UNVERIFIED_CHANNEL


def reporter_key(tracker: Tracker) -> str:
    """The pseudonymous key of the person behind this conversation.

    A verified connector's sender id is already that key. Anything else is keyed
    as a REST sender, whatever channel it claims: `sender_key("rest", id)` can
    never equal a WhatsApp or Telegram reporter's key.
    """
    if is_verified(tracker):
        return tracker.sender_id
    return sender_key(UNVERIFIED_CHANNEL, tracker.sender_id)


def latest_text(tracker: Tracker) -> str:
    """The text of the latest user message (empty when there is none), at most
    MAX_MESSAGE_CHARS long: the connectors refuse longer ones, and nothing here
    relies on them to."""
    text = (tracker.latest_message or {}).get("text") or ""
    return text[: get_settings().max_message_chars]


_word_lists_read = threading.Event()


async def ensure_word_lists() -> None:
    """Read the word lists and wording files once per process, in a worker thread.

    Actions that read messages or show labels await this first, so no file is
    read on the event loop and no extractor spends its time budget on it.
    """
    if not _word_lists_read.is_set():
        await asyncio.to_thread(preload)
        await asyncio.to_thread(screen_words)
        _word_lists_read.set()


async def extract(func: Callable[..., T], *args: Any, default: T) -> T:
    """Run a CPU-bound extractor in a worker thread within its time budget.

    The event loop stays free for everyone else's conversation; an extractor
    over budget counts as having found nothing (and is logged). Extractors are
    written to be linear in the message length, which the connectors cap, so
    this is a second line of defence.
    """
    try:
        return await asyncio.wait_for(asyncio.to_thread(func, *args),
                                      EXTRACTOR_BUDGET_SECONDS)
    except asyncio.TimeoutError:
        logger.warning("Extractor %s went over its %.1f s budget; nothing taken from the "
                       "message", getattr(func, "__name__", "?"), EXTRACTOR_BUDGET_SECONDS)
        return default


def latest_intent(tracker: Tracker) -> tuple[str, float]:
    """Name and confidence of the latest user intent."""
    intent: dict[str, Any] = (tracker.latest_message or {}).get("intent") or {}
    return intent.get("name") or "", float(intent.get("confidence") or 0.0)


def latest_metadata(tracker: Tracker) -> ChannelMetadata:
    """The channel metadata of the latest user message (`bot.channel_metadata`),
    or an empty one when that message did not come through a verified connector."""
    if not is_verified(tracker):
        return ChannelMetadata()
    return ChannelMetadata.from_dict(_raw_latest_metadata(tracker))


def latest_contact_token(tracker: Tracker) -> str | None:
    """The encrypted contact a verified connector sent with the latest message.

    Connectors send it with every message and the tracker store never keeps it
    (`bot.tracker_stores`), so only the message being handled has it.
    """
    return latest_metadata(tracker).contact_token


async def merge_evidence(known: list[dict[str, Any]] | None, tracker: Tracker,
                         limit: int = 10) -> tuple[list[dict[str, Any]], int]:
    """Add the files of the latest message to `known` (no duplicates); return (all, added).

    Only a verified connector's files count, and each must be on disk as described
    (`EvidenceFile.verify`, hashed in a thread).
    """
    merged = list(known or [])
    seen = {item.get("sha256") for item in merged if isinstance(item, dict)}
    added = 0
    for item in latest_metadata(tracker).evidence:
        if item.sha256 in seen or len(merged) >= limit:
            continue
        if not await asyncio.to_thread(item.verify):
            logger.warning("Ignoring evidence metadata whose file does not match")
            continue
        merged.append(item.to_metadata())
        seen.add(item.sha256)
        added += 1
    return merged, added


#: Seconds beyond the reader's own budget (OCR_TIMEOUT) one screenshot may take
#: (waiting for a reading slot, decoding, hashing).
READING_GRACE_SECONDS = 5.0


_reading_pools: list[ThreadPoolExecutor] = []


def _reading_pool() -> ThreadPoolExecutor:
    """This process's OCR_CONCURRENCY threads for reading images (made on first use)."""
    with _lock:
        if not _reading_pools:
            _reading_pools.append(ThreadPoolExecutor(
                max_workers=max(1, get_settings().ocr_concurrency),
                thread_name_prefix="screenshot-reader"))
        return _reading_pools[0]


async def read_screenshots(
    evidence: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], ScreenReading | None]:
    """Read the evidence images not read yet, in worker threads within the time budget.

    Returns the evidence list with each image's `text` and `perceptual_hash` added
    (`read` marks an image tried, read or not) and what the new screenshots say
    together, None when they say nothing. At most OCR_CONCURRENCY images are read at
    once per process (a pool of that many threads, and the reader's own semaphore),
    so a flood of pictures waits for its turn instead of taking every core, and an
    image that waited or read past its budget yields nothing.
    """
    budget = get_settings().ocr_timeout + READING_GRACE_SECONDS
    loop = asyncio.get_running_loop()
    updated: list[dict[str, Any]] = []
    combined: ScreenReading | None = None
    for item in evidence:
        parsed = EvidenceFile.from_metadata(item)
        if parsed is None or parsed.kind != "image" or item.get("read"):
            updated.append(item)
            continue
        reading: EvidenceReading | None = None
        try:
            # On the reading pool, not the default executor: images waiting for their
            # turn must not hold the threads other conversations' store calls need.
            reading = await asyncio.wait_for(
                loop.run_in_executor(_reading_pool(), read_evidence, parsed), budget)
        except asyncio.TimeoutError:
            logger.warning("Reading a screenshot went over its %.0f s budget", budget)
        entry = {**item, "read": True}
        if reading is not None:
            entry.update(text=reading.text, perceptual_hash=reading.perceptual_hash)
            if reading.screen.found_anything:
                combined = reading.screen if combined is None else combined.merged(
                    reading.screen)
        updated.append(entry)
    return updated, combined
