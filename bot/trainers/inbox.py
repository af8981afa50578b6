"""The trainers' inbox: the messages the assistant was unsure about, scrubbed.

`make nlu-inbox` (`python -m bot.trainers.inbox`) reads the tracker store the server
uses (endpoints.yml: SQLite by default, PostgreSQL or Redis when configured) and
writes a review file of user messages that were

- `fallback`: taken for `nlu_fallback` (below the FallbackClassifier's thresholds);
- `low_confidence`: top intent below `--min-confidence`;
- `intent_tie`: the two best intents within `--max-margin` of each other;
- `faq_low_confidence` / `faq_tie`: the same for the FAQ topic (the response
  selector's ranking) of a message taken for `faq`;
- `misunderstood`: the person's next message said the bot got it wrong
  ("bukan itu", "salah", "maksud saya ...": bot/resources/word_lists/trainers.yml).

Each entry carries the scrubbed text (bot.trainers.scrubber), what the model
predicted with its confidence, the runner-up, how often it was seen and by how
many conversations (entries are merged across senders on the scrubbed text's
`example_key`), and a blank `label` for the trainer. No sender id, timestamp or
metadata leaves the store. The SQL store is read in batches of user events
(keyset pagination on the event id); other stores conversation by conversation.
The file's path is printed on the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from bot.settings import PROJECT_ROOT
from bot.trainers.examples import example_key, says_misunderstood
from bot.trainers.scrubber import scrub

logger = logging.getLogger(__name__)

FALLBACK_INTENT = "nlu_fallback"
FAQ_INTENT = "faq"
BATCH_SIZE = 500
DEFAULT_OUT_DIR = PROJECT_ROOT / "results" / "nlu-inbox"

HEADER = """\
# Trainers' inbox: messages the assistant was unsure about (docs/trainers.md).
# Personal data is replaced by <telepon>, <email>, <nik>, <kartu>, <akun>, <nama>.
# For each entry you can label, write the right intent or FAQ topic after `label:`
# (e.g. `label: report_violation` or `label: faq/quiet_period`), then run
#   make nlu-accept FILE={path}
# Entries you leave blank stay in this file for later.
"""


@dataclass(frozen=True)
class Thresholds:
    """When a prediction counts as unsure."""

    min_confidence: float = 0.6
    max_margin: float = 0.1
    faq_min_confidence: float = 0.6
    faq_max_margin: float = 0.1


@dataclass
class Entry:
    """One message text (merged across senders) and why it is in the inbox."""

    text: str
    reasons: set[str] = field(default_factory=set)
    seen: int = 0
    senders: set[str] = field(default_factory=set)  # in memory only, never written
    prediction: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The review file's form of the entry."""
        return {"text": self.text, "seen": self.seen, "conversations": len(self.senders),
                "reasons": sorted(self.reasons), **self.prediction, "label": None}


def _ranked(items: Iterable[dict[str, Any]], name_key: str) -> list[tuple[str, float]]:
    ranking = []
    for item in items or []:
        if isinstance(item, dict) and isinstance(item.get(name_key), str):
            try:
                ranking.append((item[name_key], float(item.get("confidence") or 0.0)))
            except (TypeError, ValueError):
                continue
    return sorted(ranking, key=lambda pair: pair[1], reverse=True)


