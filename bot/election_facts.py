"""Election dates, numbers and contacts from `bot/resources/elections.yml`.

Responses refer to these facts with placeholders such as `{pemilu_quiet_period}`;
Rasa fills a placeholder from the keyword arguments an action passes to
`dispatcher.utter_message(response=..., **template_values())`.

`template_values()` returns flat, snake_case keys, all strings:

- contacts, one key per entry of `contacts:` (e.g. `bawaslu_whatsapp`);
- for each kind of election (`pemilu`, `pilkada`) the election `current:` points
  at, prefixed with the kind: `pemilu_name` ("Pemilu 2024"), `pemilu_campaign_period`
  ("28 November 2023 – 10 Februari 2024"), `pemilu_voting_day`, ...

The file is read on the first call, not at import, and then cached. The next
election needs a change in the YAML file only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.dates import format_date_id, format_range_id
from bot.settings import RESOURCES_DIR

logger = logging.getLogger(__name__)

FACTS_PATH = RESOURCES_DIR / "elections.yml"

ELECTION_KINDS: tuple[str, ...] = ("pemilu", "pilkada")

# Fields of one election block. Ranges are (start, end) pairs rendered as one
# `<kind>_<range>_period` value plus the two single dates.
REQUIRED_DATE_FIELDS: tuple[str, ...] = (
    "campaign_start", "campaign_end", "ads_start", "ads_end",
    "quiet_start", "quiet_end", "voting_day",
)
OPTIONAL_DATE_FIELDS: tuple[str, ...] = (
    "rallies_start", "rallies_end", "social_media_deactivate_by",
)
REQUIRED_INT_FIELDS: tuple[str, ...] = ("social_media_accounts",)
OPTIONAL_INT_FIELDS: tuple[str, ...] = ("social_media_register_days_before",)
REQUIRED_TEXT_FIELDS: tuple[str, ...] = (
    "name", "campaign_regulation", "social_media_rule", "quiet_period_rule",
)
OPTIONAL_TEXT_FIELDS: tuple[str, ...] = ("social_media_deactivate_time",)
RANGES: tuple[str, ...] = ("campaign", "ads", "rallies", "quiet")

KNOWN_ELECTION_FIELDS = frozenset(
    REQUIRED_DATE_FIELDS + OPTIONAL_DATE_FIELDS + REQUIRED_INT_FIELDS
    + OPTIONAL_INT_FIELDS + REQUIRED_TEXT_FIELDS + OPTIONAL_TEXT_FIELDS
)

# Contacts other modules' responses rely on; the file may hold more.
REQUIRED_CONTACTS: tuple[str, ...] = (
    "bawaslu_whatsapp", "bawaslu_email", "bawaslu_office_hours", "sigaplapor_url",
    "komdigi_report_url",
)

# Keys every caller may rely on (the lead's responses use these).
REQUIRED_KEYS: tuple[str, ...] = (*REQUIRED_CONTACTS, "pemilu_name", "pilkada_name")

# Same placeholder syntax as rasa.core.nlg.interpolator.interpolate_text.
_PLACEHOLDER = re.compile(r"{([^\n{}]+?)}")
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
_TIME = re.compile(r"^([01]?\d|2[0-3])\.[0-5]\d (WIB|WITA|WIT)$")


class ElectionFactsError(ValueError):
    """The facts file is missing a key or holds a value of the wrong kind."""


def _as_date(value: Any, where: str) -> date:
    """An ISO date from YAML (already a `date`, or a quoted 'YYYY-MM-DD')."""
    if isinstance(value, datetime):
        raise ElectionFactsError(f"{where} must be a date without a time, got {value!r}")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ElectionFactsError(
            f"{where} must be an ISO date (YYYY-MM-DD), got {value!r}"
        ) from exc


def _as_int(value: Any, where: str) -> int:
    """A positive whole number."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ElectionFactsError(f"{where} must be a positive whole number, got {value!r}")
    return value


def _as_text(value: Any, where: str) -> str:
    """Non-empty text (numbers must be quoted so that no leading 0 is lost)."""
    if not isinstance(value, str) or not value.strip():
        raise ElectionFactsError(
            f"{where} must be non-empty text (put numbers in quotes), got {value!r}"
        )
    if "{" in value or "}" in value:
        raise ElectionFactsError(f"{where} must not contain {{ or }}, got {value!r}")
    return value.strip()


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ElectionFactsError(f"{where} must be a mapping (key: value lines)")
    return value


def _check_order(dates: Mapping[str, date], where: str) -> None:
    """Dates must follow the order of an election's stages."""

    def before(first: str, second: str, strictly: bool) -> None:
        if first not in dates or second not in dates:
            return
        a, b = dates[first], dates[second]
        if a > b or (strictly and a == b):
            word = "before" if strictly else "on or before"
            raise ElectionFactsError(
                f"{where}.{first} ({a.isoformat()}) must be {word} "
                f"{where}.{second} ({b.isoformat()})"
            )

    for name in RANGES:
        before(f"{name}_start", f"{name}_end", strictly=False)
    for name in ("ads", "rallies"):
        before("campaign_start", f"{name}_start", strictly=False)
        before(f"{name}_end", "campaign_end", strictly=False)
    before("campaign_end", "quiet_start", strictly=True)
    before("quiet_end", "voting_day", strictly=True)
    before("social_media_deactivate_by", "quiet_start", strictly=True)


