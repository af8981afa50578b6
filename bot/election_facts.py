"""Placeholder values for answers: the election calendar on a given day, rules, contacts.

Responses refer to facts with placeholders such as `{campaign_schedule}`; Rasa
fills a placeholder from the keyword arguments an action passes to
`dispatcher.utter_message(response=..., **template_values(today))`.

`template_values(day)` returns flat, snake_case keys, all strings:

- contacts, one key per entry of `contacts:` (e.g. `bawaslu_whatsapp`);
- `<phase>_schedule` for every phase and window of `bot.election_calendar`
  (`campaign_schedule`, `quiet_period_schedule`, `ads_schedule`, ...): what
  matters about those dates on that day, in Indonesian;
- lines that are empty on most days and end with a line break otherwise:
  `now_alert` (masa tenang or voting day, said first), `between_note` (no phase
  running), `rules_note` (the rules quoted belong to an earlier election),
  `report_phase_note` (for report confirmations);
- per kind (`pemilu`, `pilkada`), the rules of the election answers cite on
  that day (`bot.election_calendar.Calendar.rules_election`):
  `pemilu_rules_election` ("Pemilu 2024"), `pemilu_campaign_regulation`,
  `pemilu_social_media_accounts`, ...

The files are read on the first call, not at import, and then cached; the
values are computed for the day asked. New election dates need a change in
`bot/resources/elections.yml` only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.calendar_wording import Wording, parse_wording
from bot.election_calendar import (
    KINDS,
    PHASES,
    WINDOWS,
    Calendar,
    CalendarError,
    Election,
    as_mapping,
    as_text,
    parse_calendar,
)
from bot.settings import RESOURCES_DIR

logger = logging.getLogger(__name__)

FACTS_PATH = RESOURCES_DIR / "elections.yml"
WORDING_PATH = RESOURCES_DIR / "calendar_wording.yml"

# Rules of one election (the `rules:` block), quoted by answers as <kind>_<field>.
REQUIRED_RULE_TEXT: tuple[str, ...] = (
    "campaign_regulation", "social_media_rule", "quiet_period_rule",
)
REQUIRED_RULE_INTS: tuple[str, ...] = ("social_media_accounts",)
OPTIONAL_RULE_INTS: tuple[str, ...] = ("social_media_register_days_before",)
RULE_FIELDS = frozenset(REQUIRED_RULE_TEXT + REQUIRED_RULE_INTS + OPTIONAL_RULE_INTS)

# Lines that are empty on most days.
NOTE_KEYS: tuple[str, ...] = ("now_alert", "between_note", "rules_note", "report_phase_note")
SCHEDULE_KEYS: tuple[str, ...] = tuple(f"{name}_schedule" for name in PHASES + WINDOWS)

# Contacts other modules' responses rely on; the file may hold more.
REQUIRED_CONTACTS: tuple[str, ...] = (
    "bawaslu_whatsapp", "bawaslu_email", "bawaslu_office_hours", "sigaplapor_url",
    "komdigi_report_url",
)

# Keys every caller may rely on, whatever the day.
REQUIRED_KEYS: tuple[str, ...] = (
    *REQUIRED_CONTACTS, *SCHEDULE_KEYS, *NOTE_KEYS,
    *(f"{kind}_rules_election" for kind in KINDS),
    *(f"{kind}_{name}" for kind in KINDS for name in REQUIRED_RULE_TEXT + REQUIRED_RULE_INTS),
)
TOP_LEVEL = frozenset({"elections", "contacts"})

# Same placeholder syntax as rasa.core.nlg.interpolator.interpolate_text.
_PLACEHOLDER = re.compile(r"{([^\n{}]+?)}")
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


def _as_int(value: Any, where: str) -> int:
    """A positive whole number."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise CalendarError(f"{where} must be a positive whole number, got {value!r}")
    return value


def _rule_values(election: Election, where: str) -> dict[str, str]:
    """Validate an election's `rules:` block; return it as text values."""
    rules = election.rules
    unknown = sorted(str(key) for key in set(rules) - RULE_FIELDS)
    if unknown:
        raise CalendarError(
            f"{where} has unknown field(s) {', '.join(unknown)}; "
            f"known fields: {', '.join(sorted(RULE_FIELDS))}"
        )
    values: dict[str, str] = {}
    for name in REQUIRED_RULE_TEXT + REQUIRED_RULE_INTS:
        if rules.get(name) is None:
            raise CalendarError(f"{where}.{name} is missing")
    for name in REQUIRED_RULE_TEXT:
        values[name] = as_text(rules[name], f"{where}.{name}")
    for name in REQUIRED_RULE_INTS + OPTIONAL_RULE_INTS:
        if rules.get(name) is not None:
            values[name] = str(_as_int(rules[name], f"{where}.{name}"))
    return values


