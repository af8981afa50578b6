"""Indonesian sentences about the election calendar on a given day.

The words live in `bot/resources/calendar_wording.yml`; this module checks
them and picks the sentences that fit the day:

- `schedule(calendar, "campaign", day)`: the campaign dates that matter on
  that day, e.g. "Saat ini sedang masa kampanye Pemilu 2029: ..." during the
  campaign, or, between elections, that the last campaigns are over and when
  the next elections are planned;
- `alerts(calendar, day)`: "Saat ini masa tenang ..." while masa tenang or
  voting runs, said first;
- `between_note`, `report_notes`, `rules_note`: short notes that apply only on
  some days.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.dates import format_date_id, format_range_id
from bot.election_calendar import (
    KINDS,
    PHASES,
    WINDOWS,
    Calendar,
    CalendarError,
    Election,
    Period,
    Status,
    as_mapping,
)

logger = logging.getLogger(__name__)

_PERIOD_FIELDS = frozenset({"label", "name", "period", "start", "end"})
# Placeholders each sentence may use.
SCHEDULE_FIELDS: dict[str, frozenset[str]] = {
    "ongoing": _PERIOD_FIELDS,
    "ongoing_one_day": _PERIOD_FIELDS,
    "upcoming": _PERIOD_FIELDS,
    "past": _PERIOD_FIELDS,
    "ended": frozenset({"label", "names"}),
    "planned": frozenset({"items"}),
    "planned_item": frozenset({"next", "offices", "year"}),
    "planned_item_estimated": frozenset({"next", "offices", "year"}),
    "not_planned": frozenset({"next"}),
}
NOTE_FIELDS = _PERIOD_FIELDS
WORDING_SECTIONS = frozenset(
    {"labels", "next_election", "schedule", "between_elections", "alerts", "report_notes",
     "rules_note"}
)

_PLACEHOLDER = re.compile(r"{([^{}]*)}")


def _text(value: Any, where: str, allowed: frozenset[str]) -> str:
    """Non-empty text whose {placeholders} are all in `allowed`."""
    if not isinstance(value, str) or not value.strip():
        raise CalendarError(f"{where} must be non-empty text, got {value!r}")
    used = set(_PLACEHOLDER.findall(value))
    unknown = sorted(used - allowed)
    if unknown:
        allowed_text = ", ".join(f"{{{name}}}" for name in sorted(allowed)) or "none"
        raise CalendarError(
            f"{where} uses unknown placeholder(s) {', '.join(f'{{{u}}}' for u in unknown)}; "
            f"it may use {allowed_text}"
        )
    stripped = _PLACEHOLDER.sub("", value)
    if "{" in stripped or "}" in stripped:
        raise CalendarError(f"{where} has an unmatched {{ or }}: {value!r}")
    return " ".join(value.split())


def _section(raw: Mapping[str, Any], key: str, names: Iterable[str], where: str,
             allowed: frozenset[str] | None = None, required: bool = True) -> dict[str, str]:
    section = as_mapping(raw.get(key), f"{where}.{key}")
    names = tuple(names)
    unknown = sorted(str(name) for name in set(section) - set(names))
    if unknown:
        raise CalendarError(
            f"{where}.{key} has unknown name(s) {', '.join(unknown)}; known: {', '.join(names)}"
        )
    values = {}
    for name in names:
        if section.get(name) is None:
            if required:
                raise CalendarError(f"{where}.{key}.{name} is missing")
            continue
        fields = SCHEDULE_FIELDS.get(name, frozenset()) if allowed is None else allowed
        values[name] = _text(section[name], f"{where}.{key}.{name}", fields)
    return values


def capitalised(sentence: str) -> str:
    """The sentence with its first letter in upper case."""
    return sentence[:1].upper() + sentence[1:]


def join_id(items: list[str]) -> str:
    """"a", "a dan b", "a, b, dan c"."""
    if len(items) <= 2:
        return " dan ".join(items)
    return ", ".join(items[:-1]) + ", dan " + items[-1]


@dataclass(frozen=True)
class Wording:
    """Validated sentence templates, and the sentences they make for a day."""

    labels: Mapping[str, str]
    next_election: Mapping[str, str]
    schedule_templates: Mapping[str, str]
    between_elections: str
    alert_templates: Mapping[str, str]
    report_note_templates: Mapping[str, str]
    rules_note_text: str

    # --- single sentences ----------------------------------------------------------

    def _period_values(self, name: str, election: Election, period: Period) -> dict[str, str]:
        return {
            "label": self.labels[name],
            "name": election.name,
            "period": format_range_id(period.start, period.end),
            "start": format_date_id(period.start),
            "end": format_date_id(period.end),
        }

    def _status_sentence(self, name: str, election: Election, period: Period,
                         day: date) -> str:
        status = period.status(day)
        key = {Status.UPCOMING: "upcoming", Status.ONGOING: "ongoing",
               Status.PAST: "past"}[status]
        if status is Status.ONGOING and period.start == period.end:
            key = "ongoing_one_day"
        text = self.schedule_templates[key].format(**self._period_values(name, election, period))
        return capitalised(text)

    def _planned_item(self, election: Election) -> str:
        key = "planned_item_estimated" if election.year_estimated else "planned_item"
        return self.schedule_templates[key].format(
            next=self.next_election[election.kind], offices=election.offices,
            year=election.year,
        )

    # --- what callers use ----------------------------------------------------------

    def schedule(self, calendar: Calendar, name: str, day: date) -> str:
        """Sentences about phase or window `name` of every kind of election on `day`.

        Known dates of the election in focus come first (running, upcoming or
        over). For a kind whose next election has no such dates yet, the
        assistant says that the last one is over and when the next is planned.
        """
        if name not in self.labels:
            raise KeyError(f"no label for {name!r}")
        known: list[str] = []
        ended: list[str] = []
        planned: list[Election] = []
        not_planned: list[str] = []
        for kind in KINDS:
            focus = calendar.focus(kind, day)
            period = focus.period(name) if focus is not None else None
            if focus is not None and period is not None:
                known.append(self._status_sentence(name, focus, period, day))
                continue
            previous = calendar.previous(kind, day)
            if previous is not None and previous.period(name) is not None:
                ended.append(previous.name)
            if focus is None:
                not_planned.append(kind)
            else:
                planned.append(focus)
        sentences = list(known)
        if ended:
            sentences.append(capitalised(self.schedule_templates["ended"].format(
                label=self.labels[name], names=join_id(ended))))
        if planned:
            items = join_id([self._planned_item(e) for e in planned])
            sentences.append(capitalised(self.schedule_templates["planned"].format(items=items)))
        for kind in not_planned:
            sentences.append(capitalised(self.schedule_templates["not_planned"].format(
                next=self.next_election[kind])))
        return " ".join(sentences)

    def _notes(self, templates: Mapping[str, str], calendar: Calendar, day: date) -> str:
        notes: list[str] = []
        for election, phase in calendar.ongoing(day):
            template = templates.get(phase)
            if template is None:
                continue
            period = election.phases[phase]
            note = capitalised(template.format(**self._period_values(phase, election, period)))
            if note not in notes:
                notes.append(note)
        return " ".join(notes)

    def alerts(self, calendar: Calendar, day: date) -> str:
        """"Saat ini masa tenang ..." while an alert phase runs; empty otherwise."""
        return self._notes(self.alert_templates, calendar, day)

    def report_notes(self, calendar: Calendar, day: date) -> str:
        """A note for report confirmations while such a phase runs; empty otherwise."""
        return self._notes(self.report_note_templates, calendar, day)

    def between_note(self, calendar: Calendar, day: date) -> str:
        """The between-elections note when no phase of any election runs on `day`."""
        return "" if calendar.ongoing(day) else capitalised(self.between_elections)

    def rules_note(self, calendar: Calendar, day: date) -> str:
        """The note that rules may change, when quoted rules belong to an earlier election."""
        for kind in KINDS:
            focus = calendar.focus(kind, day)
            if focus is None or calendar.rules_election(kind, day) is not focus:
                return capitalised(self.rules_note_text)
        return ""


def parse_wording(raw: Any, where: str = "calendar_wording.yml") -> Wording:
    """Validate the wording file's content."""
    root = as_mapping(raw, where)
    unknown = sorted(str(key) for key in set(root) - WORDING_SECTIONS)
    if unknown:
        raise CalendarError(
            f"{where} has unknown section(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(WORDING_SECTIONS))}"
        )
    labels = _section(root, "labels", PHASES + WINDOWS, where, allowed=frozenset())
    next_election = _section(root, "next_election", KINDS, where, allowed=frozenset())
    schedule = _section(root, "schedule", tuple(SCHEDULE_FIELDS), where)
    alerts = _section(root, "alerts", PHASES, where, allowed=NOTE_FIELDS, required=False)
    report_notes = _section(root, "report_notes", PHASES, where, allowed=NOTE_FIELDS,
                            required=False)
    for key in ("between_elections", "rules_note"):
        if root.get(key) is None:
            raise CalendarError(f"{where}.{key} is missing")
    return Wording(
        labels=labels,
        next_election=next_election,
        schedule_templates=schedule,
        between_elections=_text(root["between_elections"], f"{where}.between_elections",
                                frozenset()),
        alert_templates=alerts,
        report_note_templates=report_notes,
        rules_note_text=_text(root["rules_note"], f"{where}.rules_note", frozenset()),
    )
