"""Reviewers' decisions: where a report is forwarded, how it ends, and what a decision needs.

The curated lists (destinations such as TikTok, Meta, Sentra Gakkumdu, KPU; outcomes
such as "konten diturunkan") are data, in `bot/resources/decisions.yml`, read once.

Two levels of checking, both raising `DecisionError` with a machine-readable code
(the console turns codes into Indonesian messages):

- `check_values(new_status, destination, outcome)`: what the report store enforces on
  every status change: known values only, a destination only with "diteruskan" or
  "selesai", an outcome only with "selesai".
- `check_decision(new_status, note, destination, outcome)`: what a reviewer must give
  in the console on top of that: a note when declining ("ditolak") and a destination
  when forwarding ("diteruskan").
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.settings import RESOURCES_DIR

logger = logging.getLogger(__name__)

DECISIONS_FILE = RESOURCES_DIR / "decisions.yml"
#: Statuses that may carry a destination, and the one that may carry an outcome.
DESTINATION_STATUSES = frozenset({"diteruskan", "selesai"})
OUTCOME_STATUSES = frozenset({"selesai"})
#: Longest reviewer note, in characters.
MAX_NOTE_CHARS = 2000
_VALUE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class DecisionError(ValueError):
    """A decision that cannot be recorded; `code` says why (e.g. "note_required")."""

    def __init__(self, code: str, field: str) -> None:
        super().__init__(f"{field}: {code}")
        self.code = code
        self.field = field


@dataclass(frozen=True)
class Choice:
    """One destination or outcome: stored value, reviewer label, and its details."""

    value: str
    label: str
    platforms: tuple[str, ...] = ()
    needs_gone_link: bool = False


@dataclass(frozen=True)
class DecisionLists:
    """The curated destinations and outcomes, in display order."""

    destinations: tuple[Choice, ...]
    outcomes: tuple[Choice, ...]

    def destination(self, value: str | None) -> Choice | None:
        """The destination with this value, or None."""
        return next((c for c in self.destinations if c.value == value), None)

    def outcome(self, value: str | None) -> Choice | None:
        """The outcome with this value, or None."""
        return next((c for c in self.outcomes if c.value == value), None)

    def referral_platforms(self) -> tuple[Choice, ...]:
        """Destinations that take content down (they list link platforms)."""
        return tuple(c for c in self.destinations if c.platforms)


def _choices(raw: Any, section: str, source: str) -> tuple[Choice, ...]:
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{source}: {section} must be a non-empty list")
    found: list[Choice] = []
    for index, entry in enumerate(raw):
        where = f"{source}: {section}[{index}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where} must be a mapping")
        value, label = str(entry.get("value") or ""), str(entry.get("label") or "")
        if not _VALUE.match(value) or not label.strip():
            raise ValueError(f"{where} needs a lower_case value and a label")
        platforms = entry.get("platforms") or []
        if not isinstance(platforms, list) or not all(isinstance(p, str) for p in platforms):
            raise ValueError(f"{where}: platforms must be a list of names")
        found.append(Choice(value, label.strip(), tuple(platforms),
                            bool(entry.get("needs_gone_link", False))))
    values = [choice.value for choice in found]
    if len(set(values)) != len(values):
        raise ValueError(f"{source}: {section} values must be unique")
    return tuple(found)


def parse_lists(raw: Any, source: str = "decisions.yml") -> DecisionLists:
    """Check and convert the parsed YAML of a decisions file."""
    if not isinstance(raw, dict):
        raise ValueError(f"{source} must be a mapping")
    lists = DecisionLists(_choices(raw.get("destinations"), "destinations", source),
                          _choices(raw.get("outcomes"), "outcomes", source))
    platforms = [p for c in lists.destinations for p in c.platforms]
    if len(set(platforms)) != len(platforms):
        raise ValueError(f"{source}: a link platform belongs to two destinations")
    return lists


@lru_cache(maxsize=1)
def decision_lists(path: Path = DECISIONS_FILE) -> DecisionLists:
    """The curated lists (read once per process)."""
    with path.open(encoding="utf-8") as handle:
        return parse_lists(yaml.safe_load(handle), path.name)


def check_values(new_status: str, destination: str | None, outcome: str | None) -> None:
    """Refuse unknown values, and a destination or outcome the status cannot carry."""
    lists = decision_lists()
    if destination is not None:
        if lists.destination(destination) is None:
            raise DecisionError("unknown_destination", "destination")
        if new_status not in DESTINATION_STATUSES:
            raise DecisionError("destination_not_allowed", "destination")
    if outcome is not None:
        if lists.outcome(outcome) is None:
            raise DecisionError("unknown_outcome", "outcome")
        if new_status not in OUTCOME_STATUSES:
            raise DecisionError("outcome_not_allowed", "outcome")


def check_decision(new_status: str, note: str | None, destination: str | None,
                   outcome: str | None) -> None:
    """Everything a reviewer's decision must satisfy (see the module docstring)."""
    check_values(new_status, destination, outcome)
    if note is not None and len(note) > MAX_NOTE_CHARS:
        raise DecisionError("note_too_long", "note")
    if new_status == "ditolak" and not (note or "").strip():
        raise DecisionError("note_required", "note")
    if new_status == "diteruskan" and destination is None:
        raise DecisionError("destination_required", "destination")


def referral_platform_for(link_platform: str) -> Choice | None:
    """The takedown destination for a link platform ("instagram" -> Meta), or None."""
    return next((c for c in decision_lists().destinations if link_platform in c.platforms),
                None)