def _contact_values(contacts: Mapping[str, Any], where: str) -> dict[str, str]:
    """Validate the contacts section; return it as placeholder values."""
    for field in REQUIRED_CONTACTS:
        if contacts.get(field) is None:
            raise CalendarError(f"{where}.{field} is missing")
    taken = set(SCHEDULE_KEYS) | set(NOTE_KEYS)
    values: dict[str, str] = {}
    for key, value in contacts.items():
        if not isinstance(key, str) or not _IDENTIFIER.match(key):
            raise CalendarError(
                f"{where}.{key} is not a valid name: use lower_case_with_underscores"
            )
        if key.startswith(tuple(f"{kind}_" for kind in KINDS)):
            raise CalendarError(
                f"{where}.{key} must not start with an election kind "
                f"({', '.join(KINDS)}): those names are taken by election rules"
            )
        if key in taken:
            raise CalendarError(f"{where}.{key} is taken by a calendar placeholder")
        values[key] = as_text(value, f"{where}.{key}")
    if "@" not in values["bawaslu_email"]:
        raise CalendarError(f"{where}.bawaslu_email must be an e-mail address")
    return values


def _line(text: str) -> str:
    """A note as a line of its own: empty, or the text and a line break."""
    return f"{text}\n" if text else ""


@dataclass(frozen=True)
class ElectionFacts:
    """The validated calendar, its wording and the contacts."""

    calendar: Calendar
    wording: Wording
    contacts: Mapping[str, str]
    rules: Mapping[str, Mapping[str, str]]  # election key -> rule values

    def values_for(self, day: date) -> dict[str, str]:
        """Every placeholder value for `day` (a date in WIB)."""
        values = dict(self.contacts)
        for kind in KINDS:
            election = self.calendar.rules_election(kind, day)
            if election is None:  # parse_facts makes sure this cannot happen
                raise CalendarError(f"no {kind} election has rules")
            values[f"{kind}_rules_election"] = election.name
            values.update({f"{kind}_{k}": v for k, v in self.rules[election.key].items()})
        for name in PHASES + WINDOWS:
            values[f"{name}_schedule"] = self.wording.schedule(self.calendar, name, day)
        values["now_alert"] = _line(self.wording.alerts(self.calendar, day))
        values["between_note"] = _line(self.wording.between_note(self.calendar, day))
        values["rules_note"] = _line(self.wording.rules_note(self.calendar, day))
        values["report_phase_note"] = _line(self.wording.report_notes(self.calendar, day))
        return values


def parse_facts(raw: Any, wording_raw: Any, source: str = "elections.yml",
                wording_source: str = "calendar_wording.yml") -> ElectionFacts:
    """Validate parsed YAML content of both files."""
    root = as_mapping(raw, source)
    if "current" in root:
        raise CalendarError(
            f"{source}: current: is no longer used: the assistant works out which "
            f"election and phase apply from today's date. Remove it."
        )
    unknown = sorted(str(key) for key in set(root) - TOP_LEVEL)
    if unknown:
        raise CalendarError(f"{source} has unknown section(s) {', '.join(unknown)}; "
                            f"known: {', '.join(sorted(TOP_LEVEL))}")
    calendar = parse_calendar(root.get("elections"), f"{source}: elections")
    rules = {
        e.key: _rule_values(e, f"{source}: elections.{e.key}.rules")
        for e in calendar.elections if e.rules
    }
    for kind in KINDS:
        if not any(e.rules for e in calendar.of_kind(kind)):
            raise CalendarError(f"{source}: no {kind} election has rules:")
    contacts = _contact_values(as_mapping(root.get("contacts"), f"{source}: contacts"),
                               f"{source}: contacts")
    wording = parse_wording(wording_raw, wording_source)
    return ElectionFacts(calendar=calendar, wording=wording, contacts=contacts, rules=rules)


def _read_yaml(path: Path) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CalendarError(f"{path} does not exist") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CalendarError(f"{path} is not valid YAML: {exc}") from exc


def load_facts(path: Path | None = None, wording_path: Path | None = None) -> ElectionFacts:
    """Read and validate the calendar and its wording (default: the project's files)."""
    path = FACTS_PATH if path is None else path
    wording_path = WORDING_PATH if wording_path is None else wording_path
    facts = parse_facts(_read_yaml(path), _read_yaml(wording_path), str(path),
                        str(wording_path))
    logger.debug("Loaded %d elections and %d contacts from %s",
                 len(facts.calendar.elections), len(facts.contacts), path)
    return facts


@lru_cache(maxsize=1)
def cached_facts() -> ElectionFacts:
    """The project's facts, read once per process."""
    return load_facts()


def template_values(day: date) -> dict[str, str]:
    """The placeholder values for responses on `day` (the files are read once)."""
    return cached_facts().values_for(day)


def clear_cache() -> None:
    """Forget the cached facts so the next call re-reads the files (tests, reloads)."""
    cached_facts.cache_clear()


def placeholders_in(text: str) -> set[str]:
    """Names of the `{placeholders}` in a response text, as Rasa would fill them."""
    return set(_PLACEHOLDER.findall(text))