def _election_values(election: Mapping[str, Any], where: str) -> dict[str, str]:
    """Validate one election block; return its values without the kind prefix."""
    unknown = sorted(set(election) - KNOWN_ELECTION_FIELDS)
    if unknown:
        raise ElectionFactsError(
            f"{where} has unknown field(s) {', '.join(unknown)}; "
            f"known fields: {', '.join(sorted(KNOWN_ELECTION_FIELDS))}"
        )
    for field in REQUIRED_DATE_FIELDS + REQUIRED_INT_FIELDS + REQUIRED_TEXT_FIELDS:
        if election.get(field) is None:
            raise ElectionFactsError(f"{where}.{field} is missing")
    for first, second in (("rallies_start", "rallies_end"),
                          ("social_media_deactivate_by", "social_media_deactivate_time")):
        if (election.get(first) is None) != (election.get(second) is None):
            raise ElectionFactsError(f"{where}.{first} and {where}.{second} go together")

    dates = {
        field: _as_date(election[field], f"{where}.{field}")
        for field in REQUIRED_DATE_FIELDS + OPTIONAL_DATE_FIELDS
        if election.get(field) is not None
    }
    _check_order(dates, where)

    values: dict[str, str] = {}
    for field, day in dates.items():
        values[field] = format_date_id(day)
    for name in RANGES:
        if f"{name}_start" in dates:
            values[f"{name}_period"] = format_range_id(dates[f"{name}_start"], dates[f"{name}_end"])
    for field in REQUIRED_INT_FIELDS + OPTIONAL_INT_FIELDS:
        if election.get(field) is not None:
            values[field] = str(_as_int(election[field], f"{where}.{field}"))
    for field in REQUIRED_TEXT_FIELDS + OPTIONAL_TEXT_FIELDS:
        if election.get(field) is not None:
            values[field] = _as_text(election[field], f"{where}.{field}")

    deadline_time = values.pop("social_media_deactivate_time", None)
    if deadline_time is not None:
        if not _TIME.match(deadline_time):
            raise ElectionFactsError(
                f"{where}.social_media_deactivate_time must look like \"23.59 WIB\", "
                f"got {deadline_time!r}"
            )
        values["social_media_deactivate_by"] += f" pukul {deadline_time}"
    return values


def _contact_values(contacts: Mapping[str, Any], where: str) -> dict[str, str]:
    """Validate the contacts section; return it as placeholder values."""
    for field in REQUIRED_CONTACTS:
        if contacts.get(field) is None:
            raise ElectionFactsError(f"{where}.{field} is missing")
    values: dict[str, str] = {}
    for key, value in contacts.items():
        if not isinstance(key, str) or not _IDENTIFIER.match(key):
            raise ElectionFactsError(
                f"{where}.{key} is not a valid name: use lower_case_with_underscores"
            )
        if key.startswith(tuple(f"{kind}_" for kind in ELECTION_KINDS)):
            raise ElectionFactsError(
                f"{where}.{key} must not start with an election kind "
                f"({', '.join(ELECTION_KINDS)}): those names are taken by election facts"
            )
        values[key] = _as_text(value, f"{where}.{key}")
    if "@" not in values["bawaslu_email"]:
        raise ElectionFactsError(f"{where}.bawaslu_email must be an e-mail address")
    return values


def parse_facts(raw: Any, source: str = "elections.yml") -> dict[str, str]:
    """Validate parsed YAML content; return the flat placeholder values.

    Every election under `elections:` is validated (not only the current ones),
    so a block prepared for the next election is checked as soon as it is added.
    """
    root = _mapping(raw, source)
    current = _mapping(root.get("current"), f"{source}: current")
    elections = _mapping(root.get("elections"), f"{source}: elections")
    contacts = _mapping(root.get("contacts"), f"{source}: contacts")

    per_election = {
        str(key): _election_values(_mapping(block, f"{source}: elections.{key}"),
                                   f"{source}: elections.{key}")
        for key, block in elections.items()
    }
    values: dict[str, str] = {}
    for kind in ELECTION_KINDS:
        key = current.get(kind)
        if not key:
            raise ElectionFactsError(f"{source}: current.{kind} is missing")
        if str(key) not in per_election:
            raise ElectionFactsError(
                f"{source}: current.{kind} names '{key}', which is not under elections "
                f"(have: {', '.join(sorted(per_election))})"
            )
        values.update({f"{kind}_{name}": value for name, value in per_election[str(key)].items()})
    values.update(_contact_values(contacts, f"{source}: contacts"))
    return values


def load_facts(path: Path = FACTS_PATH) -> dict[str, str]:
    """Read and validate a facts file; return the flat placeholder values."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ElectionFactsError(f"{path} does not exist") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ElectionFactsError(f"{path} is not valid YAML: {exc}") from exc
    values = parse_facts(raw, str(path))
    logger.debug("Loaded %d election facts from %s", len(values), path)
    return values


@lru_cache(maxsize=1)
def _cached_values() -> Mapping[str, str]:
    return load_facts(FACTS_PATH)


def template_values() -> dict[str, str]:
    """The placeholder values for responses (the file is read once per process)."""
    return dict(_cached_values())


def clear_cache() -> None:
    """Forget the cached facts so the next call re-reads the file (tests, reloads)."""
    _cached_values.cache_clear()


def placeholders_in(text: str) -> set[str]:
    """Names of the `{placeholders}` in a response text, as Rasa would fill them."""
    return set(_PLACEHOLDER.findall(text))