def judge(parse_data: dict[str, Any], thresholds: Thresholds
          ) -> tuple[set[str], dict[str, Any]]:
    """Why a parse result is unsure (empty when it is not), and the prediction to show:
    intent, its confidence and the runner-up; for `faq`, the topic likewise."""
    reasons: set[str] = set()
    intent = parse_data.get("intent") or {}
    ranking = [pair for pair in _ranked(parse_data.get("intent_ranking") or [], "name")
               if pair[0] != FALLBACK_INTENT]
    if intent.get("name") == FALLBACK_INTENT:
        reasons.add("fallback")
    if not ranking and isinstance(intent.get("name"), str) and intent["name"] != FALLBACK_INTENT:
        ranking = [(intent["name"], float(intent.get("confidence") or 0.0))]
    prediction: dict[str, Any] = {}
    if ranking:
        top, confidence = ranking[0]
        prediction["predicted"] = {"intent": top, "confidence": round(confidence, 3)}
        if confidence < thresholds.min_confidence:
            reasons.add("low_confidence")
        if len(ranking) > 1:
            second, second_confidence = ranking[1]
            prediction["runner_up"] = {"intent": second,
                                       "confidence": round(second_confidence, 3)}
            if confidence - second_confidence <= thresholds.max_margin:
                reasons.add("intent_tie")
        if top == FAQ_INTENT:
            selector = (parse_data.get("response_selector") or {}).get(FAQ_INTENT) or {}
            topics = _ranked(selector.get("ranking") or [], "intent_response_key")
            if topics:
                topic, topic_confidence = topics[0]
                prediction["predicted"].update(
                    {"topic": topic, "topic_confidence": round(topic_confidence, 3)})
                if topic_confidence < thresholds.faq_min_confidence:
                    reasons.add("faq_low_confidence")
                if len(topics) > 1:
                    second, second_confidence = topics[1]
                    prediction.setdefault("runner_up", {}).update(
                        {"topic": second, "topic_confidence": round(second_confidence, 3)})
                    if topic_confidence - second_confidence <= thresholds.faq_max_margin:
                        reasons.add("faq_tie")
    return reasons, prediction


class Inbox:
    """Collects unsure messages from user events given conversation by conversation,
    each conversation's events in order (events of several conversations may
    interleave)."""

    def __init__(self, thresholds: Thresholds) -> None:
        self.thresholds = thresholds
        self.entries: dict[str, Entry] = {}
        #: sender -> (scrubbed text, prediction, already counted) of their last message
        self._previous: dict[str, tuple[str, dict[str, Any], bool] | None] = {}
        self.messages_read = 0

    def _add(self, sender: str, text: str, reasons: set[str],
             prediction: dict[str, Any], count: bool = True) -> None:
        key = example_key(text)
        if not key:
            return
        entry = self.entries.get(key)
        if entry is None:
            entry = self.entries[key] = Entry(text=text)
        if count:
            entry.seen += 1
        entry.senders.add(sender)
        entry.reasons |= reasons
        entry.prediction = prediction

    def add_user_event(self, sender: str, event: dict[str, Any]) -> None:
        """Take one stored `user` event of `sender` (Rasa's event dict)."""
        raw = event.get("text")
        if not isinstance(raw, str) or not raw.strip() or raw.lstrip().startswith("/"):
            self._previous[sender] = None  # a button payload: the intent was given
            return
        self.messages_read += 1
        previous = self._previous.get(sender)
        if previous is not None and says_misunderstood(raw):
            text, prediction, counted = previous
            # One message is seen once, even when it was unsure and then complained about.
            self._add(sender, text, {"misunderstood"}, prediction, count=not counted)
        parse_data = event.get("parse_data") or {}
        reasons, prediction = judge(parse_data if isinstance(parse_data, dict) else {},
                                    self.thresholds)
        text = " ".join(scrub(raw).split())
        if reasons:
            self._add(sender, text, reasons, prediction)
        # The complaint itself is no candidate for "misunderstood" in turn.
        self._previous[sender] = (None if says_misunderstood(raw)
                                  else (text, prediction, bool(reasons)))

    def ordered(self) -> list[Entry]:
        """Entries, most often seen first."""
        return sorted(self.entries.values(), key=lambda e: (-e.seen, -len(e.senders), e.text))


def tracker_store_from_endpoints(endpoints_path: Path) -> Any:
    """The tracker store configured in `endpoints_path`, as `rasa run` creates it."""
    from rasa.core.tracker_store import TrackerStore
    from rasa.core.utils import AvailableEndpoints

    os.environ.setdefault("ACTION_ENDPOINT_URL", "http://127.0.0.1:5055/webhook")
    endpoints = AvailableEndpoints.read_endpoints(str(endpoints_path))
    return TrackerStore.create(endpoints.tracker_store)


async def user_events(store: Any, batch_size: int = BATCH_SIZE
                      ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """(sender id, user event) pairs, each conversation's in order.

    A SQL store is read in batches of `batch_size` user events by ascending id; any
    other store one conversation at a time.
    """
    from rasa.core.tracker_store import SQLTrackerStore

    if isinstance(store, SQLTrackerStore):
        last_id = 0
        while True:
            rows = await asyncio.to_thread(_sql_batch, store, last_id, batch_size)
            if not rows:
                return
            for row_id, sender, data in rows:
                last_id = row_id
                try:
                    event = json.loads(data)
                except ValueError:
                    continue
                if isinstance(event, dict):
                    yield sender, event
        return
    for sender in sorted(await store.keys()):
        tracker = await store.retrieve_full_tracker(sender)
        if tracker is None:
            continue
        for event in tracker.events:
            if event.type_name == "user":
                yield sender, event.as_dict()


def _sql_batch(store: Any, last_id: int, batch_size: int) -> list[tuple[int, str, str]]:
    with store.session_scope() as session:
        rows = (session.query(store.SQLEvent.id, store.SQLEvent.sender_id,
                              store.SQLEvent.data)
                .filter(store.SQLEvent.type_name == "user", store.SQLEvent.id > last_id)
                .order_by(store.SQLEvent.id).limit(batch_size).all())
    return [(int(row[0]), str(row[1]), str(row[2])) for row in rows]


async def collect(store: Any, thresholds: Thresholds, batch_size: int = BATCH_SIZE) -> Inbox:
    """Read every user event of `store` into an Inbox."""
    inbox = Inbox(thresholds)
    async for sender, event in user_events(store, batch_size):
        inbox.add_user_event(sender, event)
    return inbox


def render(inbox: Inbox, path: Path, thresholds: Thresholds, limit: int) -> str:
    """The review file's text."""
    entries = [entry.as_dict() for entry in inbox.ordered()[:limit]]
    body = yaml.safe_dump(
        {"thresholds": vars(thresholds), "messages_read": inbox.messages_read,
         "entries": entries},
        allow_unicode=True, sort_keys=False, width=100)
    body = body.replace("  label: null\n", "  label:\n")
    return HEADER.format(path=path) + body


def write_inbox(inbox: Inbox, out: Path, thresholds: Thresholds, limit: int) -> Path:
    """Write the review file (mode 0600) and return its path."""
    out.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(render(inbox, out, thresholds, limit))
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: write the inbox file, print its path last."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoints", type=Path, default=PROJECT_ROOT / "endpoints.yml")
    parser.add_argument("--out", type=Path, default=None,
                        help="the review file (default results/nlu-inbox/inbox-<time>.yml)")
    parser.add_argument("--min-confidence", type=float, default=Thresholds.min_confidence)
    parser.add_argument("--max-margin", type=float, default=Thresholds.max_margin)
    parser.add_argument("--faq-min-confidence", type=float,
                        default=Thresholds.faq_min_confidence)
    parser.add_argument("--faq-max-margin", type=float, default=Thresholds.faq_max_margin)
    parser.add_argument("--limit", type=int, default=500, help="most entries written")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    thresholds = Thresholds(args.min_confidence, args.max_margin, args.faq_min_confidence,
                            args.faq_max_margin)
    store = tracker_store_from_endpoints(args.endpoints)
    inbox = asyncio.run(collect(store, thresholds, max(1, args.batch_size)))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    out = args.out or DEFAULT_OUT_DIR / f"inbox-{stamp}.yml"
    write_inbox(inbox, out, thresholds, max(0, args.limit))
    print(f"{inbox.messages_read} messages read, {min(len(inbox.entries), args.limit)} "
          f"to review")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
